//! Attachment mutations (an attachment is read through its owner's `attachments` or `node`).

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    types::{Attachment, UploadAttachmentInput},
};
use crate::{
    audit::service::Audited,
    error::AppError,
    graphql::{context::ContextExt, ids},
};

#[derive(Default)]
pub struct AttachmentMutation;

#[Object]
impl AttachmentMutation {
    /// Attaches a file to a Client, Policy or Claim the caller may write (a GraphQL multipart
    /// request, with the `apollo-require-preflight` header). Its type is told by its content: PDF,
    /// PNG, JPEG, GIF, WebP, HEIC, DOCX, XLSX, ODT, ODS or plain text, else `BAD_USER_INPUT` on
    /// `input.file`, whatever its name; at most `ATTACHMENT_MAX_BYTES`.
    async fn upload_attachment(&self, ctx: &Context<'_>, input: UploadAttachmentInput) -> Result<Attachment> {
        let p = ctx.principal()?;
        let state = ctx.state();
        // Whose it is, before a byte of the file is read.
        let owner = service::owner(&state.db, p, &input.owner_id).await?;
        let upload = input.file.value(ctx).map_err(|_| AppError::invalid("input.file", "this upload is missing from the multipart request"))?;
        let new = service::store_file(state, &owner, upload, input.label.as_deref()).await?;
        // The file is stored first (no write transaction held while it streams); the owner is
        // read again with the row, and a file whose row never comes is left to the orphan purge.
        let tx = Audited::begin(ctx).await?;
        let owner = service::owner(tx.db(), p, &input.owner_id).await?;
        let row = service::insert(tx.db(), p, &owner, new).await?;
        let info = json!({
            "fileName": row.file_name, "mimeType": row.mime_type, "sizeBytes": row.size_bytes, "sha256": row.sha256,
            "ownerKind": row.owner_kind, "ownerId": owner.id,
        });
        tx.commit("attachment.upload", Some(("Attachment", row.id)), info).await?;
        Ok(Attachment(row))
    }

    /// Deletes an attachment of an owner the caller may write. Its stored file goes with the next
    /// `purgeOrphanFiles` unless another attachment has the same content.
    async fn delete_attachment(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Attachment")?;
        let tx = Audited::begin(ctx).await?;
        let row = service::delete(tx.db(), p, key).await?;
        tx.commit("attachment.delete", Some(("Attachment", row.id)), json!({"fileName": row.file_name, "sha256": row.sha256})).await?;
        Ok(true)
    }
}
