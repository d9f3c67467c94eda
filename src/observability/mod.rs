//! What the service tells its operators: the metrics registry (`GET /metrics`), HTTP
//! instrumentation, and logging. Imports no domain and no state (the GraphQL operation extension
//! is `graphql::operation_metrics`).

pub mod http;
pub mod logging;
pub mod metrics;
