//! Policies: a client's contract with an insurer, its premium, dates, coverage and status life cycle.

pub mod connection;
pub mod renewal;
pub mod resolvers;
pub mod rules;
pub mod service;
pub mod types;
