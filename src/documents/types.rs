//! GraphQL types of documents.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::{
    clients::types::Client,
    graphql::{context::ContextExt, ids, loaders::loader_error, per_parent::Children},
    entities::{document, job, template, template_version},
    error::AppError,
    jobs::types::Job,
    policies::types::Policy,
    principal::Principal,
    scope,
    templates::types::{DocumentFormat, Template, TemplateVersion},
    users::types::User,
};

/// The longest a download link may live.
pub const MAX_LINK_TTL: i32 = crate::storage::MAX_LINK_TTL_SECS as i32;

/// A generated file.
pub struct Document(pub crate::entities::document::Model);

#[Object]
impl Document {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Document", self.0.id)
    }
    /// The name it downloads as.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// PDF, XLSX or HTML.
    async fn format(&self) -> DocumentFormat {
        DocumentFormat::parse(&self.0.format)
    }
    /// Its media type, e.g. `application/pdf`.
    async fn mime_type(&self) -> &str {
        &self.0.mime_type
    }
    /// Its size as downloaded, in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    /// SHA-256 of the file as downloaded, hex.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// True when stored compressed (downloads are always the plain file).
    async fn compressed(&self) -> bool {
        self.0.compressed
    }
    /// True when stored encrypted (downloads are always the plain file).
    async fn encrypted(&self) -> bool {
        self.0.encrypted
    }
    /// The template it was made from.
    async fn template(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Template>> {
        let Some(id) = self.0.template_id else { return Ok(None) };
        let t = template::Entity::find_by_id(id).one(&ctx.state().db).await.map_err(AppError::from)?;
        Ok(t.map(Template))
    }
    /// The template version it was made from.
    async fn template_version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TemplateVersion>> {
        let Some(id) = self.0.template_version_id else { return Ok(None) };
        let v = template_version::Entity::find_by_id(id).one(&ctx.state().db).await.map_err(AppError::from)?;
        Ok(v.map(TemplateVersion))
    }
    /// The policy it is about (POLICY templates).
    async fn policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        let Some(id) = self.0.policy_id else { return Ok(None) };
        Ok(ctx.loaders()?.policies.load_one(id).await.map_err(loader_error)?.map(Policy))
    }
    /// The client it is about.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Client>> {
        let Some(id) = self.0.client_id else { return Ok(None) };
        Ok(ctx.loaders()?.clients.load_one(id).await.map_err(loader_error)?.map(Client))
    }
    /// The job that made it.
    async fn job(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Job>> {
        let Some(id) = self.0.job_id else { return Ok(None) };
        let p = ctx.principal()?;
        let row = scope::jobs(p).filter(job::Column::Id.eq(id)).one(&ctx.state().db).await.map_err(AppError::from)?;
        Ok(row.map(Job))
    }
    /// Who asked for it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// A signed link that downloads the file without a token, valid `ttlSeconds` (at most 3600).
    /// Absolute when the server knows its public address (`PUBLIC_BASE_URL`), else a path.
    async fn download_url(&self, ctx: &Context<'_>, #[graphql(default = 300)] ttl_seconds: i32) -> async_graphql::Result<String> {
        if !(1..=MAX_LINK_TTL).contains(&ttl_seconds) {
            return Err(AppError::invalid("ttlSeconds", format!("must be between 1 and {MAX_LINK_TTL}")).into());
        }
        let state = ctx.state();
        Ok(state.signer.url(state.settings.public_base_url.as_deref(), &self.0.id.to_string(), ttl_seconds as u64))
    }
}

/// Which list of documents hangs from a parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentParent {
    Policy,
    Client,
}

/// Documents listed under the policy or client they were made for (`Policy.documents`,
/// `Client.documents`), newest first.
pub struct DocumentsOf;

impl Children for DocumentsOf {
    type Entity = document::Entity;
    type Parent = DocumentParent;

    fn scoped(principal: &Principal) -> Select<document::Entity> {
        scope::documents(principal)
    }
    fn column(parent: DocumentParent) -> document::Column {
        match parent {
            DocumentParent::Policy => document::Column::PolicyId,
            DocumentParent::Client => document::Column::ClientId,
        }
    }
    fn parent_of(row: &document::Model, parent: DocumentParent) -> Option<Uuid> {
        match parent {
            DocumentParent::Policy => row.policy_id,
            DocumentParent::Client => row.client_id,
        }
    }
    fn order_columns() -> (document::Column, document::Column) {
        (document::Column::CreatedAt, document::Column::Id)
    }
}

/// Narrows the list of documents.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    /// Case-insensitive text in the file name.
    pub search: Option<String>,
    pub format: Option<DocumentFormat>,
    pub policy_id: Option<ID>,
    pub client_id: Option<ID>,
    pub job_id: Option<ID>,
    pub template_id: Option<ID>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// What `purgeOrphanFiles` removed.
#[derive(SimpleObject, Default)]
pub struct PurgeResult {
    /// Stored files no document referred to.
    pub files_removed: i32,
    /// Documents whose stored file was gone.
    pub documents_removed: i32,
}
