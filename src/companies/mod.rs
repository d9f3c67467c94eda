//! Companies: the insurers a brokerage places policies with.

pub mod resolvers;
pub mod service;
pub mod types;
