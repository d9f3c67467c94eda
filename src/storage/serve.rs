//! The HTTP answer for a document download: headers, conditional requests and byte ranges.
//!
//! - `ETag` is the quoted SHA-256 of the plaintext; `If-None-Match` (weak comparison, `*`
//!   included) answers 304 before anything else.
//! - One range (`bytes=a-b`, `a-`, `-n`) answers 206 with `Content-Range`; an unsatisfiable
//!   one 416 with `Content-Range: bytes */len`. `If-Range` with a different entity tag (or a
//!   date: no `Last-Modified` is sent) serves the whole document.
//! - **Several ranges** (`bytes=0-1,5-6`) and malformed `Range` headers are ignored: the whole
//!   document with 200, as RFC 9110 §14.2 allows (no `multipart/byteranges`).
//! - `Cache-Control: private, no-store` (these are personal documents on shared machines) and
//!   `X-Content-Type-Options: nosniff`; always `Content-Disposition: attachment`.

use std::time::Duration;

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::LinkError;

/// What to answer, once conditional and range headers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    NotModified,
    Full,
    /// Inclusive byte positions.
    Partial(u64, u64),
    Unsatisfiable,
}

/// Serves a whole document held in memory.
pub fn serve_bytes(
    body: impl Into<Bytes>,
    file_name: &str,
    mime: &str,
    sha256: &str,
    headers: &HeaderMap,
) -> Response {
    let body = body.into();
    let len = body.len() as u64;
    let meta = Meta {
        file_name,
        mime,
        etag: format!("\"{sha256}\""),
    };
    match plan(headers, len, &meta.etag) {
        Plan::NotModified => not_modified(&meta.etag),
        Plan::Unsatisfiable => unsatisfiable(len),
        Plan::Full => meta.respond(Body::from(body), len, None),
        Plan::Partial(a, b) => {
            let part = body.slice(a as usize..=b as usize);
            meta.respond(Body::from(part), len, Some((a, b)))
        }
    }
}

/// The headers of one document answer.
pub(crate) struct Meta<'a> {
    pub file_name: &'a str,
    pub mime: &'a str,
    /// Quoted.
    pub etag: String,
}

impl Meta<'_> {
    /// 200 with the whole body, or 206 with `range` (inclusive) of a `len`-byte document.
    pub(crate) fn respond(&self, body: Body, len: u64, range: Option<(u64, u64)>) -> Response {
        let mut res = Response::new(body);
        let h = res.headers_mut();
        let mime = HeaderValue::from_str(self.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        h.insert(header::CONTENT_TYPE, mime);
        if let Ok(v) = HeaderValue::from_str(&content_disposition(self.file_name)) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        common_headers(h, &self.etag);
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        let sent = match range {
            Some((a, b)) => {
                *res.status_mut() = StatusCode::PARTIAL_CONTENT;
                let v = HeaderValue::from_str(&format!("bytes {a}-{b}/{len}")).expect("ascii");
                res.headers_mut().insert(header::CONTENT_RANGE, v);
                b - a + 1
            }
            None => len,
        };
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(sent));
        res
    }
}

fn common_headers(headers: &mut HeaderMap, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

pub(crate) fn not_modified(etag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    common_headers(res.headers_mut(), etag);
    res
}

pub(crate) fn unsatisfiable(len: u64) -> Response {
    let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
    res
}

/// 403 for a refused link (never the file).
pub fn forbidden(reason: LinkError) -> Response {
    let body = match reason {
        LinkError::Expired => "This download link has expired.\n",
        LinkError::Invalid => "This download link is invalid.\n",
    };
    plain(StatusCode::FORBIDDEN, body)
}

/// 429 with `Retry-After` in whole seconds (at least 1).
pub fn too_many_requests(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut res = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many downloads; try again later.\n",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    res
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 8187 percent-encoding>`.
/// Path separators and control characters become `_`; an empty name becomes `document`.
pub fn content_disposition(file_name: &str) -> String {
    let cleaned: String = file_name
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let name = match cleaned.trim() {
        "" => "document",
        n => n,
    };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !matches!(c, '"' | '%') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Reads `If-None-Match`, `If-Range` and `Range` for a `len`-byte document tagged `etag`.
pub(crate) fn plan(headers: &HeaderMap, len: u64, etag: &str) -> Plan {
    if none_match_hits(headers, etag) {
        return Plan::NotModified;
    }
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Plan::Full;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        // Strong comparison; a date never matches (we send no Last-Modified).
        if if_range.as_bytes() != etag.as_bytes() {
            return Plan::Full;
        }
    }
    parse_range(range, len)
}

/// Whether `If-None-Match` names our entity tag (weak comparison) or is `*`.
pub(crate) fn none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn parse_range(value: &str, len: u64) -> Plan {
    let Some((unit, set)) = value.split_once('=') else {
        return Plan::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Plan::Full;
    }
    let specs: Vec<&str> = set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [spec] = specs.as_slice() else {
        return Plan::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Plan::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        if !digits(last) {
            return Plan::Full;
        }
        let n = last.parse::<u64>().unwrap_or(u64::MAX);
        if n == 0 || len == 0 {
            return Plan::Unsatisfiable;
        }
        return Plan::Partial(len.saturating_sub(n), len - 1);
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return Plan::Full;
    }
    let a = first.parse::<u64>().unwrap_or(u64::MAX);
    let b = if last.is_empty() {
        u64::MAX
    } else {
        last.parse::<u64>().unwrap_or(u64::MAX)
    };
    if b < a {
        return Plan::Full; // an invalid range-spec: the header is ignored
    }
    if a >= len {
        return Plan::Unsatisfiable;
    }
    Plan::Partial(a, b.min(len - 1))
}
