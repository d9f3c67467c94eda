//! Document logic: lists, deletion, purging orphans, and the data of a policy's document.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use super::types::{DocumentFilter, PurgeResult};
use crate::{
    principal::Principal,
    entities::document,
    error::{AppError, AppResult},
    graphql::ids,
    scope,
    state::AppState,
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

/// Removes stored files that no document refers to (older than an hour, so a document being written
/// keeps its file), and documents older than that whose file is gone.
pub async fn purge_orphans(state: &AppState, principal: &Principal) -> AppResult<PurgeResult> {
    let keys: Vec<String> = document::Entity::find()
        .select_only()
        .column(document::Column::StorageKey)
        .into_tuple()
        .all(&state.db)
        .await?;
    let referenced: HashSet<String> = keys.into_iter().collect();
    let files = state.storage.purge_unreferenced_now(&referenced).await.map_err(|e| AppError::Internal(anyhow::anyhow!("purging storage: {e}")))?;
    let mut result = PurgeResult { files_removed: files.deleted as i32, documents_removed: 0 };
    let cutoff = Utc::now() - chrono::Duration::hours(1);
    let mut q = document::Entity::find().filter(document::Column::CreatedAt.lt(cutoff));
    if !principal.is_superadmin() {
        q = q.filter(document::Column::OrganizationId.eq(principal.org_id));
    }
    for d in q.all(&state.db).await? {
        if !state.storage.exists(&d.storage_key).await.unwrap_or(true) {
            document::Entity::delete_by_id(d.id).exec(&state.db).await?;
            result.documents_removed += 1;
        }
    }
    Ok(result)
}
