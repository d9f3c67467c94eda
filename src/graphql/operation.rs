//! Which operation a request runs, worked out once per request when its document is parsed: the
//! pipeline's steps (error codes, limits, metrics) and the transport (GET may only run queries)
//! read it from the request's [`Operation`].

use std::sync::{Arc, OnceLock};

use async_graphql::{
    Positioned,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};

/// The operation a document selects: by `operationName`, or its only operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The operation's name (`None` for an anonymous one).
    pub name: Option<String>,
    pub ty: OperationType,
}

impl Selected {
    /// Its definition in `doc`.
    pub fn definition<'d>(&self, doc: &'d ExecutableDocument) -> Option<&'d Positioned<OperationDefinition>> {
        match (&doc.operations, &self.name) {
            (DocumentOperations::Single(op), _) => Some(op),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()),
            (DocumentOperations::Multiple(_), None) => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        }
    }
}

/// One request's operation: the `operationName` it asked for and, once the document is parsed,
/// the operation that runs. Cheap to clone (the transport keeps a handle to read it afterwards).
#[derive(Clone, Debug, Default)]
pub struct Operation {
    requested: Option<String>,
    selected: Arc<OnceLock<Option<Selected>>>,
}

impl Operation {
    pub fn new(requested: Option<String>) -> Self {
        Operation { requested, selected: Arc::default() }
    }

    /// The `operationName` of the request.
    pub fn requested(&self) -> Option<&str> {
        self.requested.as_deref()
    }

    /// The operation `doc` runs for this request (worked out on the first call), or `None` when it
    /// cannot be told (no operation of that name, several and no name).
    pub fn select(&self, doc: &ExecutableDocument) -> Option<&Selected> {
        self.selected
            .get_or_init(|| match (&doc.operations, self.requested.as_deref()) {
                (DocumentOperations::Single(op), _) => Some(Selected { name: None, ty: op.node.ty }),
                (DocumentOperations::Multiple(ops), Some(name)) => {
                    ops.get(name).map(|op| Selected { name: Some(name.to_string()), ty: op.node.ty })
                }
                (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                    ops.iter().next().map(|(name, op)| Selected { name: Some(name.to_string()), ty: op.node.ty })
                }
                _ => None,
            })
            .as_ref()
    }

    /// The selected operation, when the document was parsed and one was selected.
    pub fn selected(&self) -> Option<&Selected> {
        self.selected.get().and_then(Option::as_ref)
    }
}

/// Request data of a GraphQL request sent with `GET`: only queries may run.
#[derive(Clone, Copy, Debug)]
pub struct ReadOnlyTransport;
