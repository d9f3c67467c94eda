//! The limits every operation passes, whatever carried it (one POST, each operation of a batch,
//! a GET, each `subscribe` on a WebSocket): `RATE_LIMIT_RPM` per user, API key or (anonymous)
//! client address, counted before anything else is done for the operation, and
//! `REQUEST_TIMEOUT_SECS` around the execution of queries and mutations (a subscription lives as
//! long as its client wants it; its resolvers are bounded on their own).
//!
//! The caller is read from the request's data (HTTP) or the connection's (WebSocket, where each
//! operation also carries its own re-checked credentials).

use std::{any::TypeId, sync::Arc, time::Duration};

use async_graphql::{
    Data, ErrorExtensionValues, Response, ServerError, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest},
};

use crate::{
    error::code,
    principal::{Auth, RequestMeta},
    seams::RateDecision,
    state::AppState,
};

pub struct OperationGuard {
    state: AppState,
}

impl OperationGuard {
    pub fn new(state: AppState) -> Self {
        OperationGuard { state }
    }
}

impl ExtensionFactory for OperationGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension { state: self.state.clone() })
    }
}

struct GuardExtension {
    state: AppState,
}

fn find<'a, T: 'static>(request: &'a Data, session: &'a Data) -> Option<&'a T> {
    let id = TypeId::of::<T>();
    request.get(&id).or_else(|| session.get(&id)).and_then(|d| d.downcast_ref::<T>())
}

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

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        let limit = self.state.settings.rate_limit_rpm;
        if limit > 0 {
            let key = rate_key(find::<Auth>(&request.data, ctx.session_data), find::<RequestMeta>(&request.data, ctx.session_data));
            if let RateDecision::Limited { retry_after } = self.state.rate_limiter.hit(&key, limit, Duration::from_secs(60)).await {
                self.state.metrics.rate_limited("api");
                return Err(rate_limited(retry_after));
            }
        }
        next.run(ctx, request).await
    }

    /// Past `REQUEST_TIMEOUT_SECS` the execution is dropped (its open transaction rolls back).
    async fn execute(&self, ctx: &ExtensionContext<'_>, operation_name: Option<&str>, next: NextExecute<'_>) -> Response {
        let secs = self.state.settings.limits.request_timeout_secs;
        if secs == 0 {
            return next.run(ctx, operation_name).await;
        }
        match tokio::time::timeout(Duration::from_secs(secs), next.run(ctx, operation_name)).await {
            Ok(resp) => resp,
            Err(_) => {
                tracing::warn!(timeout_secs = secs, operation = operation_name.unwrap_or("-"), "GraphQL operation timed out");
                let e = code::coded(
                    format!("the operation did not finish within {secs} s (REQUEST_TIMEOUT_SECS); nothing it was changing was kept"),
                    code::TIMEOUT,
                );
                Response::from_errors(vec![e])
            }
        }
    }
}
