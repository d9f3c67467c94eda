//! API keys: credentials for integrations, with `read` / `write` scopes, shown once, stored hashed.

pub mod resolvers;
pub mod service;
pub mod types;
