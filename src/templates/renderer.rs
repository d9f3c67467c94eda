//! The renderer the rest of the service uses: formats and scopes in, bytes or diagnostics out.
//! PDF and HTML templates run in the sandboxed child-process pool of `render`; XLSX specs are data
//! and render in-process (on a blocking thread).

use std::time::Instant;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::Value;

use super::{
    render_data,
    report_row::ReportRow,
    types::{DocumentFormat, TemplatePreview, TemplateScope},
};
use crate::{
    error::{AppError, AppResult, Diagnostic},
    render::{RenderError, RenderPool, RenderRequest, Rendered, Tenant, xlsx},
    state::AppState,
};

/// Why a render failed.
pub enum RenderFailure {
    /// The template's fault (does not compile, loops, too slow or too big): shown to the user.
    Template(Vec<Diagnostic>),
    /// Ours: logged, and the item may be retried.
    Internal(String),
}

impl From<RenderError> for RenderFailure {
    fn from(error: RenderError) -> Self {
        match error {
            RenderError::Template(diagnostics) => RenderFailure::Template(diagnostics),
            RenderError::Internal(m) => RenderFailure::Internal(m),
        }
    }
}

/// A template version's files by name (`logo.png`), shared between the items of a job.
pub type Assets = std::sync::Arc<std::collections::HashMap<String, Vec<u8>>>;

/// The render pool seen through templates: formats and scopes in, bytes or diagnostics out.
pub struct Renderer<'a> {
    pool: &'a RenderPool,
    /// Whose renders these are: they use that organization's share of the pool.
    organization: Tenant,
}

impl<'a> Renderer<'a> {
    /// The renderer over the process's render pool, for one organization's renders.
    pub fn of(state: &'a AppState, organization: uuid::Uuid) -> Self {
        Renderer { pool: &state.render_pool, organization }
    }

    fn request(&self, content: &str, data: Value, assets: &Assets) -> RenderRequest {
        let mut request = RenderRequest::new(content, data).for_tenant(self.organization);
        request.assets = (**assets).clone();
        request
    }

    /// Renders a document. For REPORT scope `data.policies` holds the rows; `assets` are the
    /// files a Typst template may read besides `/data.json` (its images, by name).
    pub async fn render(
        &self,
        format: DocumentFormat,
        scope: TemplateScope,
        content: &str,
        assets: &Assets,
        data: Value,
    ) -> Result<Rendered, RenderFailure> {
        match format {
            DocumentFormat::Pdf => Ok(self.pool.render_pdf(&self.request(content, data, assets)).await?),
            DocumentFormat::Html => {
                let request = RenderRequest::new(content, data).for_tenant(self.organization);
                Ok(self.pool.render_html(&request).await?)
            }
            DocumentFormat::Xlsx => {
                let content = content.to_string();
                let bytes = tokio::task::spawn_blocking(move || {
                    let spec = xlsx::SheetSpec::parse(&content)?;
                    if scope == TemplateScope::Report {
                        let rows = match data.get("policies") {
                            Some(Value::Array(rows)) => rows.clone(),
                            _ => Vec::new(),
                        };
                        xlsx::render_rows(&spec, rows.into_iter())
                    } else {
                        xlsx::render_fields(&spec, &data)
                    }
                })
                .await
                .map_err(|e| RenderFailure::Internal(format!("xlsx task: {e}")))??;
                Ok(Rendered::new(DocumentFormat::Xlsx, bytes))
            }
        }
    }

    /// A REPORT-scope workbook from rows as they arrive: the sheet writer runs on a blocking
    /// thread in constant-memory mode and pulls each row from the channel, so a report never
    /// holds its whole list. Dropping `rows` early (a bad spec) stops the sender.
    pub async fn render_xlsx_rows(&self, content: &str, mut pages: tokio::sync::mpsc::Receiver<Vec<ReportRow>>) -> Result<Rendered, RenderFailure> {
        let content = content.to_string();
        let bytes = tokio::task::spawn_blocking(move || {
            let spec = xlsx::SheetSpec::parse(&content)?;
            xlsx::render_rows(&spec, std::iter::from_fn(|| pages.blocking_recv()).flatten())
        })
        .await
        .map_err(|e| RenderFailure::Internal(format!("xlsx task: {e}")))??;
        Ok(Rendered::new(DocumentFormat::Xlsx, bytes))
    }

    /// Checks content by rendering it with sample data: `BAD_USER_INPUT` with diagnostics if it fails.
    pub async fn check(&self, format: DocumentFormat, scope: TemplateScope, content: &str, assets: &Assets, field: &str) -> AppResult<()> {
        match self.render(format, scope, content, assets, render_data::sample(scope.as_str())).await {
            Ok(_) => Ok(()),
            Err(RenderFailure::Template(diagnostics)) => Err(AppError::InvalidTemplate {
                message: "the template does not render with sample data".into(),
                field: field.to_string(),
                diagnostics,
            }),
            Err(RenderFailure::Internal(m)) => Err(AppError::Internal(anyhow::anyhow!(m))),
        }
    }

    /// Renders without storing: PDF with PNG pages, HTML text, or the workbook; problems as diagnostics.
    pub async fn preview(
        &self,
        format: DocumentFormat,
        scope: TemplateScope,
        content: &str,
        assets: &Assets,
        data: Value,
    ) -> AppResult<TemplatePreview> {
        let started = Instant::now();
        let mut out = TemplatePreview::default();
        let result: Result<(), RenderFailure> = match format {
            DocumentFormat::Pdf => match self.pool.preview(&self.request(content, data, assets)).await {
                Ok(p) => {
                    out.pdf_base64 = Some(STANDARD.encode(&p.pdf));
                    out.png_pages = p.png_pages.iter().map(|png| STANDARD.encode(png)).collect();
                    Ok(())
                }
                Err(e) => Err(e.into()),
            },
            DocumentFormat::Html => self.render(format, scope, content, assets, data).await.map(|r| {
                out.html = Some(String::from_utf8_lossy(&r.bytes).into_owned());
            }),
            DocumentFormat::Xlsx => self.render(format, scope, content, assets, data).await.map(|r| {
                out.xlsx_base64 = Some(STANDARD.encode(&r.bytes));
            }),
        };
        match result {
            Ok(()) => out.ok = true,
            Err(RenderFailure::Template(d)) => out.diagnostics = d,
            Err(RenderFailure::Internal(m)) => return Err(AppError::Internal(anyhow::anyhow!(m))),
        }
        out.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(out)
    }
}
