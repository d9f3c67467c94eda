//! Templates: versioned document templates (Typst PDF, XLSX sheet specs, HTML), bound to companies.

pub mod assets;
pub mod resolvers;
pub mod service;
pub mod types;
