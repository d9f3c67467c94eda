//! `jobProgress` over WebSocket (`graphql-transport-ws`): the first event is the job's current
//! state, progress never goes backwards, the stream completes after the terminal state; the
//! protocol's close codes; and no subscriber sees another organization's job.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
    },
};

use super::*;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const PROGRESS: &str = "subscription($id: ID!) { jobProgress(jobId: $id) { status progress done total } }";

/// How long to wait for any one message.
const MESSAGE_WAIT: Duration = Duration::from_secs(30);
/// How long to wait for the server to close a socket.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Opens `ws://…/graphql` offering `graphql-transport-ws`.
pub async fn connect(app: &TestApp) -> Ws {
    let url = format!("{}/graphql", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a WebSocket request");
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
    let (ws, response) = tokio::time::timeout(MESSAGE_WAIT, connect_async(request))
        .await
        .expect("the WebSocket handshake finished in time")
        .expect("the WebSocket handshake succeeded");
    let protocol = response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    assert_eq!(protocol, Some("graphql-transport-ws"));
    ws
}

pub async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.expect("message sent");
}

/// The next JSON message, skipping pings and pongs.
pub async fn recv(ws: &mut Ws) -> Value {
    loop {
        let next = tokio::time::timeout(MESSAGE_WAIT, ws.next()).await.expect("a message in time");
        match next.expect("the socket is open").expect("no WebSocket error") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("a JSON message"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code (text messages before it are skipped).
async fn close_code(ws: &mut Ws) -> u16 {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => panic!("closed without a code"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before a close frame: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    };
    tokio::time::timeout(CLOSE_WAIT, read).await.expect("the server closed the socket in time")
}

/// Connects and signs in as `actor`: `connection_init` → `connection_ack`.
pub async fn signed_in(app: &TestApp, actor: &User) -> Ws {
    let mut ws = connect(app).await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", actor.token)}})).await;
    let ack = recv(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack:#}");
    ws
}

pub fn subscribe(id: &str, job_id: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": job_id}}})
}

/// An organization with three policies and a queued `generateDocuments` job over them.
pub async fn queued_job(app: &TestApp) -> (Book, String) {
    let book = book(app, "acme", 3).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let input = json!({"i": {"templateId": template, "policyIds": book.policies}});
    let job = manager.ok(GENERATE_DOCUMENTS, input).await["generateDocuments"].clone();
    assert_eq!(job["status"], "QUEUED");
    (book, id(&job))
}

#[tokio::test]
async fn job_progress_streams_from_queued_to_succeeded_then_completes() {
    let app = spawn_app().await;
    let (book, job_id) = queued_job(&app).await;
    let mut ws = signed_in(&app, &book.org.manager).await;
    send(&mut ws, subscribe("1", &job_id)).await;

    let first = recv(&mut ws).await;
    assert_eq!((first["type"].as_str(), first["id"].as_str()), (Some("next"), Some("1")), "{first:#}");
    let state = &first["payload"]["data"]["jobProgress"];
    assert_eq!(state["status"], "QUEUED", "the first event is the current state: {first:#}");
    assert_eq!(state["progress"].as_f64(), Some(0.0), "{first:#}");
    assert_eq!((state["done"].as_i64(), state["total"].as_i64()), (Some(0), Some(3)), "{first:#}");

    run_jobs(&app).await;
    let mut events = vec![state.clone()];
    loop {
        let message = recv(&mut ws).await;
        match message["type"].as_str() {
            Some("next") => {
                assert_eq!(message["id"], "1");
                assert!(message["payload"].get("errors").is_none(), "{message:#}");
                events.push(message["payload"]["data"]["jobProgress"].clone());
            }
            Some("complete") => {
                assert_eq!(message["id"], "1");
                break;
            }
            _ => panic!("unexpected message: {message:#}"),
        }
        assert!(events.len() <= 50, "the stream does not end: {events:#?}");
    }

    let progress: Vec<f64> = events.iter().map(|e| e["progress"].as_f64().expect("progress")).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress went backwards: {progress:?}");
    assert!(progress.iter().all(|p| (0.0..=1.0).contains(p)), "{progress:?}");
    let done: Vec<i64> = events.iter().map(|e| e["done"].as_i64().expect("done")).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "done went backwards: {done:?}");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "SUCCEEDED", "{events:#?}");
    assert_eq!((last["done"].as_i64(), last["progress"].as_f64()), (Some(3), Some(1.0)), "{events:#?}");
    let terminal = events.iter().filter(|e| e["status"] == "SUCCEEDED").count();
    assert_eq!(terminal, 1, "exactly one terminal event, the last: {events:#?}");
}

#[tokio::test]
async fn a_finished_job_answers_its_state_once_and_completes() {
    let app = spawn_app().await;
    let (book, job_id) = queued_job(&app).await;
    run_jobs(&app).await;
    let mut ws = signed_in(&app, &book.org.manager).await;
    send(&mut ws, subscribe("done", &job_id)).await;
    let first = recv(&mut ws).await;
    assert_eq!(first["type"], "next", "{first:#}");
    assert_eq!(first["payload"]["data"]["jobProgress"]["status"], "SUCCEEDED", "{first:#}");
    let second = recv(&mut ws).await;
    assert_eq!((second["type"].as_str(), second["id"].as_str()), (Some("complete"), Some("done")), "{second:#}");
}

#[tokio::test]
async fn another_organization_cannot_subscribe_to_a_job() {
    let app = spawn_app().await;
    let (book, job_id) = queued_job(&app).await;
    let other = app.register("globex", "admin@globex.test").await;
    let mut ws = signed_in(&app, &other).await;
    send(&mut ws, subscribe("1", &job_id)).await;

    let message = recv(&mut ws).await;
    let errors = match message["type"].as_str() {
        Some("error") => message["payload"].clone(),
        Some("next") => {
            let data = &message["payload"]["data"];
            assert!(data.is_null() || data["jobProgress"].is_null(), "job data leaked: {message:#}");
            message["payload"]["errors"].clone()
        }
        _ => panic!("expected `error` or `next` with errors: {message:#}"),
    };
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{message:#}");
    let text = message.to_string();
    assert!(!text.contains("QUEUED") && !text.contains("\"total\""), "job data leaked: {message:#}");
    cancel(&book.org.manager, &job_id).await;
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_4403() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": "Bearer not-a-real-token"}})).await;
    assert_eq!(close_code(&mut ws).await, 4403);
}

#[tokio::test]
async fn subscribing_before_connection_init_closes_4401() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;
    send(&mut ws, subscribe("1", "not-a-job")).await;
    assert_eq!(close_code(&mut ws).await, 4401);
}

#[tokio::test]
async fn a_second_connection_init_closes_4429() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let mut ws = signed_in(&app, &admin).await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", admin.token)}})).await;
    assert_eq!(close_code(&mut ws).await, 4429);
}

#[tokio::test]
async fn an_unparseable_message_closes_4400() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;
    ws.send(Message::text("this is not JSON {")).await.expect("sent");
    assert_eq!(close_code(&mut ws).await, 4400);
}

#[tokio::test]
async fn no_connection_init_in_time_closes_4408() {
    let app = spawn_app_with(&[("WS_INIT_TIMEOUT_SECS", "1")]).await;
    let mut ws = connect(&app).await;
    assert_eq!(close_code(&mut ws).await, 4408);
}
