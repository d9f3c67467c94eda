//! What every domain's GraphQL shares: the context accessors, DataLoaders, Relay pagination,
//! global ids, scalars, input validation, and the extensions every operation passes through
//! (error codes, abuse limits, persisted operations). Imports no domain.

pub mod context;
pub mod error_codes;
pub mod guard;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod operation;
pub mod operation_metrics;
pub mod pagination;
pub mod per_parent;
pub mod persisted;
pub mod scalars;
pub mod validation;
