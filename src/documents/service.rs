//! Document logic: lists, deletion, purging orphans, and the data of a policy's document.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde_json::json;
use uuid::Uuid;

use super::types::{DocumentFilter, PurgeResult};
use crate::{
    audit::service as audit,
    principal::{Actor, Principal},
    entities::{attachment, document},
    error::{AppError, AppResult},
    graphql::ids,
    scope,
    state::AppState,
    storage::PurgeScope,
    text::{ilike, like_pattern},
};

pub fn list(principal: &Principal, filter: Option<DocumentFilter>) -> AppResult<Select<document::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::documents(principal);
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(ilike(document::Column::FileName, &like_pattern(s)));
    }
    if let Some(fmt) = f.format {
        q = q.filter(document::Column::Format.eq(fmt.as_str()));
    }
    if let Some(id) = &f.policy_id {
        q = q.filter(document::Column::PolicyId.eq(ids::decode_input(id, "Policy", "filter.policyId")?));
    }
    if let Some(id) = &f.client_id {
        q = q.filter(document::Column::ClientId.eq(ids::decode_input(id, "Client", "filter.clientId")?));
    }
    if let Some(id) = &f.job_id {
        q = q.filter(document::Column::JobId.eq(ids::decode_input(id, "Job", "filter.jobId")?));
    }
    if let Some(id) = &f.template_id {
        q = q.filter(document::Column::TemplateId.eq(ids::decode_input(id, "Template", "filter.templateId")?));
    }
    if let Some(from) = f.created_from {
        q = q.filter(document::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(document::Column::CreatedAt.lt(to));
    }
    Ok(q.order_by_desc(document::Column::CreatedAt).order_by_desc(document::Column::Id))
}

/// Deletes a document row the caller may read. Its stored file, shared by content with any identical
/// document, is left to `purgeOrphanFiles` (which spares recent files, so nothing being written is lost).
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<document::Model> {
    let d = scope::one(db, scope::documents(principal), document::Column::Id, id, "Document").await?;
    document::Entity::delete_by_id(d.id).exec(db).await?;
    Ok(d)
}

/// Removes stored files that no document or attachment refers to (older than an hour, so a document being written
/// keeps its file), and documents older than that whose file is gone. An ADMIN's purge covers
/// their organization's files and documents only; a SUPERADMIN's sweeps every organization (and the
/// files stored before keys carried their organization).
///
/// Files cannot be deleted in a transaction: they go first; then the documents whose file is gone
/// are removed together with the audit row, in one transaction. When the file half stops on an
/// error, the audit row still records what it had deleted (`"stopped": true`) before the error is
/// returned.
pub async fn purge_orphans(state: &AppState, principal: &Principal, actor: &Actor) -> AppResult<PurgeResult> {
    // Documents' and attachments' files are both kept: any row, of any organization, pointing into
    // the purged folder keeps its file.
    let prefix = (!principal.is_superadmin()).then(|| format!("org/{}/", principal.org_id));
    let mut documents = document::Entity::find().select_only().column(document::Column::StorageKey);
    let mut attachments = attachment::Entity::find().select_only().column(attachment::Column::StorageKey);
    if let Some(prefix) = &prefix {
        documents = documents.filter(document::Column::StorageKey.starts_with(prefix));
        attachments = attachments.filter(attachment::Column::StorageKey.starts_with(prefix));
    }
    let scope = if prefix.is_some() { PurgeScope::Organization(principal.org_id) } else { PurgeScope::Everything };
    let mut referenced: Vec<String> = documents.into_tuple().all(&state.db).await?;
    referenced.extend(attachments.into_tuple::<String>().all(&state.db).await?);
    let referenced: HashSet<String> = referenced.into_iter().collect();
    let (files, stopped) = match state.storage.purge_unreferenced_now(scope, &referenced).await {
        Ok(files) => (files, None),
        Err(stopped) => (stopped.done, Some(stopped.error)),
    };
    let mut gone = Vec::new();
    if stopped.is_none() {
        let cutoff = Utc::now() - chrono::Duration::hours(1);
        let mut q = document::Entity::find().filter(document::Column::CreatedAt.lt(cutoff));
        if !principal.is_superadmin() {
            q = q.filter(document::Column::OrganizationId.eq(principal.org_id));
        }
        for d in q.all(&state.db).await? {
            if !state.storage.exists(&d.storage_key).await.unwrap_or(true) {
                gone.push(d.id);
            }
        }
    }
    let txn = crate::db::begin(&state.db).await?;
    let documents_removed = match gone.is_empty() {
        true => 0,
        false => document::Entity::delete_many().filter(document::Column::Id.is_in(gone)).exec(&txn).await?.rows_affected,
    };
    let info = json!({
        "filesRemoved": files.deleted,
        "bytesFreed": files.bytes_freed,
        "documentsRemoved": documents_removed,
        "scope": if principal.is_superadmin() { "ALL" } else { "ORGANIZATION" },
        "stopped": stopped.is_some(),
    });
    audit::record(&txn, actor, "document.purge_orphans", None, info).await?;
    txn.commit().await?;
    if let Some(error) = stopped {
        return Err(AppError::Internal(anyhow::anyhow!("purging storage: {error}")));
    }
    Ok(PurgeResult { files_removed: files.deleted as i32, documents_removed: documents_removed as i32 })
}
