//! The `extensions.code` values of API.md, and the one helper that puts a code on a request error.
//! Every code the service answers is a constant here.

use async_graphql::{ErrorExtensions, ServerError};

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const CONFLICT: &str = "CONFLICT";
pub const RATE_LIMITED: &str = "RATE_LIMITED";
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
pub const TIMEOUT: &str = "TIMEOUT";

/// `error` with `extensions.code` set, unless it already has one.
pub fn with_code(error: ServerError, code: &'static str) -> ServerError {
    let mut error = error;
    let has_code = error.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
    if !has_code {
        error.extensions = async_graphql::Error::new("").extend_with(|_, ext| ext.set("code", code)).extensions;
    }
    error
}

/// A request error with `message` and `code`.
pub fn coded(message: impl Into<String>, code: &'static str) -> ServerError {
    with_code(ServerError::new(message, None), code)
}
