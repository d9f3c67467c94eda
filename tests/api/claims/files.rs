//! A claim's file: photos and reports attached to the claim itself, listed on it (not on its
//! policy), downloaded byte-identical, out of reach of other agents and organizations.

use serde_json::json;

use super::{create_claim, desk, set_status};
use crate::attachments::{attach, download, png, pdf, send};

const OF_CLAIM: &str = "query($id: ID!) { claim(id: $id) { number attachments(first: 10) { totalCount nodes { id fileName mimeType } } } \
    }";

#[tokio::test]
async fn a_claim_keeps_its_own_files_through_to_closed() {
    let app = crate::helpers::spawn_app().await;
    let acme = desk(&app, "acme").await;
    let globex = desk(&app, "globex").await;
    let agent = &acme.org.agent;
    let claim = create_claim(agent, &acme.policy).await;
    let id = claim["id"].as_str().unwrap();

    let photo = attach(&app, agent, id, "pare-choc.png", png()).await;
    assert_eq!(photo["mimeType"], "image/png");
    let report = attach(&app, &acme.org.manager, id, "expertise.pdf", pdf()).await;
    assert_eq!(download(&app, &photo).await, png(), "the photo comes back byte for byte");
    assert_eq!(download(&app, &report).await, pdf());

    let d = agent.ok(OF_CLAIM, json!({"id": id})).await;
    let names: Vec<&str> = d["claim"]["attachments"]["nodes"].as_array().unwrap().iter().map(|n| n["fileName"].as_str().unwrap()).collect();
    assert_eq!(names, ["expertise.pdf", "pare-choc.png"], "newest first");
    let d = agent.ok("query($id: ID!) { policy(id: $id) { attachments { totalCount } } }", json!({"id": acme.policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 0, "a claim's files are the claim's, not its policy's");

    // Out of reach: another agent of the organization, another organization.
    for outsider in [&acme.org.agent2, &globex.org.admin] {
        let (_, body) = send(&app, outsider, id, "x.png", png(), true).await;
        assert_eq!(crate::helpers::code(&body), "NOT_FOUND", "{body:#}");
    }

    for (status, amount) in [("SUBMITTED", None), ("UNDER_REVIEW", None), ("APPROVED", None), ("SETTLED", Some("500000")), ("CLOSED", None)] {
        let body = set_status(&acme.org.manager, id, status, None, amount).await;
        assert!(body.get("errors").is_none(), "{status}: {body:#}");
    }
    let d = agent.ok(OF_CLAIM, json!({"id": id})).await;
    assert_eq!(d["claim"]["attachments"]["totalCount"], 2, "a closed claim keeps its file");
}
