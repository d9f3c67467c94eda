//! GraphQL types of the audit trail.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};

use crate::{
    graphql::{context::ContextExt, ids, loaders::loader_error},
    entities::audit_log,
    users::types::User,
};

/// One recorded action.
pub struct AuditLog(pub audit_log::Model);

#[Object]
impl AuditLog {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("AuditLog", self.0.id)
    }
    /// Who acted; null for the system or someone not signed in.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// What was done, e.g. `policy.create`, `auth.login_failed`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The type of the object acted on, e.g. `Policy`.
    async fn object_type(&self) -> Option<&str> {
        self.0.object_type.as_deref()
    }
    /// The global ID of the object acted on.
    async fn object_id(&self) -> Option<ID> {
        match (&self.0.object_type, self.0.object_id) {
            (Some(t), Some(id)) => Some(ids::encode(t, id)),
            _ => None,
        }
    }
    /// The API key used, when an integration acted.
    async fn api_key_id(&self) -> Option<ID> {
        self.0.api_key_id.map(|id| ids::encode("ApiKey", id))
    }
    /// The client's address.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// The `X-Request-ID` of the request, to find it in the logs.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// Details of the action (never passwords, tokens or secrets).
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(self.0.metadata.clone())
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Narrows the audit trail.
#[derive(InputObject, Default, Clone)]
pub struct AuditLogFilter {
    /// Exact action, e.g. `policy.create`.
    pub action: Option<String>,
    /// Exact object type, e.g. `Policy`.
    pub object_type: Option<String>,
    /// The object acted on.
    pub object_id: Option<ID>,
    /// Who acted.
    pub actor_id: Option<ID>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Case-insensitive text in the action, object type, IP, user agent or request ID.
    pub search: Option<String>,
}
