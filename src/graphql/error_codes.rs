//! Error codes on every error: parse and validation failures get their `extensions.code`, and
//! request-level checks (a read-only API key's mutation, a missing required variable, a mutation
//! over `GET`) are refused before execution. A failed field's `null` is `graphql::nulls`.

use async_graphql::{Response, ServerError, ServerResult, Variables, parser::types::ExecutableDocument};

use crate::{
    error::code::{self, with_code},
    graphql::operation::Selected,
    principal::Auth,
};

/// The text did not parse: `GRAPHQL_PARSE_FAILED`.
pub fn parse_failed(error: async_graphql::parser::Error) -> ServerError {
    with_code(ServerError::from(error), code::GRAPHQL_PARSE_FAILED)
}

/// A `GET` request may only run a query (a mutation could be forged by a link), decided on the
/// operation the document selects, so a persisted query's text counts like a sent one.
fn check_read_only_transport(read_only: bool, selected: Option<&Selected>) -> ServerResult<()> {
    use async_graphql::parser::types::OperationType;
    match selected {
        Some(selected) if read_only && selected.ty != OperationType::Query => {
            Err(code::coded("only queries may be sent with GET; send mutations with POST", code::BAD_USER_INPUT))
        }
        _ => Ok(()),
    }
}

/// A read-only API key may not run mutations: refused before anything runs.
fn check_write_scope(auth: Option<&Auth>, doc: &ExecutableDocument, selected: Option<&Selected>) -> ServerResult<()> {
    use async_graphql::parser::types::OperationType;
    let Some(selected) = selected.filter(|s| s.ty == OperationType::Mutation) else { return Ok(()) };
    let Some(op) = selected.definition(doc) else { return Ok(()) };
    match auth {
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

/// The request-level checks on a parsed document, before it runs: only queries over `GET`
/// (`read_only`), every required variable given, mutations only with the write scope.
pub fn check_request(
    doc: &ExecutableDocument,
    selected: Option<&Selected>,
    variables: &Variables,
    auth: Option<&Auth>,
    read_only: bool,
) -> ServerResult<()> {
    check_read_only_transport(read_only, selected)?;
    check_required_variables(doc, selected, variables).map_err(|e| with_code(e, code::BAD_USER_INPUT))?;
    check_write_scope(auth, doc, selected)
}

/// True when the response is a request error (parse, validation, variables): there is no `data`.
pub fn is_request_error(resp: &Response) -> bool {
    !resp.errors.is_empty() && resp.data == async_graphql::Value::Null && resp.errors.iter().all(|e| e.path.is_empty())
}

/// Gives the errors async-graphql found before execution (validation, nesting, directives) their
/// `extensions.code`: a wrong argument or variable value is `BAD_USER_INPUT`, a too deep or too
/// complex query `QUERY_TOO_COMPLEX`, anything else `GRAPHQL_VALIDATION_FAILED`.
pub fn code_request_errors(resp: &mut Response) {
    if !is_request_error(resp) {
        return;
    }
    for e in resp.errors.iter_mut().filter(|e| e.extensions.as_ref().is_none_or(|x| x.get("code").is_none())) {
        let code = if e.message.contains("too complex") || e.message.contains("too deep") {
            code::QUERY_TOO_COMPLEX
        } else if e.message.starts_with("Invalid value for argument") {
            code::BAD_USER_INPUT
        } else {
            code::GRAPHQL_VALIDATION_FAILED
        };
        *e = with_code(std::mem::replace(e, ServerError::new("", None)), code);
    }
}
