//! GraphQL types of attachments.

use async_graphql::{Context, ID, InputObject, Object, Upload};
use chrono::{DateTime, Utc};

use sea_orm::{ColumnTrait, QueryFilter, Select};
use uuid::Uuid;

use super::service::OwnerKind;
use crate::{
    entities::attachment,
    error::AppError,
    graphql::{context::ContextExt, ids, loaders::loader_error, per_parent::Children},
    principal::Principal,
    scope,
    storage::MAX_LINK_TTL_SECS,
    users::types::User,
};

/// The longest a download link may live.
const MAX_LINK_TTL: i32 = MAX_LINK_TTL_SECS as i32;

/// A file uploaded to a client, a policy or a claim: a photo, an expert's report, an invoice.
pub struct Attachment(pub attachment::Model);

#[Object]
impl Attachment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Attachment", self.0.id)
    }
    /// The name it was uploaded under (without any path), and downloads as.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Its media type, told by its content when it was uploaded (never by its name).
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
    /// What the file is, in the uploader's words ("Constat amiable", "Facture garage").
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    /// Who uploaded it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// A signed link that downloads the file without a token, valid `ttlSeconds` (at most 3600).
    /// It always downloads as a file (`Content-Disposition: attachment`), never shown inline.
    /// Absolute when the server knows its public address (`PUBLIC_BASE_URL`), else a path.
    async fn download_url(&self, ctx: &Context<'_>, #[graphql(default = 300)] ttl_seconds: i32) -> async_graphql::Result<String> {
        if !(1..=MAX_LINK_TTL).contains(&ttl_seconds) {
            return Err(AppError::invalid("ttlSeconds", format!("must be between 1 and {MAX_LINK_TTL}")).into());
        }
        let state = ctx.state();
        Ok(state.signer.url(state.settings.public_base_url.as_deref(), &self.0.id.to_string(), ttl_seconds as u64))
    }
}

/// A file to attach.
#[derive(InputObject)]
pub struct UploadAttachmentInput {
    /// The Client, Policy or Claim it belongs to (one the caller may write).
    pub owner_id: ID,
    /// The file (GraphQL multipart request): PDF, PNG, JPEG, GIF, WebP, HEIC, DOCX, XLSX, ODT, ODS or
    /// plain text, told by its content, at most `ATTACHMENT_MAX_BYTES`.
    pub file: Upload,
    /// What the file is, up to 200 characters.
    pub label: Option<String>,
}

/// Attachments listed under their owner (`Client.attachments`, `Policy.attachments`,
/// `Claim.attachments`): each owner's own, newest first (a claim's files are not its policy's).
pub struct AttachmentsOf;

impl Children for AttachmentsOf {
    type Entity = attachment::Entity;
    type Parent = OwnerKind;

    fn scoped(principal: &Principal) -> Select<attachment::Entity> {
        scope::attachments(principal)
    }
    fn column(parent: OwnerKind) -> attachment::Column {
        parent.column()
    }
    fn parent_of(row: &attachment::Model, parent: OwnerKind) -> Option<Uuid> {
        parent.key_of(row)
    }
    fn order_columns() -> (attachment::Column, attachment::Column) {
        (attachment::Column::CreatedAt, attachment::Column::Id)
    }
    fn of_parent(query: Select<attachment::Entity>, parent: OwnerKind) -> Select<attachment::Entity> {
        query.filter(attachment::Column::OwnerKind.eq(parent.as_str()))
    }
}
