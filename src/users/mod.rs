//! Users of an organization: who they are, their role, and their accounts (ADMIN manages them).

pub mod resolvers;
pub mod service;
pub mod types;
