//! Organization queries and mutations.

use async_graphql::{Context, Object, Result};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use super::{
    timezone,
    types::{Organization, UpdateOrganizationInput},
};
use crate::{
    audit::service::Audited,
    entities::organization,
    graphql::{context::ContextExt, validation::required_text},
    principal::Role,
    scope,
};

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The caller's organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let p = ctx.principal()?;
        let org = scope::one(&ctx.state().db, scope::organizations(p), organization::Column::Id, p.org_id, "Organization").await?;
        Ok(Organization(org))
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Changes the caller's organization: its name or its time zone (ADMIN).
    async fn update_organization(&self, ctx: &Context<'_>, input: UpdateOrganizationInput) -> Result<Organization> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let tx = Audited::begin(ctx).await?;
        let org = scope::one(tx.db(), scope::organizations(p), organization::Column::Id, p.org_id, "Organization").await?;
        let mut row: organization::ActiveModel = org.into();
        if let Some(name) = &input.name {
            row.name = Set(required_text(name, "input.name", 200)?);
        }
        if let Some(zone) = &input.timezone {
            row.timezone = Set(timezone::parse(zone, "input.timezone")?.name().to_string());
        }
        let saved = row.update(tx.db()).await.map_err(crate::error::AppError::from)?;
        tx.commit("organization.update", Some(("Organization", saved.id)), json!({"name": saved.name, "timezone": saved.timezone})).await?;
        Ok(Organization(saved))
    }
}
