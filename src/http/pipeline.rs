//! What every GraphQL operation passes, whatever carried it (one POST, each operation of a batch,
//! a GET, a multipart upload, each operation of a WebSocket), in this order: the rate limit
//! (`graphql::guard`), persisted operations (which may supply the text), the text's token and
//! nesting limits, parsing (a bounded cache of parsed documents by their text), the shape limits
//! (aliases, root fields), the request checks (required variables, the write scope, queries only
//! over GET), then async-graphql's validation and execution (within `REQUEST_TIMEOUT_SECS` for a
//! query or mutation), then error codes, null propagation, the selection's order and metrics on
//! the response.
//!
//! It runs once per operation. The served schema has no async-graphql extension: any extension
//! makes async-graphql run a chain of hooks around every field of every response (about 1,300 on
//! a 100-policy page), which was most of the server's time on the list page.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::{
    Data, Request, Response, ServerError,
    parser::types::{ExecutableDocument, OperationType},
};
use futures_util::{StreamExt, stream::BoxStream};
use tracing::Instrument;

use crate::{
    graphql::{
        error_codes, guard, limits,
        ordering,
        nulls::{self, FieldTypes},
        operation::{Operation, ReadOnlyTransport, Selected},
        operation_metrics::OperationMetrics,
        persisted::{self, Pending, PersistedOperations},
    },
    principal::{Auth, RequestMeta},
    schema::AppSchema,
    state::AppState,
};

/// Parsed documents kept, each weighed at `PARSED_PER_TEXT_BYTE` bytes of syntax tree per byte
/// of its text (an estimate, on the generous side: names are shared `Arc<str>`s, positions and
/// nodes a few words each), so about 32 MiB at most. Texts longer than `MAX_CACHED_TEXT` are
/// parsed each time.
const DOCUMENT_CACHE_BYTES: u64 = 32 * 1024 * 1024;
const PARSED_PER_TEXT_BYTE: usize = 16;
const MAX_CACHED_TEXT: usize = 16 * 1024;

pub struct Pipeline {
    schema: AppSchema,
    state: AppState,
    persisted: PersistedOperations,
    metrics: OperationMetrics,
    types: FieldTypes,
    documents: moka::sync::Cache<String, Arc<ExecutableDocument>>,
}

/// An operation that passed every check before execution.
struct Prepared {
    request: Request,
    doc: Arc<ExecutableDocument>,
    selected: Option<Selected>,
    pending: Option<Pending>,
}

fn data_of<'a, T: 'static>(request: &'a Data, session: Option<&'a Data>) -> Option<&'a T> {
    let id = std::any::TypeId::of::<T>();
    request.get(&id).or_else(|| session?.get(&id)).and_then(|d| d.downcast_ref::<T>())
}

impl Pipeline {
    pub fn new(state: &AppState, schema: AppSchema) -> anyhow::Result<Self> {
        let settings = &state.settings;
        let manifest = match &settings.persisted_operations_manifest {
            Some(path) => persisted::load_manifest(path)?,
            None => Default::default(),
        };
        Ok(Pipeline {
            types: FieldTypes::from_sdl(&schema.sdl())?,
            schema,
            state: state.clone(),
            persisted: PersistedOperations::new(
                state.cache.clone(),
                Duration::from_secs(settings.apq_ttl_secs.max(1)),
                manifest,
                settings.persisted_operations_only,
            ),
            metrics: OperationMetrics::new(state.metrics.clone(), settings.slow_operation_ms),
            documents: moka::sync::Cache::builder()
                .max_capacity(DOCUMENT_CACHE_BYTES)
                .weigher(|text: &String, _| u32::try_from(text.len() * PARSED_PER_TEXT_BYTE).unwrap_or(u32::MAX))
                .build(),
        })
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    /// The parsed document of `text`, from the cache when it was parsed before.
    fn document(&self, text: &str) -> Result<Arc<ExecutableDocument>, ServerError> {
        if let Some(doc) = self.documents.get(text) {
            return Ok(doc);
        }
        let doc = Arc::new(async_graphql::parser::parse_query(text).map_err(error_codes::parse_failed)?);
        if text.len() <= MAX_CACHED_TEXT {
            self.documents.insert(text.to_string(), doc.clone());
        }
        Ok(doc)
    }

    /// Every check before execution, in order; the error and what was selected when one fails.
    async fn prepare(&self, mut request: Request, session: Option<&Data>) -> Result<Prepared, (ServerError, Option<Selected>)> {
        let operation = data_of::<Operation>(&request.data, session)
            .cloned()
            .unwrap_or_else(|| Operation::new(request.operation_name.clone()));
        let auth = data_of::<Auth>(&request.data, session);
        guard::check_rate(&self.state, auth, data_of::<RequestMeta>(&request.data, session)).await.map_err(|e| (e, None))?;
        let pending = self.persisted.resolve(&mut request).await.map_err(|e| (e, None))?;
        let limits = &self.state.settings.limits;
        limits::check_text(&request.query, limits).map_err(|e| (e, None))?;
        let doc = self.document(&request.query).map_err(|e| (e, None))?;
        let selected = operation.select(&doc).cloned();
        let fail = |e| (e, selected.clone());
        limits::check_shape(&doc, selected.as_ref(), limits).map_err(fail)?;
        let read_only = data_of::<ReadOnlyTransport>(&request.data, session).is_some();
        let auth = data_of::<Auth>(&request.data, session);
        error_codes::check_request(&doc, selected.as_ref(), &request.variables, auth, read_only).map_err(fail)?;
        request.set_parsed_query(ExecutableDocument::clone(&doc));
        Ok(Prepared { request, doc, selected, pending })
    }

    /// Error codes, null propagation and the selection's order on a response of `doc`.
    fn finish(&self, doc: &ExecutableDocument, selected: Option<&Selected>, resp: &mut Response) {
        error_codes::code_request_errors(resp);
        let Some(op) = selected.and_then(|s| s.definition(doc)) else { return };
        if !resp.errors.is_empty() {
            nulls::propagate(&self.types, doc, &op.node, resp);
        }
        ordering::in_selection_order(doc, &op.node, &mut resp.data);
    }


    /// Runs one query or mutation (HTTP), in its own `graphql` span.
    pub async fn execute(&self, request: Request) -> Response {
        let span = span(data_of::<RequestMeta>(&request.data, None));
        async move {
            let started = Instant::now();
            let (resp, selected) = match self.prepare(request, None).await {
                Err((e, selected)) => (Response::from_errors(vec![e]), selected),
                Ok(prepared) => {
                    record_operation(prepared.selected.as_ref());
                    let name = prepared.selected.as_ref().and_then(|s| s.name.clone());
                    let run = self.schema.execute(prepared.request);
                    let mut resp = guard::within_timeout(&self.state, name.as_deref(), run).await;
                    self.finish(&prepared.doc, prepared.selected.as_ref(), &mut resp);
                    if let Some(pending) = prepared.pending.filter(|_| !error_codes::is_request_error(&resp)) {
                        self.persisted.register(pending).await;
                    }
                    (resp, prepared.selected)
                }
            };
            self.metrics.record(selected.as_ref(), started.elapsed(), &resp);
            resp
        }
        .instrument(span)
        .await
    }

    /// Runs one operation of a WebSocket with the socket's `session` data: a query or mutation
    /// answers once, a subscription answers each event.
    pub fn execute_stream(self: &Arc<Self>, request: Request, session: Arc<Data>) -> BoxStream<'static, Response> {
        let this = self.clone();
        let span = span(data_of::<RequestMeta>(&request.data, Some(&session)));
        let start = async move {
            let started = Instant::now();
            let prepared = match this.prepare(request, Some(&session)).await {
                Ok(prepared) => prepared,
                Err((e, selected)) => {
                    let resp = Response::from_errors(vec![e]);
                    this.metrics.record(selected.as_ref(), started.elapsed(), &resp);
                    return futures_util::stream::iter([resp]).boxed();
                }
            };
            record_operation(prepared.selected.as_ref());
            let Prepared { request, doc, selected, mut pending } = prepared;
            let subscription = selected.as_ref().is_none_or(|s| s.ty == OperationType::Subscription);
            let mut responses = this.schema.execute_stream_with_session_data(request, session);
            if !subscription {
                let name = selected.as_ref().and_then(|s| s.name.clone());
                let first = async { responses.next().await.unwrap_or_default() };
                let mut resp = guard::within_timeout(&this.state, name.as_deref(), first).await;
                this.finish(&doc, selected.as_ref(), &mut resp);
                if let Some(pending) = pending.take().filter(|_| !error_codes::is_request_error(&resp)) {
                    this.persisted.register(pending).await;
                }
                this.metrics.record(selected.as_ref(), started.elapsed(), &resp);
                return futures_util::stream::iter([resp]).boxed();
            }
            responses
                .then(move |mut resp| {
                    let this = this.clone();
                    let doc = doc.clone();
                    let selected = selected.clone();
                    let pending = pending.take();
                    async move {
                        this.finish(&doc, selected.as_ref(), &mut resp);
                        if let Some(pending) = pending.filter(|_| !error_codes::is_request_error(&resp)) {
                            this.persisted.register(pending).await;
                        }
                        resp
                    }
                })
                .boxed()
        };
        futures_util::stream::once(start.instrument(span)).flatten().boxed()
    }
}

fn span(meta: Option<&RequestMeta>) -> tracing::Span {
    tracing::info_span!(
        "graphql",
        request_id = meta.map_or("", |m| m.request_id.as_str()),
        operation = tracing::field::Empty,
        r#type = tracing::field::Empty
    )
}

fn record_operation(selected: Option<&Selected>) {
    if let Some(selected) = selected {
        let span = tracing::Span::current();
        span.record("operation", selected.name.as_deref().unwrap_or("anonymous"));
        span.record("type", selected.type_name());
    }
}
