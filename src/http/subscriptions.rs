//! GraphQL over WebSocket on `GET /graphql`: the `graphql-transport-ws` protocol (and the legacy
//! `graphql-ws` one), authenticated in `connection_init` (`{"authorization": "Bearer …"}`, or the
//! upgrade's `Authorization` header). Sockets are re-checked every 30 s: a revoked session or an
//! expired token closes 4403.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::Data;
use axum::{extract::ws::WebSocketUpgrade, http::HeaderMap, response::Response};
use futures_util::{FutureExt, future::BoxFuture};
use serde_json::Value;

use crate::observability::metrics::GaugeGuard;

use super::{
    HttpState,
    credentials::credentials,
    ws::{self, WsConfig},
};
use crate::{
    principal::{Auth, RequestMeta},
    graphql::loaders::Loaders,
};

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
        let meta = RequestMeta {
            request_id: uuid::Uuid::new_v4().to_string(),
            ip: peer.map(|p| p.ip().to_string()),
            user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_string),
        };
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
        let value = data.get(&std::any::TypeId::of::<Credentials>()).and_then(|c| c.downcast_ref::<Credentials>()).and_then(|c| c.0.clone());
        async move {
            match value {
                None => Ok(()),
                Some(v) => match credentials(&http, &v).await {
                    Auth::Authenticated(_) => Ok(()),
                    _ => Err("Forbidden".to_string()),
                },
            }
        }
        .boxed()
    });
    let db = http.app.db.clone();
    let metrics = http.app.metrics.clone();
    let prepare: ws::PrepareFn = Arc::new(move |req, data: &Data| {
        let auth = data.get(&std::any::TypeId::of::<Auth>()).and_then(|a| a.downcast_ref::<Auth>()).cloned();
        // Counted while the operation's stream lives (the request data is dropped with it).
        let req = req.data(ActiveSubscription(GaugeGuard::new(&metrics.subscriptions)));
        Ok(match auth {
            Some(Auth::Authenticated(p)) => req.data(Loaders::new(&db, &p)),
            _ => req,
        })
    });
    let config = WsConfig {
        init_timeout: Duration::from_secs(http.app.settings.ws_init_timeout_secs.max(1)),
        keep_alive: Some(Duration::from_secs(25)),
        recheck: Some((Duration::from_secs(30), recheck)),
        prepare: Some(prepare),
    };
    let schema = http.schema.clone();
    let on_init: Arc<dyn ws::OnInit> = Arc::new(on_init);
    let connections = http.app.metrics.ws_connections.clone();
    ws.protocols([protocol.name()]).max_message_size(1024 * 1024).on_upgrade(move |socket| async move {
        let _open = GaugeGuard::new(&connections);
        ws::serve(socket, headers, protocol, schema, on_init, config).await
    })
}

/// Holds the `graphql_subscriptions_active` gauge up while a subscription runs.
struct ActiveSubscription(#[allow(dead_code)] GaugeGuard);

