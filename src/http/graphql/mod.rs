//! GraphQL over HTTP, to the GraphQL-over-HTTP specification: the `POST` and `GET` handlers (JSON
//! bodies only over POST, queries only over GET, capped batches). `response` negotiates and shapes
//! answers, `params` reads request objects, `execute` runs them under the limits, `multipart` takes uploads.

mod execute;
mod multipart;
mod params;
mod response;

use std::net::SocketAddr;

use async_graphql::{BatchRequest, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use self::{
    execute::execute,
    multipart::post_multipart,
    params::parse_params,
    response::{JSON, bad_request, error_body, negotiate},
};
use super::{HttpState, credentials::request_context};
use crate::{
    error::code,
    graphql::operation::{Operation, ReadOnlyTransport},
};

/// `POST /graphql`: `application/json` bodies only (a browser form cannot forge a mutation).
pub async fn post_graphql(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return error_body(StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json", code::BAD_USER_INPUT);
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = content_type.split(';').map(|p| p.trim().to_ascii_lowercase());
    let essence = parts.next().unwrap_or_default();
    let charset_ok = parts.all(|p| !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\"");
    if essence == "multipart/form-data" {
        return post_multipart(s, peer, headers, media, body).await;
    }
    if essence != JSON || !charset_ok {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json (UTF-8), or multipart/form-data for uploads",
            code::BAD_USER_INPUT,
        );
    }
    // Read no further than MAX_BODY_BYTES: a larger body is refused as soon as it is seen to be.
    let body: Bytes = match axum::body::to_bytes(body, s.app.settings.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error_body(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {} bytes (MAX_BODY_BYTES)", s.app.settings.max_body_bytes),
                code::BAD_USER_INPUT,
            );
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return bad_request("the body is not valid JSON"),
    };
    let batch = match value {
        Value::Array(items) => {
            if items.is_empty() {
                return bad_request("an empty batch");
            }
            if items.len() > s.app.settings.max_batch {
                return bad_request(&format!("a batch holds at most {} operations", s.app.settings.max_batch));
            }
            match items.into_iter().map(parse_params).collect::<Result<Vec<_>, _>>() {
                Ok(reqs) => BatchRequest::Batch(reqs),
                Err(e) => return bad_request(&e),
            }
        }
        other => match parse_params(other) {
            Ok(req) => BatchRequest::Single(req),
            Err(e) => return bad_request(&e),
        },
    };
    let (auth, meta) = request_context(&s, &headers, Some(peer)).await;
    execute(&s, media, batch, auth, meta).await
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql`: a WebSocket upgrade (subscriptions), or a query; a browser asking for HTML gets GraphiQL.
pub async fn get_graphql(State(s): State<HttpState>, req: axum::extract::Request) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = req.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if is_websocket_upgrade(&parts.headers) {
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &s).await {
            Ok(ws) => super::subscriptions::upgrade(s, ws, parts.headers, peer).await,
            Err(rejection) => rejection.into_response(),
        };
    }
    let params = match Query::<Map<String, Value>>::from_request_parts(&mut parts, &s).await {
        Ok(Query(p)) => p,
        Err(_) => return bad_request("the query string is malformed"),
    };
    get_query(s, peer, parts.headers, params).await
}

async fn get_query(http: HttpState, peer: Option<SocketAddr>, headers: HeaderMap, params: Map<String, Value>) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !params.contains_key("query") && http.app.settings.graphql_introspection {
        return super::graphiql::page().await.into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return error_body(StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json", code::BAD_USER_INPUT);
    };
    let mut obj = Map::new();
    for (k, v) in params {
        let v = match (k.as_str(), v) {
            ("variables" | "extensions", Value::String(text)) if !text.is_empty() => match serde_json::from_str(&text) {
                Ok(parsed) => parsed,
                Err(_) => return bad_request(&format!("`{k}` must be a JSON object")),
            },
            (_, v) => v,
        };
        obj.insert(k, v);
    }
    let req = match parse_params(Value::Object(obj)) {
        Ok(r) => r,
        Err(e) => return bad_request(&e),
    };
    // Only queries run over GET: the extension that works out the operation refuses anything else
    // (after a persisted query's text is known), and the answer is then a 405.
    let operation = Operation::new(req.operation_name.clone());
    let req = req.data(operation.clone()).data(ReadOnlyTransport);
    let (auth, meta) = request_context(&http, &headers, peer).await;
    let answer = execute(&http, media, BatchRequest::Single(req), auth, meta).await;
    if operation.selected().is_some_and(|selected| selected.ty != OperationType::Query) {
        let mut resp = error_body(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; send mutations with POST",
            code::BAD_USER_INPUT,
        );
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::{response::MediaType, *};

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn content_negotiation_follows_the_spec() {
        assert!(negotiate(&HeaderMap::new()) == Some(MediaType::Json));
        assert!(negotiate(&accept("*/*")) == Some(MediaType::Json));
        assert!(negotiate(&accept("application/json")) == Some(MediaType::Json));
        assert!(negotiate(&accept("application/graphql-response+json")) == Some(MediaType::GraphqlResponse));
        assert!(
            negotiate(&accept("application/graphql-response+json, application/json;q=0.9")) == Some(MediaType::GraphqlResponse)
        );
        assert!(negotiate(&accept("text/csv")).is_none());
    }

}
