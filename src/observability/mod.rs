//! What the service tells its operators: the metrics registry (`GET /metrics`), HTTP and
//! GraphQL operation instrumentation, and logging. Imports no domain and no state.

pub mod http;
pub mod logging;
pub mod metrics;
pub mod operation;
