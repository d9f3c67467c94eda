//! Documents: generated files (stored by content address), what templates see, and how items are made.

pub mod data;
pub mod generate;
pub mod resolvers;
pub mod service;
pub mod types;
