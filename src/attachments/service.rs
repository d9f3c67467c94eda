//! Attachment logic: whose an attachment is (one function over every owner type), the checks
//! of an upload, storing its file, its row, and deletion.

use async_graphql::{ID, UploadValue};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::inspect::{self, ACCEPTED};
use crate::{
    entities::{attachment, claim, client, policy},
    error::{AppError, AppResult},
    graphql::{ids, validation::optional_text},
    principal::Principal,
    scope,
    state::AppState,
    storage::Stored,
};

const LABEL_MAX: usize = 200;
const FILE: &str = "input.file";
const OWNER: &str = "input.ownerId";

/// What an attachment belongs to; `attachments.owner_kind` holds [`OwnerKind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OwnerKind {
    Client,
    Policy,
    Claim,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Client => "CLIENT",
            OwnerKind::Policy => "POLICY",
            OwnerKind::Claim => "CLAIM",
        }
    }

    /// The column naming an owner of this kind.
    pub fn column(self) -> attachment::Column {
        match self {
            OwnerKind::Client => attachment::Column::ClientId,
            OwnerKind::Policy => attachment::Column::PolicyId,
            OwnerKind::Claim => attachment::Column::ClaimId,
        }
    }

    /// The owner of `row` when it is of this kind.
    pub fn key_of(self, row: &attachment::Model) -> Option<Uuid> {
        match self {
            OwnerKind::Client => Some(row.client_id),
            OwnerKind::Policy => row.policy_id,
            OwnerKind::Claim => row.claim_id,
        }
    }
}

/// The owner of a new attachment, with the columns its row gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The owner's client: it scopes an AGENT's reads.
    pub client_id: Uuid,
    pub policy_id: Option<Uuid>,
    pub claim_id: Option<Uuid>,
}

/// The owner `id` names, one the caller may write: the one place that knows which types can own
/// an attachment. Outside the caller's reach (another organization, another agent's client) it is
/// `NOT_FOUND`; an ID of another type is `BAD_USER_INPUT` on `input.ownerId`.
pub async fn owner(db: &impl ConnectionTrait, principal: &Principal, id: &ID) -> AppResult<Owner> {
    let (kind, key) = ids::decode_any(id).ok_or_else(|| AppError::invalid(OWNER, "not a valid Client, Policy or Claim ID"))?;
    match kind.as_str() {
        "Client" => {
            let row = scope::one(db, scope::clients(principal), client::Column::Id, key, "Client").await?;
            Ok(Owner { kind: OwnerKind::Client, id: row.id, organization_id: row.organization_id, client_id: row.id, policy_id: None, claim_id: None })
        }
        "Policy" => {
            let row = scope::one(db, scope::policies(principal), policy::Column::Id, key, "Policy").await?;
            Ok(Owner {
                kind: OwnerKind::Policy,
                id: row.id,
                organization_id: row.organization_id,
                client_id: row.client_id,
                policy_id: Some(row.id),
                claim_id: None,
            })
        }
        "Claim" => {
            let row = scope::one(db, scope::claims(principal), claim::Column::Id, key, "Claim").await?;
            Ok(Owner {
                kind: OwnerKind::Claim,
                id: row.id,
                organization_id: row.organization_id,
                client_id: row.client_id,
                policy_id: Some(row.policy_id),
                claim_id: Some(row.id),
            })
        }
        _ => Err(AppError::invalid(OWNER, "an attachment belongs to a Client, a Policy or a Claim")),
    }
}

/// A checked and stored file, its row not yet written.
pub struct NewAttachment {
    pub file_name: String,
    pub mime_type: &'static str,
    pub label: Option<String>,
    pub stored: Stored,
}

/// Checks the upload (size, type by content, name) and streams its file to storage under the
/// owner's organization. Nothing is stored when a check fails.
pub async fn store_file(state: &AppState, owner: &Owner, upload: UploadValue, label: Option<&str>) -> AppResult<NewAttachment> {
    let label = optional_text(label, "input.label", LABEL_MAX)?;
    let max = state.settings.attachment_max_bytes as u64;
    let file_name = inspect::file_name(&upload.filename);
    let mut file = upload.content;
    let size = file.metadata().map_err(|e| AppError::Internal(anyhow::anyhow!("reading an upload: {e}")))?.len();
    if size == 0 {
        return Err(AppError::invalid(FILE, format!("{file_name} is empty")));
    }
    if size > max {
        return Err(AppError::invalid(FILE, format!("{file_name} is over {max} bytes (ATTACHMENT_MAX_BYTES)")));
    }
    let (kind, file) = tokio::task::spawn_blocking(move || inspect::inspect(&mut file).map(|kind| (kind, file)))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading an upload: {e}")))?;
    let kind = kind.map_err(|why| AppError::invalid(FILE, format!("{file_name}: {why}; accepted are {ACCEPTED}")))?;
    let stored = state
        .storage
        .put_file(owner.organization_id, file, kind.compressible)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("storing an attachment: {e}")))?;
    Ok(NewAttachment { file_name, mime_type: kind.mime, label, stored })
}

/// Writes the row of a stored attachment.
pub async fn insert(db: &impl ConnectionTrait, principal: &Principal, owner: &Owner, new: NewAttachment) -> AppResult<attachment::Model> {
    let stored = new.stored;
    let row = attachment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(owner.organization_id),
        owner_kind: Set(owner.kind.as_str().to_string()),
        client_id: Set(owner.client_id),
        policy_id: Set(owner.policy_id),
        claim_id: Set(owner.claim_id),
        file_name: Set(new.file_name),
        mime_type: Set(new.mime_type.to_string()),
        size_bytes: Set(stored.size_bytes as i64),
        sha256: Set(stored.sha256),
        label: Set(new.label),
        storage_key: Set(stored.key),
        stored_bytes: Set(stored.stored_bytes as i64),
        compressed: Set(stored.compressed),
        encrypted: Set(stored.encrypted),
        kid: Set(stored.kid),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(Utc::now()),
    };
    Ok(row.insert(db).await?)
}

/// Deletes an attachment the caller may write. Its stored file, shared by content with any
/// identical file of the organization, is left to `purgeOrphanFiles` (as documents' are).
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<attachment::Model> {
    let row = scope::one(db, scope::attachments(principal), attachment::Column::Id, id, "Attachment").await?;
    attachment::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(row)
}
