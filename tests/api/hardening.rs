//! What keeps the API safe on the internet: CORS and security headers, CSRF rules for uploads,
//! abuse limits (depth, complexity costed by page size, aliases, root fields, directives, tokens,
//! timeouts), production defaults, automatic persisted queries and the allow-list mode, and
//! the metrics operators read.

use std::time::Duration;

use reqwest::{
    Response, StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for &(name, value) in pairs {
        h.insert(HeaderName::from_static(name), HeaderValue::from_str(value).expect("a header value"));
    }
    h
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url("/graphql")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_string()
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

// ---- browsers ------------------------------------------------------------------------------

#[tokio::test]
async fn cors_answers_listed_origins_only_with_credentials() {
    let app = spawn_app_with(&[("CORS_ORIGINS", "https://app.monassurance.test, https://admin.monassurance.test/")]).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .headers(headers(&[
            ("origin", "https://app.monassurance.test"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,authorization,apollo-require-preflight"),
        ]))
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(header(&preflight, "access-control-allow-origin").as_deref(), Some("https://app.monassurance.test"));
    assert_eq!(header(&preflight, "access-control-allow-credentials").as_deref(), Some("true"));
    let allowed = header(&preflight, "access-control-allow-headers").unwrap_or_default().to_lowercase();
    assert!(allowed.contains("apollo-require-preflight") && allowed.contains("authorization"), "{allowed}");

    let listed = app.post_raw("/graphql", headers(&[("origin", "https://admin.monassurance.test"), ("content-type", "application/json")]), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(header(&listed, "access-control-allow-origin").as_deref(), Some("https://admin.monassurance.test"));

    let other = app.post_raw("/graphql", headers(&[("origin", "https://evil.test"), ("content-type", "application/json")]), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(header(&other, "access-control-allow-origin"), None, "an unlisted origin gets no CORS grant");

    // Nothing configured: no CORS headers at all.
    let plain = spawn_app().await;
    let resp = plain.post_raw("/graphql", headers(&[("origin", "https://app.monassurance.test"), ("content-type", "application/json")]), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn responses_carry_security_headers_and_hsts_only_in_production() {
    let app = spawn_app().await;
    let resp = app.post_raw("/graphql", headers(&[("content-type", "application/json")]), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(header(&resp, "x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header(&resp, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header(&resp, "referrer-policy").as_deref(), Some("no-referrer"));
    assert!(header(&resp, "content-security-policy").unwrap_or_default().contains("default-src 'none'"));
    assert_eq!(header(&resp, "strict-transport-security"), None, "no HSTS in development");
    // GraphiQL keeps its own policy, which lets its scripts and WebSocket run.
    let page = app.client.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
    let csp = header(&page, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    let prod = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", &format!("k1:{}", "s".repeat(40)))]).await;
    let resp = prod.post_raw("/graphql", headers(&[("content-type", "application/json")]), r#"{"query":"{ __typename }"}"#).await;
    assert!(header(&resp, "strict-transport-security").unwrap_or_default().starts_with("max-age="));
}

#[tokio::test]
async fn multipart_needs_a_preflight_header_and_simple_bodies_are_refused() {
    let app = spawn_app().await;
    let admin = app.register("uploads", "admin@uploads.test").await;
    let form = || {
        reqwest::multipart::Form::new()
            .text("operations", r#"{"query":"{ __typename }","variables":{}}"#)
            .text("map", "{}")
    };
    let resp = app.client.post(app.url("/graphql")).multipart(form()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("cross-site request forgery"), "{body}");

    let resp = app.client.post(app.url("/graphql")).header("apollo-require-preflight", "true").multipart(form()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "uploads are for signed-in callers");
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&admin.token)
        .header("apollo-require-preflight", "true")
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let resp = app.post_raw("/graphql", headers(&[("content-type", ct)]), r#"{"query":"mutation { logout }"}"#).await;
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
}

// ---- limits --------------------------------------------------------------------------------

#[tokio::test]
async fn each_abuse_limit_refuses_with_a_clear_code_and_never_a_500() {
    let app = spawn_app_with(&[("MAX_QUERY_TOKENS", "2000")]).await;
    let admin = app.register("limits", "admin@limits.test").await;
    let t = Some(admin.token.as_str());

    // Introspection's ofType chain nests as deep as one asks.
    let mut chain = String::from("name");
    for _ in 0..20 {
        chain = format!("ofType {{ {chain} }}");
    }
    let deep = format!("{{ __type(name: \"User\") {{ fields {{ type {{ {chain} }} }} }} }}");
    let (status, body) = post(&app, t, &json!({"query": deep})).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::OK, "QUERY_TOO_COMPLEX"), "depth: {body}");

    // 100 policies × 100 of each one's client's policies is costed as 10,000 nodes.
    let costly = "{ policies(first: 100) { edges { node { client { policies(first: 100) { edges { node { number } } } } } } } }";
    let (_, body) = post(&app, t, &json!({"query": costly})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "complexity: {body}");
    let cheap = "{ policies(first: 5) { edges { node { client { policies(first: 5) { edges { node { number } } } } } } } }";
    let (_, body) = post(&app, t, &json!({"query": cheap})).await;
    assert!(body.get("errors").is_none(), "a small page of the same shape runs: {body}");

    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let (_, body) = post(&app, t, &json!({"query": format!("{{ me {{ {aliases} }} }}")})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "aliases: {body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("MAX_ALIASES"));

    let roots: String = (0..21).map(|_| "__typename ").collect();
    let (_, body) = post(&app, t, &json!({"query": format!("{{ {roots} }}")})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "root fields: {body}");

    let directives: String = (0..11).map(|_| "@include(if: true) ").collect();
    let (_, body) = post(&app, t, &json!({"query": format!("{{ me {{ id {directives} }} }}")})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "directives: {body}");

    let many_tokens = format!("{{ me {{ id }} }} {}", "# padding\n".repeat(10) + &"fragment F on User { id } ".repeat(400));
    let (_, body) = post(&app, t, &json!({"query": many_tokens})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "tokens: {body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("MAX_QUERY_TOKENS"));

    let batch: Vec<Value> = (0..11).map(|_| json!({"query": "{ __typename }"})).collect();
    let (status, body) = post(&app, t, &Value::Array(batch)).await;
    assert_eq!((status, code(&body).as_str()), (StatusCode::BAD_REQUEST, "BAD_USER_INPUT"), "batch: {body}");
}

#[tokio::test]
async fn an_operation_past_the_request_timeout_answers_timeout() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT_SECS", "1"), ("RENDER_TIMEOUT_SECS", "4")]).await;
    let org = app.org("slow").await;
    // 10^10 iterations: only a time budget stops it.
    let looping = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";
    let started = std::time::Instant::now();
    let (status, body) = post(
        &app,
        Some(&org.manager.token),
        &json!({"query": "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok } }",
                "variables": {"i": {"content": looping, "format": "PDF"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "TIMEOUT", "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "answered at the request timeout, not the render's");
}

#[tokio::test]
async fn production_turns_introspection_and_suggestions_off() {
    let keys = format!("k1:{}", "s".repeat(40));
    let app = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", &keys)]).await;
    let (_, body) = post(&app, None, &json!({"query": "{ __schema { types { name } } }"})).await;
    assert!(body["data"]["__schema"].is_null(), "introspection answered in production: {body}");
    let (_, body) = post(&app, None, &json!({"query": "{ mee { id } }"})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean"), "suggestions leak the schema: {message}");

    let on = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", &keys), ("GRAPHQL_INTROSPECTION", "true")]).await;
    let (_, body) = post(&on, None, &json!({"query": "{ __schema { queryType { name } } }"})).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");
}

// ---- persisted operations -------------------------------------------------------------------

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let app = spawn_app().await;
    let query = "query Typename { __typename }";
    let hash = sha256(query);
    let pq = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});

    let (_, body) = post(&app, None, &json!({"extensions": pq})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    let (_, body) = post(&app, None, &json!({"query": query, "extensions": pq})).await;
    assert_eq!(body["data"]["__typename"], "Query", "registers and runs: {body}");

    let (_, body) = post(&app, None, &json!({"extensions": pq})).await;
    assert_eq!(body["data"]["__typename"], "Query", "then runs by hash alone: {body}");

    // Over GET too, as Apollo's link sends queries with useGETForHashedQueries.
    let url = format!("{}?extensions={}", app.url("/graphql"), urlencode(&pq.to_string()));
    let body: Value = app.client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let (_, body) = post(&app, None, &json!({"query": "{ me { id } }", "extensions": pq})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "a hash that is not the query's: {body}");

    let (_, body) = post(&app, None, &json!({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": hash}}})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_SUPPORTED", "{body}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn the_allow_list_mode_runs_only_the_manifests_operations() {
    let known = "query Typename { __typename }";
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("persisted-query-manifest.json");
    std::fs::write(
        &manifest,
        json!({"format": "apollo-persisted-query-manifest", "version": 1,
               "operations": [{"id": sha256(known), "name": "Typename", "type": "query", "body": known}]})
        .to_string(),
    )
    .unwrap();
    let app = spawn_app_with(&[("PERSISTED_OPERATIONS_ONLY", "true"), ("PERSISTED_OPERATIONS_MANIFEST", manifest.to_str().unwrap())]).await;

    let (_, body) = post(&app, None, &json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(known)}}})).await;
    assert_eq!(body["data"]["__typename"], "Query", "by hash: {body}");
    let (_, body) = post(&app, None, &json!({"documentId": format!("sha256:{}", sha256(known))})).await;
    assert_eq!(body["data"]["__typename"], "Query", "by documentId: {body}");
    let (_, body) = post(&app, None, &json!({"query": known})).await;
    assert_eq!(body["data"]["__typename"], "Query", "by its exact text: {body}");

    let other = "{ __schema { types { name } } }";
    let (_, body) = post(&app, None, &json!({"query": other})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "an arbitrary operation: {body}");
    let (_, body) =
        post(&app, None, &json!({"query": other, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(other)}}})).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "APQ cannot register new operations: {body}");

    // A manifest whose entry does not hash to its id stops the server at start.
    std::fs::write(&manifest, json!({ "0".repeat(64): known }).to_string()).unwrap();
    let vars: std::collections::HashMap<&str, String> = [
        ("DATA_DIR", dir.path().display().to_string()),
        ("JWT_SECRET", "x".repeat(40)),
        ("PERSISTED_OPERATIONS_ONLY", "true".into()),
        ("PERSISTED_OPERATIONS_MANIFEST", manifest.display().to_string()),
        ("RENDER_WORKER_EXE", env!("CARGO_BIN_EXE_monassurance").to_string()),
        ("BIND_ADDR", "127.0.0.1:0".into()),
    ]
    .into_iter()
    .collect();
    let settings = monassurance::config::Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
    assert!(monassurance::app::Application::build(settings).await.is_err());
}

// ---- observability --------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_operations_errors_and_refusals_without_ids() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "3")]).await;
    let admin = app.register("metrics", "admin@metrics.test").await;
    for _ in 0..2 {
        post(&app, Some(&admin.token), &json!({"query": "query Me { me { id } }", "operationName": "Me"})).await;
    }
    post(&app, None, &json!({"query": "query Anonymous { me { id } }"})).await;
    for _ in 0..3 {
        post(&app, None, &json!({"query": "{ __typename }"})).await;
    }
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let has = |needle: &str| assert!(text.lines().any(|l| l.starts_with(needle)), "no line starting with {needle} in:\n{text}");
    has(r#"graphql_operations_total{operation="Me",type="query",outcome="ok"} 2"#);
    has(r#"graphql_errors_total{code="UNAUTHENTICATED"}"#);
    assert!(
        text.lines().any(|l| l.starts_with("graphql_operation_duration_seconds_count{") && l.contains(r#"operation="Me""#) && l.ends_with(" 2")),
        "no duration histogram for Me:\n{text}"
    );
    has(r#"http_requests_total{method="POST",route="/graphql",status="200"}"#);
    has(r#"http_requests_total{method="POST",route="/graphql",status="429"}"#);
    has(r#"rate_limited_total{scope="api"}"#);
    has("db_statements_total ");
    has(r#"db_pool_connections{state="idle"}"#);
    has("db_pool_max_connections ");
    has("ws_connections ");
    has("graphql_subscriptions_active ");
    has("jobs_active ");

    // A download link's route is its template, never the document's id.
    assert!(!text.contains("/files/0") && !text.lines().any(|l| l.contains("route=\"/files/") && !l.contains("{id}")));
}

/// A caller dropped while its transaction's `BEGIN` is on the wire (a client gone mid-request, a
/// timeout, an aborted worker) leaves no connection inside a transaction. sqlx counts a
/// transaction only once `BEGIN` is answered: such a connection went back to the pool inside a
/// transaction nobody would end, and whatever ran on it next was never committed (a worker that
/// died mid-job made the next request's statements fail with "current transaction is aborted").
/// On PostgreSQL, through a proxy that holds the server's answers back, so that some callers are
/// dropped with `BEGIN` sent and its answer not read yet.
#[tokio::test]
async fn a_transaction_dropped_while_it_begins_leaves_no_connection_inside_it() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let proxied = match reqwest::Url::parse(&app.database_url) {
        Ok(mut url) if url.scheme().starts_with("postgres") => {
            let upstream = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
            let proxy = slow_answers_proxy(upstream, Duration::from_millis(10)).await;
            url.set_port(Some(proxy.port())).expect("a port");
            url.set_host(Some("127.0.0.1")).expect("a host");
            Some(sea_orm::Database::connect(url.as_str()).await.expect("through the proxy"))
        }
        _ => None,
    };
    let idle_in_transaction = "SELECT count(*)::text FROM pg_stat_activity \
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'";
    // Dropped after 0, 5, 10 … 200 ms (through the proxy, taking a connection and BEGIN take
    // about 100): some while taking a connection, some with BEGIN sent and its answer not read.
    for ms in (0..=200).step_by(5) {
        let db = proxied.as_ref().unwrap_or(&app.state.db);
        let _ = tokio::time::timeout(Duration::from_millis(ms), monassurance::db::begin(db)).await;
        if proxied.is_some() {
            // Time for a dropped transaction's rollback to pass the proxy; then none is left open.
            tokio::time::sleep(Duration::from_millis(60)).await;
            let open = app.sql_strings(idle_in_transaction).await.remove(0);
            assert_eq!(open, "0", "a BEGIN dropped after {ms} ms left a connection idle inside a transaction");
        }
    }
    // What is written next is committed, whichever connection it ran on: another connection sees it.
    for n in 0..12 {
        let input = json!({"i": {"lastName": format!("Client {n}")}});
        org.manager.ok("mutation($i: CreateClientInput!) { createClient(input: $i) { id } }", input).await;
    }
    assert_eq!(app.sql_strings("SELECT last_name FROM clients").await.len(), 12);
}

/// A TCP proxy to `upstream` on a free loopback port that passes what the client sends at once
/// and what the server answers `delay` late.
async fn slow_answers_proxy(upstream: String, delay: std::time::Duration) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { continue };
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut from_client, &mut to_server).await });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                    tokio::time::sleep(delay).await;
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}
