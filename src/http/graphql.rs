//! GraphQL over HTTP, to the GraphQL-over-HTTP specification: content negotiation, status codes,
//! queries only over GET, JSON bodies only over POST, capped batches.

use std::net::SocketAddr;

use async_graphql::{
    BatchRequest, Request as GqlRequest, Response as GqlResponse, Variables,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
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
    let token = token.trim();
    let result = if token.is_empty() {
        return Auth::Invalid("empty credentials".into());
    } else if scheme.eq_ignore_ascii_case("bearer") {
        auth::authenticate(&s.app, token).await
    } else if scheme.eq_ignore_ascii_case("apikey") {
        crate::api_keys::service::authenticate(&s.app, token).await
    } else {
        return Auth::Invalid("unsupported authorization scheme; use `Bearer <accessToken>` or `ApiKey <key>`".into());
    };
    match result {
        Ok(p) => Auth::Authenticated(p),
        // The credentials could not be checked (the database failed): not the client's fault,
        // and never a reason to sign it out; the details go to the log, not to the client.
        Err(e @ (crate::error::AppError::Db(_) | crate::error::AppError::Internal(_))) => {
            tracing::error!(error = %e, "credentials could not be checked");
            Auth::Unavailable
        }
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

fn error_code(e: &async_graphql::ServerError) -> Option<String> {
    match e.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The seconds to wait when an operation was refused for its rate, if one was.
fn retry_after(resp: &GqlResponse) -> Option<u64> {
    resp.errors.iter().find(|e| error_code(e).as_deref() == Some("RATE_LIMITED")).map(|e| {
        match e.extensions.as_ref().and_then(|x| x.get("retryAfter")) {
            Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or(1),
            _ => 1,
        }
    })
}

/// The status of a single response: 429 when rate limited; with `application/graphql-response+json`,
/// a request error (no `data`) is 400, or 403 when the caller may not run it.
fn status_of(media: MediaType, resp: &GqlResponse) -> StatusCode {
    if retry_after(resp).is_some() {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    if media == MediaType::GraphqlResponse && is_request_error(resp) {
        let forbidden = resp.errors.iter().any(|e| error_code(e).as_deref() == Some("FORBIDDEN"));
        return if forbidden { StatusCode::FORBIDDEN } else { StatusCode::BAD_REQUEST };
    }
    StatusCode::OK
}

fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp
}

async fn execute(s: &HttpState, media: MediaType, batch: BatchRequest, auth: Auth, meta: RequestMeta) -> Response {
    if let Some(refused) = rate_limit(s, &auth, &meta).await {
        return refused;
    }
    match batch {
        BatchRequest::Single(req) => {
            let resp = run(s, with_context(req, s, &auth, &meta)).await;
            let (status, wait) = (status_of(media, &resp), retry_after(&resp));
            with_retry_after(respond(media, status, to_json(resp)), wait)
        }
        BatchRequest::Batch(reqs) => {
            let mut out = Vec::with_capacity(reqs.len());
            let mut wait = None;
            for req in reqs {
                let resp = run(s, with_context(req, s, &auth, &meta)).await;
                wait = wait.max(retry_after(&resp));
                out.push(to_json(resp));
            }
            let status = if wait.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
            with_retry_after(respond(media, status, Value::Array(out)), wait)
        }
    }
}

/// Runs one operation within `REQUEST_TIMEOUT_SECS`: past it the operation is dropped (its open
/// transaction rolls back) and the answer is a `TIMEOUT` error.
async fn run(s: &HttpState, req: GqlRequest) -> GqlResponse {
    let secs = s.app.settings.limits.request_timeout_secs;
    if secs == 0 {
        return s.schema.execute(req).await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(secs), s.schema.execute(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(timeout_secs = secs, "GraphQL operation timed out");
            s.app.metrics.errors.get_or_create(&crate::observability::CodeLabels { code: "TIMEOUT".into() }).inc();
            let e = crate::persisted::coded(
                format!("the operation did not finish within {secs} s (REQUEST_TIMEOUT_SECS); nothing it was changing was kept"),
                "TIMEOUT",
            );
            GqlResponse::from_errors(vec![e])
        }
    }
}

/// `RATE_LIMIT_RPM` requests a minute per user, API key or (anonymous) address, over the whole API.
async fn rate_limit(s: &HttpState, auth: &Auth, meta: &RequestMeta) -> Option<Response> {
    let limit = s.app.settings.rate_limit_rpm;
    if limit == 0 {
        return None;
    }
    let key = match auth {
        Auth::Authenticated(p) => match p.api_key {
            Some(k) => format!("rpm:key:{}", k.id),
            None => format!("rpm:user:{}", p.user_id),
        },
        _ => format!("rpm:ip:{}", meta.ip.as_deref().unwrap_or("-")),
    };
    let decision = s.app.rate_limiter.hit(&key, limit, std::time::Duration::from_secs(60)).await;
    let crate::seams::RateDecision::Limited { retry_after } = decision else { return None };
    s.app.metrics.rate_limited("api");
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let body = json!({"errors": [{
        "message": format!("too many requests; retry in {secs} s"),
        "extensions": {"code": "RATE_LIMITED", "retryAfter": secs}
    }]});
    let resp = (StatusCode::TOO_MANY_REQUESTS, [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string());
    Some(with_retry_after(resp.into_response(), Some(secs)))
}

/// Checks the shape of one GraphQL-over-HTTP request object and builds the request.
fn parse_params(v: Value) -> Result<GqlRequest, String> {
    let Value::Object(mut obj) = v else { return Err("a request must be a JSON object".into()) };
    // graphql-codegen's persisted documents send `documentId` instead of the query: the same as APQ.
    match obj.remove("documentId") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => {
            let hash = id.strip_prefix("sha256:").unwrap_or(&id).to_string();
            let ext = obj.entry("extensions").or_insert_with(|| json!({}));
            match ext {
                Value::Object(e) => {
                    e.insert("persistedQuery".into(), json!({"version": 1, "sha256Hash": hash}));
                }
                _ => return Err("`extensions` must be an object".into()),
            }
        }
        Some(_) => return Err("`documentId` must be a string".into()),
    }
    let persisted = obj.get("extensions").and_then(|e| e.get("persistedQuery")).is_some();
    let query = match obj.remove("query") {
        Some(Value::String(q)) => q,
        Some(Value::Null) | None if persisted => String::new(),
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
    if essence == "multipart/form-data" {
        return post_multipart(s, peer, headers, media, body).await;
    }
    if essence != JSON || !charset_ok {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json (UTF-8), or multipart/form-data for uploads",
            "BAD_USER_INPUT",
        );
    }
    if body.len() > s.app.settings.max_body_bytes {
        return error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {} bytes (MAX_BODY_BYTES)", s.app.settings.max_body_bytes),
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

/// A GraphQL multipart request (uploads). A browser can send `multipart/form-data` cross-site
/// without a preflight, so it is accepted only with a header no simple request carries
/// (`apollo-require-preflight` or `x-apollo-operation-name`), as Apollo's CSRF prevention does.
async fn post_multipart(s: HttpState, peer: SocketAddr, headers: HeaderMap, media: MediaType, body: Bytes) -> Response {
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|h| headers.get(*h).and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty()));
    if !preflighted {
        return bad_request(
            "this multipart request was blocked as a potential cross-site request forgery: \
             send a non-empty `apollo-require-preflight` (or `x-apollo-operation-name`) header with uploads",
        );
    }
    let settings = &s.app.settings;
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(settings.upload_max_bytes)
        .max_num_files(settings.upload_max_files);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let batch = match async_graphql::http::receive_batch_body(content_type, futures_util::io::Cursor::new(body), opts).await {
        Ok(b) => b,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            return error_body(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "an upload is over {} bytes (UPLOAD_MAX_BYTES) or there are more than {} files (UPLOAD_MAX_FILES)",
                    settings.upload_max_bytes, settings.upload_max_files
                ),
                "BAD_USER_INPUT",
            );
        }
        Err(e) => return bad_request(&format!("a malformed multipart request: {e}")),
    };
    if let BatchRequest::Batch(reqs) = &batch {
        if reqs.is_empty() || reqs.len() > settings.max_batch {
            return bad_request(&format!("a batch holds 1 to {} operations", settings.max_batch));
        }
    }
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

async fn get_query(s: HttpState, peer: Option<SocketAddr>, headers: HeaderMap, params: Map<String, Value>) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !params.contains_key("query") && s.app.settings.graphql_introspection {
        return super::graphiql::page().await.into_response();
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
    let (auth, meta) = request_context(&s, &headers, peer).await;
    execute(&s, media, BatchRequest::Single(req), auth, meta).await
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
