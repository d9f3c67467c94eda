//! Times, counts and logs every operation (HTTP and WebSocket alike): called by the operation
//! pipeline (`http::pipeline`) once the operation has finished.

use std::{sync::Arc, time::Duration};

use async_graphql::Response;

use super::operation::Selected;
use crate::{
    error::code,
    observability::metrics::{CodeLabels, Metrics, OperationLabels, OutcomeLabels, TypeLabel},
};

/// Counts, times and logs each GraphQL operation (HTTP and WebSocket alike).
pub struct OperationMetrics {
    slow: Option<Duration>,
    metrics: Arc<Metrics>,
}

fn error_code(error: &async_graphql::ServerError) -> String {
    match error.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(s)) => s.clone(),
        _ => code::INTERNAL_SERVER_ERROR.into(),
    }
}

impl OperationMetrics {
    /// `slow_ms`: operations slower than this are logged at WARN (0: never).
    pub fn new(metrics: Arc<Metrics>, slow_ms: u64) -> Self {
        OperationMetrics { slow: (slow_ms > 0).then(|| Duration::from_millis(slow_ms)), metrics }
    }

    /// Records one finished operation: its outcome, its time, its errors by code, and a warning
    /// when it was slow (in the caller's `graphql` span).
    pub fn record(&self, selected: Option<&Selected>, took: Duration, resp: &Response) {
        let metrics = &self.metrics;
        let (name, ty) = selected.map_or((None, "unknown"), |s| (s.name.as_deref(), s.type_name()));
        let operation = metrics.operation_label(name);
        let rejected = resp.data == async_graphql::Value::Null && !resp.errors.is_empty() && resp.errors.iter().all(|e| e.path.is_empty());
        let outcome = if resp.errors.is_empty() {
            "ok"
        } else if rejected {
            "rejected"
        } else {
            "error"
        };
        metrics
            .operations
            .get_or_create(&OutcomeLabels { operation: operation.clone(), r#type: ty.into(), outcome: outcome.into() })
            .inc();
        metrics
            .operation_duration
            .get_or_create(&OperationLabels { operation: operation.clone(), kind: TypeLabel { r#type: ty.into() } })
            .observe(took.as_secs_f64());
        for e in &resp.errors {
            metrics.errors.get_or_create(&CodeLabels { code: error_code(e) }).inc();
        }
        if ty != "subscription" && self.slow.is_some_and(|s| took >= s) {
            tracing::warn!(operation = %operation, r#type = ty, elapsed_ms = took.as_millis() as u64, outcome, "slow GraphQL operation");
        }
    }
}
