//! GraphQL over WebSocket: our own protocol layer over the operation pipeline's
//! `execute_stream` (an [`ExecuteFn`]).
//!
//! Speaks `graphql-transport-ws` (the `graphql-ws` npm client; close codes exactly as in its
//! PROTOCOL.md) and the legacy `graphql-ws` subprotocol of subscriptions-transport-ws. We do not
//! use async-graphql's own handler: it gets the close codes wrong (see DEPENDENCIES.md).
//!
//! Files: `mod.rs` (the API), `socket.rs` (one socket's loop), `protocol.rs` (the messages).

mod socket;
mod protocol;

use std::{sync::Arc, time::Duration};

use async_graphql::{Data, Request, Response, ServerError};
use axum::{
    extract::ws::{CloseFrame, Message, WebSocket},
    http::{HeaderMap, header::SEC_WEBSOCKET_PROTOCOL},
};
use futures_util::{future::BoxFuture, stream::BoxStream};
use serde_json::Value;

/// Re-checks the connection's principal (the data `OnInit` returned): `Err(reason)` closes 4403.
pub type RecheckFn = Arc<dyn Fn(&Data) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Prepares each operation's request (e.g. the caller's credentials checked again, per-operation
/// data such as DataLoaders) given the connection data; `Err` answers the operation with that
/// error (an `error` message).
pub type PrepareFn = Arc<dyn Fn(Request, Arc<Data>) -> BoxFuture<'static, Result<Request, ServerError>> + Send + Sync>;

#[derive(Clone)]
pub struct WsConfig {
    /// Close 4408 when no `connection_init` has been received (and accepted) within this time.
    pub init_timeout: Duration,
    /// Legacy protocol: send `ka` this often; graphql-transport-ws: send a WebSocket ping frame.
    pub keep_alive: Option<Duration>,
    /// Every `.0`, run `.1` on the connection data: a revoked session, an expired token or a
    /// changed principal closes 4403; so does a check that cannot finish within `.0` (fail closed).
    pub recheck: Option<(Duration, RecheckFn)>,
    /// Runs on every `subscribe`/`start` before execution.
    pub prepare: Option<PrepareFn>,
    /// Operations one socket may run at once; the next is answered with `.1` (an error).
    pub max_operations: Option<(usize, Arc<dyn Fn() -> ServerError + Send + Sync>)>,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(10),
            keep_alive: Some(Duration::from_secs(25)),
            recheck: None,
            prepare: None,
            max_operations: None,
        }
    }
}

/// Called on `connection_init` with its payload (`Null` when absent) and the upgrade request's
/// headers. `Ok(data)` becomes the session data of every operation on the socket; `Err` closes 4403.
pub trait OnInit: Send + Sync + 'static {
    fn on_init(
        &self,
        payload: Value,
        headers: &HeaderMap,
    ) -> BoxFuture<'static, Result<Data, String>>;
}

impl<F> OnInit for F
where
    F: Fn(Value, &HeaderMap) -> BoxFuture<'static, Result<Data, String>> + Send + Sync + 'static,
{
    fn on_init(
        &self,
        payload: Value,
        headers: &HeaderMap,
    ) -> BoxFuture<'static, Result<Data, String>> {
        self(payload, headers)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (the `graphql-ws` npm package).
    GraphqlTransportWs,
    /// `graphql-ws`: the legacy subscriptions-transport-ws protocol.
    LegacyGraphqlWs,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` value, for `WebSocketUpgrade::protocols([p.name()])`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::GraphqlTransportWs => "graphql-transport-ws",
            Protocol::LegacyGraphqlWs => "graphql-ws",
        }
    }
}

/// Picks the protocol from `Sec-WebSocket-Protocol` (`graphql-transport-ws` preferred).
pub fn select_protocol(headers: &HeaderMap) -> Option<Protocol> {
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let offered: Vec<&str> = offered.flat_map(|v| v.split(',')).map(str::trim).collect();
    if offered.contains(&"graphql-transport-ws") {
        Some(Protocol::GraphqlTransportWs)
    } else if offered.contains(&"graphql-ws") {
        Some(Protocol::LegacyGraphqlWs)
    } else {
        None
    }
}

/// For an upgrade that offered neither subprotocol: close 4406 as the graphql-ws server does.
pub async fn reject_subprotocol(mut socket: WebSocket) {
    let _ = socket
        .send(close_message(4406, "Subprotocol not acceptable"))
        .await;
}

/// Runs one operation with the socket's data: the answers it gives (one for a query or
/// mutation, one per event for a subscription).
pub type ExecuteFn = Arc<dyn Fn(Request, Arc<Data>) -> BoxStream<'static, Answer> + Send + Sync>;

/// One answer of an operation.
pub enum Answer {
    Response(Box<Response>),
    /// A response already serialised, the same text for every socket of a shared subscription
    /// (`graphql::shared`): sent as the `next` message's payload as it is.
    Json(Arc<str>),
}

impl From<Response> for Answer {
    fn from(response: Response) -> Self {
        Answer::Response(Box::new(response))
    }
}

/// Runs the protocol on an upgraded socket until either side closes it.
pub async fn serve(socket: WebSocket, headers: HeaderMap, protocol: Protocol, execute: ExecuteFn, on_init: Arc<dyn OnInit>, config: WsConfig) {
    socket::serve(socket, headers, protocol, execute, on_init, config).await;
}

/// Close reasons must fit in 123 bytes (a control frame's 125 less the code).
fn close_message(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}
