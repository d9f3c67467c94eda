//! Abuse of legitimate features: a tenant's purge reaching other tenants' files, readiness probes
//! that write on every call, an API key acting as its creator's signed-in self, an AGENT reading
//! coworkers' e-mails, reset codes that outlive a reset, and a readable development secret.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::documents::{CERTIFICATE, create_template, generate, id, job, made_certificate, run_jobs};
use crate::helpers::*;

/// These tests read the stored files from the disk: local storage even when TEST_S3_URL is set.
const LOCAL: (&str, &str) = ("STORAGE_URL", "");
const PASSWORD: &str = "correct horse battery";
const PURGE: &str = "mutation { purgeOrphanFiles { filesRemoved documentsRemoved } }";
const DELETE_DOCUMENT: &str = "mutation($id: ID!) { deleteDocument(id: $id) }";


/// Makes every stored file look written two hours ago, past the purge's grace period.
fn age_stored_files(data_dir: &Path) {
    let then = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    for path in stored_files(data_dir) {
        let file = std::fs::File::options().write(true).open(&path).expect("open a stored file");
        file.set_modified(then).expect("set its modification time");
    }
}

/// Signs in a SUPERADMIN made the way `monassurance create-superadmin` makes one.
async fn superadmin(app: &TestApp) -> User {
    let email = "root@platform.test";
    monassurance::auth::service::create_superadmin(&app.state, email, PASSWORD).await.expect("a superadmin");
    let body = app.login(email, PASSWORD).await;
    app.user_from(&body["data"]["login"]).unwrap_or_else(|| panic!("superadmin login failed: {body:#}"))
}

// ---- purgeOrphanFiles ------------------------------------------------------------------------

#[tokio::test]
async fn an_admins_purge_spares_other_organizations_orphans_and_a_superadmin_sweep_removes_them() {
    let app = spawn_app_with(&[LOCAL]).await;
    let alpha = made_certificate(&app, "alpha").await;
    let alpha_files = stored_files(app.data_dir());
    assert_eq!(alpha_files.len(), 1, "{alpha_files:?}");
    let beta = made_certificate(&app, "beta").await;
    let beta_files: Vec<PathBuf> =
        stored_files(app.data_dir()).into_iter().filter(|f| !alpha_files.contains(f)).collect();
    assert_eq!(beta_files.len(), 1, "{beta_files:?}");
    for made in [&alpha, &beta] {
        made.book.org.manager.ok(DELETE_DOCUMENT, json!({"id": made.document["id"]})).await;
    }
    age_stored_files(app.data_dir());

    // Alpha's admin removes alpha's orphan only.
    let purged = alpha.book.org.admin.ok(PURGE, json!({})).await;
    assert_eq!(purged["purgeOrphanFiles"], json!({"filesRemoved": 1, "documentsRemoved": 0}));
    assert_eq!(stored_files(app.data_dir()), beta_files, "beta's orphan survives alpha's purge");
    let audit = alpha
        .book
        .org
        .admin
        .ok("{ auditLogs(filter: {action: \"document.purge_orphans\"}) { nodes { metadata } } }", json!({}))
        .await;
    assert_eq!(audit["auditLogs"]["nodes"][0]["metadata"]["filesRemoved"], 1, "{audit:#}");

    // Beta's admin purging again finds beta's; a SUPERADMIN's sweep covers every organization.
    let root = superadmin(&app).await;
    let swept = root.ok(PURGE, json!({})).await;
    assert_eq!(swept["purgeOrphanFiles"]["filesRemoved"], 1, "{swept:#}");
    assert_eq!(stored_files(app.data_dir()), Vec::<PathBuf>::new());
}

// ---- /health/ready ---------------------------------------------------------------------------

#[tokio::test]
async fn readiness_writes_its_storage_probe_once_per_interval_however_often_it_is_called() {
    let app = spawn_app_with(&[LOCAL, ("HEALTH_STORAGE_PROBE_SECS", "3600")]).await;
    let ready = || async {
        let resp = app.client.get(app.url("/health/ready")).send().await.expect("request sent");
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.expect("a JSON body")
    };
    assert_eq!(ready().await["storage"], true);
    let probe = app.data_dir().join("files/_health/probe");
    assert!(probe.is_file(), "the first call writes the probe object");
    std::fs::remove_file(&probe).expect("remove the probe object");

    for _ in 0..50 {
        assert_eq!(ready().await["storage"], true);
    }
    assert!(!probe.exists(), "a call within the interval wrote the probe object again");
}

// ---- API keys are not a signed-in user -------------------------------------------------------

#[tokio::test]
async fn an_api_key_may_not_list_or_revoke_its_creators_sessions_or_touch_their_account() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let key = admin
        .ok(
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            json!({"i": {"name": "Integration", "scopes": ["READ", "WRITE"]}}),
        )
        .await;
    let secret = key["createApiKey"]["secret"].as_str().unwrap().to_string();
    let with_key = |query: &'static str, variables: Value| {
        let (app, secret) = (&app, secret.clone());
        async move {
            let resp = app
                .client
                .post(app.url("/graphql"))
                .header("authorization", format!("ApiKey {secret}"))
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .expect("request sent");
            resp.json::<Value>().await.expect("a JSON body")
        }
    };
    let session = admin.ok("{ sessions { id } }", json!({})).await["sessions"][0]["id"].clone();
    assert!(session.is_string(), "the admin has a session");

    for (what, query, variables) in [
        ("sessions", "{ sessions { id } }", json!({})),
        ("revokeSession", "mutation($id: ID!) { revokeSession(id: $id) }", json!({"id": session})),
        ("logoutAll", "mutation { logoutAll }", json!({})),
        ("changePassword", "mutation { changePassword(currentPassword: \"correct horse battery\", newPassword: \"another long passphrase\") }", json!({})),
    ] {
        let body = with_key(query, variables).await;
        assert_eq!(code(&body), "FORBIDDEN", "{what}: {body:#}");
    }
    let listed = admin.ok("{ sessions { id } }", json!({})).await;
    assert_eq!(listed["sessions"][0]["id"], session, "the admin's session is still live");
}

// ---- who made it: names, not e-mails -----------------------------------------------------------

#[tokio::test]
async fn an_agent_reads_the_name_of_whoever_made_a_template_or_document_but_not_their_email_or_role() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let template = id(&create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let company = app.create_company(&org.manager, "ACME-CO").await;
    let client = app.create_client(&org.agent, "Doe").await;
    let policy = app.create_policy(&org.agent, "ACME-0001", &client, &company).await;
    let job_id = id(&generate(&org.manager, &template, &policy).await);
    run_jobs(&app).await;
    let made = job(&org.manager, &job_id).await;
    let document = made["documents"]["nodes"][0]["id"].clone();
    assert!(document.is_string(), "{made:#}");

    let template_by = "query($id: ID!) { template(id: $id) { createdBy { id fullName FIELD } } }";
    let document_by = "query($id: ID!) { document(id: $id) { createdBy { id fullName FIELD } } }";
    for (what, query, object) in [("template", template_by, json!(template)), ("document", document_by, document)] {
        let vars = json!({"id": object});
        let named = org.agent.ok(&query.replace("FIELD", ""), vars.clone()).await;
        assert_eq!(named[what]["createdBy"]["fullName"], "manager@acme.test", "{what}: {named:#}");
        for field in ["email", "role"] {
            let refused = org.agent.err(&query.replace("FIELD", field), vars.clone()).await;
            assert_eq!(refused, "FORBIDDEN", "an agent reads {what}.createdBy.{field}");
        }
        let full = org.manager.ok(&query.replace("FIELD", "email role"), vars.clone()).await;
        assert_eq!(full[what]["createdBy"]["email"], "manager@acme.test", "{what}: {full:#}");
        assert_eq!(full[what]["createdBy"]["role"], "MANAGER", "{what}: {full:#}");
    }
    // Their own e-mail and role stay theirs to read.
    let me = org.agent.ok("{ me { email role } }", json!({})).await;
    assert_eq!(me["me"], json!({"email": "agent@acme.test", "role": "AGENT"}));
}

// ---- reset codes -------------------------------------------------------------------------------

const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";


#[tokio::test]
async fn a_password_reset_spends_every_other_reset_code_of_the_user() {
    let app = spawn_app().await;
    let email = "ann@acme.test";
    app.register("Acme", email).await;
    for _ in 0..2 {
        app.graphql(REQUEST_RESET, json!({"e": email})).await;
    }
    let codes = crate::passwords::codes_sent_to(&app, email).await;
    assert_eq!(codes.len(), 2, "{codes:?}");
    let used = app.graphql(RESET, json!({"t": codes[1], "p": "a brand new passphrase"})).await;
    assert_eq!(used, json!({"data": {"resetPassword": true}}));
    let stale = app.graphql(RESET, json!({"t": codes[0], "p": "an attacker's passphrase"})).await;
    assert_eq!(code(&stale), "BAD_USER_INPUT", "the older code still works: {stale:#}");
    assert!(app.login(email, "a brand new passphrase").await.get("errors").is_none());
}

#[tokio::test]
async fn a_password_change_spends_the_users_outstanding_reset_codes() {
    let app = spawn_app().await;
    let email = "ann@acme.test";
    let ann = app.register("Acme", email).await;
    app.graphql(REQUEST_RESET, json!({"e": email})).await;
    let codes = crate::passwords::codes_sent_to(&app, email).await;
    ann.ok(
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
        json!({"c": PASSWORD, "n": "a brand new passphrase"}),
    )
    .await;
    let stale = app.graphql(RESET, json!({"t": codes[0], "p": "an attacker's passphrase"})).await;
    assert_eq!(code(&stale), "BAD_USER_INPUT", "a code asked for before the change still works: {stale:#}");
}

// ---- development secrets -----------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn development_secrets_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let settings = || {
        let vars: std::collections::HashMap<&str, String> = [
            ("DATA_DIR", data_dir.clone()),
            ("DATABASE_URL", format!("sqlite://{data_dir}/test.db?mode=rwc")),
        ]
        .into_iter()
        .collect();
        monassurance::config::Settings::from_lookup(|k| vars.get(k).cloned()).expect("development settings")
    };
    let mode = |name: &str| std::fs::metadata(dir.path().join(name)).expect("the secret file").permissions().mode() & 0o777;

    settings();
    for name in ["dev_jwt_secret", "dev_url_signing_key"] {
        assert_eq!(mode(name), 0o600, "{name} as created");
        std::fs::set_permissions(dir.path().join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let secret = std::fs::read_to_string(dir.path().join("dev_jwt_secret")).unwrap();
    settings();
    for name in ["dev_jwt_secret", "dev_url_signing_key"] {
        assert_eq!(mode(name), 0o600, "an existing {name} left readable by others");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("dev_jwt_secret")).unwrap(), secret, "the secret is kept");
}
