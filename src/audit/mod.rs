//! The audit trail: one row per change, sign-in and API-key write, written in the change's transaction.

pub mod resolvers;
pub mod service;
pub mod types;
