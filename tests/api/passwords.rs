//! Passwords: reset by a single-use code sent through the outbox (the same answer for unknown
//! e-mails), and change with the current password; both end the sessions they should.

use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
const ME: &str = "{ me { id } }";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";

/// The reset codes mailed to `email`, oldest first.
pub(crate) async fn codes_sent_to(app: &TestApp, email: &str) -> Vec<String> {
    let bodies =
        app.sql_strings(&format!("SELECT body FROM outbox WHERE recipient = '{email}' ORDER BY created_at, id")).await;
    bodies
        .iter()
        .map(|body| {
            code_in(body)
                .unwrap_or_else(|| panic!("no reset code in the message: {body}"))
        })
        .collect()
}

/// The reset code of a message's text (`Code : …` in French, `Code: …` in English).
pub(crate) fn code_in(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix("Code")).map(|rest| rest.trim_start_matches([' ', ':']).trim().to_string())
}

/// Asks for a reset of `email` and returns the newest code mailed.
async fn reset_code(app: &TestApp, email: &str) -> String {
    let body = app.graphql(REQUEST_RESET, json!({"e": email})).await;
    assert_eq!(body, json!({"data": {"requestPasswordReset": true}}));
    codes_sent_to(app, email).await.pop().expect("a reset message in the outbox")
}

async fn reset(app: &TestApp, token: &str, new_password: &str) -> Value {
    app.graphql(RESET, json!({"t": token, "p": new_password})).await
}

/// Signs in; returns the access token, or `None` when refused with `UNAUTHENTICATED`.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> Option<String> {
    let body = app.login(email, password).await;
    if body.get("errors").is_some() {
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
        return None;
    }
    Some(body["data"]["login"]["accessToken"].as_str().expect("an access token").to_string())
}

fn assert_bad_input(body: &Value, field: &str) {
    assert_eq!(code(body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
}

async fn token_works(app: &TestApp, token: &str) -> bool {
    let body = app.gql(Some(token), ME, json!({})).await;
    match body.get("errors") {
        None => true,
        Some(_) => {
            assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
            false
        }
    }
}

#[tokio::test]
async fn a_reset_request_answers_alike_for_known_and_unknown_emails() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let known = app.graphql(REQUEST_RESET, json!({"e": "ann@acme.test"})).await;
    let unknown = app.graphql(REQUEST_RESET, json!({"e": "nobody@acme.test"})).await;
    assert_eq!(known, json!({"data": {"requestPasswordReset": true}}));
    assert_eq!(unknown, known, "the answer tells whether the e-mail is registered");

    assert_eq!(codes_sent_to(&app, "ann@acme.test").await.len(), 1);
    assert!(app.sql_strings("SELECT body FROM outbox WHERE recipient = 'nobody@acme.test'").await.is_empty());
    assert_eq!(app.sql_strings("SELECT recipient FROM outbox").await, vec!["ann@acme.test".to_string()]);
}

#[tokio::test]
async fn a_reset_code_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let laptop = sign_in(&app, "ann@acme.test", PASSWORD).await.expect("sign-in");
    let sent_code = reset_code(&app, "ann@acme.test").await;
    assert!(token_works(&app, &ann.token).await, "asking for a reset ends nothing");

    let body = reset(&app, &sent_code, NEW_PASSWORD).await;
    assert_eq!(body, json!({"data": {"resetPassword": true}}));
    assert!(!token_works(&app, &ann.token).await, "the first session survived the reset");
    assert!(!token_works(&app, &laptop).await, "the second session survived the reset");
    assert!(sign_in(&app, "ann@acme.test", PASSWORD).await.is_none(), "the old password still works");
    let fresh = sign_in(&app, "ann@acme.test", NEW_PASSWORD).await.expect("the new password works");
    assert!(token_works(&app, &fresh).await);

    // Single use.
    let again = reset(&app, &sent_code, "yet another passphrase").await;
    assert_bad_input(&again, "token");
    assert!(sign_in(&app, "ann@acme.test", NEW_PASSWORD).await.is_some(), "a refused reset changed the password");
}

#[tokio::test]
async fn garbage_codes_and_weak_new_passwords_are_bad_user_input() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    assert_bad_input(&reset(&app, "not-a-reset-code", NEW_PASSWORD).await, "token");
    assert_bad_input(&reset(&app, "", NEW_PASSWORD).await, "token");

    let sent_code = reset_code(&app, "ann@acme.test").await;
    assert_bad_input(&reset(&app, &sent_code, "short").await, "newPassword");
    assert_bad_input(&reset(&app, &sent_code, "ann@acme.test").await, "newPassword");
    assert!(sign_in(&app, "ann@acme.test", PASSWORD).await.is_some(), "a refused reset changed the password");

    // A refused password does not spend the code.
    assert_eq!(reset(&app, &sent_code, NEW_PASSWORD).await, json!({"data": {"resetPassword": true}}));
    assert!(sign_in(&app, "ann@acme.test", NEW_PASSWORD).await.is_some());
}

#[tokio::test]
async fn a_used_or_expired_code_is_refused() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;

    let used = reset_code(&app, "ann@acme.test").await;
    app.sql_strings("UPDATE password_resets SET used_at = created_at").await;
    assert_bad_input(&reset(&app, &used, NEW_PASSWORD).await, "token");

    // `expires_at = created_at` is in the past on both databases, whatever their time format.
    let expired = reset_code(&app, "ann@acme.test").await;
    assert_ne!(expired, used);
    app.sql_strings("UPDATE password_resets SET expires_at = created_at WHERE used_at IS NULL").await;
    assert_bad_input(&reset(&app, &expired, NEW_PASSWORD).await, "token");

    assert!(sign_in(&app, "ann@acme.test", PASSWORD).await.is_some(), "a refused reset changed the password");
    assert!(sign_in(&app, "ann@acme.test", NEW_PASSWORD).await.is_none());

    // A fresh code still works.
    let fresh = reset_code(&app, "ann@acme.test").await;
    assert_eq!(reset(&app, &fresh, NEW_PASSWORD).await, json!({"data": {"resetPassword": true}}));
}

#[tokio::test]
async fn change_password_needs_the_current_one_and_ends_the_callers_other_sessions() {
    let app = spawn_app().await;
    let ann = app.register("Acme", "ann@acme.test").await;
    let other = sign_in(&app, "ann@acme.test", PASSWORD).await.expect("sign-in");

    let body = ann.run(CHANGE, json!({"c": "not my password", "n": NEW_PASSWORD})).await;
    assert_bad_input(&body, "currentPassword");
    let body = ann.run(CHANGE, json!({"c": PASSWORD, "n": "short"})).await;
    assert_bad_input(&body, "newPassword");
    assert!(token_works(&app, &other).await, "a refused change ended a session");

    let d = ann.ok(CHANGE, json!({"c": PASSWORD, "n": NEW_PASSWORD})).await;
    assert_eq!(d["changePassword"], true);
    assert!(token_works(&app, &ann.token).await, "the caller's own session ended");
    assert!(!token_works(&app, &other).await, "the caller's other session survived");
    assert!(sign_in(&app, "ann@acme.test", PASSWORD).await.is_none(), "the old password still works");
    assert!(sign_in(&app, "ann@acme.test", NEW_PASSWORD).await.is_some(), "the new password does not work");
}

#[tokio::test]
async fn change_password_needs_a_signed_in_caller() {
    let app = spawn_app().await;
    let body = app.graphql(CHANGE, json!({"c": PASSWORD, "n": NEW_PASSWORD})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}
