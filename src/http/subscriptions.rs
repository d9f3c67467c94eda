//! GraphQL over WebSocket on `GET /graphql`: the `graphql-transport-ws` protocol (and the legacy
//! `graphql-ws` one), authenticated in `connection_init` (`{"authorization": "Bearer …"}`, or the
//! upgrade's `Authorization` header). Each operation checks the credentials again (as each HTTP
//! request does: a role changed or a session revoked applies to the socket's next operation) and
//! passes the same rate limit and timeout as over HTTP (`graphql::guard`); a socket runs at most
//! `WS_MAX_OPERATIONS` at once. Sockets are re-checked every 30 s: a revoked session, an expired
//! token or a changed role or organization closes 4403 (the running subscriptions were allowed
//! under the old one), and so does a check that cannot be made.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::Data;
use axum::{extract::ws::WebSocketUpgrade, http::HeaderMap, response::Response};
use futures_util::{FutureExt, future::BoxFuture};
use serde_json::Value;

use crate::observability::metrics::GaugeGuard;

use super::{
    HttpState,
    credentials::{credentials, request_meta},
    ws::{self, WsConfig},
};
use crate::principal::Auth;

/// The credentials a socket signed in with, re-checked while it lives.
struct Credentials(Option<String>);

fn authorization(payload: &Value, headers: &HeaderMap) -> Option<String> {
    let from_payload = payload.as_object().and_then(|o| {
        o.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).and_then(|(_, v)| v.as_str().map(str::to_string))
    });
    from_payload.or_else(|| headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string))
}

pub async fn upgrade(http: HttpState, ws: WebSocketUpgrade, headers: HeaderMap, peer: Option<SocketAddr>) -> Response {
    let Some(protocol) = ws::select_protocol(&headers) else {
        return ws.on_upgrade(ws::reject_subprotocol);
    };
    let init_state = http.clone();
    let on_init = move |payload: Value, headers: &HeaderMap| -> BoxFuture<'static, Result<Data, String>> {
        let http = init_state.clone();
        let value = authorization(&payload, headers);
        let mut meta = request_meta(&http, headers, peer);
        if meta.request_id.is_empty() {
            meta.request_id = uuid::Uuid::new_v4().to_string();
        }
        async move {
            let auth = match &value {
                Some(v) => credentials(&http, v).await,
                None => Auth::Anonymous,
            };
            match &auth {
                Auth::Invalid(reason) => return Err(reason.clone()),
                Auth::Unavailable => return Err("the database is unavailable; try again shortly".into()),
                _ => {}
            }
            let mut data = Data::default();
            data.insert(auth);
            data.insert(meta);
            data.insert(Credentials(value));
            Ok(data)
        }
        .boxed()
    };
    let recheck_state = http.clone();
    let recheck: ws::RecheckFn = Arc::new(move |data: &Data| {
        let http = recheck_state.clone();
        let value = credentials_of(data);
        let signed_in = match data_of::<Auth>(data) {
            Some(Auth::Authenticated(p)) => Some((p.user_id, p.org_id, p.role)),
            _ => None,
        };
        async move {
            let Some(v) = value else { return Ok(()) };
            match credentials(&http, &v).await {
                Auth::Authenticated(p) if Some((p.user_id, p.org_id, p.role)) == signed_in => Ok(()),
                Auth::Authenticated(_) => Err("the user's role or organization changed".to_string()),
                _ => Err("Forbidden".to_string()),
            }
        }
        .boxed()
    });
    let prepare_state = http.clone();
    let prepare: ws::PrepareFn = Arc::new(move |req, data: Arc<Data>| {
        let http = prepare_state.clone();
        async move {
            // The credentials as they are now, not as they were at `connection_init`.
            let auth = match credentials_of(&data) {
                Some(v) => credentials(&http, &v).await,
                None => Auth::Anonymous,
            };
            // Counted while the operation's stream lives (the request data is dropped with it).
            // The DataLoaders come with execution (`Pipeline::execute_stream`): a member of a shared
            // subscription runs nothing itself and needs none.
            let req = req.data(ActiveSubscription(GaugeGuard::new(&http.app.metrics.subscriptions)));
            Ok(req.data(auth))
        }
        .boxed()
    });
    let max_operations = http.app.settings.ws_max_operations;
    let too_many: Arc<dyn Fn() -> async_graphql::ServerError + Send + Sync> = Arc::new(move || {
        crate::error::code::coded(
            format!("this socket already runs {max_operations} operations (WS_MAX_OPERATIONS): complete one first"),
            crate::error::code::RATE_LIMITED,
        )
    });
    let config = WsConfig {
        init_timeout: Duration::from_secs(http.app.settings.ws_init_timeout_secs.max(1)),
        keep_alive: Some(Duration::from_secs(25)),
        recheck: Some((Duration::from_secs(30), recheck)),
        prepare: Some(prepare),
        max_operations: (max_operations > 0).then_some((max_operations, too_many)),
    };
    let pipeline = http.pipeline.clone();
    let execute: ws::ExecuteFn = Arc::new(move |request, session| pipeline.execute_stream(request, session));
    let on_init: Arc<dyn ws::OnInit> = Arc::new(on_init);
    let connections = http.app.metrics.ws_connections.clone();
    ws.protocols([protocol.name()])
        .max_message_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let _open = GaugeGuard::new(&connections);
            ws::serve(socket, headers, protocol, execute, on_init, config).await
        })
}

/// The largest message a client may send (a `subscribe` with its query and variables).
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// What a socket reads into at once. tungstenite's default, 128 KiB, is allocated and zeroed for
/// every socket (10,000 idle subscribers held 1.3 GB of it); a client's messages are small, and
/// a larger one still arrives whole (the buffer grows for it), in more reads.
const READ_BUFFER_BYTES: usize = 1024;

fn data_of<T: 'static>(data: &Data) -> Option<&T> {
    data.get(&std::any::TypeId::of::<T>()).and_then(|d| d.downcast_ref::<T>())
}

/// The `Authorization` value the socket signed in with.
fn credentials_of(data: &Data) -> Option<String> {
    data_of::<Credentials>(data).and_then(|c| c.0.clone())
}

/// Holds the `graphql_subscriptions_active` gauge up while a subscription runs.
struct ActiveSubscription(#[allow(dead_code)] GaugeGuard);

