//! axum middleware: every HTTP request counted and timed by route template and status.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::IntoResponse,
};

use super::metrics::{HttpLabels, Metrics, RouteLabels};

/// axum middleware: counts and times every HTTP request by route template and status.
pub async fn track_http(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> axum::response::Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let resp = next.run(req).await.into_response();
    metrics
        .http_requests
        .get_or_create(&HttpLabels { method: method.clone(), route: route.clone(), status: resp.status().as_u16() })
        .inc();
    metrics.http_duration.get_or_create(&RouteLabels { method, route }).observe(started.elapsed().as_secs_f64());
    resp
}
