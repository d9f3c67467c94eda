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

/// `GET /health/ready`: the database answers (503 when it does not), storage is writable.
pub async fn ready(State(s): State<HttpState>) -> impl IntoResponse {
    let database = crate::db::ping(&s.app.db).await;
    let storage = s.app.storage.healthy().await;
    let status = if database && storage { "ok" } else { "degraded" };
    let code = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({"status": status, "database": database, "redis": null, "storage": storage})))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    let m = &s.app.db_metrics;
    let body = format!(
        "# HELP db_statements_total SQL statements sent to the database.\n\
         # TYPE db_statements_total counter\n\
         db_statements_total {}\n\
         # HELP db_statement_errors_total SQL statements that failed.\n\
         # TYPE db_statement_errors_total counter\n\
         db_statement_errors_total {}\n",
        m.statements(),
        m.failed.load(std::sync::atomic::Ordering::Relaxed),
    );
    let body = body + &s.app.job_metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}
