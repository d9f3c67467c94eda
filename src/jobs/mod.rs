//! Generation jobs: a durable queue in the database, workers that claim jobs with leases, and live progress.

pub mod events;
pub mod resolvers;
pub mod service;
pub mod types;
pub mod worker;
