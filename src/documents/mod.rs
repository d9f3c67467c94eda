//! Documents: generated files (stored by content address), listed, downloaded, deleted, purged.

pub mod resolvers;
pub mod service;
pub mod types;
