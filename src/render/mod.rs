//! Document rendering: Typst → PDF/PNG, MiniJinja → HTML, sheet specs → XLSX, and the
//! pool of sandboxed `render-worker` child processes that runs untrusted templates.
//!
//! Self-contained: it depends on nothing else in the crate. Templates are untrusted
//! code, so PDF and HTML go through [`RenderPool`] (a child process per render slot,
//! with a time budget, an address-space limit and no file access); XLSX specs are data,
//! not code, and render in-process with [`xlsx::render_rows`] / [`xlsx::render_fields`].

pub mod html;
pub mod pdf;
pub mod worker;
pub mod xlsx;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use worker::{Load, PoolConfig, Preview, RenderPool, RenderRequest, Tenant};

/// The kind of file a template produces.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentFormat {
    /// Typst markup rendered to PDF.
    Pdf,
    /// A JSON sheet spec rendered to an Excel workbook.
    Xlsx,
    /// A MiniJinja (Jinja-compatible) HTML template.
    Html,
}

impl DocumentFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "PDF",
            DocumentFormat::Xlsx => "XLSX",
            DocumentFormat::Html => "HTML",
        }
    }

    pub fn parse(text: &str) -> DocumentFormat {
        match text {
            "XLSX" => DocumentFormat::Xlsx,
            "HTML" => DocumentFormat::Html,
            _ => DocumentFormat::Pdf,
        }
    }

    pub const fn mime(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            DocumentFormat::Html => "text/html; charset=utf-8",
        }
    }

    /// The file extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "pdf",
            DocumentFormat::Xlsx => "xlsx",
            DocumentFormat::Html => "html",
        }
    }
}

/// A rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub extension: &'static str,
}

impl Rendered {
    pub fn new(format: DocumentFormat, bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            mime: format.mime(),
            extension: format.extension(),
        }
    }
}

/// A problem found in a template, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
pub struct Diagnostic {
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// A suggestion, when there is one.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about the template as a whole (no position).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line: None,
            column: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(formatter, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(formatter, "line {line}: ")?,
            _ => {}
        }
        formatter.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(formatter, " (hint: {hint})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template's fault: it does not compile, fails at run time, loops, or runs past
    /// its time or memory budget. Shown to the user (`BAD_USER_INPUT`-style).
    #[error("the template failed: {}", join(.0))]
    Template(Vec<Diagnostic>),
    /// Ours: a worker could not start, a pipe broke, an encoder failed. Logged, not shown.
    #[error("rendering failed: {0}")]
    Internal(String),
}

impl RenderError {
    /// A template error with one position-less diagnostic.
    pub fn template(message: impl Into<String>) -> Self {
        RenderError::Template(vec![Diagnostic::new(message)])
    }

    /// The diagnostics of a template error (empty for an internal one).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            RenderError::Template(d) => d,
            RenderError::Internal(_) => &[],
        }
    }
}

fn join(diagnostics: &[Diagnostic]) -> String {
    let shown: Vec<String> = diagnostics
        .iter()
        .take(3)
        .map(ToString::to_string)
        .collect();
    let more = diagnostics.len().saturating_sub(3);
    if more > 0 {
        format!("{} (and {more} more)", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

#[cfg(test)]
mod tests;
