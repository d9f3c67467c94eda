//! The GraphQL-over-HTTP request object (`query`, `operationName`, `variables`, `extensions`,
//! and graphql-codegen's `documentId`), checked field by field.

use async_graphql::{Request as GqlRequest, Variables};
use serde_json::{Value, json};

/// Checks the shape of one GraphQL-over-HTTP request object and builds the request.
pub(super) fn parse_params(v: Value) -> Result<GqlRequest, String> {
    let Value::Object(mut obj) = v else { return Err("a request must be a JSON object".into()) };
    // graphql-codegen's persisted documents send `documentId` instead of the query: the same as APQ.
    match obj.remove("documentId") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => {
            let hash = id.strip_prefix("sha256:").unwrap_or(&id).to_string();
            let ext = obj.entry("extensions").or_insert_with(|| json!({}));
            match ext {
                Value::Object(e) => {
                    e.insert("persistedQuery".into(), json!({"version": 1, "sha256Hash": hash}));
                }
                _ => return Err("`extensions` must be an object".into()),
            }
        }
        Some(_) => return Err("`documentId` must be a string".into()),
    }
    let persisted = obj.get("extensions").and_then(|e| e.get("persistedQuery")).is_some();
    let query = match obj.remove("query") {
        Some(Value::String(q)) => q,
        Some(Value::Null) | None if persisted => String::new(),
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is required".into()),
    };
    let mut req = GqlRequest::new(query);
    match obj.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => req = req.operation_name(name),
        Some(_) => return Err("`operationName` must be a string".into()),
    }
    match obj.remove("variables") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => req = req.variables(Variables::from_json(v)),
        Some(_) => return Err("`variables` must be an object".into()),
    }
    match obj.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(ext)) => {
            for (k, v) in ext {
                if let Ok(value) = async_graphql::Value::from_json(v) {
                    req.extensions.insert(k, value);
                }
            }
        }
        Some(_) => return Err("`extensions` must be an object".into()),
    }
    Ok(req)
}
