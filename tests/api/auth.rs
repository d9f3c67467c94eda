//! Sign-in through the public API: registration, login, tokens (rotation, expiry, forgery),
//! sessions and logout, and user administration (roles, deactivation).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";

const ME: &str = "{ me { id email role } }";

const REGISTER: &str = "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken expiresIn \
     user { id email role isActive organization { id name slug } } session { id current } } }";

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresIn \
     user { id email role } session { id deviceName current } } }";

const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken expiresIn \
     user { id } session { id current } } }";

const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { id email role isActive } }";

const DEACTIVATE: &str = "mutation($id: ID!) { deactivateUser(id: $id) }";

const CREATE_COMPANY: &str = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id code } }";

fn register_input(org: &str, email: &str, password: &str) -> Value {
    json!({"organizationName": org, "email": email, "password": password, "fullName": "Ann Admin"})
}

fn user_input(email: &str, password: &str, role: &str) -> Value {
    json!({"email": email, "fullName": "Someone", "password": password, "role": role})
}

/// Signs in with a device name; panics unless it succeeds; returns the `AuthPayload`.
async fn sign_in(app: &TestApp, email: &str, device: &str) -> Value {
    let body = app.graphql(LOGIN, json!({"i": {"email": email, "password": PASSWORD, "deviceName": device}})).await;
    assert!(body.get("errors").is_none(), "login failed: {body:#}");
    body["data"]["login"].clone()
}

fn token_of(payload: &Value) -> &str {
    payload["accessToken"].as_str().expect("accessToken")
}

fn refresh_of(payload: &Value) -> &str {
    payload["refreshToken"].as_str().expect("refreshToken")
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Value {
    app.graphql(REFRESH, json!({"t": refresh_token})).await
}

/// Asserts that `token` works for `me`.
async fn assert_accepted(app: &TestApp, token: &str) {
    let body = app.gql(Some(token), ME, json!({})).await;
    assert!(body.get("errors").is_none(), "token refused: {body:#}");
    assert!(body["data"]["me"]["id"].is_string(), "{body:#}");
}

/// Asserts that `token` is refused with `UNAUTHENTICATED` on `me`.
async fn assert_refused(app: &TestApp, token: &str) {
    let body = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
    assert!(body["data"].is_null(), "{body:#}");
}

/// `me` with a raw `Authorization` header value.
async fn me_with_authorization(app: &TestApp, authorization: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("Authorization", authorization)
        .json(&json!({"query": ME}))
        .send()
        .await
        .expect("request sent");
    assert!(resp.status().is_success(), "HTTP {}", resp.status());
    resp.json().await.expect("JSON body")
}

/// The claims of a JWT, read from its middle part.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims")
}

fn sign_hs256(claims: &Value, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("signing")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

// ---------------------------------------------------------------- register

#[tokio::test]
async fn register_creates_an_organization_and_signs_its_first_admin_in() {
    let app = spawn_app().await;
    let body = app.graphql(REGISTER, json!({"i": register_input("Assurances du Golfe", "ann@golfe.test", PASSWORD)})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let p = &body["data"]["register"];
    assert_eq!(token_of(p).split('.').count(), 3, "the access token is a JWT");
    assert!(!refresh_of(p).is_empty());
    assert!(p["expiresIn"].as_i64().is_some_and(|n| n > 0), "{p:#}");
    assert_eq!(p["user"]["email"], "ann@golfe.test");
    assert_eq!(p["user"]["role"], "ADMIN");
    assert_eq!(p["user"]["isActive"], true);
    assert_eq!(p["user"]["organization"]["name"], "Assurances du Golfe");
    assert!(p["user"]["organization"]["slug"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(p["session"]["current"], true);

    let me = app.gql(Some(token_of(p)), "{ me { id email role organization { id name } } }", json!({})).await;
    assert!(me.get("errors").is_none(), "{me:#}");
    assert_eq!(me["data"]["me"]["id"], p["user"]["id"]);
    assert_eq!(me["data"]["me"]["role"], "ADMIN");
    assert_eq!(me["data"]["me"]["organization"]["id"], p["user"]["organization"]["id"]);
}

#[tokio::test]
async fn register_does_not_let_the_caller_choose_a_role() {
    let app = spawn_app().await;
    let mut input = register_input("Acme", "ann@acme.test", PASSWORD);
    input["role"] = json!("SUPERADMIN");
    let body = app.graphql("mutation($i: RegisterInput!) { register(input: $i) { accessToken } }", json!({"i": input})).await;
    // A variable that does not fit its input type is a bad input, refused before anything runs.
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert!(body.get("data").is_none(), "a request error has no data: {body:#}");

    // Nothing was created: the same e-mail registers afterwards, as an ADMIN.
    let admin = app.register("Acme", "ann@acme.test").await;
    assert_eq!(admin.ok(ME, json!({})).await["me"]["role"], "ADMIN");
}

#[tokio::test]
async fn register_refuses_a_weak_password_on_the_password_field() {
    let app = spawn_app().await;
    for password in ["short-pw1", "ann.admin@acme.test", "Ann.Admin@ACME.test"] {
        let body = app.graphql(REGISTER, json!({"i": register_input("Acme", "ann.admin@acme.test", password)})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{password}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.password", "{password}: {body:#}");
    }
}

#[tokio::test]
async fn register_refuses_a_malformed_email_on_the_email_field() {
    let app = spawn_app().await;
    for email in ["not-an-email", "ann@", "ann@acme", "a b@acme.test"] {
        let body = app.graphql(REGISTER, json!({"i": register_input("Acme", email, PASSWORD)})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{email}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.email", "{email}: {body:#}");
    }
}

#[tokio::test]
async fn register_refuses_an_email_already_taken_whatever_its_case() {
    let app = spawn_app().await;
    app.register("Acme", "dup@acme.test").await;
    let body = app.graphql(REGISTER, json!({"i": register_input("Other", "DUP@Acme.Test", PASSWORD)})).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn login_answers_a_wrong_password_and_an_unknown_email_alike() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let wrong = app.login("ann@acme.test", "wrong horse battery").await;
    let unknown = app.login("nobody@acme.test", PASSWORD).await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED", "{wrong:#}");
    assert_eq!(code(&unknown), "UNAUTHENTICATED", "{unknown:#}");
    assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"]);
    assert!(wrong["data"].is_null() && unknown["data"].is_null());
}

#[tokio::test]
async fn login_names_the_device_in_sessions_and_marks_the_current_one() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let p = sign_in(&app, "ann@acme.test", "Ann's laptop").await;
    assert_eq!(p["session"]["deviceName"], "Ann's laptop");
    assert_eq!(p["session"]["current"], true);

    let body = app.gql(Some(token_of(&p)), "{ sessions { id deviceName current } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let sessions = body["data"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "registration and this login: {body:#}");
    let laptop = sessions.iter().find(|s| s["deviceName"] == "Ann's laptop").expect("the laptop session");
    assert_eq!(laptop["id"], p["session"]["id"]);
    assert_eq!(laptop["current"], true);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1, "{body:#}");
}

#[tokio::test]
async fn anonymous_me_is_unauthenticated() {
    let app = spawn_app().await;
    let body = app.graphql(ME, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}

#[tokio::test]
async fn an_authorization_header_that_is_not_bearer_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    for value in ["Basic xyz".to_string(), "Bearer".to_string(), format!("Token {}", admin.token)] {
        let body = me_with_authorization(&app, &value).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{value}: {body:#}");
    }
}

// ---------------------------------------------------------------- refresh tokens

#[tokio::test]
async fn refresh_token_returns_new_tokens_for_the_same_session() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let first = sign_in(&app, "ann@acme.test", "laptop").await;
    let body = refresh(&app, refresh_of(&first)).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let second = &body["data"]["refreshToken"];
    assert_ne!(token_of(second), token_of(&first));
    assert_ne!(refresh_of(second), refresh_of(&first));
    assert_eq!(second["session"]["id"], first["session"]["id"]);
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_accepted(&app, token_of(second)).await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let first = sign_in(&app, "ann@acme.test", "laptop").await;
    let other_device = sign_in(&app, "ann@acme.test", "phone").await;
    let body = refresh(&app, refresh_of(&first)).await;
    let second = body["data"]["refreshToken"].clone();
    assert!(second.is_object(), "{body:#}");

    let reuse = refresh(&app, refresh_of(&first)).await;
    assert_eq!(code(&reuse), "UNAUTHENTICATED", "the old refresh token is dead: {reuse:#}");

    // The reuse ended the session family: its newest tokens are dead too.
    assert_refused(&app, token_of(&second)).await;
    let newest = refresh(&app, refresh_of(&second)).await;
    assert_eq!(code(&newest), "UNAUTHENTICATED", "{newest:#}");
    // Another device of the same user is untouched.
    assert_accepted(&app, token_of(&other_device)).await;
}

#[tokio::test]
async fn an_unknown_refresh_token_is_unauthenticated() {
    let app = spawn_app().await;
    let body = refresh(&app, "not-a-refresh-token").await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}

// ---------------------------------------------------------------- access tokens: expiry and forgery

#[tokio::test]
async fn an_expired_access_token_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let mut claims = claims_of(&admin.token);

    // The crafted token is right in every other way: with a future expiry it is accepted.
    claims["iat"] = json!(now() - 60);
    claims["exp"] = json!(now() + 600);
    assert_accepted(&app, &sign_hs256(&claims, JWT_SECRET)).await;

    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    assert_refused(&app, &sign_hs256(&claims, JWT_SECRET)).await;
}

#[tokio::test]
async fn an_access_token_stops_working_after_its_lifetime() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL_SECS", "1")]).await;
    app.register("Acme", "ann@acme.test").await;
    let p = sign_in(&app, "ann@acme.test", "laptop").await;
    assert_eq!(p["expiresIn"], 1);
    let claims = claims_of(token_of(&p));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 1);
    assert_accepted(&app, token_of(&p)).await;
    // Past the lifetime plus the server's clock leeway (a few seconds).
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_refused(&app, token_of(&p)).await;
    // The refresh token still gets a fresh access token.
    let body = refresh(&app, refresh_of(&p)).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_accepted(&app, token_of(&body["data"]["refreshToken"])).await;
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let parts: Vec<&str> = admin.token.split('.').collect();
    let mut claims = claims_of(&admin.token);
    claims["role"] = json!("SUPERADMIN");
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_refused(&app, &format!("{}.{payload}.{}", parts[0], parts[2])).await;
}

#[tokio::test]
async fn a_token_with_a_tampered_signature_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let parts: Vec<&str> = admin.token.split('.').collect();
    let mut sig: Vec<char> = parts[2].chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();
    assert_refused(&app, &format!("{}.{}.{sig}", parts[0], parts[1])).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = admin.token.split('.').nth(1).unwrap();
    assert_refused(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let claims = claims_of(&admin.token);
    assert_refused(&app, &sign_hs256(&claims, "another-secret-another-secret-0123456789")).await;
}

// ---------------------------------------------------------------- logout and sessions

#[tokio::test]
async fn logout_kills_the_access_and_refresh_tokens_of_this_session_at_once() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let laptop = sign_in(&app, "ann@acme.test", "laptop").await;
    let phone = sign_in(&app, "ann@acme.test", "phone").await;
    assert_accepted(&app, token_of(&laptop)).await;

    let body = app.gql(Some(token_of(&laptop)), "mutation { logout }", json!({})).await;
    assert_eq!(body["data"]["logout"], true, "{body:#}");

    assert_refused(&app, token_of(&laptop)).await;
    let again = refresh(&app, refresh_of(&laptop)).await;
    assert_eq!(code(&again), "UNAUTHENTICATED", "{again:#}");
    assert_accepted(&app, token_of(&phone)).await;
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let laptop = sign_in(&app, "ann@acme.test", "laptop").await;
    let phone = sign_in(&app, "ann@acme.test", "phone").await;

    let body = app.gql(Some(token_of(&laptop)), "mutation { logoutAll }", json!({})).await;
    assert_eq!(body["data"]["logoutAll"], true, "{body:#}");

    assert_refused(&app, token_of(&laptop)).await;
    assert_refused(&app, token_of(&phone)).await;
    let body = refresh(&app, refresh_of(&phone)).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}

#[tokio::test]
async fn revoke_session_ends_another_device_of_the_caller() {
    let app = spawn_app().await;
    app.register("Acme", "ann@acme.test").await;
    let laptop = sign_in(&app, "ann@acme.test", "laptop").await;
    let phone = sign_in(&app, "ann@acme.test", "phone").await;

    let body = app
        .gql(Some(token_of(&laptop)), "mutation($id: ID!) { revokeSession(id: $id) }", json!({"id": phone["session"]["id"]}))
        .await;
    assert_eq!(body["data"]["revokeSession"], true, "{body:#}");

    assert_refused(&app, token_of(&phone)).await;
    assert_accepted(&app, token_of(&laptop)).await;
    let body = app.gql(Some(token_of(&laptop)), "{ sessions { id deviceName } }", json!({})).await;
    let sessions = body["data"]["sessions"].as_array().expect("sessions");
    assert!(sessions.iter().all(|s| s["id"] != phone["session"]["id"]), "{body:#}");
    assert!(sessions.iter().any(|s| s["id"] == laptop["session"]["id"]), "{body:#}");
}

#[tokio::test]
async fn revoke_session_of_someone_else_is_not_found() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent = app.create_user(&admin, "bob@acme.test", "AGENT").await;
    let bob = sign_in(&app, "bob@acme.test", "bob's phone").await;

    assert_eq!(admin.err("mutation($id: ID!) { revokeSession(id: $id) }", json!({"id": bob["session"]["id"]})).await, "NOT_FOUND", "even an ADMIN");
    assert_accepted(&app, token_of(&bob)).await;
    assert_accepted(&app, &agent.token).await;
}

// ---------------------------------------------------------------- user administration

#[tokio::test]
async fn deactivate_user_kills_their_tokens_at_once_and_blocks_login() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let agent = app.create_user(&admin, "bob@acme.test", "AGENT").await;
    assert_accepted(&app, &agent.token).await;

    let d = admin.ok(DEACTIVATE, json!({"id": agent.id})).await;
    assert_eq!(d["deactivateUser"], true);

    assert_refused(&app, &agent.token).await;
    let login = app.login("bob@acme.test", PASSWORD).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "{login:#}");
    let body = refresh(&app, &agent.refresh).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
    let user = admin.ok("query($id: ID!) { user(id: $id) { isActive } }", json!({"id": agent.id})).await;
    assert_eq!(user["user"]["isActive"], false);
}

#[tokio::test]
async fn an_admin_cannot_deactivate_themselves() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    assert_eq!(admin.err(DEACTIVATE, json!({"id": admin.id})).await, "BAD_USER_INPUT");
    assert_accepted(&app, &admin.token).await;
}

#[tokio::test]
async fn a_manager_cannot_deactivate_a_user() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    assert_eq!(org.manager.err(DEACTIVATE, json!({"id": org.agent.id})).await, "FORBIDDEN");
    assert_accepted(&app, &org.agent.token).await;
}

#[tokio::test]
async fn create_user_refuses_the_superadmin_role() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    let body = admin.run(CREATE_USER, json!({"i": user_input("root@acme.test", PASSWORD, "SUPERADMIN")})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.role", "{body:#}");
    let login = app.login("root@acme.test", PASSWORD).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "no such user was created: {login:#}");
}

#[tokio::test]
async fn only_an_admin_may_create_users() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for (who, actor) in [("MANAGER", &org.manager), ("AGENT", &org.agent)] {
        assert_eq!(actor.err(CREATE_USER, json!({"i": user_input("eve@acme.test", PASSWORD, "AGENT")})).await, "FORBIDDEN", "{who}");
    }
    let d = org.admin.ok(CREATE_USER, json!({"i": user_input("eve@acme.test", PASSWORD, "MANAGER")})).await;
    assert_eq!(d["createUser"]["email"], "eve@acme.test");
    assert_eq!(d["createUser"]["role"], "MANAGER");
    assert_eq!(d["createUser"]["isActive"], true);
}

#[tokio::test]
async fn create_user_applies_the_password_and_email_rules() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    for (input, field) in [
        (user_input("bob.agent@acme.test", "short-pw1", "AGENT"), "input.password"),
        (user_input("bob.agent@acme.test", "bob.agent@acme.test", "AGENT"), "input.password"),
        (user_input("not-an-email", PASSWORD, "AGENT"), "input.email"),
    ] {
        let body = admin.run(CREATE_USER, json!({"i": input.clone()})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body:#}");
    }
}

#[tokio::test]
async fn create_user_refuses_an_email_already_taken_whatever_its_case() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "ann@acme.test").await;
    app.register("Other", "zoe@other.test").await;
    for email in ["ANN@acme.test", "Zoe@Other.Test"] {
        assert_eq!(admin.err(CREATE_USER, json!({"i": user_input(email, PASSWORD, "AGENT")})).await, "CONFLICT", "{email}");
    }
}

#[tokio::test]
async fn only_an_admin_may_list_users() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let users = "{ users { totalCount edges { node { email role } } } }";
    for (who, actor) in [("AGENT", &org.agent), ("MANAGER", &org.manager)] {
        assert_eq!(actor.err(users, json!({})).await, "FORBIDDEN", "{who}");
    }
    let d = org.admin.ok(users, json!({})).await;
    assert_eq!(d["users"]["totalCount"], 4, "{d:#}");
    assert_eq!(d["users"]["edges"].as_array().unwrap().len(), 4, "{d:#}");
}

#[tokio::test]
async fn a_role_change_applies_to_existing_tokens_at_once() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let input = json!({"i": {"name": "Insurer AXA", "code": "AXA"}});
    let before = org.agent.run(CREATE_COMPANY, input.clone()).await;
    assert_eq!(code(&before), "FORBIDDEN", "{before:#}");

    let d = app
        .ok(&org.admin, "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id role } }", json!({"i": {"id": org.agent.id, "role": "MANAGER"}}))
        .await;
    assert_eq!(d["updateUser"]["role"], "MANAGER");

    // The same access token, no new sign-in.
    assert_eq!(org.agent.ok(ME, json!({})).await["me"]["role"], "MANAGER");
    let after = org.agent.ok(CREATE_COMPANY, input).await;
    assert_eq!(after["createCompany"]["code"], "AXA");
}

#[tokio::test]
async fn many_sign_ups_and_logins_at_once_all_succeed() {
    let app = spawn_app().await;
    // Each writes its organization, user, session and audit rows; on SQLite, transactions that
    // read before they write used to fail with "database is locked" when others wrote meanwhile.
    let register = |n: usize| {
        let app = &app;
        async move {
            app.graphql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
                json!({"i": {"organizationName": format!("Org {n}"), "email": format!("owner{n}@crowd.test"), "password": PASSWORD, "fullName": "Owner"}}),
            )
            .await
        }
    };
    let answers = futures_util::future::join_all((0..24).map(register)).await;
    for answer in &answers {
        assert!(answer["data"]["register"]["accessToken"].is_string(), "{answer:#}");
    }
    let logins = futures_util::future::join_all((0..24).map(|n| {
        let app = &app;
        async move { app.login(&format!("owner{n}@crowd.test"), PASSWORD).await }
    }))
    .await;
    for answer in &logins {
        assert!(answer["data"]["login"]["accessToken"].is_string(), "{answer:#}");
    }
}
