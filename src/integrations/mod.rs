//! Insurer integrations: a company's signed-webhook endpoint (`setCompanyIntegration`), its secret
//! kept encrypted (`secret`), endpoints checked against private networks at set time and at each
//! delivery (`endpoint`), and deliveries queued in the caller's transaction (`service::enqueue`)
//! then POSTed and signed by the workers (`worker`, `sender`), every attempt recorded.

pub mod endpoint;
pub mod resolvers;
pub mod secret;
pub mod sender;
pub mod service;
pub mod types;
pub mod worker;
