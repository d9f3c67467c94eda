//! A webhook receiver for the tests, on a free port: it records every request (path, headers,
//! raw body) and answers each one as its script says (a status, a redirect, an endless body, or
//! no answer at all), the last step repeating.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// This status, with a short body.
    Status(u16),
    /// `302 Found` to `/elsewhere` on the receiver.
    Redirect,
    /// `200 OK` with an endless body (1 GiB, made as it is read).
    Endless,
    /// Reads the request and never answers.
    Silent,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header in {self:?}")).to_string()
    }
}

struct Shared {
    script: Mutex<VecDeque<Behaviour>>,
    received: Mutex<Vec<Received>>,
    /// Chunks of the endless body made so far.
    chunks_made: AtomicUsize,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// One chunk of the endless body.
pub const CHUNK: usize = 64 * 1024;
/// Chunks in the endless body (1 GiB).
pub const ENDLESS_CHUNKS: usize = 16 * 1024;

impl Receiver {
    /// Starts a receiver that answers as `script` says, its last step repeating.
    pub async fn start(script: &[Behaviour]) -> Receiver {
        assert!(!script.is_empty(), "a script of at least one step");
        let shared = Arc::new(Shared { script: Mutex::new(script.iter().cloned().collect()), received: Mutex::default(), chunks_made: AtomicUsize::new(0) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://127.0.0.1:{}/hooks/monassurance", listener.local_addr().unwrap().port());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Receiver { url, shared, server }
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The chunks of the endless body made so far.
    pub fn chunks_made(&self) -> usize {
        self.shared.chunks_made.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    shared.received.lock().unwrap().push(Received { path: uri.path().to_string(), headers, body });
    let step = {
        let mut script = shared.script.lock().unwrap();
        if script.len() > 1 { script.pop_front().unwrap() } else { script.front().cloned().unwrap() }
    };
    match step {
        Behaviour::Status(code) => (StatusCode::from_u16(code).unwrap(), format!("answered {code}")).into_response(),
        Behaviour::Redirect => (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")], "moved").into_response(),
        Behaviour::Endless => {
            let counter = shared.clone();
            let chunks = futures_util::stream::iter(0..ENDLESS_CHUNKS).map(move |_| {
                counter.chunks_made.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(Bytes::from(vec![b'x'; CHUNK]))
            });
            Response::builder().status(StatusCode::OK).body(Body::from_stream(chunks)).unwrap()
        }
        Behaviour::Silent => std::future::pending().await,
    }
}

use futures_util::StreamExt;
