//! API keys: created and listed by an ADMIN (the secret shown once), used with
//! `Authorization: ApiKey <secret>` under their scopes and MANAGER rights, revoked at once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE_KEY: &str = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { \
     apiKey { id name prefix scopes lastUsedAt createdAt revokedAt } secret } }";
const LIST_KEYS: &str = "{ apiKeys { id name prefix scopes lastUsedAt createdAt revokedAt } }";
const REVOKE_KEY: &str = "mutation($id: ID!) { revokeApiKey(id: $id) }";
const COMPANIES: &str = "{ companies { totalCount nodes { id code } } }";
const CREATE_COMPANY: &str = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id code } }";
const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs one operation with a raw `Authorization` value; returns the status and the JSON body.
async fn post_as(
    app: &TestApp,
    authorization: &str,
    accept: &str,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", authorization)
        .header("accept", accept)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request sent");
    let status = resp.status();
    (status, resp.json().await.expect("JSON body"))
}

/// One operation with `Authorization: ApiKey <secret>`, answered 200.
async fn with_key(app: &TestApp, secret: &str, query: &str, variables: Value) -> Value {
    let (status, body) = post_as(app, &format!("ApiKey {secret}"), JSON, query, variables).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body
}

/// Creates a key with `scopes`; returns the `CreateApiKeyPayload`.
async fn create_key(admin: &User, name: &str, scopes: &[&str]) -> Value {
    let d = admin.ok(CREATE_KEY, json!({"i": {"name": name, "scopes": scopes}})).await;
    d["createApiKey"].clone()
}

fn secret_of(payload: &Value) -> String {
    payload["secret"].as_str().expect("a secret").to_string()
}

fn assert_no_data(body: &Value) {
    assert!(body.get("data").is_none_or(Value::is_null), "a refused operation returned data: {body:#}");
}

#[tokio::test]
async fn an_admin_creates_a_key_whose_secret_starts_with_its_prefix_and_is_never_listed() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let created = create_key(&admin, "Accounting export", &["READ", "WRITE"]).await;
    let key = &created["apiKey"];
    let secret = secret_of(&created);
    let prefix = key["prefix"].as_str().expect("a prefix");
    assert!(!prefix.is_empty(), "{created:#}");
    assert!(secret.starts_with(prefix) && secret.len() > prefix.len() + 16, "secret {secret:?}, prefix {prefix:?}");
    assert_eq!(key["name"], "Accounting export");
    assert_eq!(key["scopes"], json!(["READ", "WRITE"]));
    assert!(key["lastUsedAt"].is_null() && key["revokedAt"].is_null(), "{created:#}");

    let listed = admin.ok(LIST_KEYS, json!({})).await;
    let keys = listed["apiKeys"].as_array().expect("a list");
    assert_eq!(keys.len(), 1, "{listed:#}");
    assert_eq!(keys[0]["id"], key["id"]);
    assert_eq!(keys[0]["prefix"], key["prefix"]);
    assert!(!listed.to_string().contains(&secret), "the listing shows the secret: {listed:#}");

    // There is no field to read a secret back.
    assert_eq!(admin.err("{ apiKeys { id secret } }", json!({})).await, "GRAPHQL_VALIDATION_FAILED");

    // Without scopes, a key reads only.
    let d = admin.ok(CREATE_KEY, json!({"i": {"name": "Reports"}})).await;
    assert_eq!(d["createApiKey"]["apiKey"]["scopes"], json!(["READ"]));
    assert_ne!(secret_of(&d["createApiKey"]), secret, "every key has its own secret");
}

#[tokio::test]
async fn managers_and_agents_may_not_create_or_list_api_keys() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for actor in [&org.manager, &org.agent] {
        assert_eq!(actor.err(CREATE_KEY, json!({"i": {"name": "Mine", "scopes": ["READ"]}})).await, "FORBIDDEN", "{} createApiKey", actor.email);
        assert_eq!(actor.err(LIST_KEYS, json!({})).await, "FORBIDDEN", "{} apiKeys", actor.email);
    }
    let listed = org.admin.ok(LIST_KEYS, json!({})).await;
    assert_eq!(listed["apiKeys"], json!([]), "a refused createApiKey created a key");
}

#[tokio::test]
async fn a_key_reads_companies_with_the_apikey_scheme() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let secret = secret_of(&create_key(&admin, "Reader", &["READ"]).await);
    let body = with_key(&app, &secret, COMPANIES, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["companies"]["totalCount"], 1, "{body:#}");
    assert_eq!(body["data"]["companies"]["nodes"][0]["id"], company.as_str());
}

#[tokio::test]
async fn a_read_only_key_may_not_run_a_mutation_and_nothing_is_created() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let auth = format!("ApiKey {}", secret_of(&create_key(&admin, "Reader", &["READ"]).await));
    let vars = json!({"i": {"name": "Read Only Insurer", "code": "RO"}});

    let (status, body) = post_as(&app, &auth, JSON, CREATE_COMPANY, vars.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(code(&body), "FORBIDDEN", "{body:#}");
    assert_no_data(&body);

    let (status, body) = post_as(&app, &auth, GRAPHQL_RESPONSE, CREATE_COMPANY, vars).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:#}");
    assert_eq!(code(&body), "FORBIDDEN", "{body:#}");
    assert_no_data(&body);

    let d = admin.ok(COMPANIES, json!({})).await;
    assert_eq!(d["companies"]["totalCount"], 0, "a refused mutation created a company: {d:#}");
}

#[tokio::test]
async fn a_write_key_creates_companies_with_manager_rights_only() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let secret = secret_of(&create_key(&admin, "Integration", &["READ", "WRITE"]).await);
    let body = with_key(&app, &secret, CREATE_COMPANY, json!({"i": {"name": "Keyed Insurer", "code": "KEY"}})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let id = body["data"]["createCompany"]["id"].clone();
    let d = admin.ok(COMPANIES, json!({})).await;
    assert_eq!(d["companies"]["nodes"][0]["id"], id, "{d:#}");

    // MANAGER rights, not ADMIN ones: no users, no keys.
    let body = with_key(&app, &secret, "{ users { totalCount } }", json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body:#}");
    let body = with_key(&app, &secret, CREATE_KEY, json!({"i": {"name": "Child", "scopes": ["WRITE"]}})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body:#}");
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let created = create_key(&admin, "Soon gone", &["READ"]).await;
    let secret = secret_of(&created);
    let body = with_key(&app, &secret, COMPANIES, json!({})).await;
    assert!(body.get("errors").is_none(), "the key works before it is revoked: {body:#}");

    let d = admin.ok(REVOKE_KEY, json!({"id": created["apiKey"]["id"]})).await;
    assert_eq!(d["revokeApiKey"], true);
    let body = with_key(&app, &secret, COMPANIES, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");

    let listed = admin.ok(LIST_KEYS, json!({})).await;
    assert!(listed["apiKeys"][0]["revokedAt"].is_string(), "revoked keys stay listed with revokedAt: {listed:#}");
}

#[tokio::test]
async fn another_organizations_admin_cannot_revoke_a_key() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let other = app.register("Other", "admin@other.test").await;
    let created = create_key(&admin, "Ours", &["READ"]).await;
    assert_eq!(other.err(REVOKE_KEY, json!({"id": created["apiKey"]["id"]})).await, "NOT_FOUND");
    assert_eq!(other.ok(LIST_KEYS, json!({})).await["apiKeys"], json!([]));

    let body = with_key(&app, &secret_of(&created), COMPANIES, json!({})).await;
    assert!(body.get("errors").is_none(), "the key still works: {body:#}");
}

#[tokio::test]
async fn last_used_at_is_set_after_the_key_is_used() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let created = create_key(&admin, "Tracked", &["READ"]).await;
    assert!(created["apiKey"]["lastUsedAt"].is_null());
    let body = with_key(&app, &secret_of(&created), COMPANIES, json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");

    // The write is asynchronous: poll for up to about two seconds.
    let mut last_used = Value::Null;
    for _ in 0..20 {
        last_used = admin.ok(LIST_KEYS, json!({})).await["apiKeys"][0]["lastUsedAt"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_used.is_string(), "lastUsedAt never set");
}

#[tokio::test]
async fn an_unknown_or_garbage_api_key_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let real = secret_of(&create_key(&admin, "Real", &["READ"]).await);
    let forged = format!("{}x", real);
    for secret in
        ["ma_deadbeef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "garbage", forged.as_str(), admin.token.as_str()]
    {
        let body = with_key(&app, secret, COMPANIES, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "ApiKey {secret}: {body:#}");
        assert!(body["data"].is_null(), "{body:#}");
    }
}

#[tokio::test]
async fn an_api_key_cannot_log_out_or_change_a_password() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let secret = secret_of(&create_key(&admin, "Writer", &["READ", "WRITE"]).await);
    for op in [
        "mutation { logout }",
        "mutation { logoutAll }",
        "mutation { changePassword(currentPassword: \"correct horse battery\", newPassword: \"another long passphrase\") }",
    ] {
        let body = with_key(&app, &secret, op, json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{op}: {body:#}");
    }
    // The admin's own session and password are untouched.
    assert!(admin.ok("{ me { id } }", json!({})).await["me"]["id"].is_string());
    let body = app.login("admin@acme.test", "correct horse battery").await;
    assert!(body.get("errors").is_none(), "{body:#}");
}
