//! Organizations: the tenants. Every row of business data belongs to one.

pub mod resolvers;
pub mod timezone;
pub mod types;
