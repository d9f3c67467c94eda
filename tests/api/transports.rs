//! Every limit holds whatever carries the operation: each operation of a batch and each
//! WebSocket `subscribe` counts against `RATE_LIMIT_RPM`, WebSocket operations get the login
//! throttle, the request timeout and a cap per socket, and run with the caller's role as it is
//! now; persisted queries keep only text that passed every limit; deep documents are
//! `QUERY_TOO_COMPLEX`; bodies are limited while read (uploads only for signed-in callers); per-address
//! limits see the client behind a trusted proxy.

use std::time::Duration;

use futures_util::stream;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::documents::subscriptions::{Ws, connect, recv, send, signed_in};
use crate::helpers::*;

/// Long enough for any answer on a loaded machine; a hang fails instead of blocking the run.
const NO_HANG: Duration = Duration::from_secs(60);

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn post(app: &TestApp, headers: HeaderMap, body: &Value) -> (StatusCode, Value) {
    let resp = app.client.post(app.url("/graphql")).headers(headers).json(body).send().await.expect("sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The first error code of an operation's answer on a socket (`error`, or `next` with errors),
/// or `None` when it succeeded; reads up to its end.
async fn outcome(ws: &mut Ws, id: &str, query: &str, variables: Value) -> (Option<String>, Value) {
    send(ws, json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    loop {
        let message = recv(ws).await;
        if message["id"] != id {
            continue;
        }
        return match message["type"].as_str() {
            Some("error") => (message["payload"][0]["extensions"]["code"].as_str().map(str::to_string), message),
            Some("next") => {
                let code = message["payload"]["errors"][0]["extensions"]["code"].as_str().map(str::to_string);
                (code, message)
            }
            other => panic!("unexpected {other:?}: {message:#}"),
        };
    }
}

async fn anonymous_socket(app: &TestApp) -> Ws {
    let mut ws = connect(app).await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_ack");
    ws
}

// ---- rate limit, on every transport -------------------------------------------------------

#[tokio::test]
async fn every_operation_of_a_batch_counts_against_the_rate_limit() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "3")]).await;
    let batch: Vec<Value> = (0..6).map(|_| json!({"query": "{ __typename }"})).collect();
    let (status, body) = post(&app, HeaderMap::new(), &Value::Array(batch)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body:#}");
    let codes: Vec<&str> =
        body.as_array().expect("a batch answer").iter().map(|r| r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, ["", "", "", "RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"], "{body:#}");
}

#[tokio::test]
async fn websocket_operations_count_against_the_rate_limit_even_anonymous_ones() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "3")]).await;
    let mut ws = anonymous_socket(&app).await;
    for n in 0..3 {
        let (code, answer) = outcome(&mut ws, &format!("q{n}"), "{ __typename }", json!({})).await;
        assert_eq!(code, None, "{answer:#}");
    }
    // An anonymous socket's mutations (one Argon2 hash each for `register`) are held back too.
    let register = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
    let input = json!({"i": {"organizationName": "Spam", "email": "spam@spam.test", "password": "correct horse battery", "fullName": "S"}});
    let (code, answer) = outcome(&mut ws, "r", register, input).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "{answer:#}");
    assert!(app.sql_strings("select email from users where email = 'spam@spam.test'").await.is_empty());
}

#[tokio::test]
async fn websocket_logins_are_throttled_like_http_ones() {
    let app = spawn_app_with(&[("LOGIN_ATTEMPTS_PER_MINUTE", "2")]).await;
    let org = app.org("throttled").await;
    let mut ws = anonymous_socket(&app).await;
    let login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let wrong = json!({"i": {"email": org.agent.email, "password": "not the password"}});
    let mut codes = Vec::new();
    for n in 0..3 {
        codes.push(outcome(&mut ws, &format!("l{n}"), login, wrong.clone()).await.0.unwrap_or_default());
    }
    assert_eq!(codes.last().map(String::as_str), Some("RATE_LIMITED"), "{codes:?}");
}

#[tokio::test]
async fn a_websocket_operation_past_the_request_timeout_answers_timeout() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT_SECS", "1"), ("RENDER_TIMEOUT_SECS", "4")]).await;
    let org = app.org("slowws").await;
    let looping = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";
    let mut ws = signed_in(&app, &org.manager).await;
    let preview = "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok } }";
    let (code, answer) = outcome(&mut ws, "p", preview, json!({"i": {"content": looping, "format": "PDF"}})).await;
    assert_eq!(code.as_deref(), Some("TIMEOUT"), "{answer:#}");
}

#[tokio::test]
async fn a_socket_runs_at_most_its_share_of_operations_at_once() {
    let app = spawn_app_with(&[("WS_MAX_OPERATIONS", "2"), ("MAX_SUBSCRIPTIONS_PER_USER", "10")]).await;
    let org = app.org("busy").await;
    let mut ws = signed_in(&app, &org.manager).await;
    let events = "subscription { jobEvents { status } }";
    for id in ["a", "b"] {
        send(&mut ws, json!({"id": id, "type": "subscribe", "payload": {"query": events}})).await;
    }
    let (code, answer) = outcome(&mut ws, "c", events, json!({})).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"), "{answer:#}");
    // Completing one makes room.
    send(&mut ws, json!({"id": "a", "type": "complete"})).await;
    send(&mut ws, json!({"id": "d", "type": "subscribe", "payload": {"query": "{ me { id } }"}})).await;
    loop {
        let message = recv(&mut ws).await;
        if message["id"] == "d" {
            assert_eq!(message["type"], "next", "{message:#}");
            assert!(message["payload"].get("errors").is_none(), "{message:#}");
            break;
        }
    }
}

// ---- the principal of a socket is the user as they are now ------------------------------

#[tokio::test]
async fn a_demoted_admins_open_socket_runs_with_the_new_role() {
    let app = spawn_app().await;
    let org = app.org("demote").await;
    let second = app.create_user(&org.admin, "second@demote.test", "ADMIN").await;
    let mut ws = signed_in(&app, &second).await;
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";
    let user = |email: &str| json!({"i": {"email": email, "fullName": "X", "password": "correct horse battery", "role": "ADMIN"}});
    let (code, answer) = outcome(&mut ws, "1", create, user("first@demote.test")).await;
    assert_eq!(code, None, "still an ADMIN: {answer:#}");

    org.admin
        .ok("mutation($i: UpdateUserInput!) { updateUser(input: $i) { role } }", json!({"i": {"id": second.id, "role": "AGENT"}}))
        .await;
    let (code, answer) = outcome(&mut ws, "2", create, user("second-try@demote.test")).await;
    assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{answer:#}");
    assert!(app.sql_strings("select email from users where email = 'second-try@demote.test'").await.is_empty());
}

#[tokio::test]
async fn a_socket_whose_user_is_deactivated_gets_unauthenticated_on_its_next_operation() {
    let app = spawn_app().await;
    let org = app.org("deact").await;
    let mut ws = signed_in(&app, &org.agent).await;
    org.admin.ok("mutation($id: ID!) { deactivateUser(id: $id) }", json!({"id": org.agent.id})).await;
    let (code, answer) = outcome(&mut ws, "1", "{ me { id } }", json!({})).await;
    assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{answer:#}");
}

// ---- persisted queries keep only what passed -----------------------------------------------

#[tokio::test]
async fn a_persisted_query_that_fails_validation_or_limits_is_not_registered() {
    let app = spawn_app_with(&[("MAX_ALIASES", "2")]).await;
    for (query, refused_as) in [
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ a: __typename b: __typename c: __typename }", "QUERY_TOO_COMPLEX"),
        ("{ unclosed", "GRAPHQL_PARSE_FAILED"),
    ] {
        let hash = sha256(query);
        let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
        let (_, body) = post(&app, HeaderMap::new(), &json!({"query": query, "extensions": ext})).await;
        assert_eq!(code(&body), refused_as, "{body:#}");
        let (_, body) = post(&app, HeaderMap::new(), &json!({"extensions": ext})).await;
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{query} was kept: {body:#}");
    }
    // A valid one is kept.
    let query = "{ __typename }";
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}});
    post(&app, HeaderMap::new(), &json!({"query": query, "extensions": ext})).await;
    let (_, body) = post(&app, HeaderMap::new(), &json!({"extensions": ext})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body:#}");
}

// ---- nesting ----------------------------------------------------------------------------

#[tokio::test]
async fn a_query_nested_forty_levels_deep_is_query_too_complex() {
    let app = spawn_app().await;
    let org = app.org("deep").await;
    let mut query = String::from("{ me { id } }");
    for _ in 0..40 {
        query = format!("{{ me {{ organization {{ id }} }} ... on Query {query} }}");
    }
    let refusal = org.agent.err(&query, json!({})).await;
    assert_eq!(refusal, "QUERY_TOO_COMPLEX");
    let plain = format!("{}{}", "{ a ".repeat(40), "}".repeat(40));
    assert_eq!(org.agent.err(&plain, json!({})).await, "QUERY_TOO_COMPLEX");
}

// ---- bodies --------------------------------------------------------------------------------

/// A body that sends `prefix` and then nothing more, ever: a server that waits for its end hangs.
fn endless_body(prefix: Vec<u8>) -> reqwest::Body {
    let first = stream::once(async move { Ok::<_, std::io::Error>(prefix) });
    let then = stream::pending::<Result<Vec<u8>, std::io::Error>>();
    reqwest::Body::wrap_stream(futures_util::StreamExt::chain(first, then))
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_refused_as_soon_as_it_is_seen_to_be() {
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "1000")]).await;
    let mut prefix = br#"{"query": "{ __typename }", "pad": ""#.to_vec();
    prefix.extend(std::iter::repeat_n(b'x', 4000));
    let sent = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(endless_body(prefix))
        .send();
    let resp = tokio::time::timeout(NO_HANG, sent).await.expect("answered without the rest of the body").expect("sent");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_anonymous_upload_is_refused_before_its_files_are_read() {
    let app = spawn_app().await;
    let boundary = "xBOUNDARYx";
    let mut prefix = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{{\"query\": \"mutation($f: Upload!) {{ __typename }}\", \"variables\": {{\"f\": null}}}}\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"0\"; filename=\"a.bin\"\r\ncontent-type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    prefix.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let sent = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("apollo-require-preflight", "true")
        .body(endless_body(prefix))
        .send();
    let resp = tokio::time::timeout(NO_HANG, sent).await.expect("answered without reading the file").expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("a JSON body");
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}

// ---- the client behind a trusted proxy ------------------------------------------------------

fn forwarded_for(ip: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", format!("203.0.113.250, {ip}").parse().expect("a header value"));
    h
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_limit_and_is_recorded() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "2"), ("TRUSTED_PROXIES", "127.0.0.0/8, ::1")]).await;
    let typename = json!({"query": "{ __typename }"});
    for _ in 0..2 {
        assert_eq!(post(&app, forwarded_for("198.51.100.1"), &typename).await.0, StatusCode::OK);
    }
    assert_eq!(post(&app, forwarded_for("198.51.100.1"), &typename).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held back (the left-most, spoofable value is ignored).
    assert_eq!(post(&app, forwarded_for("198.51.100.2"), &typename).await.0, StatusCode::OK);

    // Sessions and audit rows record the client, not the proxy.
    let admin = app.register("proxied", "admin@proxied.test").await;
    let login = "mutation($i: LoginInput!) { login(input: $i) { session { ip } } }";
    let input = json!({"i": {"email": admin.email, "password": "correct horse battery"}});
    let (_, body) = post(&app, forwarded_for("198.51.100.3"), &json!({"query": login, "variables": input})).await;
    assert_eq!(body["data"]["login"]["session"]["ip"], "198.51.100.3", "{body:#}");
    let ips = app.sql_strings("select ip from audit_logs where action = 'auth.login' and ip is not null").await;
    assert_eq!(ips, ["198.51.100.3"]);
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "2")]).await;
    let typename = json!({"query": "{ __typename }"});
    for n in 0..2 {
        assert_eq!(post(&app, forwarded_for(&format!("198.51.100.{n}")), &typename).await.0, StatusCode::OK);
    }
    let (status, body) = post(&app, forwarded_for("198.51.100.9"), &typename).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a made-up address escaped the limit: {body:#}");
}
