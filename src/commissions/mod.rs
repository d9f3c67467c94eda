//! Commissions: each insurer's commission rate per product type from a date, and the rate in force
//! on a policy's effective date (`Policy.commissionRate`, `Policy.commission`).

pub mod resolvers;
pub mod rules;
pub mod service;
pub mod types;
