//! GraphQL over HTTP, to the GraphQL-over-HTTP specification: content negotiation, status codes,
//! queries only over GET, JSON bodies only over POST, capped batches.

use std::net::SocketAddr;

use async_graphql::{
    BatchRequest, Request as GqlRequest, Response as GqlResponse, Variables,
    http::GraphiQLSource,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{HttpState, REQUEST_ID};
use crate::{
    auth::{
        principal::{Auth, RequestMeta},
        service as auth,
    },
    loaders::Loaders,
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the client accepts, or `None` when it accepts neither.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let ty = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .next()
            .unwrap_or(1.0);
        let media = match ty.as_str() {
            GRAPHQL_RESPONSE => MediaType::GraphqlResponse,
            JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, bm)| q > bq || (q == bq && media == MediaType::GraphqlResponse && bm != media)) {
            best = Some((q, media));
        }
    }
    if accept.trim().is_empty() { Some(MediaType::Json) } else { best.map(|(_, m)| m) }
}

fn error_body(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response()
}

/// Reads credentials and request facts once per HTTP request.
async fn request_context(s: &HttpState, headers: &HeaderMap, peer: Option<SocketAddr>) -> (Auth, RequestMeta) {
    let meta = RequestMeta {
        request_id: headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        ip: peer.map(|p| p.ip().to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
    };
    let auth = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => Auth::Anonymous,
        Some(Err(_)) => Auth::Invalid("malformed authorization header".into()),
        Some(Ok(value)) => credentials(s, value).await,
    };
    (auth, meta)
}

/// Turns an `Authorization` header value into the request's auth state.
pub async fn credentials(s: &HttpState, value: &str) -> Auth {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Auth::Invalid("unsupported authorization scheme; use `Bearer <accessToken>`".into());
    }
    match auth::authenticate(&s.app, token.trim()).await {
        Ok(p) => Auth::Authenticated(p),
        Err(e) => Auth::Invalid(e.to_string()),
    }
}

fn with_context(req: GqlRequest, s: &HttpState, auth: &Auth, meta: &RequestMeta) -> GqlRequest {
    let mut req = req.data(auth.clone()).data(meta.clone());
    if let Auth::Authenticated(p) = auth {
        req = req.data(Loaders::new(&s.app.db, p));
    }
    req
}

/// True when the response is a request error (parse, validation, variables): there is no `data`.
fn is_request_error(resp: &GqlResponse) -> bool {
    !resp.errors.is_empty() && resp.data == async_graphql::Value::Null && resp.errors.iter().all(|e| e.path.is_empty())
}

fn to_json(resp: GqlResponse) -> Value {
    let request_error = is_request_error(&resp);
    let mut v = serde_json::to_value(&resp).unwrap_or_else(|_| json!({"errors": [{"message": "internal server error"}]}));
    if request_error {
        if let Some(obj) = v.as_object_mut() {
            obj.remove("data");
        }
    }
    v
}

fn respond(media: MediaType, status: StatusCode, body: Value) -> Response {
    let ct = match media {
        MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
        MediaType::Json => JSON,
    };
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body.to_string()).into_response()
}

async fn execute(s: &HttpState, media: MediaType, batch: BatchRequest, auth: Auth, meta: RequestMeta) -> Response {
    match batch {
        BatchRequest::Single(req) => {
            let resp = s.schema.execute(with_context(req, s, &auth, &meta)).await;
            let status = if media == MediaType::GraphqlResponse && is_request_error(&resp) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            respond(media, status, to_json(resp))
        }
        BatchRequest::Batch(reqs) => {
            let mut out = Vec::with_capacity(reqs.len());
            for req in reqs {
                out.push(to_json(s.schema.execute(with_context(req, s, &auth, &meta)).await));
            }
            respond(media, StatusCode::OK, Value::Array(out))
        }
    }
}

/// Checks the shape of one GraphQL-over-HTTP request object and builds the request.
fn parse_params(v: Value) -> Result<GqlRequest, String> {
    let Value::Object(mut obj) = v else { return Err("a request must be a JSON object".into()) };
    let query = match obj.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is required".into()),
    };
    let mut req = GqlRequest::new(query);
    match obj.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => req = req.operation_name(name),
        Some(_) => return Err("`operationName` must be a string".into()),
    }
    match obj.remove("variables") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => req = req.variables(Variables::from_json(v)),
        Some(_) => return Err("`variables` must be an object".into()),
    }
    match obj.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(ext)) => {
            for (k, v) in ext {
                if let Ok(value) = async_graphql::Value::from_json(v) {
                    req.extensions.insert(k, value);
                }
            }
        }
        Some(_) => return Err("`extensions` must be an object".into()),
    }
    Ok(req)
}

fn bad_request(msg: &str) -> Response {
    error_body(StatusCode::BAD_REQUEST, msg, "BAD_USER_INPUT")
}

/// `POST /graphql`: `application/json` bodies only (a browser form cannot forge a mutation).
pub async fn post_graphql(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return error_body(StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json", "BAD_USER_INPUT");
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = content_type.split(';').map(|p| p.trim().to_ascii_lowercase());
    let essence = parts.next().unwrap_or_default();
    let charset_ok = parts.all(|p| !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\"");
    if essence != JSON || !charset_ok {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json (UTF-8)",
            "BAD_USER_INPUT",
        );
    }
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

/// The operation a request would run, when its document parses.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        _ => None,
    }
}

/// `GET /graphql`: queries only; a browser asking for HTML gets GraphiQL.
pub async fn get_graphql(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<Map<String, Value>>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !params.contains_key("query") {
        return graphiql().await.into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return error_body(StatusCode::NOT_ACCEPTABLE, "accept application/graphql-response+json or application/json", "BAD_USER_INPUT");
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
    if let Some(ty) = operation_type(&req.query, req.operation_name.as_deref()) {
        if ty != OperationType::Query {
            let mut resp = error_body(
                StatusCode::METHOD_NOT_ALLOWED,
                "only queries may be sent with GET; send mutations with POST",
                "BAD_USER_INPUT",
            );
            resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return resp;
        }
    }
    let (auth, meta) = request_context(&s, &headers, Some(peer)).await;
    execute(&s, media, BatchRequest::Single(req), auth, meta).await
}

/// `GET /`: the GraphiQL playground.
pub async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql").finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
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

    #[test]
    fn get_can_tell_a_mutation() {
        assert_eq!(operation_type("mutation { logout }", None), Some(OperationType::Mutation));
        assert_eq!(operation_type("{ me { id } }", None), Some(OperationType::Query));
        assert_eq!(operation_type("query A { me { id } } mutation B { logout }", Some("B")), Some(OperationType::Mutation));
    }
}
