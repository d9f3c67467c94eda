//! API-key queries and mutations (ADMIN).

use async_graphql::{Context, ID, Object, Result};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{
    service,
    types::{ApiKey, CreateApiKeyInput, CreateApiKeyPayload},
};
use crate::{
    audit::service as audit,
    principal::Role,
    graphql::{context::ContextExt, ids},
    entities::api_key,
    error::AppError,
};

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The organization's API keys, newest first, revoked ones included (ADMIN).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let rows = api_key::Entity::find()
            .filter(api_key::Column::OrganizationId.eq(p.org_id))
            .order_by_desc(api_key::Column::CreatedAt)
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(ApiKey).collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key (ADMIN). The secret is in this answer only.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> Result<CreateApiKeyPayload> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let txn = crate::db::begin(&ctx.state().db).await.map_err(AppError::from)?;
        let (key, secret) = service::create(&txn, p, input).await?;
        let meta = json!({"name": key.name, "prefix": key.prefix, "scopes": key.scopes});
        audit::record(&txn, &ctx.actor()?, "api_key.create", Some(("ApiKey", key.id)), meta).await?;
        txn.commit().await.map_err(AppError::from)?;
        Ok(CreateApiKeyPayload { api_key: ApiKey(key), secret })
    }

    /// Revokes an API key (ADMIN); it stops working at once.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let key = ids::decode(&id, "ApiKey")?;
        let txn = crate::db::begin(&ctx.state().db).await.map_err(AppError::from)?;
        let revoked = service::revoke(&txn, p, key).await?;
        audit::record(&txn, &ctx.actor()?, "api_key.revoke", Some(("ApiKey", revoked.id)), json!({"name": revoked.name})).await?;
        txn.commit().await.map_err(AppError::from)?;
        service::forget(ctx.state(), &revoked).await;
        Ok(true)
    }
}
