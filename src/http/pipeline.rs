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
use futures_util::{FutureExt, StreamExt, stream::BoxStream};
use tracing::Instrument;

use super::ws::Answer;

use crate::{
    graphql::{
        error_codes, guard, limits,
        loaders::Loaders,
        ordering,
        shared::{self, Frame, Groups, SharedExecution},
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
    /// Subscriptions run once per group of subscribers who see the same thing.
    groups: Groups,
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
            groups: Groups::new(crate::schema::shared_subscriptions(), state.metrics.subscription_groups.clone()),
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
    /// answers once, a subscription answers each event (shared with the subscribers who see the
    /// same thing when it can be: `graphql::shared`).
    pub fn execute_stream(self: &Arc<Self>, request: Request, session: Arc<Data>) -> BoxStream<'static, Answer> {
        let this = self.clone();
        let span = span(data_of::<RequestMeta>(&request.data, Some(&session)));
        let start = async move {
            let started = Instant::now();
            let prepared = match this.prepare(request, Some(&session)).await {
                Ok(prepared) => prepared,
                Err((e, selected)) => {
                    let resp = Response::from_errors(vec![e]);
                    this.metrics.record(selected.as_ref(), started.elapsed(), &resp);
                    return futures_util::stream::iter([Answer::from(resp)]).boxed();
                }
            };
            record_operation(prepared.selected.as_ref());
            let subscription = prepared.selected.as_ref().is_none_or(|s| s.ty == OperationType::Subscription);
            if subscription {
                let auth = data_of::<Auth>(&prepared.request.data, Some(&session)).cloned();
                if let Some(Auth::Authenticated(p)) = auth {
                    return this.shared_or_own(prepared, session, p).await;
                }
            }
            let Prepared { mut request, doc, selected, mut pending } = prepared;
            if let Some(Auth::Authenticated(p)) = data_of::<Auth>(&request.data, Some(&session)).cloned() {
                request = this.with_loaders(request, &session, &p);
            }
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
                return futures_util::stream::iter([Answer::from(resp)]).boxed();
            }
            this.finished(responses, doc, selected, pending).map(Answer::from).boxed()
        };
        // Boxed: the preparation's state is freed once it ran, not kept for the stream's life.
        futures_util::stream::once(start.instrument(span).boxed()).flatten().boxed()
    }

    /// A subscription's responses, each finished (error codes, nulls, order); the persisted
    /// operation registered with the first that is not a request error.
    fn finished(
        self: &Arc<Self>,
        responses: BoxStream<'static, Response>,
        doc: Arc<ExecutableDocument>,
        selected: Option<Selected>,
        mut pending: Option<Pending>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
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
    }

    /// `request` with the caller's DataLoaders, unless it or the socket's session has them.
    fn with_loaders(&self, request: Request, session: &Data, p: &crate::principal::Principal) -> Request {
        match data_of::<Loaders>(&request.data, Some(session)) {
            Some(_) => request,
            None => request.data(Loaders::new(&self.state.db, p)),
        }
    }

    /// A signed-in caller's subscription: a member of the group that runs it for everyone who
    /// sees the same thing, or, when it cannot be shared, run for this subscriber alone.
    async fn shared_or_own(self: &Arc<Self>, prepared: Prepared, session: Arc<Data>, p: crate::principal::Principal) -> BoxStream<'static, Answer> {
        let Prepared { mut request, doc, selected, pending } = prepared;
        let admitted = selected.as_ref().and_then(|s| s.definition(&doc)).and_then(|op| {
            let name = selected.as_ref().and_then(|s| s.name.as_deref());
            self.groups.admit(&self.state, &p, &request.query, &op.node, name, &request.variables)
        });
        let Some(admitted) = admitted else {
            // Not shareable (or refused: the field answers its own refusal).
            let request = self.with_loaders(request, &session, &p);
            let responses = self.schema.execute_stream_with_session_data(request, session);
            return self.finished(responses, doc, selected, pending).map(Answer::from).boxed();
        };
        // The member keeps its request's data (the active-subscription gauge, its principal).
        let data = std::mem::take(&mut request.data);
        let (admitted, data) = match self.groups.join(admitted, data) {
            Ok(member) => {
                // The group runs this very text: it passed validation.
                if let Some(pending) = pending {
                    self.persisted.register(pending).await;
                }
                return member.map(answer_of).boxed();
            }
            Err(refused) => refused,
        };
        // The group's own execution: this caller's principal (any member's would answer the same).
        let meta = data_of::<RequestMeta>(&data, Some(&session)).cloned();
        let mut request = request.data(Loaders::new(&self.state.db, &p)).data(Auth::Authenticated(p)).data(SharedExecution);
        if let Some(meta) = meta {
            request = request.data(meta);
        }
        let mut responses = self.finished(
            self.schema.execute_stream_with_session_data(request, Arc::new(Data::default())),
            doc,
            selected,
            None,
        );
        // The first poll validates the operation and calls the field. An answer at once (an
        // error) is this subscriber's alone; once it waits for events, it is live and shared.
        match responses.next().now_or_never() {
            Some(first) => {
                if let Some(pending) = pending.filter(|_| first.as_ref().is_some_and(|r| !error_codes::is_request_error(r))) {
                    self.persisted.register(pending).await;
                }
                let held = shared::Held::new(admitted, data);
                futures_util::stream::iter(first)
                    .chain(responses)
                    .map(move |resp| {
                        let _ = &held;
                        Answer::from(resp)
                    })
                    .boxed()
            }
            None => {
                let answers = responses.map(|resp| {
                    if error_codes::is_request_error(&resp) {
                        Frame::Errors(Arc::new(resp.errors))
                    } else {
                        Frame::Json(serde_json::to_string(&resp).unwrap_or_else(|_| "null".into()).into())
                    }
                });
                let member = self.groups.start(admitted, data, answers.boxed());
                if let Some(pending) = pending {
                    self.persisted.register(pending).await;
                }
                member.map(answer_of).boxed()
            }
        }
    }
}

/// What a member of a shared subscription sends: the group's text as it is.
fn answer_of(frame: Frame) -> Answer {
    match frame {
        Frame::Json(json) => Answer::Json(json),
        Frame::Errors(errors) => Answer::from(Response::from_errors(errors.as_ref().clone())),
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
