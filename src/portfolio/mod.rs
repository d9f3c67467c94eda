//! The portfolio: what the caller's book holds over a period — policies, premium, commission,
//! payments — by insurer, product type and status, aggregated in SQL.

pub mod resolvers;
pub mod service;
pub mod types;
