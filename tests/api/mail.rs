//! Mail delivered over a real SMTP conversation with a sink the tests start (`mail/sink.rs`):
//! the reset code read from the received mail and used, a server answering `451` first (retried,
//! then sent), one refusing with `550` (`FAILED` with its answer), `retryMessage`, `messages` for
//! ADMINs of their organization only, `sendDocument` with the stored document attached as it
//! was made, the reset body erased once sent, French by default and English on request.

pub mod sink;

use std::time::{Duration, Instant};

use mail_parser::MimeHeaders;
use serde_json::{Value, json};

use crate::{
    documents::{absolute, made_certificate},
    helpers::*,
    passwords::code_in,
};
use sink::{Behaviour, Sink};

const PASSWORD: &str = "correct horse battery";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
pub const MESSAGES: &str = "query($f: MessageFilter) { messages(first: 100, filter: $f) { totalCount nodes { \
    id kind recipient subject status attempts lastError document { id fileName } createdAt sentAt } } }";
const RETRY: &str = "mutation($id: ID!) { retryMessage(id: $id) { id status attempts lastError } }";
const SEND_DOCUMENT: &str = "mutation($i: SendDocumentInput!) { sendDocument(input: $i) { \
    id kind recipient subject status attempts document { id fileName } sentAt } }";
/// The longest a message may take to reach its end state here (retries wait ~100 ms, doubling).
const PATIENCE: Duration = Duration::from_secs(20);

async fn mail_app(sink: &Sink, extra: &[(&str, &str)]) -> TestApp {
    let url = sink.url();
    let mut vars = vec![("SMTP_URL", url.as_str())];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// The organization's messages as `admin` sees them.
pub async fn messages(admin: &User, filter: Value) -> Vec<Value> {
    let data = admin.ok(MESSAGES, json!({"f": filter})).await;
    data["messages"]["nodes"].as_array().expect("nodes").clone()
}

/// Waits until the only message to `recipient` reaches `status`; returns it.
pub async fn settled(admin: &User, recipient: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let found = messages(admin, json!({"recipient": recipient})).await;
        assert!(found.len() <= 1, "one message to {recipient} expected: {found:#?}");
        if let Some(message) = found.first().filter(|m| m["status"] == status) {
            return message.clone();
        }
        assert!(started.elapsed() < PATIENCE, "no {status} message to {recipient} within {PATIENCE:?}: {found:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An organization `acme` whose agent Ann asks for a password reset (with `Accept-Language`, if given).
async fn reset_requested(app: &TestApp, accept_language: Option<&str>) -> Org {
    let org = app.org("acme").await;
    let mut request = app.client.post(app.url("/graphql")).json(&json!({"query": REQUEST_RESET, "variables": {"e": org.agent.email}}));
    if let Some(language) = accept_language {
        request = request.header("Accept-Language", language);
    }
    let body: Value = request.send().await.expect("sent").json().await.expect("JSON");
    assert_eq!(body, json!({"data": {"requestPasswordReset": true}}));
    org
}

#[tokio::test]
async fn the_reset_code_mailed_in_french_sets_a_new_password_and_its_body_is_erased_once_sent() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = mail_app(&sink, &[]).await;
    let org = reset_requested(&app, None).await;
    let received = sink.wait_for(1, PATIENCE).await;
    let mail = &received[0];
    assert_eq!(mail.to, vec![org.agent.email.clone()]);
    let (text, html) = (mail.text(), mail.html());
    assert!(text.contains("Bonjour") && text.contains("Code : "), "{text}");
    assert!(html.contains("Bonjour") && html.contains("<code>"), "{html}");
    // Without PUBLIC_BASE_URL there is no link, only the code.
    assert!(!text.contains("reset-password"), "{text}");
    let code = code_in(&text).expect("a code in the mail");
    assert!(html.contains(&code));

    let answer = app.graphql(RESET, json!({"t": code, "p": "a brand new passphrase"})).await;
    assert_eq!(answer, json!({"data": {"resetPassword": true}}), "{answer:#}");
    let login = app.login(&org.agent.email, "a brand new passphrase").await;
    assert!(login["data"]["login"]["accessToken"].is_string(), "{login:#}");
    assert!(app.login(&org.agent.email, PASSWORD).await.get("errors").is_some());

    let message = settled(&org.admin, &org.agent.email, "SENT").await;
    assert_eq!(message["kind"], "PASSWORD_RESET");
    assert_eq!(message["attempts"], 1);
    assert!(message["sentAt"].is_string() && message["lastError"].is_null(), "{message:#}");
    assert!(message["subject"].as_str().unwrap().starts_with("Réinitialisation"), "{message:#}");
    assert_eq!(mail.message_id(), format!("{}@monassurance", outbox_id(&message)));
    // The code no longer sits in the database.
    assert_eq!(app.sql_strings("SELECT body FROM outbox").await, vec![String::new()]);
    assert!(app.sql_strings("SELECT html_body FROM outbox WHERE html_body IS NOT NULL").await.is_empty());
}

/// The outbox id behind a `Message` id (the sink sees it in `Message-ID`).
pub fn outbox_id(message: &Value) -> uuid::Uuid {
    let id = async_graphql::ID(message["id"].as_str().expect("an id").to_string());
    monassurance::graphql::ids::decode(&id, "Message").expect("a Message id")
}

#[tokio::test]
async fn english_is_written_when_the_request_prefers_it_and_the_link_when_the_public_url_is_known() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = mail_app(&sink, &[("PUBLIC_BASE_URL", "https://app.acme.test/")]).await;
    let org = reset_requested(&app, Some("en-GB,en;q=0.9,fr;q=0.5")).await;
    let mail = sink.wait_for(1, PATIENCE).await.remove(0);
    let text = mail.text();
    assert!(text.contains("Hello") && text.contains("Code: "), "{text}");
    let code = code_in(&text).expect("a code");
    assert!(text.contains(&format!("https://app.acme.test/reset-password?token={code}")), "{text}");
    // MiniJinja escapes `/` in HTML (`&#x2f;`), which a mail reader reads back as `/`.
    let html = mail.html().replace("&#x2f;", "/");
    assert!(html.contains(&format!("href=\"https://app.acme.test/reset-password?token={code}\"")), "{html}");
    let message = settled(&org.admin, &org.agent.email, "SENT").await;
    assert_eq!(message["subject"], "Reset your MonAssurance password");
}

#[tokio::test]
async fn a_server_answering_451_first_gets_the_message_on_the_next_attempt() {
    let sink = Sink::start(Behaviour::Busy(1)).await;
    let app = mail_app(&sink, &[]).await;
    let org = reset_requested(&app, None).await;
    let message = settled(&org.admin, &org.agent.email, "SENT").await;
    assert_eq!(message["attempts"], 2, "{message:#}");
    assert!(message["lastError"].as_str().unwrap().starts_with("451"), "{message:#}");
    assert_eq!((sink.refused(), sink.received().len()), (1, 1));
}

#[tokio::test]
async fn a_server_that_stays_busy_fails_the_message_after_its_attempts_with_its_answer() {
    let sink = Sink::start(Behaviour::Busy(100)).await;
    let app = mail_app(&sink, &[("MAIL_MAX_ATTEMPTS", "3")]).await;
    let org = reset_requested(&app, None).await;
    let message = settled(&org.admin, &org.agent.email, "FAILED").await;
    assert_eq!(message["attempts"], 3, "{message:#}");
    let error = message["lastError"].as_str().unwrap();
    assert!(error.starts_with("451") && error.contains("Mailbox busy"), "{error}");
    assert_eq!(sink.refused(), 3);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_550_fails_at_once_and_retry_message_sends_it_once_the_server_accepts() {
    let sink = Sink::start(Behaviour::Refuse).await;
    let app = mail_app(&sink, &[]).await;
    let org = reset_requested(&app, None).await;
    let failed = settled(&org.admin, &org.agent.email, "FAILED").await;
    assert_eq!(failed["attempts"], 1, "{failed:#}");
    let error = failed["lastError"].as_str().unwrap();
    assert!(error.starts_with("550") && error.contains("Relaying denied"), "{error}");

    sink.set(Behaviour::Accept);
    let retried = org.admin.ok(RETRY, json!({"id": failed["id"]})).await;
    assert_eq!(retried["retryMessage"]["status"], "PENDING");
    assert_eq!(retried["retryMessage"]["attempts"], 0);
    let sent = settled(&org.admin, &org.agent.email, "SENT").await;
    assert_eq!(sent["attempts"], 1);
    assert_eq!(sink.received().len(), 1);

    // A message that is not FAILED cannot be retried.
    let refusal = org.admin.err(RETRY, json!({"id": failed["id"]})).await;
    assert_eq!(refusal, "BAD_USER_INPUT");
    let audit = app.sql_strings("SELECT action FROM audit_logs WHERE action = 'message.retry'").await;
    assert_eq!(audit, vec!["message.retry".to_string()]);
}

#[tokio::test]
async fn messages_are_for_admins_and_stay_within_their_organization() {
    let sink = Sink::start(Behaviour::Refuse).await;
    let app = mail_app(&sink, &[]).await;
    let org = reset_requested(&app, None).await;
    let failed = settled(&org.admin, &org.agent.email, "FAILED").await;
    assert_eq!(org.manager.err(MESSAGES, json!({})).await, "FORBIDDEN");
    assert_eq!(org.agent2.err(MESSAGES, json!({})).await, "FORBIDDEN");
    assert_eq!(org.manager.err(RETRY, json!({"id": failed["id"]})).await, "FORBIDDEN");

    let other = app.org("globex").await;
    assert!(messages(&other.admin, json!({})).await.is_empty());
    assert_eq!(other.admin.err(RETRY, json!({"id": failed["id"]})).await, "NOT_FOUND");
    assert_eq!(other.admin.err("query($id: ID!) { node(id: $id) { id } }", json!({"id": failed["id"]})).await, "NOT_FOUND");
    assert_eq!(org.manager.err("query($id: ID!) { node(id: $id) { id } }", json!({"id": failed["id"]})).await, "NOT_FOUND");
    let mine = org.admin.ok("query($id: ID!) { node(id: $id) { ... on Message { status } } }", json!({"id": failed["id"]})).await;
    assert_eq!(mine["node"]["status"], "FAILED");

    // The filters.
    assert_eq!(messages(&org.admin, json!({"status": "FAILED", "kind": "PASSWORD_RESET"})).await.len(), 1);
    assert!(messages(&org.admin, json!({"status": "SENT"})).await.is_empty());
    assert!(messages(&org.admin, json!({"kind": "DOCUMENT"})).await.is_empty());
    assert!(messages(&org.admin, json!({"recipient": "nobody@"})).await.is_empty());
    assert_eq!(messages(&org.admin, json!({"recipient": "AGENT@ACME"})).await.len(), 1);
    assert_eq!(messages(&org.admin, json!({"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"})).await.len(), 1);
    assert!(messages(&org.admin, json!({"from": "2999-01-01T00:00:00Z"})).await.is_empty());
}

#[tokio::test]
async fn send_document_mails_the_stored_document_attached_as_it_was_made() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = mail_app(&sink, &[("STORAGE_ENCRYPTION_KEYS", "k1:ERERERERERERERERERERERERERERERERERERERERERE="), ("STORAGE_COMPRESS", "true")]).await;
    let made = made_certificate(&app, "acme").await;
    let manager = &made.book.org.manager;
    let document = &made.document;
    let bad = manager
        .err(SEND_DOCUMENT, json!({"i": {"documentId": document["id"], "to": ["client@example.com", "not an address"], "subject": "S", "body": "B"}}))
        .await;
    assert_eq!(bad, "BAD_USER_INPUT");
    assert_eq!(bad.field(), "input.to");
    let none = manager.err(SEND_DOCUMENT, json!({"i": {"documentId": document["id"], "to": [], "subject": "S", "body": "B"}})).await;
    assert_eq!(none.field(), "input.to");

    let input = json!({"i": {
        "documentId": document["id"],
        "to": ["client@example.com", "Broker@Example.com"],
        "subject": "Votre attestation",
        "body": "Bonjour,\n\nVoici votre attestation <PDF>.",
    }});
    let sent = manager.ok(SEND_DOCUMENT, input).await["sendDocument"].clone();
    assert_eq!(sent["kind"], "DOCUMENT");
    assert_eq!(sent["recipient"], "client@example.com, broker@example.com");
    assert_eq!(sent["document"]["id"], document["id"]);

    let mail = sink.wait_for(1, PATIENCE).await.remove(0);
    assert_eq!(mail.to, vec!["client@example.com".to_string(), "broker@example.com".to_string()]);
    let parsed = mail.parsed();
    assert_eq!(parsed.subject(), Some("Votre attestation"));
    let text = mail.text();
    assert!(text.contains("Voici votre attestation <PDF>.") && text.contains("Document joint"), "{text}");
    assert!(mail.html().contains("Voici votre attestation &lt;PDF&gt;."), "{}", mail.html());
    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 1);
    let attached = &attachments[0];
    assert_eq!(attached.attachment_name(), document["fileName"].as_str());
    let content_type = attached.content_type().expect("a content type");
    let mime = format!("{}/{}", content_type.ctype(), content_type.subtype().unwrap_or_default());
    assert_eq!(mime, document["mimeType"].as_str().unwrap());
    // Byte for byte what a download gives (the stored file is compressed and encrypted).
    let url = absolute(&app, document["downloadUrl"].as_str().unwrap());
    let downloaded = app.client.get(url).send().await.expect("download").bytes().await.expect("bytes");
    assert!(downloaded.starts_with(b"%PDF"));
    assert_eq!(attached.contents(), &downloaded[..]);

    let admin = &made.book.org.admin;
    let message = settled(admin, "client@example.com", "SENT").await;
    assert_eq!(message["document"]["fileName"], document["fileName"]);
    // A document message keeps its body (only reset codes are erased).
    assert!(app.sql_strings("SELECT body FROM outbox").await[0].contains("Voici votre attestation"));
    let audit = app.sql_strings("SELECT action FROM audit_logs WHERE action = 'message.send_document'").await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn send_document_needs_a_document_the_caller_may_read() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = mail_app(&sink, &[]).await;
    let made = made_certificate(&app, "acme").await;
    let other = app.org("globex").await;
    let input = json!({"i": {"documentId": made.document["id"], "to": ["x@example.com"], "subject": "S", "body": "B"}});
    assert_eq!(other.admin.err(SEND_DOCUMENT, input.clone()).await, "NOT_FOUND");
    // An agent reads only the documents of their own clients.
    assert_eq!(made.book.org.agent2.err(SEND_DOCUMENT, input).await, "NOT_FOUND");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn without_smtp_url_messages_stay_pending() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.graphql(REQUEST_RESET, json!({"e": org.agent.email})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let found = messages(&org.admin, json!({})).await;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0]["status"].as_str(), found[0]["attempts"].as_i64()), (Some("PENDING"), Some(0)));
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_the_message_fails_with_the_connection_error() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("SMTP_URL", url.as_str()), ("MAIL_MAX_ATTEMPTS", "2")]).await;
    let org = reset_requested(&app, None).await;
    let message = settled(&org.admin, &org.agent.email, "FAILED").await;
    assert_eq!(message["attempts"], 2, "{message:#}");
    let error = message["lastError"].as_str().unwrap().to_lowercase();
    assert!(error.contains("connection"), "{error}");
}

#[tokio::test]
async fn a_bad_smtp_url_stops_the_binary_naming_the_variable_and_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_monassurance"))
        .arg("migrate")
        .env_clear()
        .env("DATA_DIR", dir.path())
        .env("SMTP_URL", "http://me:hunter2@mail.example.com")
        .output()
        .await
        .expect("the binary ran");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SMTP_URL") && !stderr.contains("hunter2"), "{stderr}");
}
