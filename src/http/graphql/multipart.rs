//! Uploads: the GraphQL multipart request specification, behind the CSRF rule.

use std::net::SocketAddr;

use async_graphql::BatchRequest;
use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode, header},
    response::Response,
};

use super::{
    execute::execute,
    response::{MediaType, bad_request, error_body},
};
use crate::{
    error::code,
    http::{HttpState, credentials::request_context},
};

/// A GraphQL multipart request (uploads). A browser can send `multipart/form-data` cross-site
/// without a preflight, so it is accepted only with a header no simple request carries
/// (`apollo-require-preflight` or `x-apollo-operation-name`), as Apollo's CSRF prevention does.
pub(super) async fn post_multipart(s: HttpState, peer: SocketAddr, headers: HeaderMap, media: MediaType, body: Bytes) -> Response {
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
                code::BAD_USER_INPUT,
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
