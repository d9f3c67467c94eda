//! The audit trail: every kind of change and sign-in writes one row with its actor, object, address
//! and request id, never a secret. Filters, readers and tenancy are in `filters`; the CSV export in `export`.

mod export;
mod filters;

use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";
const WRONG_PASSWORD: &str = "not the password 42";
const USER_AGENT: &str = "audit-tests/1.0";
const LOGS: &str = "query($f: AuditLogFilter) { auditLogs(first: 100, filter: $f) { totalCount nodes { \
     id action objectType objectId apiKeyId ip userAgent requestId metadata createdAt actor { id email } } } }";

/// POSTs one operation with `X-Request-ID: request_id`, a user agent and, when given, a raw
/// `Authorization` value; returns the JSON body.
async fn call(app: &TestApp, authorization: Option<&str>, request_id: &str, query: &str, variables: Value) -> Value {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", request_id)
        .header("user-agent", USER_AGENT)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("request sent");
    assert!(resp.status().is_success(), "HTTP {}", resp.status());
    resp.json().await.expect("JSON body")
}

/// The `data` of an answer that must have no errors.
fn data(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v:#}")).to_string()
}

/// The audit rows `actor` reads with `filter` (one page of 100, newest first).
async fn logs(actor: &User, filter: Value) -> Vec<Value> {
    let d = actor.ok(LOGS, json!({"f": filter})).await;
    let conn = &d["auditLogs"];
    assert!(conn["totalCount"].as_u64().is_some_and(|n| n <= 100), "more rows than one page: {conn:#}");
    conn["nodes"].as_array().expect("nodes").clone()
}

/// One recorded action: what row it must have written.
struct Step {
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    request_id: String,
}

/// An organization whose ADMIN did one of each audited thing, each with its own request id.
struct Trail {
    admin: User,
    steps: Vec<Step>,
    /// The secret of the API key created (and then revoked) along the way.
    secret: String,
}

/// Registers `org`'s admin and does one of each audited mutation over HTTP, with request ids `"{org}-{action}"`.
async fn one_of_each(app: &TestApp, org: &str) -> Trail {
    let email = format!("admin@{org}.test");
    let rid = |action: &str| format!("{org}-{action}");
    let mut steps = Vec::new();
    let mut step = |action: &'static str, object_type: &'static str, object_id: String| {
        steps.push(Step { action, object_type, object_id, request_id: rid(action) });
    };

    let reg = data(
        call(
            app,
            None,
            &rid("auth.register"),
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }",
            json!({"i": {"organizationName": org, "email": email, "password": PASSWORD, "fullName": "Ann Admin"}}),
        )
        .await,
    )["register"]
        .clone();
    let admin = app.user_from(&reg).unwrap_or_else(|| panic!("register failed: {reg:#}"));
    let bearer = format!("Bearer {}", admin.token);
    let auth = Some(bearer.as_str());
    step(
        "auth.register",
        "Organization",
        id(&admin.ok("{ organization { id } }", json!({})).await["organization"]),
    );

    let login_q = "mutation($i: LoginInput!) { login(input: $i) { accessToken session { id } } }";
    let login =
        data(call(app, None, &rid("auth.login"), login_q, json!({"i": {"email": email, "password": PASSWORD}})).await);
    let second_session = format!("Bearer {}", login["login"]["accessToken"].as_str().unwrap());
    step("auth.login", "User", admin.id.clone());
    let failed =
        call(app, None, &rid("auth.login_failed"), login_q, json!({"i": {"email": email, "password": WRONG_PASSWORD}}))
            .await;
    assert_eq!(code(&failed), "UNAUTHENTICATED", "{failed:#}");
    step("auth.login_failed", "User", admin.id.clone());

    let write =
        async |action: &'static str, query: &str, vars: Value| data(call(app, auth, &rid(action), query, vars).await);
    let user = write("user.create", "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
        json!({"i": {"email": format!("manager@{org}.test"), "fullName": "Max", "password": PASSWORD, "role": "MANAGER"}})).await;
    let company = write(
        "company.create",
        "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }",
        json!({"i": {"name": "Insurer", "code": "INS"}}),
    )
    .await;
    let company = id(&company["createCompany"]);
    write(
        "company.update",
        "mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { id } }",
        json!({"i": {"id": company, "name": "Insurer Renamed"}}),
    )
    .await;
    let client = write(
        "client.create",
        "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }",
        json!({"i": {"kind": "PERSON", "firstName": "Ann", "lastName": "Alpha"}}),
    )
    .await;
    let client = id(&client["createClient"]);
    write(
        "client.update",
        "mutation($i: UpdateClientInput!) { updateClient(input: $i) { id } }",
        json!({"i": {"id": client, "lastName": "Beta"}}),
    )
    .await;
    let policy = write(
        "policy.create",
        "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }",
        json!({"i": policy_input("P-1", &client, &company)}),
    )
    .await;
    let policy = id(&policy["createPolicy"]);
    write(
        "policy.update",
        "mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { id } }",
        json!({"i": {"id": policy, "productName": "Auto Plus"}}),
    )
    .await;
    write(
        "policy.set_status",
        "mutation($id: ID!) { setPolicyStatus(id: $id, status: ACTIVE) { id } }",
        json!({"id": policy}),
    )
    .await;
    write("policy.delete", "mutation($id: ID!) { deletePolicy(id: $id) }", json!({"id": policy})).await;
    write("client.delete", "mutation($id: ID!) { deleteClient(id: $id) }", json!({"id": client})).await;
    write("company.delete", "mutation($id: ID!) { deleteCompany(id: $id) }", json!({"id": company})).await;
    let key = write(
        "api_key.create",
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } secret } }",
        json!({"i": {"name": "Export", "scopes": ["READ", "WRITE"]}}),
    )
    .await;
    let (key_id, secret) =
        (id(&key["createApiKey"]["apiKey"]), key["createApiKey"]["secret"].as_str().unwrap().to_string());
    write("api_key.revoke", "mutation($id: ID!) { revokeApiKey(id: $id) }", json!({"id": key_id})).await;
    let user = id(&user["createUser"]);
    let logout =
        data(call(app, Some(second_session.as_str()), &rid("auth.logout"), "mutation { logout }", json!({})).await);
    assert_eq!(logout["logout"], true);

    step("user.create", "User", user);
    for action in ["company.create", "company.update", "company.delete"] {
        step(action, "Company", company.clone());
    }
    for action in ["client.create", "client.update", "client.delete"] {
        step(action, "Client", client.clone());
    }
    for action in ["policy.create", "policy.update", "policy.set_status", "policy.delete"] {
        step(action, "Policy", policy.clone());
    }
    for action in ["api_key.create", "api_key.revoke"] {
        step(action, "ApiKey", key_id.clone());
    }
    step("auth.logout", "Session", id(&login["login"]["session"]));
    Trail { admin, steps, secret }
}

/// Every key of a JSON value, at any depth.
fn keys_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            keys_of(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_kind_of_change_writes_a_row_with_its_actor_object_address_and_request_id() {
    let app = spawn_app().await;
    let trail = one_of_each(&app, "acme").await;
    assert_eq!(trail.steps.len(), 17);
    for step in &trail.steps {
        let rows = logs(&trail.admin, json!({"action": step.action})).await;
        assert!(rows.iter().all(|r| r["action"] == step.action), "{}: {rows:#?}", step.action);
        let row = rows
            .iter()
            .find(|r| r["requestId"] == step.request_id.as_str())
            .unwrap_or_else(|| panic!("no {} row with request id {}: {rows:#?}", step.action, step.request_id));
        assert_eq!(row["objectType"], step.object_type, "{row:#}");
        assert_eq!(row["objectId"], step.object_id.as_str(), "{row:#}");
        assert_eq!(row["actor"]["email"], trail.admin.email.as_str(), "{row:#}");
        assert_eq!(row["actor"]["id"], trail.admin.id.as_str(), "{row:#}");
        assert_eq!(row["ip"], "127.0.0.1", "{row:#}");
        assert_eq!(row["userAgent"], USER_AGENT, "{row:#}");
        assert!(row["apiKeyId"].is_null(), "a user's action names an API key: {row:#}");
        assert!(row["createdAt"].is_string() && row["id"].is_string(), "{row:#}");
    }
    let failed = logs(&trail.admin, json!({"action": "auth.login_failed"})).await;
    assert_eq!(failed[0]["metadata"]["email"], trail.admin.email.as_str(), "{failed:#?}");
    assert!(!failed[0]["metadata"].to_string().contains(WRONG_PASSWORD), "{failed:#?}");
}

#[tokio::test]
async fn no_audit_metadata_holds_a_password_a_secret_or_a_token() {
    let app = spawn_app().await;
    let trail = one_of_each(&app, "acme").await;
    let new_password = "another long passphrase";
    app.ok(
        &trail.admin,
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
        json!({"c": PASSWORD, "n": new_password}),
    )
    .await;
    app.graphql("mutation { requestPasswordReset(email: \"admin@acme.test\") }", json!({})).await;

    let rows = logs(&trail.admin, json!({})).await;
    assert!(rows.len() >= 19, "{} rows", rows.len());
    for row in &rows {
        let mut keys = Vec::new();
        keys_of(&row["metadata"], &mut keys);
        for k in keys.iter().map(|k| k.to_lowercase()) {
            assert!(!["password", "secret", "token"].iter().any(|s| k.contains(s)), "metadata key {k:?}: {row:#}");
        }
        let text = row["metadata"].to_string();
        for secret in [PASSWORD, WRONG_PASSWORD, new_password, trail.secret.as_str(), trail.admin.token.as_str()] {
            assert!(!text.contains(secret), "metadata holds {secret:?}: {row:#}");
        }
    }
}

#[tokio::test]
async fn a_write_by_an_api_key_records_the_key() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let d = admin
        .ok(
            "mutation { createApiKey(input: {name: \"Sync\", scopes: [READ, WRITE]}) { apiKey { id } secret } }",
            json!({}),
        )
        .await;
    let key = &d["createApiKey"];
    let auth = format!("ApiKey {}", key["secret"].as_str().unwrap());
    let body = call(
        &app,
        Some(auth.as_str()),
        "by-key",
        "mutation { createCompany(input: {name: \"Keyed\", code: \"KEY\"}) { id } }",
        json!({}),
    )
    .await;
    let company = id(&data(body)["createCompany"]);

    let rows = logs(&admin, json!({"action": "company.create"})).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["apiKeyId"], key["apiKey"]["id"], "{rows:#?}");
    assert_eq!(rows[0]["objectId"], company.as_str());
    assert_eq!(rows[0]["requestId"], "by-key");
    assert_eq!(rows[0]["actor"]["email"], "admin@acme.test", "a key acts for the admin who created it");
}
