//! Spawns the app on port 0 with its own database, and talks to it over HTTP like a client.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Set by [`TestApp::allow_unfinished_jobs`]: the teardown check is skipped.
    unfinished_jobs_allowed: AtomicBool,
    /// Stops this app's mail loop (running when `SMTP_URL` is set) when the app is dropped.
    _mail_loop: Option<tokio::sync::watch::Sender<bool>>,
}

/// A signed-in user, and a handle to run operations as them: `org.agent.ok(query, vars)`.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
    client: reqwest::Client,
    /// The GraphQL endpoint of the app the user signed in to.
    graphql: String,
}

/// One organization with a user of each role.
pub struct Org {
    pub admin: User,
    pub manager: User,
    pub agent: User,
    pub agent2: User,
}

impl User {
    /// Runs an operation as this user; returns the whole answer (`data` and `errors`).
    pub async fn run(&self, query: &str, variables: Value) -> Value {
        post_graphql(&self.client, &self.graphql, Some(&self.token), query, variables).await
    }

    /// Runs an operation that must succeed; returns its `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let body = self.run(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors as {}: {body:#}", self.email);
        body["data"].clone()
    }

    /// Runs an operation that must be refused; returns the refusal, which compares to its code:
    /// `assert_eq!(org.agent.err(query, vars).await, "FORBIDDEN")`.
    pub async fn err(&self, query: &str, variables: Value) -> Refusal {
        let body = self.run(query, variables).await;
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "expected errors as {}, got: {body:#}",
            self.email
        );
        Refusal { body }
    }

    /// This user with another access token (the same id, e-mail and refresh token).
    #[allow(dead_code)]
    pub fn with_token(&self, token: &str) -> User {
        User { token: token.to_string(), ..self.clone() }
    }
}

/// An answer with errors. It equals the `&str` of its first error's `extensions.code`, and prints
/// the whole answer when an `assert_eq!` fails.
pub struct Refusal {
    pub body: Value,
}

impl Refusal {
    /// The `extensions.code` of the first error.
    pub fn code(&self) -> &str {
        code(&self.body)
    }

    /// The `extensions.field` of the first error (the input field at fault).
    #[allow(dead_code)]
    pub fn field(&self) -> &str {
        let field = self.body["errors"][0]["extensions"]["field"].as_str();
        field.unwrap_or_else(|| panic!("no error field in {:#}", self.body))
    }
}

impl PartialEq<&str> for Refusal {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<no code>");
        write!(f, "{code} in {:#}", self.body)
    }
}

/// POSTs one operation with an optional bearer token; returns the JSON body.
async fn post_graphql(client: &reqwest::Client, url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = client.post(url).json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request sent");
    assert!(resp.status().is_success(), "HTTP {}", resp.status());
    resp.json().await.expect("JSON body")
}

/// A fresh database URL: a SQLite file in `dir`, or a new PostgreSQL database when `TEST_DATABASE_URL` is set.
pub async fn database_url(dir: &std::path::Path) -> String {
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
    // Mail retries within the tests' patience (the default first wait is 5 s).
    vars.insert("MAIL_RETRY_BASE_MS".into(), "100".into());
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
    let unfinished_jobs_allowed = AtomicBool::new(false);
    // With `SMTP_URL`, a mail loop sends the outbox as a worker process would.
    let _mail_loop = vars.contains_key("SMTP_URL").then(|| {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(monassurance::mail::worker::run(state.clone(), format!("test-mail-{}", uuid::Uuid::new_v4().simple()), stopped));
        stop
    });
    TestApp { address, client: reqwest::Client::new(), database_url, state, vars, dir, unfinished_jobs_allowed, _mail_loop }
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
        post_graphql(&self.client, &self.url("/graphql"), token, query, variables).await
    }

    /// Anonymous operation.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.gql(None, query, variables).await
    }

    /// An operation as `user` on this app (which may be a [`TestApp::sibling`] of the one they
    /// signed in to; on their own app, `user.run(..)` reads better).
    #[allow(dead_code)]
    pub async fn as_(&self, user: &User, query: &str, variables: Value) -> Value {
        self.gql(Some(&user.token), query, variables).await
    }

    /// Runs an operation as `user` on this app that must succeed; returns its `data`.
    #[allow(dead_code)]
    pub async fn ok(&self, user: &User, query: &str, variables: Value) -> Value {
        let body = self.as_(user, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// The signed-in user of a `register` or `login` payload (`accessToken refreshToken user { id email }`).
    pub fn user_from(&self, payload: &Value) -> Option<User> {
        Some(User {
            id: payload["user"]["id"].as_str()?.to_string(),
            email: payload["user"]["email"].as_str()?.to_string(),
            token: payload["accessToken"].as_str()?.to_string(),
            refresh: payload["refreshToken"].as_str()?.to_string(),
            client: self.client.clone(),
            graphql: self.url("/graphql"),
        })
    }

    /// Skips the teardown check for jobs left QUEUED or RUNNING; say why at the call.
    #[allow(dead_code)]
    pub fn allow_unfinished_jobs(&self) {
        self.unfinished_jobs_allowed.store(true, Ordering::Relaxed);
    }

    pub async fn register(&self, org: &str, email: &str) -> User {
        let body = self
            .graphql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }",
                json!({"i": {"organizationName": org, "email": email, "password": "correct horse battery", "fullName": "Test Admin"}}),
            )
            .await;
        self.user_from(&body["data"]["register"]).unwrap_or_else(|| panic!("register failed: {body:#}"))
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.graphql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn user { id email role } session { id current } } }",
            json!({"i": {"email": email, "password": password, "deviceName": "test"}}),
        )
        .await
    }

    /// Creates a user with `role` in the admin's organization and signs them in.
    pub async fn create_user(&self, admin: &User, email: &str, role: &str) -> User {
        admin.ok(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"email": email, "fullName": email, "password": "correct horse battery", "role": role}}),
        )
        .await;
        let body = self.login(email, "correct horse battery").await;
        self.user_from(&body["data"]["login"]).unwrap_or_else(|| panic!("login failed: {body:#}"))
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

    pub async fn create_company(&self, user: &User, code: &str) -> String {
        let d = user
            .ok("mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }", json!({"i": {"name": format!("Insurer {code}"), "code": code}}))
            .await;
        d["createCompany"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_client(&self, user: &User, last_name: &str) -> String {
        let d = user
            .ok("mutation($i: CreateClientInput!) { createClient(input: $i) { id } }", json!({"i": {"kind": "PERSON", "firstName": "Ann", "lastName": last_name, "email": "ann@example.com"}}))
            .await;
        d["createClient"]["id"].as_str().unwrap().to_string()
    }

    pub async fn create_policy(&self, user: &User, number: &str, client_id: &str, company_id: &str) -> String {
        let d = user
            .ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": policy_input(number, client_id, company_id)}))
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
        "productName": "Auto Tous Risques", "productType": "AUTO", "premium": "125000",
        "effectiveDate": "2026-01-01", "expiryDate": "2027-01-01", "coverage": {"thirdParty": true}
    })
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

/// An external tool the tests use to look inside documents (`pdftotext`, `unzip`), or `None`, with
/// the reason on stderr, when it is not installed. In CI (`CI=true`) a missing tool fails the test
/// instead, so no check is skipped there without anyone seeing it.
pub fn tool(name: &str) -> Option<PathBuf> {
    let package = match name {
        "pdftotext" => "poppler-utils",
        other => other,
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`{name}` is not installed and CI does not skip checks: install the Debian package {package}");
        }
        eprintln!("note: `{name}` is not installed (Debian package {package}); the checks that need it are skipped");
    }
    found
}

impl Drop for TestApp {
    /// Fails the test when a job was left QUEUED or RUNNING (like crates.io's `TestApp`): a test that
    /// queues work waits for it, cancels it, or says why not with [`TestApp::allow_unfinished_jobs`].
    fn drop(&mut self) {
        if std::thread::panicking() || self.unfinished_jobs_allowed.load(Ordering::Relaxed) {
            return;
        }
        let url = self.database_url.clone();
        let check = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for the check");
            rt.block_on(unfinished_jobs(&url))
        });
        match check.join().expect("the unfinished-jobs check ran") {
            Ok(left) if left.is_empty() => {}
            Ok(left) => panic!(
                "{} job(s) left unfinished at teardown (wait for them with run_pending_jobs, cancel them, \
                 or call app.allow_unfinished_jobs() saying why): {}",
                left.len(),
                left.join(", ")
            ),
            Err(e) => panic!("could not check for unfinished jobs at teardown: {e}"),
        }
    }
}

/// The jobs of the database at `url` still QUEUED or RUNNING, as `kind id (status)`.
async fn unfinished_jobs(url: &str) -> Result<Vec<String>, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(url).await?;
    let sql = "SELECT id, kind, status FROM jobs WHERE status IN ('QUEUED', 'RUNNING') ORDER BY created_at";
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await;
    db.close().await.ok();
    let mut left = Vec::new();
    for row in rows? {
        let id = match row.try_get_by_index::<uuid::Uuid>(0) {
            Ok(id) => id.to_string(),
            Err(_) => row.try_get_by_index::<String>(0)?,
        };
        left.push(format!("{} {id} ({})", row.try_get_by_index::<String>(1)?, row.try_get_by_index::<String>(2)?));
    }
    Ok(left)
}

/// Asserts a refusal is `BAD_USER_INPUT` naming `expected_field`; `what` says which case it was.
pub fn assert_bad_input(refusal: &Refusal, expected_field: &str, what: &str) {
    assert_eq!(refusal.code(), "BAD_USER_INPUT", "{what}: {refusal:?}");
    assert_eq!(refusal.field(), expected_field, "{what}: {refusal:?}");
}

/// The object without its timestamps, to compare what was written with what is read.
pub fn without_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("createdAt");
        o.remove("updatedAt");
    }
    v
}

/// The `id` field of an object.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v:#}")).to_string()
}

/// Every stored document file under the data directory's `files/` (the readiness probe aside).
pub fn stored_files(data_dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![data_dir.join("files")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if !path.components().any(|c| c.as_os_str() == "_health") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
