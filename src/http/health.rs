//! Liveness, readiness and metrics.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde_json::json;

use super::HttpState;

/// `GET /health`: the process answers.
pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// `GET /health/ready`: the database answers (503 when it does not), storage is writable (its
/// probe object written at most once per `HEALTH_STORAGE_PROBE_SECS`: this route needs no token).
pub async fn ready(State(s): State<HttpState>) -> impl IntoResponse {
    let probe_interval = std::time::Duration::from_secs(s.app.settings.health_storage_probe_secs);
    let (database, storage, redis) = tokio::join!(crate::db::ping(&s.app.db), s.app.storage.healthy_within(probe_interval), async {
        match &s.app.redis {
            Some(r) => Some(r.ping().await),
            None => None,
        }
    });
    let status = if database && storage && redis != Some(false) { "ok" } else { "degraded" };
    let code = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({"status": status, "database": database, "redis": redis, "storage": storage})))
}

/// `GET /metrics`: OpenMetrics text (Prometheus reads it).
pub async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    s.app.sample_metrics();
    let body = s.app.metrics.encode(&s.app.db);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
