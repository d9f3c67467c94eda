//! Organization queries.

use async_graphql::{Context, Object, Result};

use super::types::Organization;
use crate::{
    graphql::context::ContextExt,
    entities::organization,
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
