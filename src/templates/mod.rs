//! Templates: versioned document templates (Typst PDF, XLSX sheet specs, HTML), bound to companies,
//! the data they see (`render_data`) and how they are rendered (`renderer`, over the render pool).

pub mod assets;
pub mod render_data;
pub mod report_row;
pub mod renderer;
pub mod resolvers;
pub mod service;
pub mod types;
