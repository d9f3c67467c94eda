//! Shaping answers to the GraphQL-over-HTTP specification: the media type the client accepts,
//! status codes (400 for a request error, 403, 429 with `Retry-After`), and error bodies.

use async_graphql::Response as GqlResponse;
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::json;

use crate::{error::code, graphql::error_codes::is_request_error};

pub(super) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub(super) const JSON: &str = "application/json";

/// The media type the client accepts, or `None` when it accepts neither.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaType {
    GraphqlResponse,
    Json,
}

pub(super) fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
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

pub(super) fn error_body(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string()).into_response()
}

/// A response as its JSON body, written straight to bytes in the selection's order (the
/// specification's "Serialized Map Ordering"): `data` (absent for a request error: it never
/// started), then `errors` and `extensions` when there are any.
pub(super) struct Body<'a>(pub &'a GqlResponse);

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let resp = self.0;
        let mut map = serializer.serialize_map(None)?;
        if !is_request_error(resp) {
            map.serialize_entry("data", &resp.data)?;
        }
        if !resp.errors.is_empty() {
            map.serialize_entry("errors", &resp.errors)?;
        }
        if !resp.extensions.is_empty() {
            map.serialize_entry("extensions", &resp.extensions)?;
        }
        map.end()
    }
}

/// The body of one response, or of a batch's responses.
pub(super) fn to_bytes(body: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    if serde_json::to_writer(&mut out, body).is_err() {
        out = br#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#.to_vec();
    }
    out
}

pub(super) fn respond(media: MediaType, status: StatusCode, body: Vec<u8>) -> Response {
    let ct = match media {
        MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
        MediaType::Json => JSON,
    };
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response()
}

pub(super) fn error_code(error: &async_graphql::ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The seconds to wait when an operation was refused for its rate, if one was.
pub(super) fn retry_after(resp: &GqlResponse) -> Option<u64> {
    resp.errors.iter().find(|e| error_code(e).as_deref() == Some(code::RATE_LIMITED)).map(|e| {
        match e.extensions.as_ref().and_then(|x| x.get("retryAfter")) {
            Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or(1),
            _ => 1,
        }
    })
}

/// The status of a single response: 429 when rate limited; with `application/graphql-response+json`,
/// a request error (no `data`) is 400, or 403 when the caller may not run it.
pub(super) fn status_of(media: MediaType, resp: &GqlResponse) -> StatusCode {
    if retry_after(resp).is_some() {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    if media == MediaType::GraphqlResponse && is_request_error(resp) {
        let forbidden = resp.errors.iter().any(|e| error_code(e).as_deref() == Some(code::FORBIDDEN));
        return if forbidden { StatusCode::FORBIDDEN } else { StatusCode::BAD_REQUEST };
    }
    StatusCode::OK
}

pub(super) fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp
}

pub(super) fn bad_request(msg: &str) -> Response {
    error_body(StatusCode::BAD_REQUEST, msg, code::BAD_USER_INPUT)
}
