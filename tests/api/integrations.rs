//! Insurer integrations through the API: `setCompanyIntegration` for ADMINs of the company's
//! organization only, `Company.integration` never answering the secret (nor the database or the
//! audit trail holding it in clear), endpoints on loopback, private and metadata addresses (or
//! names resolving to them) refused, `http://` refused in production. The deliveries themselves
//! (`integrations/deliveries.rs`) go to a receiver the tests start (`integrations/receiver.rs`).

pub mod deliveries;
pub mod receiver;

use serde_json::{Value, json};

use crate::helpers::*;

pub const SET: &str = "mutation($i: SetCompanyIntegrationInput!) { setCompanyIntegration(input: $i) { \
    id integration { endpoint secretSet lastDeliveryAt } } }";
const COMPANY: &str = "query($id: ID!) { company(id: $id) { id integration { endpoint secretSet lastDeliveryAt } } }";
pub const SECRET: &str = "whsec_correct-horse-battery-staple";
/// A public address: no name to resolve, so the tests need no network.
const PUBLIC: &str = "https://93.184.216.34/hooks/monassurance";

pub fn input(company: &str, endpoint: Option<&str>, secret: Option<&str>) -> Value {
    json!({"i": {"companyId": company, "endpoint": endpoint, "secret": secret}})
}

#[tokio::test]
async fn an_admin_sets_an_integration_and_no_answer_nor_row_holds_its_secret() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    let before = org.manager.ok(COMPANY, json!({"id": company})).await;
    assert_eq!(before["company"]["integration"], Value::Null);

    let answer = org.admin.run(SET, input(&company, Some(PUBLIC), Some(SECRET))).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(answer["data"]["setCompanyIntegration"]["integration"], json!({"endpoint": PUBLIC, "secretSet": true, "lastDeliveryAt": null}));
    assert!(!answer.to_string().contains(SECRET), "{answer:#}");
    for user in [&org.admin, &org.manager, &org.agent] {
        let read = user.run(COMPANY, json!({"id": company})).await;
        assert_eq!(read["data"]["company"]["integration"]["endpoint"], PUBLIC, "{read:#}");
        assert!(!read.to_string().contains(SECRET), "{read:#}");
    }
    let stored = app.sql_strings("SELECT secret_encrypted FROM company_integrations").await;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(SECRET) && !stored[0].contains("correct-horse"), "the secret is stored in clear");
    let trail = app.sql_strings("SELECT CAST(metadata AS TEXT) FROM audit_logs WHERE action LIKE 'company.integration.%'").await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert!(!trail.concat().contains("correct-horse"), "{trail:?}");

    // A new endpoint without a secret keeps the secret; a new secret replaces it.
    let moved = "https://93.184.216.35/hooks";
    let changed = org.admin.ok(SET, input(&company, Some(moved), None)).await;
    assert_eq!(changed["setCompanyIntegration"]["integration"]["endpoint"], moved);
    assert_eq!(changed["setCompanyIntegration"]["integration"]["secretSet"], true);
    assert_eq!(app.sql_strings("SELECT secret_encrypted FROM company_integrations").await, stored);
    org.admin.ok(SET, input(&company, Some(moved), Some("another-secret-of-some-length"))).await;
    assert_ne!(app.sql_strings("SELECT secret_encrypted FROM company_integrations").await, stored);

    // `endpoint: null` removes it.
    let removed = org.admin.ok(SET, input(&company, None, None)).await;
    assert_eq!(removed["setCompanyIntegration"]["integration"], Value::Null);
    assert!(app.sql_strings("SELECT endpoint FROM company_integrations").await.is_empty());
    let actions = app.sql_strings("SELECT action FROM audit_logs WHERE action LIKE 'company.integration.%' ORDER BY created_at").await;
    assert_eq!(actions, ["company.integration.create", "company.integration.update", "company.integration.update", "company.integration.remove"]);
}

#[tokio::test]
async fn only_an_admin_of_the_companys_organization_sets_its_integration() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let company = app.create_company(&acme.admin, "AXA").await;
    for user in [&acme.manager, &acme.agent] {
        assert_eq!(user.err(SET, input(&company, Some(PUBLIC), Some(SECRET))).await, "FORBIDDEN");
    }
    assert_eq!(globex.admin.err(SET, input(&company, Some(PUBLIC), Some(SECRET))).await, "NOT_FOUND");
    // Even with an endpoint that would be refused: the company is not theirs to hear about.
    assert_eq!(globex.admin.err(SET, input(&company, Some("http://127.0.0.1/"), Some(SECRET))).await, "NOT_FOUND");
    let read = acme.admin.ok(COMPANY, json!({"id": company})).await;
    assert_eq!(read["company"]["integration"], Value::Null);
}

#[tokio::test]
async fn endpoints_on_loopback_private_or_metadata_addresses_are_refused() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    for endpoint in [
        "http://127.0.0.1:8080/hooks",
        "http://10.0.0.5/hooks",
        "http://192.168.1.10/hooks",
        "http://172.16.3.4/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hooks",
        "http://[::1]/hooks",
        "http://[fd00::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
        "http://localhost:8080/hooks",
        "not a url",
        "ftp://93.184.216.34/hooks",
        "https://user:password@93.184.216.34/hooks",
    ] {
        let refusal = org.admin.err(SET, input(&company, Some(endpoint), Some(SECRET))).await;
        assert_bad_input(&refusal, "input.endpoint", endpoint);
    }
    for (endpoint, reason) in [("http://localhost:8080/hooks", "loopback"), ("http://169.254.169.254/latest/meta-data/", "link-local")] {
        let refusal = org.admin.err(SET, input(&company, Some(endpoint), Some(SECRET))).await;
        let message = refusal.body["errors"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(reason), "{endpoint}: {refusal:?}");
    }
    let refusal = org.admin.err(SET, input(&company, Some(PUBLIC), None)).await;
    assert_bad_input(&refusal, "input.secret", "a new integration without a secret");
    let refusal = org.admin.err(SET, input(&company, Some(PUBLIC), Some("short"))).await;
    assert_bad_input(&refusal, "input.secret", "a short secret");
    assert!(app.sql_strings("SELECT endpoint FROM company_integrations").await.is_empty());
}

#[tokio::test]
async fn private_endpoints_are_accepted_when_integrations_allow_private() {
    let app = spawn_app_with(&[("INTEGRATIONS_ALLOW_PRIVATE", "true")]).await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    let set = org.admin.ok(SET, input(&company, Some("http://localhost:9/hooks"), Some(SECRET))).await;
    assert_eq!(set["setCompanyIntegration"]["integration"]["endpoint"], "http://localhost:9/hooks");
    // Multicast and unspecified addresses never are.
    let refusal = org.admin.err(SET, input(&company, Some("http://224.0.0.1/hooks"), Some(SECRET))).await;
    assert_bad_input(&refusal, "input.endpoint", "multicast");
}

#[tokio::test]
async fn production_takes_https_endpoints_only_and_needs_encryption_keys_for_the_secret() {
    let keys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let signing = "s1:0123456789abcdef0123456789abcdef0123456789";
    let app = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", signing), ("STORAGE_ENCRYPTION_KEYS", keys)]).await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    let refusal = org.admin.err(SET, input(&company, Some("http://93.184.216.34/hooks"), Some(SECRET))).await;
    assert_bad_input(&refusal, "input.endpoint", "http in production");
    org.admin.ok(SET, input(&company, Some(PUBLIC), Some(SECRET))).await;
    assert_eq!(app.sql_strings("SELECT secret_kid FROM company_integrations").await, ["k1"]);

    let unkeyed = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", signing)]).await;
    let org = unkeyed.org("acme").await;
    let company = unkeyed.create_company(&org.admin, "AXA").await;
    let refusal = org.admin.err(SET, input(&company, Some(PUBLIC), Some(SECRET))).await;
    assert_bad_input(&refusal, "input.secret", "no STORAGE_ENCRYPTION_KEYS in production");
}

#[tokio::test]
async fn an_endpoints_query_string_is_shown_to_admins_only_and_kept_out_of_the_audit_trail() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    let endpoint = format!("{PUBLIC}?token=insurer-issued-token");
    org.admin.ok(SET, input(&company, Some(&endpoint), Some(SECRET))).await;
    let admin = org.admin.ok(COMPANY, json!({"id": company})).await;
    assert_eq!(admin["company"]["integration"]["endpoint"], endpoint);
    for user in [&org.manager, &org.agent] {
        let read = user.ok(COMPANY, json!({"id": company})).await;
        let shown = read["company"]["integration"]["endpoint"].as_str().unwrap().to_string();
        assert!(shown.starts_with(PUBLIC) && !shown.contains("insurer-issued-token"), "{shown}");
    }
    let audit = org.admin.ok("{ auditLogs(first: 5, filter: {action: \"company.integration.create\"}) { nodes { metadata } } }", json!({})).await;
    assert!(!audit.to_string().contains("insurer-issued-token"), "{audit:#}");
    assert_eq!(audit["auditLogs"]["nodes"].as_array().unwrap().len(), 1);
}
