//! Spawns the app on port 0 with its own database, and talks to it over HTTP like a client.

use std::collections::HashMap;

use monassurance::{app::Application, config::Settings};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The app's own database, for reading what has no API (the outbox).
    pub database_url: String,
    /// The app's state, to drive its job workers (`run_pending_jobs`).
    pub state: monassurance::state::AppState,
    /// The settings it was built from, for a [`TestApp::sibling`].
    vars: HashMap<String, String>,
    dir: std::sync::Arc<tempfile::TempDir>,
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
}

/// One organization with a user of each role.
pub struct Org {
    pub admin: Actor,
    pub manager: Actor,
    pub agent: Actor,
    pub agent2: Actor,
}

/// A fresh database URL: a SQLite file in `dir`, or a new PostgreSQL database when `TEST_DATABASE_URL` is set.
async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        None => format!("sqlite://{}/test.db?mode=rwc", dir.display()),
        Some(admin_url) => {
            use sea_orm::{ConnectionTrait, Database};
            let name = format!("ma_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            admin.close().await.ok();
            let (base, _) = admin_url.rsplit_once('/').expect("TEST_DATABASE_URL has a database name");
            format!("{base}/{name}")
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        monassurance::observability::logging::init(false);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DATA_DIR".into(), dir.path().display().to_string());
    let db_url = database_url(dir.path()).await;
    vars.insert("DATABASE_URL".into(), db_url.clone());
    vars.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("JWT_SECRET".into(), JWT_SECRET.into());
    vars.insert("WORKERS".into(), "0".into());
    vars.insert("RENDER_WORKERS".into(), "1".into());
    vars.insert("RENDER_WORKER_EXE".into(), env!("CARGO_BIN_EXE_monassurance").into());
    // With TEST_REDIS_URL, the cache, rate limits and events go through Redis, each app under its
    // own key prefix (the tests share one Redis and reuse e-mail addresses).
    if let Ok(redis) = std::env::var("TEST_REDIS_URL") {
        vars.insert("REDIS_URL".into(), redis);
        vars.insert("REDIS_KEY_PREFIX".into(), format!("test:{}:", uuid::Uuid::new_v4().simple()));
    }
    // With TEST_S3_URL (and the AWS_* variables), documents go to that S3-compatible store,
    // each app under its own prefix.
    if let Ok(s3) = std::env::var("TEST_S3_URL") {
        vars.insert("STORAGE_URL".into(), format!("{}/{}", s3.trim_end_matches('/'), uuid::Uuid::new_v4().simple()));
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    start(vars, db_url, std::sync::Arc::new(dir)).await
}

async fn start(vars: HashMap<String, String>, database_url: String, dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings");
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { address, client: reqwest::Client::new(), database_url, state, vars, dir }
}

impl TestApp {
    /// Another server over the same database and data directory (a replica, or this one
    /// restarted with other settings): `extra` overrides this one's settings.
    #[allow(dead_code)]
    pub async fn sibling(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        start(vars, self.database_url.clone(), self.dir.clone()).await
    }

    /// The data directory (documents, generated keys, the SQLite file).
    #[allow(dead_code)]
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs one operation with an optional bearer token; returns the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self.client.post(self.url("/graphql")).json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        assert!(resp.status().is_success(), "HTTP {}", resp.status());
        resp.json().await.expect("JSON body")
    }

    /// Anonymous operation.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.gql(None, query, variables).await
    }

    /// An operation as `actor`.
    pub async fn as_(&self, actor: &Actor, query: &str, variables: Value) -> Value {
        self.gql(Some(&actor.token), query, variables).await
    }

    /// Runs an operation that must succeed; returns its `data`.
    pub async fn ok(&self, actor: &Actor, query: &str, variables: Value) -> Value {
        let body = self.as_(actor, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub async fn register(&self, org: &str, email: &str) -> Actor {
        let body = self
            .graphql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }",
                json!({"i": {"organizationName": org, "email": email, "password": "correct horse battery", "fullName": "Test Admin"}}),
            )
            .await;
        actor_from(&body["data"]["register"]).unwrap_or_else(|| panic!("register failed: {body:#}"))
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.graphql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn user { id email role } session { id current } } }",
            json!({"i": {"email": email, "password": password, "deviceName": "test"}}),
        )
        .await
    }

    /// Creates a user with `role` in the admin's organization and signs them in.
    pub async fn create_user(&self, admin: &Actor, email: &str, role: &str) -> Actor {
        self.ok(
            admin,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"email": email, "fullName": email, "password": "correct horse battery", "role": role}}),
        )
        .await;
        let body = self.login(email, "correct horse battery").await;
        actor_from(&body["data"]["login"]).unwrap_or_else(|| panic!("login failed: {body:#}"))
    }

    /// An organization named `name` with an ADMIN, a MANAGER and two AGENTs.
    pub async fn org(&self, name: &str) -> Org {
        let admin = self.register(name, &format!("admin@{name}.test")).await;
        let manager = self.create_user(&admin, &format!("manager@{name}.test"), "MANAGER").await;
        let agent = self.create_user(&admin, &format!("agent@{name}.test"), "AGENT").await;
        let agent2 = self.create_user(&admin, &format!("agent2@{name}.test"), "AGENT").await;
        Org { admin, manager, agent, agent2 }
    }

    /// Runs one SQL query on the app's database and returns the first column of each row as text.
    pub async fn sql_strings(&self, sql: &str) -> Vec<String> {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(&self.database_url).await.expect("connect to the test database");
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("query");
        rows.iter().map(|r| r.try_get_by_index::<String>(0).expect("a text column")).collect()
    }

    /// Runs every queued job to its end, as a worker would.
    pub async fn run_pending_jobs(&self) {
        monassurance::jobs::worker::run_until_idle(&self.state).await.expect("jobs run");
    }

    /// The `db_statements_total` counter of `/metrics`.
    pub async fn statements(&self) -> u64 {
        let text = self.client.get(self.url("/metrics")).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("db_statements_total in /metrics")
    }

    pub async fn create_company(&self, actor: &Actor, code: &str) -> String {
        let d = self
            .ok(actor, "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }", json!({"i": {"name": format!("Insurer {code}"), "code": code}}))
            .await;
        d["createCompany"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_client(&self, actor: &Actor, last_name: &str) -> String {
        let d = self
            .ok(actor, "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }", json!({"i": {"kind": "PERSON", "firstName": "Ann", "lastName": last_name, "email": "ann@example.com"}}))
            .await;
        d["createClient"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_policy(&self, actor: &Actor, number: &str, client_id: &str, company_id: &str) -> String {
        let d = self
            .ok(
                actor,
                "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }",
                json!({"i": policy_input(number, client_id, company_id)}),
            )
            .await;
        d["createPolicy"]["id"].as_str().unwrap().to_string()
    }

    pub async fn post_raw(&self, path: &str, headers: HeaderMap, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client.post(self.url(path)).headers(headers).body(body).send().await.expect("request sent")
    }
}

pub fn policy_input(number: &str, client_id: &str, company_id: &str) -> Value {
    json!({
        "number": number, "clientId": client_id, "companyId": company_id,
        "productName": "Auto Tous Risques", "productType": "AUTO", "premium": "125000.50",
        "effectiveDate": "2026-01-01", "expiryDate": "2027-01-01", "coverage": {"thirdParty": true}
    })
}

fn actor_from(payload: &Value) -> Option<Actor> {
    Some(Actor {
        id: payload["user"]["id"].as_str()?.to_string(),
        email: payload["user"]["email"].as_str()?.to_string(),
        token: payload["accessToken"].as_str()?.to_string(),
        refresh: payload["refreshToken"].as_str()?.to_string(),
    })
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}
