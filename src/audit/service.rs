//! Writing and querying audit rows.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, QueryOrder, Select, Set};
use serde_json::Value;
use uuid::Uuid;

use super::types::AuditLogFilter;
use crate::{
    principal::{Actor, Principal},
    entities::audit_log,
    error::{AppError, AppResult},
    graphql::ids,
    text::{ilike, like_pattern},
};

/// Keys never written to the trail, at any depth.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "hash"].iter().any(|s| k.contains(s))
}

/// The metadata with secrets removed.
pub fn scrub(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(k, _)| !is_secret(k)).map(|(k, value)| (k, scrub(value))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(scrub).collect()),
        other => other,
    }
}

/// Writes one audit row with `db`: pass the transaction of the change so both commit or neither.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    object: Option<(&str, Uuid)>,
    metadata: Value,
) -> AppResult<()> {
    let clip = |s: &Option<String>, n: usize| s.as_ref().map(|v| v.chars().take(n).collect::<String>());
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(actor.org_id),
        actor_id: Set(actor.user_id),
        api_key_id: Set(actor.api_key_id),
        action: Set(action.to_string()),
        object_type: Set(object.map(|(t, _)| t.to_string())),
        object_id: Set(object.map(|(_, id)| id)),
        ip: Set(clip(&actor.meta.ip, 64)),
        user_agent: Set(clip(&actor.meta.user_agent, 500)),
        request_id: Set(Some(actor.meta.request_id.clone()).filter(|s| !s.is_empty()).map(|s| s.chars().take(128).collect())),
        metadata: Set(scrub(metadata)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The audit rows the caller may read (their organization; every one for SUPERADMIN), filtered, newest first.
pub fn list(principal: &Principal, filter: Option<AuditLogFilter>) -> AppResult<Select<audit_log::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = sea_orm::EntityTrait::find();
    if !principal.is_superadmin() {
        q = QueryFilter::filter(q, audit_log::Column::OrganizationId.eq(principal.org_id));
    }
    let mut q: Select<audit_log::Entity> = q;
    if let Some(a) = f.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::Action.eq(a));
    }
    if let Some(t) = f.object_type.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::ObjectType.eq(t));
    }
    if let Some(id) = &f.object_id {
        let (_, key) = ids::decode_any(id).ok_or_else(|| AppError::invalid("filter.objectId", "not a valid ID"))?;
        q = q.filter(audit_log::Column::ObjectId.eq(key));
    }
    if let Some(id) = &f.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(ids::decode_input(id, "User", "filter.actorId")?));
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::Column::CreatedAt.lt(to));
    }
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(ilike(audit_log::Column::Action, &pat))
                .add(ilike(audit_log::Column::ObjectType, &pat))
                .add(ilike(audit_log::Column::Ip, &pat))
                .add(ilike(audit_log::Column::UserAgent, &pat))
                .add(ilike(audit_log::Column::RequestId, &pat)),
        );
    }
    Ok(q.order_by_desc(audit_log::Column::CreatedAt).order_by_desc(audit_log::Column::Id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn secrets_never_reach_the_trail() {
        let v = super::scrub(json!({"email": "a@b.co", "password": "x", "nested": {"newPassword": "y", "refreshToken": "z", "ok": 1}}));
        assert_eq!(v, json!({"email": "a@b.co", "nested": {"ok": 1}}));
    }
}

/// A transaction whose change commits together with its audit row.
pub struct Audited {
    txn: sea_orm::DatabaseTransaction,
    actor: Actor,
}

impl Audited {
    /// Begins a transaction for the caller of `ctx`.
    pub async fn begin(ctx: &async_graphql::Context<'_>) -> AppResult<Self> {
        use crate::graphql::context::ContextExt;
        let actor = ctx.actor()?;
        let txn = crate::db::begin(&ctx.state().db).await?;
        Ok(Audited { txn, actor })
    }

    /// The connection to make the change with.
    pub fn db(&self) -> &sea_orm::DatabaseTransaction {
        &self.txn
    }

    /// Records `action` on `object` and commits both.
    pub async fn commit(self, action: &str, object: Option<(&str, Uuid)>, metadata: Value) -> AppResult<()> {
        record(&self.txn, &self.actor, action, object, metadata).await?;
        self.txn.commit().await?;
        Ok(())
    }
}
