//! Who may attach, read and delete; owners with attachments cannot be deleted; the orphan purge
//! keeps attachments' files.

use std::time::{Duration, SystemTime};

use super::*;

const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Attachment { fileName } } }";
const PURGE: &str = "mutation { purgeOrphanFiles { filesRemoved documentsRemoved } }";

#[tokio::test]
async fn an_agent_reaches_only_their_own_clients_attachments_and_another_organization_none() {
    let app = spawn_app().await;
    let (org, client, policy) = book(&app, "reach").await;
    let a = attach(&app, &org.agent, &policy, "constat.pdf", pdf()).await;

    // Another agent of the organization: not found, whether attaching, reading or deleting.
    for owner in [&client, &policy] {
        let (_, body) = send(&app, &org.agent2, owner, "x.pdf", pdf(), true).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body:#}");
    }
    assert_eq!(org.agent2.err(NODE, json!({"id": a["id"]})).await, "NOT_FOUND");
    assert_eq!(org.agent2.err(DELETE, json!({"id": a["id"]})).await, "NOT_FOUND");

    // Another organization: the same.
    let other = app.org("other").await;
    for user in [&other.admin, &other.agent] {
        let (_, body) = send(&app, user, &policy, "x.pdf", pdf(), true).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body:#}");
        assert_eq!(user.err(NODE, json!({"id": a["id"]})).await, "NOT_FOUND");
        assert_eq!(user.err(DELETE, json!({"id": a["id"]})).await, "NOT_FOUND");
    }

    // An owner that cannot have attachments is a bad input.
    let (_, body) = send(&app, &org.manager, &org.agent.id, "x.pdf", pdf(), true).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");

    // Nothing was added; the agent and the manager still read the one.
    let d = org.manager.ok(OF_POLICY, json!({"id": policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 1, "{d:#}");
    let d = org.agent.ok(NODE, json!({"id": a["id"]})).await;
    assert_eq!(d["node"]["fileName"], "constat.pdf");
}

#[tokio::test]
async fn a_read_only_api_key_cannot_attach() {
    let app = spawn_app_with(&[LOCAL]).await;
    let (org, _, policy) = book(&app, "readonly").await;
    let key = org
        .admin
        .ok("mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }", json!({"i": {"name": "Reader", "scopes": ["READ"]}}))
        .await;
    let authorization = format!("ApiKey {}", key["createApiKey"]["secret"].as_str().unwrap());
    let (_, body) = send_with(&app, &authorization, &policy, "constat.pdf", pdf(), true).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body:#}");
    let d = org.manager.ok(OF_POLICY, json!({"id": policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 0, "{d:#}");
    assert_eq!(stored_files(app.data_dir()), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn deleting_an_attachment_removes_it_and_is_audited() {
    let app = spawn_app().await;
    let (org, client, _) = book(&app, "del").await;
    let a = attach(&app, &org.agent, &client, "photo.png", png()).await;
    let d = org.agent.ok(DELETE, json!({"id": a["id"]})).await;
    assert_eq!(d["deleteAttachment"], true);
    let d = org.agent.ok(OF_CLIENT, json!({"id": client})).await;
    assert_eq!(d["client"]["attachments"]["totalCount"], 0, "{d:#}");
    assert_eq!(org.agent.err(DELETE, json!({"id": a["id"]})).await, "NOT_FOUND");
    let audit = org
        .admin
        .ok("{ auditLogs(filter: {objectType: \"Attachment\"}) { nodes { action } } }", json!({}))
        .await;
    let actions: Vec<&str> = audit["auditLogs"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["action"].as_str()).collect();
    assert!(actions.contains(&"attachment.upload") && actions.contains(&"attachment.delete"), "{audit:#}");
}

#[tokio::test]
async fn a_client_or_policy_with_attachments_cannot_be_deleted() {
    let app = spawn_app().await;
    let (org, client, policy) = book(&app, "conflict").await;
    let on_policy = attach(&app, &org.agent, &policy, "constat.pdf", pdf()).await;
    let delete_policy = "mutation($id: ID!) { deletePolicy(id: $id) }";
    let delete_client = "mutation($id: ID!) { deleteClient(id: $id) }";
    assert_eq!(org.manager.err(delete_policy, json!({"id": policy})).await, "CONFLICT");

    // Without its policy, the client still has its own attachment.
    org.manager.ok(DELETE, json!({"id": on_policy["id"]})).await;
    org.manager.ok(delete_policy, json!({"id": policy})).await;
    let on_client = attach(&app, &org.agent, &client, "photo.png", png()).await;
    assert_eq!(org.manager.err(delete_client, json!({"id": client})).await, "CONFLICT");
    org.manager.ok(DELETE, json!({"id": on_client["id"]})).await;
    org.manager.ok(delete_client, json!({"id": client})).await;
}

#[tokio::test]
async fn the_orphan_purge_keeps_attachments_files() {
    let app = spawn_app_with(&[LOCAL]).await;
    let (org, client, policy) = book(&app, "purge").await;
    let kept = attach(&app, &org.agent, &policy, "constat.pdf", pdf()).await;
    let gone = attach(&app, &org.agent, &client, "photo.png", png()).await;
    org.agent.ok(DELETE, json!({"id": gone["id"]})).await;
    let then = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    for path in stored_files(app.data_dir()) {
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(then).unwrap();
    }
    assert_eq!(stored_files(app.data_dir()).len(), 2);

    let purged = org.admin.ok(PURGE, json!({})).await;
    assert_eq!(purged["purgeOrphanFiles"], json!({"filesRemoved": 1, "documentsRemoved": 0}), "{purged:#}");
    assert_eq!(stored_files(app.data_dir()).len(), 1);
    assert_eq!(download(&app, &kept).await, pdf(), "the kept attachment still downloads");
}
