//! `setCompanyIntegration` (ADMIN).

use async_graphql::{Context, Object, Result};
use serde_json::json;

use super::{
    service::{self, Done},
    types::SetCompanyIntegrationInput,
};
use crate::{
    audit::service::Audited,
    companies::types::Company,
    entities::company,
    graphql::{context::ContextExt, ids},
    principal::Role,
    scope,
};

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Sets an insurer's signed-webhook integration (ADMIN only): its `endpoint` and `secret`
    /// (kept encrypted, never shown again; null keeps the current one). `endpoint: null` removes
    /// the integration. An endpoint that is not a URL, not `https://` in production, or that
    /// resolves to a loopback, private or link-local address is `BAD_USER_INPUT` on `input.endpoint`.
    async fn set_company_integration(&self, ctx: &Context<'_>, input: SetCompanyIntegrationInput) -> Result<Company> {
        let principal = ctx.principal()?;
        principal.require(Role::Admin)?;
        let state = ctx.state();
        let company_id = ids::decode(&input.company_id, "Company")?;
        // Another organization's company is NOT_FOUND before anything about the input is said.
        scope::one(&state.db, scope::companies(principal), company::Column::Id, company_id, "Company").await?;
        let change = service::prepare(&state.settings, company_id, &input).await?;
        let tx = Audited::begin(ctx).await?;
        let (company, done) = service::apply(tx.db(), principal, company_id, change).await?;
        // The audit trail keeps the endpoint without its query string (a token may be there).
        let endpoint = input.endpoint.as_deref().map(str::trim).map(super::endpoint::without_query);
        let (action, metadata) = match done {
            Done::Created => ("company.integration.create", json!({"endpoint": endpoint})),
            Done::Updated { new_secret } => ("company.integration.update", json!({"endpoint": endpoint, "rotated": new_secret})),
            Done::Removed | Done::Nothing => ("company.integration.remove", json!({})),
        };
        tx.commit(action, Some(("Company", company.id)), metadata).await?;
        Ok(Company(company))
    }
}
