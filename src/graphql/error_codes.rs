//! Error codes on every error: parse and validation failures get their `extensions.code`, a
//! failed nullable field answers `null` as the specification asks, and request-level checks
//! (a read-only API key's mutation, a missing required variable) are refused before execution.

use std::sync::Arc;

use async_graphql::{
    PathSegment, QueryPathNode, QueryPathSegment, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve, NextValidation, ResolveInfo},
    parser::types::ExecutableDocument,
};

use crate::{
    error::code::{self, with_code},
    graphql::operation::{Operation, ReadOnlyTransport, Selected},
    principal::Auth,
};

/// Makes errors follow the GraphQL specification: a failed nullable field answers `null` (async-graphql
/// would drop the key), and parse and validation errors get their `extensions.code`: a wrong argument or variable value is
/// `BAD_USER_INPUT`, a too deep or too complex query `QUERY_TOO_COMPLEX`, anything else invalid
/// `GRAPHQL_VALIDATION_FAILED`.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension::default())
    }
}

/// One per request: the field errors turned into `null`, added back to the response at the end.
#[derive(Default)]
struct ErrorCodesExtension {
    nulled: std::sync::Mutex<Vec<ServerError>>,
    /// Paths of non-null fields that failed (their parents fail in turn).
    failed: std::sync::Mutex<Vec<Vec<PathSegment>>>,
    any_failed: std::sync::atomic::AtomicBool,
}

/// A `GET` request may only run a query (a mutation could be forged by a link), decided on the
/// operation the document selects, so a persisted query's text counts like a sent one.
fn check_read_only_transport(ctx: &ExtensionContext<'_>, selected: Option<&Selected>) -> ServerResult<()> {
    use async_graphql::parser::types::OperationType;
    match (ctx.data_opt::<ReadOnlyTransport>(), selected) {
        (Some(_), Some(selected)) if selected.ty != OperationType::Query => {
            Err(code::coded("only queries may be sent with GET; send mutations with POST", code::BAD_USER_INPUT))
        }
        _ => Ok(()),
    }
}

/// A read-only API key may not run mutations: refused before anything runs.
fn check_write_scope(ctx: &ExtensionContext<'_>, doc: &ExecutableDocument, selected: Option<&Selected>) -> ServerResult<()> {
    use async_graphql::parser::types::OperationType;
    let Some(selected) = selected.filter(|s| s.ty == OperationType::Mutation) else { return Ok(()) };
    let Some(op) = selected.definition(doc) else { return Ok(()) };
    match ctx.data_opt::<Auth>() {
        Some(Auth::Authenticated(p)) if !p.may_write() => Err(with_code(
            ServerError::new("this API key has the read scope only; mutations need the write scope", Some(op.pos)),
            code::FORBIDDEN,
        )),
        _ => Ok(()),
    }
}

/// A required variable (non-null, no default) that is missing or null is a request error, refused
/// before execution (async-graphql would only fail the fields that use it).
fn check_required_variables(
    doc: &ExecutableDocument,
    selected: Option<&Selected>,
    variables: &Variables,
) -> ServerResult<()> {
    let Some(op) = selected.and_then(|s| s.definition(doc)) else { return Ok(()) };
    for def in &op.node.variable_definitions {
        let def = &def.node;
        let required = !def.var_type.node.nullable && def.default_value.is_none();
        let given = variables.get(&def.name.node).is_some_and(|v| *v != async_graphql::Value::Null);
        if required && !given {
            return Err(ServerError::new(
                format!("Variable \"${}\" of required type \"{}\" was not provided.", def.name.node, def.var_type.node),
                Some(def.name.pos),
            ));
        }
    }
    Ok(())
}

fn path_of(node: &QueryPathNode<'_>) -> Vec<PathSegment> {
    let mut segments: Vec<PathSegment> = Vec::new();
    let mut current = Some(node);
    while let Some(n) = current {
        segments.push(match n.segment {
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_string()),
            QueryPathSegment::Index(i) => PathSegment::Index(i),
        });
        current = n.parent;
    }
    segments.reverse();
    segments
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        let mut resp = next.run(ctx, operation_name).await;
        let nulled = std::mem::take(&mut *self.nulled.lock().unwrap_or_else(|e| e.into_inner()));
        resp.errors.extend(nulled);
        // A non-null root field failed: `data` itself is null.
        if self.failed.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|f| f.len() == 1) {
            resp.data = async_graphql::Value::Null;
        }
        resp
    }

    /// A failed nullable field answers `null`; a failed non-null one makes its parent fail in turn,
    /// up to the nearest nullable field (or `data` itself), as the specification's null propagation says.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<async_graphql::Value>> {
        let nullable = !info.return_type.ends_with('!');
        let node = info.path_node;
        let result = next.run(ctx, info).await;
        // The common case costs nothing: no field has failed in this request.
        if result.is_ok() && !self.any_failed.load(std::sync::atomic::Ordering::Relaxed) {
            return result;
        }
        let path = path_of(node);
        let child_failed = || {
            let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.iter().any(|f| {
                f.len() > path.len()
                    && f[..path.len()] == path[..]
                    && f[path.len()..f.len() - 1].iter().all(|s| matches!(s, PathSegment::Index(_)))
            })
        };
        match result {
            Err(mut e) if nullable => {
                if e.path.is_empty() {
                    e.path = path.clone();
                }
                self.nulled.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                Ok(Some(async_graphql::Value::Null))
            }
            Err(e) => {
                self.any_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                self.failed.lock().unwrap_or_else(|p| p.into_inner()).push(path);
                Err(e)
            }
            Ok(v) if child_failed() => {
                if nullable {
                    Ok(Some(async_graphql::Value::Null))
                } else {
                    self.failed.lock().unwrap_or_else(|p| p.into_inner()).push(path);
                    Ok(v)
                }
            }
            ok => ok,
        }
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await.map_err(|e| {
            // async-graphql checks the directive and recursion limits while parsing.
            let code = if e.message.contains("cannot be greater than") { code::GRAPHQL_VALIDATION_FAILED } else { code::GRAPHQL_PARSE_FAILED };
            with_code(e, code)
        })?;
        let selected = Operation::of(ctx).and_then(|operation| operation.select(&doc));
        check_read_only_transport(ctx, selected)?;
        check_required_variables(&doc, selected, variables).map_err(|e| with_code(e, code::BAD_USER_INPUT))?;
        check_write_scope(ctx, &doc, selected)?;
        Ok(doc)
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: async_graphql::extensions::NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        // The request's operation, worked out once when the document is parsed (see `operation`).
        let mut request = request;
        if request.data.get(&std::any::TypeId::of::<Operation>()).is_none() {
            let operation = Operation::new(request.operation_name.clone());
            request.data.insert(operation);
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = if e.message.contains("too complex") || e.message.contains("too deep") {
                        code::QUERY_TOO_COMPLEX
                    } else if e.message.starts_with("Invalid value for argument") {
                        code::BAD_USER_INPUT
                    } else {
                        code::GRAPHQL_VALIDATION_FAILED
                    };
                    with_code(e, code)
                })
                .collect()
        })
    }
}
