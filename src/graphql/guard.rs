//! The limits every operation passes, whatever carried it (one POST, each operation of a batch,
//! a GET, each `subscribe` on a WebSocket): `RATE_LIMIT_RPM` per user, API key or (anonymous)
//! client address, counted before anything else is done for the operation, and
//! `REQUEST_TIMEOUT_SECS` around the execution of queries and mutations (a subscription lives as
//! long as its client wants it; its resolvers are bounded on their own).
//!
//! The caller is read from the request's data (HTTP) or the connection's (WebSocket, where each
//! operation also carries its own re-checked credentials).

use std::time::Duration;

use async_graphql::{ErrorExtensionValues, ServerError, Value};

use crate::{
    error::code,
    principal::{Auth, RequestMeta},
    seams::RateDecision,
    state::AppState,
};

/// The key an operation is counted under: the API key, the user, or the client address.
fn rate_key(auth: Option<&Auth>, meta: Option<&RequestMeta>) -> String {
    match auth {
        Some(Auth::Authenticated(p)) => match p.api_key {
            Some(k) => format!("rpm:key:{}", k.id),
            None => format!("rpm:user:{}", p.user_id),
        },
        _ => format!("rpm:ip:{}", meta.and_then(|m| m.ip.as_deref()).unwrap_or("-")),
    }
}

/// A `RATE_LIMITED` error saying when to retry (`extensions.retryAfter`, whole seconds); HTTP
/// turns it into a 429 with `Retry-After`.
fn rate_limited(retry_after: Duration) -> ServerError {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut error = ServerError::new(format!("too many requests; retry in {secs} s (RATE_LIMIT_RPM)"), None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code::RATE_LIMITED);
    ext.set("retryAfter", Value::from(secs));
    error.extensions = Some(ext);
    error
}

/// Counts one operation of the caller against `RATE_LIMIT_RPM`: the first thing done for it.
pub async fn check_rate(state: &AppState, auth: Option<&Auth>, meta: Option<&RequestMeta>) -> Result<(), ServerError> {
    let limit = state.settings.rate_limit_rpm;
    if limit == 0 {
        return Ok(());
    }
    if let RateDecision::Limited { retry_after } = state.rate_limiter.hit(&rate_key(auth, meta), limit, Duration::from_secs(60)).await {
        state.metrics.rate_limited("api");
        return Err(rate_limited(retry_after));
    }
    Ok(())
}

/// Runs a query or mutation within `REQUEST_TIMEOUT_SECS`: past it the execution is dropped (its
/// open transaction rolls back) and the answer is a `TIMEOUT` error.
pub async fn within_timeout(
    state: &AppState,
    operation: Option<&str>,
    run: impl Future<Output = async_graphql::Response>,
) -> async_graphql::Response {
    let secs = state.settings.limits.request_timeout_secs;
    if secs == 0 {
        return run.await;
    }
    match tokio::time::timeout(Duration::from_secs(secs), run).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(timeout_secs = secs, operation = operation.unwrap_or("-"), "GraphQL operation timed out");
            let e = code::coded(
                format!("the operation did not finish within {secs} s (REQUEST_TIMEOUT_SECS); nothing it was changing was kept"),
                code::TIMEOUT,
            );
            async_graphql::Response::from_errors(vec![e])
        }
    }
}
