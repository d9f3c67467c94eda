//! What every domain's GraphQL shares: the context accessors, DataLoaders, Relay pagination,
//! global ids, scalars, input validation, and the steps every operation passes through (error
//! codes, null propagation, selection order, abuse limits, rate limit, persisted operations, metrics), which
//! `http::pipeline` runs in order. Imports no domain.

pub mod context;
pub mod direct;
pub mod error_codes;
pub mod guard;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod nulls;
pub mod operation;
pub mod operation_metrics;
pub mod ordering;
pub mod pagination;
pub mod per_parent;
pub mod persisted;
pub mod scalars;
pub mod shared;
pub mod validation;
