//! The GraphQL extension that times, counts and logs every operation (HTTP and WebSocket alike)
//! in its own `graphql` span.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_graphql::{
    Response, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest},
    parser::types::ExecutableDocument,
};
use tracing::Instrument;

use super::operation::Operation;
use crate::{
    error::code,
    observability::metrics::{CodeLabels, Metrics, OperationLabels, OutcomeLabels, TypeLabel},
    principal::RequestMeta,
};

/// Times, counts and logs each GraphQL operation (HTTP and WebSocket alike), inside a `graphql`
/// span carrying the request id, the operation's name and type.
pub struct OperationMetrics {
    slow: Option<Duration>,
    metrics: Arc<Metrics>,
}

impl OperationMetrics {
    /// `slow_ms`: operations slower than this are logged at WARN (0: never).
    pub fn new(metrics: Arc<Metrics>, slow_ms: u64) -> Self {
        OperationMetrics { slow: (slow_ms > 0).then(|| Duration::from_millis(slow_ms)), metrics }
    }
}

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationExtension { slow: self.slow, metrics: self.metrics.clone(), operation: Mutex::new(None) })
    }
}

struct OperationExtension {
    slow: Option<Duration>,
    metrics: Arc<Metrics>,
    /// The request's operation (shared with the other extensions), kept for the end of the request.
    operation: Mutex<Option<Operation>>,
}

fn error_code(error: &async_graphql::ServerError) -> String {
    match error.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(s)) => s.clone(),
        _ => code::INTERNAL_SERVER_ERROR.into(),
    }
}

#[async_trait::async_trait]
impl Extension for OperationExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        // The request id is recorded once the request's data is at hand (prepare_request).
        let span = tracing::info_span!("graphql", request_id = tracing::field::Empty, operation = tracing::field::Empty, r#type = tracing::field::Empty);
        let started = Instant::now();
        let resp = next.run(ctx).instrument(span.clone()).await;
        let took = started.elapsed();
        let metrics = &self.metrics;
        let operation = self.operation.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let selected = operation.as_ref().and_then(Operation::selected);
        let (name, ty) = selected.map_or((None, "unknown"), |s| (s.name.clone(), s.type_name()));
        let operation = metrics.operation_label(name.as_deref());
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
            span.in_scope(|| {
                tracing::warn!(operation = %operation, r#type = ty, elapsed_ms = took.as_millis() as u64, outcome, "slow GraphQL operation")
            });
        }
        resp
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        if let Some(operation) = request.data.get(&std::any::TypeId::of::<Operation>()).and_then(|d| d.downcast_ref::<Operation>()) {
            *self.operation.lock().unwrap_or_else(|p| p.into_inner()) = Some(operation.clone());
        }
        if let Some(meta) = request.data.get(&std::any::TypeId::of::<RequestMeta>()).and_then(|d| d.downcast_ref::<RequestMeta>()) {
            tracing::Span::current().record("request_id", meta.request_id.as_str());
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Some(selected) = Operation::of(ctx).and_then(|operation| operation.select(&doc)) {
            let span = tracing::Span::current();
            span.record("operation", selected.name.as_deref().unwrap_or("anonymous"));
            span.record("type", selected.type_name());
        }
        Ok(doc)
    }
}
