//! Running operations: each within `REQUEST_TIMEOUT_SECS`, after the `RATE_LIMIT_RPM` check, with
//! the caller's credentials, request facts and DataLoaders in its data.

use async_graphql::{BatchRequest, Request as GqlRequest, Response as GqlResponse};
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::response::{JSON, MediaType, respond, retry_after, status_of, to_json, with_retry_after};
use crate::{
    error::code,
    graphql::loaders::Loaders,
    http::HttpState,
    principal::{Auth, RequestMeta},
};

pub(super) fn with_context(req: GqlRequest, http: &HttpState, auth: &Auth, meta: &RequestMeta) -> GqlRequest {
    let mut req = req.data(auth.clone()).data(meta.clone());
    if let Auth::Authenticated(p) = auth {
        req = req.data(Loaders::new(&http.app.db, p));
    }
    req
}

pub(super) async fn execute(http: &HttpState, media: MediaType, batch: BatchRequest, auth: Auth, meta: RequestMeta) -> Response {
    if let Some(refused) = rate_limit(http, &auth, &meta).await {
        return refused;
    }
    match batch {
        BatchRequest::Single(req) => {
            let resp = run(http, with_context(req, http, &auth, &meta)).await;
            let (status, wait) = (status_of(media, &resp), retry_after(&resp));
            with_retry_after(respond(media, status, to_json(resp)), wait)
        }
        BatchRequest::Batch(reqs) => {
            let mut out = Vec::with_capacity(reqs.len());
            let mut wait = None;
            for req in reqs {
                let resp = run(http, with_context(req, http, &auth, &meta)).await;
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
pub(super) async fn run(http: &HttpState, req: GqlRequest) -> GqlResponse {
    let secs = http.app.settings.limits.request_timeout_secs;
    if secs == 0 {
        return http.schema.execute(req).await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(secs), http.schema.execute(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(timeout_secs = secs, "GraphQL operation timed out");
            http.app.metrics.errors.get_or_create(&crate::observability::metrics::CodeLabels { code: code::TIMEOUT.into() }).inc();
            let e = code::coded(
                format!("the operation did not finish within {secs} http (REQUEST_TIMEOUT_SECS); nothing it was changing was kept"),
                code::TIMEOUT,
            );
            GqlResponse::from_errors(vec![e])
        }
    }
}

/// `RATE_LIMIT_RPM` requests a minute per user, API key or (anonymous) address, over the whole API.
pub(super) async fn rate_limit(http: &HttpState, auth: &Auth, meta: &RequestMeta) -> Option<Response> {
    let limit = http.app.settings.rate_limit_rpm;
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
    let decision = http.app.rate_limiter.hit(&key, limit, std::time::Duration::from_secs(60)).await;
    let crate::seams::RateDecision::Limited { retry_after } = decision else { return None };
    http.app.metrics.rate_limited("api");
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let body = json!({"errors": [{
        "message": format!("too many requests; retry in {secs} http"),
        "extensions": {"code": code::RATE_LIMITED, "retryAfter": secs}
    }]});
    let resp = (StatusCode::TOO_MANY_REQUESTS, [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], body.to_string());
    Some(with_retry_after(resp.into_response(), Some(secs)))
}
