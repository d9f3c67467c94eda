//! Scale-out with the real binary: two API replicas (`serve`, no in-process workers) and
//! `worker` processes over one PostgreSQL and one Redis. A client subscribed on replica A
//! generates 500 documents through replica B; the worker is killed with SIGKILL halfway and a
//! new one started; the subscriber sees progress to the end, and exactly 500 documents exist.
//! Another test kills and restarts Redis mid-job: the job and the subscriber still finish.
//! Two worker processes drain one outbox into an SMTP sink: each message arrives once.
//!
//! Needs `TEST_DATABASE_URL` (PostgreSQL) and `TEST_REDIS_URL`; skipped with a printed reason
//! when they are unset. The Redis restart test runs its own `redis-server` on a free port.

use std::{
    net::TcpListener,
    process::Stdio,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::{
    net::TcpStream,
    process::{Child, Command},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
    },
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The SMTP sink of the API tests.
#[path = "api/mail/sink.rs"]
mod sink;

const BIN: &str = env!("CARGO_BIN_EXE_monassurance");
const DOCUMENTS: usize = 500;
const CERTIFICATE: &str = "#let data = json(\"/data.json\")\n= Certificat\nPolice: #data.policy.number\n";

fn env_or_skip(test: &str) -> Option<(String, String)> {
    match (std::env::var("TEST_DATABASE_URL"), std::env::var("TEST_REDIS_URL")) {
        (Ok(db), Ok(redis)) if db.starts_with("postgres") => Some((db, redis)),
        _ => {
            println!("skipping {test}: set TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL to run the multi-process tests");
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port()
}

/// A fresh database on the server of `url`; returns its URL.
async fn fresh_database(url: &str) -> (String, String) {
    let name = format!("ma_mp_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.expect("PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(url);
    (format!("{base}/{name}"), name)
}

async fn drop_database(url: &str, name: &str) {
    if let Ok(admin) = Database::connect(url).await {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    }
}

/// The settings every process of one cluster shares.
struct Cluster {
    database_url: String,
    redis_url: String,
    data_dir: tempfile::TempDir,
}

impl Cluster {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("DATA_DIR", self.data_dir.path())
            .env("JWT_SECRET", "multi-process-test-secret-of-at-least-32-bytes")
            .env("URL_SIGNING_KEYS", "k1:multi-process-test-signing-key-32-bytes-long")
            .env("JOB_LEASE_SECS", "3")
            // A render may not outlast the lease (the settings refuse it).
            .env("RENDER_TIMEOUT_SECS", "3")
            .env("RENDER_WORKERS", "1")
            .env("RATE_LIMIT_RPM", "0")
            .env("MAX_BATCH", "50")
            .env("RUST_LOG", std::env::var("MP_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(if std::env::var("MP_LOG").is_ok() { Stdio::inherit() } else { Stdio::null() })
            .kill_on_drop(true);
        if let Ok(s3) = std::env::var("TEST_S3_URL") {
            c.env("STORAGE_URL", s3);
            for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ALLOW_HTTP"] {
                if let Ok(v) = std::env::var(k) {
                    c.env(k, v);
                }
            }
        }
        c
    }

    /// `serve` with no in-process workers on a free port; waits for `/health/ready`.
    async fn replica(&self) -> (Child, String) {
        let port = free_port();
        let child = self
            .command(&["serve"])
            .env("WORKERS", "0")
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .spawn()
            .expect("replica started");
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&base).await;
        (child, base)
    }

    fn worker(&self) -> Child {
        self.command(&["worker"]).env("WORKERS", "2").spawn().expect("worker started")
    }
}

async fn wait_ready(base: &str) {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/health/ready")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{base} was not ready within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn gql(base: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new().post(format!("{base}/graphql")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("sent").json().await.expect("JSON")
}

async fn ok(base: &str, token: &str, query: &str, variables: Value) -> Value {
    let body = gql(base, Some(token), json!({"query": query, "variables": variables})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"].clone()
}

/// Registers an organization, makes `DOCUMENTS` policies and a certificate template through `base`.
async fn book(base: &str) -> (String, String, Vec<String>) {
    let reg = gql(
        base,
        None,
        json!({"query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
               "variables": {"i": {"organizationName": "Multi", "email": "admin@multi.test", "password": "correct horse battery", "fullName": "M"}}}),
    )
    .await;
    let token = reg["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("register: {reg}")).to_string();
    let co = ok(base, &token, "mutation { createCompany(input: {name: \"Assureur\", code: \"MP\"}) { id } }", json!({})).await;
    let company = co["createCompany"]["id"].as_str().unwrap().to_string();
    let cl = ok(base, &token, "mutation { createClient(input: {kind: PERSON, firstName: \"A\", lastName: \"Mbarga\"}) { id } }", json!({})).await;
    let client = cl["createClient"]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::with_capacity(DOCUMENTS);
    for chunk in (0..DOCUMENTS).collect::<Vec<_>>().chunks(50) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"query": "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }",
                       "variables": {"i": {"number": format!("MP-{i:05}"), "clientId": client, "companyId": company,
                                           "productName": "Auto", "productType": "AUTO", "premium": "1000.00",
                                           "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31"}}})
            })
            .collect();
        let answers = gql(base, Some(&token), Value::Array(batch)).await;
        for a in answers.as_array().unwrap_or_else(|| panic!("batch: {answers}")) {
            ids.push(a["data"]["createPolicy"]["id"].as_str().unwrap_or_else(|| panic!("createPolicy: {a}")).to_string());
        }
    }
    let t = ok(
        base,
        &token,
        "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }",
        json!({"i": {"name": "Certificat", "format": "PDF", "scope": "POLICY", "content": CERTIFICATE}}),
    )
    .await;
    (token, t["createTemplate"]["id"].as_str().unwrap().to_string(), ids)
}

/// A `graphql-transport-ws` subscription to `jobProgress` on `base`.
async fn subscribe(base: &str, token: &str, job: &str) -> Ws {
    let mut request = format!("{}/graphql", base.replacen("http://", "ws://", 1)).into_client_request().unwrap();
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = connect_async(request).await.expect("WebSocket");
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string())).await.unwrap();
    let ack = next_json(&mut ws, Duration::from_secs(10)).await.expect("an ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let sub = json!({"id": "p", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { jobProgress(jobId: $id) { status progress done failed total } }",
        "variables": {"id": job}}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    ws
}

async fn next_json(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

/// Reads progress events until `complete`, calling `at_progress(done)` after each; returns the
/// events. Fails if progress goes backwards or nothing comes for `quiet`.
async fn follow(ws: &mut Ws, quiet: Duration, mut at_progress: impl AsyncFnMut(i64)) -> Vec<Value> {
    let mut events: Vec<Value> = Vec::new();
    loop {
        let msg = next_json(ws, quiet).await.unwrap_or_else(|| panic!("no event for {quiet:?}; last: {:?}", events.last()));
        match msg["type"].as_str() {
            Some("next") => {
                let e = msg["payload"]["data"]["jobProgress"].clone();
                assert!(e.is_object(), "{msg}");
                if let Some(prev) = events.last() {
                    assert!(e["done"].as_i64() >= prev["done"].as_i64(), "progress went backwards: {prev} then {e}");
                }
                at_progress(e["done"].as_i64().unwrap_or(0)).await;
                events.push(e);
            }
            Some("complete") => return events,
            _ => panic!("unexpected message {msg}"),
        }
    }
}

async fn count_documents(database_url: &str) -> (i64, i64) {
    let db = Database::connect(database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, COUNT(DISTINCT job_item_id) AS items FROM documents",
        ))
        .await
        .unwrap()
        .unwrap();
    (row.try_get("", "n").unwrap(), row.try_get("", "items").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_replaced_and_the_subscriber_on_another_replica_sees_the_end() {
    let Some((pg, redis)) = env_or_skip("the multi-process job test") else { return };
    let (database_url, name) = fresh_database(&pg).await;
    let cluster = Cluster { database_url: database_url.clone(), redis_url: redis, data_dir: tempfile::tempdir().unwrap() };
    // Both replicas start at once: the migrations' advisory lock keeps them from racing.
    let ((_a, a), (_b, b)) = tokio::join!(cluster.replica(), cluster.replica());
    let (token, template, policies) = book(&b).await;

    let mut worker = Some(cluster.worker());
    let job = ok(&b, &token, "mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id } }",
        json!({"i": {"templateId": template, "policyIds": policies}})).await["generateDocuments"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = subscribe(&a, &token, &job).await;

    let mut replaced = false;
    let mut replacement: Option<Child> = None;
    let events = follow(&mut ws, Duration::from_secs(60), async |done| {
        if !replaced && done >= (DOCUMENTS / 2) as i64 {
            replaced = true;
            let mut w = worker.take().expect("the first worker");
            w.start_kill().expect("SIGKILL");
            let _ = w.wait().await;
            replacement = Some(cluster.worker());
        }
    })
    .await;
    assert!(replaced, "the job ended before the worker could be killed: {events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    assert_eq!(last["done"].as_i64(), Some(DOCUMENTS as i64), "{last}");
    assert_eq!(last["failed"].as_i64(), Some(0), "{last}");
    assert!(events.len() > 3, "the subscriber saw live progress, not only the end: {events:?}");

    assert_eq!(count_documents(&database_url).await, (DOCUMENTS as i64, DOCUMENTS as i64), "exactly one document per item");
    let total = ok(&a, &token, "query($id: ID!) { job(id: $id) { documents { totalCount } } }", json!({"id": job})).await;
    assert_eq!(total["job"]["documents"]["totalCount"].as_i64(), Some(DOCUMENTS as i64));
    drop(replacement);
    drop_database(&pg, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_job_neither_loses_the_job_nor_the_subscriber() {
    let Some((pg, _)) = env_or_skip("the Redis restart test") else { return };
    let port = free_port();
    let redis_server = || {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (apt install redis-server)")
    };
    let mut redis = redis_server();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (database_url, name) = fresh_database(&pg).await;
    let cluster =
        Cluster { database_url: database_url.clone(), redis_url: format!("redis://127.0.0.1:{port}"), data_dir: tempfile::tempdir().unwrap() };
    let ((_a, a), (_b, b)) = tokio::join!(cluster.replica(), cluster.replica());
    let (token, template, policies) = book(&b).await;
    let _worker = cluster.worker();
    let job = ok(&b, &token, "mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id } }",
        json!({"i": {"templateId": template, "policyIds": policies}})).await["generateDocuments"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = subscribe(&a, &token, &job).await;

    let mut restarted = false;
    let client = reqwest::Client::new();
    let events = follow(&mut ws, Duration::from_secs(60), async |done| {
        if !restarted && done >= (DOCUMENTS / 4) as i64 {
            restarted = true;
            redis.start_kill().unwrap();
            let _ = redis.wait().await;
            // While Redis is down the API still answers, and says it is degraded.
            let ready: Value = client.get(format!("{a}/health/ready")).send().await.unwrap().json().await.unwrap();
            assert_eq!(ready["redis"], false, "{ready}");
            assert_eq!(ready["status"], "degraded", "{ready}");
            let me = gql(&a, Some(&token), json!({"query": "{ me { email } }"})).await;
            assert_eq!(me["data"]["me"]["email"], "admin@multi.test", "{me}");
            tokio::time::sleep(Duration::from_secs(2)).await;
            redis = redis_server();
        }
    })
    .await;
    assert!(restarted);
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    assert_eq!(count_documents(&database_url).await, (DOCUMENTS as i64, DOCUMENTS as i64));
    // Redis is back: readiness says so by itself.
    let started = Instant::now();
    loop {
        let ready: Value = client.get(format!("{a}/health/ready")).send().await.unwrap().json().await.unwrap();
        if ready["redis"] == true && ready["status"] == "ok" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "Redis did not come back in /health/ready: {ready}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop_database(&pg, &name).await;
}

/// A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and
/// restored: the database "goes down" for one replica only.
struct Proxy {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    live: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        use std::sync::{Arc, Mutex, atomic::AtomicBool};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::new(Mutex::new(Vec::new()));
        let (c, l) = (cut.clone(), live.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if c.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { port, cut, live }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.live.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_requests_fail_fast_readiness_is_503_and_service_comes_back_by_itself() {
    let Some((pg, redis)) = env_or_skip("the database outage test") else { return };
    let (database_url, name) = fresh_database(&pg).await;
    let proxy = Proxy::start("127.0.0.1:5432".into()).await;
    let (host_part, db_part) = database_url.rsplit_once('/').unwrap();
    let _ = host_part;
    let through_proxy = format!("postgres://postgres@127.0.0.1:{}/{db_part}", proxy.port);
    let cluster = Cluster { database_url: through_proxy, redis_url: redis, data_dir: tempfile::tempdir().unwrap() };
    let (_a, a) = cluster.replica().await;
    let reg = gql(&a, None, json!({"query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        "variables": {"i": {"organizationName": "Panne", "email": "admin@panne.test", "password": "correct horse battery", "fullName": "P"}}})).await;
    let token = reg["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("{reg}")).to_string();
    let client = reqwest::Client::new();

    proxy.cut();
    let started = Instant::now();
    let body = gql(&a, Some(&token), json!({"query": "{ companies(first: 5) { totalCount } }"})).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "a request with the database down took {took:?}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("database is unavailable"), "a clear, retryable error (never UNAUTHENTICATED): {body}");
    let ready = client.get(format!("{a}/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(client.get(format!("{a}/health")).send().await.unwrap().status(), 200, "liveness does not depend on the database");

    proxy.restore();
    let started = Instant::now();
    loop {
        let body = gql(&a, Some(&token), json!({"query": "{ companies(first: 5) { totalCount } }"})).await;
        if body["data"]["companies"]["totalCount"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not recovered 30 s after the database came back: {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(client.get(format!("{a}/health/ready")).send().await.unwrap().status(), 200);
    drop_database(&pg, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_worker_which_exits_0_and_gives_its_job_back_at_once() {
    let Some((pg, redis)) = env_or_skip("the SIGTERM drain test") else { return };
    let (database_url, name) = fresh_database(&pg).await;
    let cluster = Cluster { database_url: database_url.clone(), redis_url: redis, data_dir: tempfile::tempdir().unwrap() };
    let (_b, b) = cluster.replica().await;
    let (token, template, policies) = book(&b).await;
    // A long lease: only a job given back on SIGTERM can be taken over quickly.
    let mut first = cluster.command(&["worker"]).env("WORKERS", "1").env("JOB_LEASE_SECS", "120").spawn().unwrap();
    let job = ok(&b, &token, "mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id } }",
        json!({"i": {"templateId": template, "policyIds": policies}})).await["generateDocuments"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let progress = async || ok(&b, &token, "query($id: ID!) { job(id: $id) { status done } }", json!({"id": job})).await["job"].clone();
    let started = Instant::now();
    while progress().await["done"].as_i64().unwrap_or(0) < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "the job did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = first.id().expect("a pid") as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(35), first.wait()).await.expect("exited within the grace period").unwrap();
    assert!(status.success(), "a drained worker exits 0, not {status}");
    let at_stop = progress().await;
    assert_ne!(at_stop["status"], "SUCCEEDED", "the job ended before the worker was stopped: {at_stop}");

    let _second = cluster.command(&["worker"]).env("WORKERS", "1").env("JOB_LEASE_SECS", "120").spawn().unwrap();
    let resumed = Instant::now();
    loop {
        let j = progress().await;
        if j["status"] == "SUCCEEDED" {
            assert_eq!(j["done"].as_i64(), Some(DOCUMENTS as i64));
            break;
        }
        assert!(resumed.elapsed() < Duration::from_secs(60), "the job was not taken over promptly (its lease is 120 s): {j}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count_documents(&database_url).await, (DOCUMENTS as i64, DOCUMENTS as i64));
    drop_database(&pg, &name).await;
}

/// Accounts that ask for resets, five each (the most one account may ask for in 15 minutes).
const MAIL_ACCOUNTS: usize = 40;
const RESETS_PER_ACCOUNT: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_send_each_message_once() {
    let Some((pg, redis)) = env_or_skip("the multi-process mail test") else { return };
    let (database_url, name) = fresh_database(&pg).await;
    let cluster = Cluster { database_url: database_url.clone(), redis_url: redis, data_dir: tempfile::tempdir().unwrap() };
    let smtp = sink::Sink::start(sink::Behaviour::Accept).await;
    let (_replica, base) = cluster.replica().await;
    let reg = gql(
        &base,
        None,
        json!({"query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
               "variables": {"i": {"organizationName": "Mail", "email": "admin@mail.test", "password": "correct horse battery", "fullName": "M"}}}),
    )
    .await;
    let token = reg["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("register: {reg}")).to_string();
    // Addresses new to this run: the reset rate limit (per address, in the shared Redis) outlives a run.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let emails: Vec<String> = (0..MAIL_ACCOUNTS).map(|i| format!("user{i}-{}@mail.test", &run[..8])).collect();
    let create: Vec<Value> = emails
        .iter()
        .map(|email| {
            json!({"query": "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
                   "variables": {"i": {"email": email, "fullName": email, "password": "correct horse battery", "role": "AGENT"}}})
        })
        .collect();
    let created = gql(&base, Some(&token), Value::Array(create)).await;
    assert!(created.as_array().is_some_and(|all| all.iter().all(|a| a.get("errors").is_none())), "{created}");

    // Two worker processes, each with its mail loop, both started before the messages come.
    let workers: Vec<Child> = (0..2)
        .map(|_| cluster.command(&["worker"]).env("WORKERS", "1").env("SMTP_URL", smtp.url()).spawn().expect("worker started"))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..RESETS_PER_ACCOUNT {
        let batch: Vec<Value> = emails
            .iter()
            .map(|email| json!({"query": "mutation($e: String!) { requestPasswordReset(email: $e) }", "variables": {"e": email}}))
            .collect();
        let answers = gql(&base, None, Value::Array(batch)).await;
        assert!(answers.as_array().is_some_and(|all| all.iter().all(|a| a["data"]["requestPasswordReset"] == true)), "{answers}");
    }
    let expected = MAIL_ACCOUNTS * RESETS_PER_ACCOUNT;
    smtp.wait_for(expected, Duration::from_secs(90)).await;
    // Nothing more comes: no message is sent a second time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = smtp.received();
    let mut per_message: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for mail in &received {
        *per_message.entry(mail.message_id()).or_default() += 1;
    }
    let twice: Vec<_> = per_message.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messages sent more than once: {twice:?}");
    assert_eq!((received.len(), per_message.len()), (expected, expected));
    assert!(smtp.sessions() >= 2, "both workers sent: {} SMTP connections", smtp.sessions());

    let db = Database::connect(&database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FILTER (WHERE status = 'SENT') AS sent, COUNT(*) FILTER (WHERE attempts <> 1) AS retried, \
             COUNT(*) FILTER (WHERE body <> '') AS bodies FROM outbox",
        ))
        .await
        .unwrap()
        .unwrap();
    let (sent, retried, bodies): (i64, i64, i64) =
        (row.try_get("", "sent").unwrap(), row.try_get("", "retried").unwrap(), row.try_get("", "bodies").unwrap());
    assert_eq!((sent, retried, bodies), (expected as i64, 0, 0), "every message SENT on its first attempt, its code erased");
    drop(workers);
    drop_database(&pg, &name).await;
}

const EXPIRING_POLICIES: usize = 30;

/// Two worker processes, each with its scheduler ticking every second: the alerts of policies
/// about to expire are raised once and mailed once, whichever process holds a tick's lease.
#[tokio::test]
async fn two_worker_processes_raise_and_mail_each_alert_once() {
    let Some((pg, redis)) = env_or_skip("the multi-process scheduler test") else { return };
    let (database_url, name) = fresh_database(&pg).await;
    let cluster = Cluster { database_url: database_url.clone(), redis_url: redis, data_dir: tempfile::tempdir().unwrap() };
    let smtp = sink::Sink::start(sink::Behaviour::Accept).await;
    let (_replica, base) = cluster.replica().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let reg = gql(
        &base,
        None,
        json!({"query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
               "variables": {"i": {"organizationName": "Alerts", "email": format!("admin-{}@alerts.test", &run[..8]), "password": "correct horse battery", "fullName": "A"}}}),
    )
    .await;
    let token = reg["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("register: {reg}")).to_string();
    let company = ok(&base, &token, "mutation { createCompany(input: {name: \"AXA\", code: \"AXA\"}) { id } }", json!({})).await;
    let client = ok(&base, &token, "mutation { createClient(input: {kind: PERSON, lastName: \"Ngono\"}) { id } }", json!({})).await;
    let (company, client) = (company["createCompany"]["id"].clone(), client["createClient"]["id"].clone());
    let today = chrono::Utc::now().date_naive();
    let create: Vec<Value> = (0..EXPIRING_POLICIES)
        .map(|i| {
            json!({"query": "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }",
                   "variables": {"i": {"number": format!("EXP-{i}"), "clientId": client, "companyId": company, "productName": "Auto",
                                       "status": "ACTIVE", "premium": "1000", "effectiveDate": (today - chrono::Duration::days(300)).to_string(),
                                       "expiryDate": (today + chrono::Duration::days(3)).to_string()}}})
        })
        .collect();
    let created = gql(&base, Some(&token), Value::Array(create)).await;
    assert!(created.as_array().is_some_and(|all| all.iter().all(|a| a.get("errors").is_none())), "{created}");
    // Paid in full: the only alerts due are the expiry ones (not INSTALMENT_OVERDUE).
    let pay: Vec<Value> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|answer| json!({"query": "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { id } }",
                              "variables": {"i": {"policyId": answer["data"]["createPolicy"]["id"], "amount": "1000", "method": "CASH"}}}))
        .collect();
    let paid = gql(&base, Some(&token), Value::Array(pay)).await;
    assert!(paid.as_array().is_some_and(|all| all.iter().all(|a| a.get("errors").is_none())), "{paid}");

    let workers: Vec<Child> = (0..2)
        .map(|_| {
            cluster
                .command(&["worker"])
                .env("WORKERS", "1")
                .env("SCHEDULER_INTERVAL_SECS", "1")
                .env("SMTP_URL", smtp.url())
                .spawn()
                .expect("worker started")
        })
        .collect();
    smtp.wait_for(EXPIRING_POLICIES, Duration::from_secs(60)).await;
    // Several more ticks, by either process: nothing is raised or mailed again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let received = smtp.received();
    assert_eq!(received.len(), EXPIRING_POLICIES, "one mail per alert");
    let db = Database::connect(&database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n, COUNT(DISTINCT policy_id) AS p FROM alerts"))
        .await
        .unwrap()
        .unwrap();
    let (alerts, policies): (i64, i64) = (row.try_get("", "n").unwrap(), row.try_get("", "p").unwrap());
    assert_eq!((alerts, policies), (EXPIRING_POLICIES as i64, EXPIRING_POLICIES as i64), "one alert per policy");
    drop(workers);
    drop_database(&pg, &name).await;
}
