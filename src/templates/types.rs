//! GraphQL types of templates.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    companies::types::Company,
    graphql::{context::ContextExt, ids, loaders::loader_error, pagination::{Page, PageArgs, paginate}},
    entities::{company, template, template_company, template_version},
    error::{AppError, Diagnostic},
    users::types::User,
};

pub use crate::render::DocumentFormat;

/// What a template is about: one policy, one client, or many policies.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TemplateScope {
    /// One document per policy (certificates): data has `policy`, `client`, `company`.
    Policy,
    /// One document per client (statements): data has `client` and `policies`.
    Client,
    /// One document over many policies (bordereaux): data has `policies`, each with `policy`, `client`, `company`.
    Report,
}

impl TemplateScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateScope::Policy => "POLICY",
            TemplateScope::Client => "CLIENT",
            TemplateScope::Report => "REPORT",
        }
    }
    pub fn parse(text: &str) -> TemplateScope {
        match text {
            "CLIENT" => TemplateScope::Client,
            "REPORT" => TemplateScope::Report,
            _ => TemplateScope::Policy,
        }
    }
}

/// A document template. Its content lives in immutable, numbered versions.
pub struct Template(pub template::Model);

#[Object]
impl Template {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Template", self.0.id)
    }
    /// Unique in the organization.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the template is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The kind of file it produces.
    async fn format(&self) -> DocumentFormat {
        DocumentFormat::parse(&self.0.format)
    }
    /// What it is about.
    async fn scope(&self) -> TemplateScope {
        TemplateScope::parse(&self.0.scope)
    }
    /// False once archived: an archived template generates nothing.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// The version used for new documents (the newest).
    async fn current_version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TemplateVersion>> {
        let v = template_version::Entity::find()
            .filter(template_version::Column::TemplateId.eq(self.0.id))
            .filter(template_version::Column::Version.eq(self.0.current_version))
            .one(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(v.map(TemplateVersion))
    }
    /// Every version, newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<TemplateVersion>> {
        let q = template_version::Entity::find()
            .filter(template_version::Column::TemplateId.eq(self.0.id))
            .order_by_desc(template_version::Column::Version);
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), TemplateVersion).await?)
    }
    /// The companies whose policies it is offered for; empty means all.
    async fn companies(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Company>> {
        let ids: Vec<_> = template_company::Entity::find()
            .filter(template_company::Column::TemplateId.eq(self.0.id))
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)?
            .into_iter()
            .map(|tc| tc.company_id)
            .collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = company::Entity::find()
            .filter(company::Column::Id.is_in(ids))
            .order_by_asc(company::Column::Name)
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Company).collect())
    }
    /// Who created it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (a new version, companies, archiving).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One immutable version of a template's content.
pub struct TemplateVersion(pub template_version::Model);

#[Object]
impl TemplateVersion {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("TemplateVersion", self.0.id)
    }
    /// 1, 2, 3… in order of creation.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The template source (Typst markup, sheet spec JSON, or HTML).
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// SHA-256 of `content`, hex.
    async fn checksum(&self) -> &str {
        &self.0.checksum
    }
    /// What changed in this version.
    async fn changelog(&self) -> Option<&str> {
        self.0.changelog.as_deref()
    }
    /// Who wrote it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The images this version reads by name (kept from the previous version unless replaced).
    async fn assets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TemplateAsset>> {
        let rows = super::assets::of_version(&ctx.state().db, self.0.id).await?;
        Ok(rows.into_iter().map(TemplateAsset).collect())
    }
}

/// An image uploaded with a template version.
pub struct TemplateAsset(pub crate::entities::template_asset::Model);

#[Object]
impl TemplateAsset {
    /// The file name the template uses, e.g. `logo.png`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The type sniffed from its content (`image/png`, `image/svg+xml`…).
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the file, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
}

/// Creates a template with its first version (MANAGER and up). The content must compile.
#[derive(InputObject)]
pub struct CreateTemplateInput {
    pub name: String,
    pub description: Option<String>,
    pub format: DocumentFormat,
    #[graphql(default_with = "TemplateScope::Policy")]
    pub scope: TemplateScope,
    pub content: String,
    pub changelog: Option<String>,
    /// Offer it only for these companies' policies (default: all).
    pub company_ids: Option<Vec<ID>>,
    /// Images the template reads by file name (`image("logo.png")`), sent as a GraphQL multipart
    /// request: PNG, JPEG, GIF, WebP or SVG, each at most `UPLOAD_MAX_BYTES`.
    pub assets: Option<Vec<Upload>>,
}

/// Changes a template's name or description (content changes are new versions).
#[derive(InputObject)]
pub struct UpdateTemplateInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Narrows the list of templates.
#[derive(InputObject, Default)]
pub struct TemplateFilter {
    /// Case-insensitive text in the name or description.
    pub search: Option<String>,
    pub format: Option<DocumentFormat>,
    pub scope: Option<TemplateScope>,
    /// Default: active templates only; `false` lists archived ones.
    pub is_active: Option<bool>,
    /// Templates offered for this company's policies (bound to it, or to no company).
    pub company_id: Option<ID>,
}

/// Renders a template without storing anything (a template editor calls it on every keystroke).
#[derive(InputObject)]
pub struct PreviewTemplateInput {
    pub content: String,
    pub format: DocumentFormat,
    #[graphql(default_with = "TemplateScope::Policy")]
    pub scope: TemplateScope,
    /// Render with this policy's data (else `sampleData`, else built-in sample data).
    pub policy_id: Option<ID>,
    /// Data to render with, in the shape of the template's scope.
    pub sample_data: Option<Json<serde_json::Value>>,
    /// Render with this template's current assets (images), and `assets` on top.
    pub template_id: Option<ID>,
    /// Images for this preview only (multipart request), by file name.
    pub assets: Option<Vec<Upload>>,
}

/// The result of a preview.
#[derive(SimpleObject, Default)]
pub struct TemplatePreview {
    /// True when the template rendered.
    pub ok: bool,
    /// The PDF, base64 (PDF templates).
    pub pdf_base64: Option<String>,
    /// Each page as a PNG, base64 (PDF templates).
    pub png_pages: Vec<String>,
    /// The rendered HTML (HTML templates).
    pub html: Option<String>,
    /// The workbook, base64 (XLSX templates).
    pub xlsx_base64: Option<String>,
    /// What is wrong, when `ok` is false.
    pub diagnostics: Vec<Diagnostic>,
    /// Render time in milliseconds.
    pub elapsed_ms: f64,
}
