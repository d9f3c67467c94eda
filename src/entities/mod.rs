//! Plain sea-orm entities, one per table; GraphQL types are built from them, never derived on them.
pub mod api_key;
pub mod audit_log;
pub mod client;
pub mod company;
pub mod document;
pub mod job;
pub mod job_item;
pub mod organization;
pub mod outbox;
pub mod password_reset;
pub mod policy;
pub mod refresh_token;
pub mod session;
pub mod template;
pub mod template_company;
pub mod template_version;
pub mod user;
