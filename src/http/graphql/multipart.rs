//! Uploads: the GraphQL multipart request specification, behind the CSRF rule.

use std::net::SocketAddr;

use async_graphql::BatchRequest;
use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use futures_util::{StreamExt, TryStreamExt};

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
/// Only a signed-in caller may upload: the credentials are checked before any file is read, and
/// the body is streamed (files spool to disk as they arrive, within the upload allowance).
pub(super) async fn post_multipart(s: HttpState, peer: SocketAddr, headers: HeaderMap, media: MediaType, body: Body) -> Response {
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|h| headers.get(*h).and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty()));
    if !preflighted {
        return bad_request(
            "this multipart request was blocked as a potential cross-site request forgery: \
             send a non-empty `apollo-require-preflight` (or `x-apollo-operation-name`) header with uploads",
        );
    }
    let (auth, meta) = request_context(&s, &headers, Some(peer)).await;
    match &auth {
        crate::principal::Auth::Authenticated(_) => {}
        crate::principal::Auth::Unavailable => {
            return error_body(StatusCode::SERVICE_UNAVAILABLE, "the credentials could not be checked; try again shortly", code::INTERNAL_SERVER_ERROR);
        }
        _ => return error_body(StatusCode::UNAUTHORIZED, "uploads need a signed-in caller: send a valid Authorization header", code::UNAUTHENTICATED),
    }
    let settings = &s.app.settings;
    let allowance = settings.multipart_max();
    let mut seen = 0usize;
    let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over_in_stream = over.clone();
    let reader = body
        .into_data_stream()
        .map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            seen = seen.saturating_add(chunk.len());
            if seen > allowance {
                over_in_stream.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(std::io::Error::other("the upload allowance is exceeded"));
            }
            Ok(chunk)
        })
        .into_async_read();
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(settings.multipart_file_max())
        .max_num_files(settings.upload_max_files);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let batch = match async_graphql::http::receive_batch_body(content_type, reader, opts).await {
        Ok(b) => b,
        Err(_) if over.load(std::sync::atomic::Ordering::Relaxed) => {
            return error_body(StatusCode::PAYLOAD_TOO_LARGE, &format!("the request is over {allowance} bytes"), code::BAD_USER_INPUT);
        }
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            return error_body(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "an upload is over {} bytes (UPLOAD_MAX_BYTES for template assets, ATTACHMENT_MAX_BYTES for attachments) \
                     or there are more than {} files (UPLOAD_MAX_FILES)",
                    settings.multipart_file_max(), settings.upload_max_files
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
    execute(&s, media, batch, auth, meta).await
}
