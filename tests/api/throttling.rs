//! Throttling: login attempts per account and per address (`LOGIN_ATTEMPTS_PER_MINUTE`), and the
//! whole-API rate per user or address (`RATE_LIMIT_RPM`); both answer 429 `RATE_LIMITED` with `Retry-After`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";
const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";

/// What a raw request answered: status, `Retry-After` and body.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn post(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/json")
        .json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    Answer { status, retry_after, body: resp.json().await.expect("JSON body") }
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    post(app, None, LOGIN, json!({"i": {"email": email, "password": password}})).await
}

/// Asserts a 429 `RATE_LIMITED` answer with a `Retry-After` of whole seconds, at least one.
fn assert_rate_limited(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{what}: {:#}", a.body);
    let secs: u64 = a
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no retry-after header"))
        .parse()
        .unwrap_or_else(|_| panic!("{what}: retry-after {:?} is not whole seconds", a.retry_after));
    assert!((1..=60).contains(&secs), "{what}: retry-after {secs}");
    assert_eq!(code(&a.body), "RATE_LIMITED", "{what}: {:#}", a.body);
    assert!(a.body.get("data").is_none_or(Value::is_null), "{what}: {:#}", a.body);
}

/// Asserts an ordinary answer (not throttled): 200 and no `Retry-After`.
fn assert_served(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::OK, "{what}: {:#}", a.body);
    assert!(a.retry_after.is_none(), "{what}: retry-after on a served request");
}

fn token_of(a: &Answer) -> String {
    assert!(a.body.get("errors").is_none(), "{:#}", a.body);
    a.body["data"]["login"]["accessToken"].as_str().expect("an access token").to_string()
}

#[tokio::test]
async fn the_fourth_login_attempt_in_a_minute_is_429_with_retry_after() {
    let app = spawn_app_with(&[("LOGIN_ATTEMPTS_PER_MINUTE", "3")]).await;
    app.register("Acme", "ann@acme.test").await;
    for i in 1..=3 {
        let a = login(&app, "ann@acme.test", "wrong password 123").await;
        assert_served(&a, &format!("attempt {i}"));
        assert_eq!(code(&a.body), "UNAUTHENTICATED", "attempt {i}: {:#}", a.body);
    }
    // Even the right password waits now; the e-mail's case does not matter.
    let a = login(&app, "ann@acme.test", PASSWORD).await;
    assert_rate_limited(&a, "4th attempt");
    let a = login(&app, "ANN@acme.test", PASSWORD).await;
    assert_rate_limited(&a, "5th attempt, upper case");
}

#[tokio::test]
async fn another_account_is_not_limited_by_the_first_ones_attempts_until_the_address_limit() {
    let app = spawn_app_with(&[("LOGIN_ATTEMPTS_PER_MINUTE", "3")]).await;
    let ann = app.register("Acme", "ann@acme.test").await;
    app.ok(
        &ann,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
        json!({"i": {"email": "bob@acme.test", "fullName": "Bob", "password": PASSWORD, "role": "AGENT"}}),
    )
    .await;
    let mut served = 0;
    for _ in 0..3 {
        assert_served(&login(&app, "ann@acme.test", "wrong password 123").await, "ann");
        served += 1;
    }
    assert_rate_limited(&login(&app, "ann@acme.test", PASSWORD).await, "ann's 4th attempt");

    let a = login(&app, "bob@acme.test", PASSWORD).await;
    assert_served(&a, "bob");
    token_of(&a);
    served += 1;

    // The address may try 6 × 3 = 18 times a minute, over any accounts.
    let mut refused = None;
    for i in 0..30 {
        let a = login(&app, &format!("nobody{i}@acme.test"), PASSWORD).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(a);
            break;
        }
        assert_served(&a, &format!("nobody{i}"));
        assert_eq!(code(&a.body), "UNAUTHENTICATED", "{:#}", a.body);
        served += 1;
    }
    let refused = refused.expect("the per-address limit never applied");
    assert_rate_limited(&refused, "past the per-address limit");
    // Whether the refused attempt on ann counts against the address is the implementation's choice.
    assert!((17..=18).contains(&served), "{served} attempts were served from one address");
    assert_rate_limited(&login(&app, "bob@acme.test", PASSWORD).await, "bob past the per-address limit");
}

#[tokio::test]
async fn the_sixth_request_in_a_minute_is_429_and_the_limit_is_per_user() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "5")]).await;
    // Anonymous requests count against the address: register and one login.
    let ann = app.register("Acme", "ann@acme.test").await;
    let created = post(
        &app,
        Some(ann.token.as_str()),
        "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
        json!({"i": {"email": "bob@acme.test", "fullName": "Bob", "password": PASSWORD, "role": "AGENT"}}),
    )
    .await;
    assert_served(&created, "ann's 1st request");
    let bob = token_of(&login(&app, "bob@acme.test", PASSWORD).await);

    for i in 2..=5 {
        let a = post(&app, Some(ann.token.as_str()), "{ me { id } }", json!({})).await;
        assert_served(&a, &format!("ann's request {i}"));
        assert!(a.body.get("errors").is_none(), "{:#}", a.body);
    }
    let a = post(&app, Some(ann.token.as_str()), "{ me { id } }", json!({})).await;
    assert_rate_limited(&a, "ann's 6th request");

    let a = post(&app, Some(bob.as_str()), "{ me { id } }", json!({})).await;
    assert_served(&a, "bob's 1st request");
    assert!(a.body.get("errors").is_none(), "{:#}", a.body);
}

#[tokio::test]
async fn anonymous_requests_are_limited_per_address() {
    let app = spawn_app_with(&[("RATE_LIMIT_RPM", "5")]).await;
    for i in 1..=5 {
        assert_served(&post(&app, None, "{ __typename }", json!({})).await, &format!("request {i}"));
    }
    assert_rate_limited(&post(&app, None, "{ __typename }", json!({})).await, "6th anonymous request");
}
