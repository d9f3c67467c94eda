//! Policy queries and mutations, and the policy connection nested under companies and clients.

use async_graphql::{Context, ID, Object, Result};

use super::{
    connection::connection,
    service,
    types::{CreatePolicyInput, Policy, PolicyFilter, PolicyOrder, PolicyStatus, RenewPolicyInput, UpdatePolicyInput},
};
use serde_json::json;

use crate::graphql::direct::Direct;
use crate::{
    audit::service::Audited,
    graphql::{context::ContextExt, ids, pagination::Page},
};


#[derive(Default)]
pub struct PolicyQuery;

#[Object]
impl PolicyQuery {
    /// The policies the caller may read: an AGENT's own clients', the organization's for everyone else.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PolicyFilter>,
        order_by: Option<Vec<PolicyOrder>>,
    ) -> Result<Page<Direct<Policy>>> {
        connection(ctx, None, first, after, last, before, filter, order_by).await
    }

    /// One policy by ID (`NOT_FOUND` when the caller may not read it).
    async fn policy(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Policy>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Policy")?;
        Ok(Some(Policy(service::get(&ctx.state().db, p, key).await?)))
    }

    /// One policy by its number (`NOT_FOUND` when the caller may read none with that number).
    async fn policy_by_number(&self, ctx: &Context<'_>, number: String) -> Result<Option<Policy>> {
        let p = ctx.principal()?;
        Ok(Some(Policy(service::by_number(&ctx.state().db, p, &number).await?)))
    }
}

#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    /// Creates a policy for a client the caller may write, with an insurer of the client's organization.
    /// It starts as `DRAFT` (default) or `ACTIVE`. A number already used in the organization is a `CONFLICT`.
    async fn create_policy(&self, ctx: &Context<'_>, input: CreatePolicyInput) -> Result<Policy> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let m = service::create(tx.db(), p, input).await?;
        tx.commit("policy.create", Some(("Policy", m.id)), summary(&m)).await?;
        Ok(Policy(m))
    }

    /// Changes a policy the caller may write; a status change must follow the life cycle.
    async fn update_policy(&self, ctx: &Context<'_>, input: UpdatePolicyInput) -> Result<Policy> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let m = service::update(tx.db(), p, input).await?;
        tx.commit("policy.update", Some(("Policy", m.id)), summary(&m)).await?;
        Ok(Policy(m))
    }

    /// Moves a policy along its life cycle: DRAFT → ACTIVE | CANCELLED; ACTIVE → SUSPENDED | CANCELLED | EXPIRED;
    /// SUSPENDED → ACTIVE | CANCELLED | EXPIRED. CANCELLED and EXPIRED are final; the same status changes nothing.
    async fn set_policy_status(&self, ctx: &Context<'_>, id: ID, status: PolicyStatus) -> Result<Policy> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Policy")?;
        let tx = Audited::begin(ctx).await?;
        let m = service::set_status(tx.db(), p, key, status).await?;
        tx.commit("policy.set_status", Some(("Policy", m.id)), json!({"number": m.number, "status": m.status})).await?;
        Ok(Policy(m))
    }

    /// Renews a policy the caller may write (ACTIVE, SUSPENDED or EXPIRED) into a new policy for the
    /// same client, by default from the day after its expiry for as many days, with the same premium
    /// and insurer, as a `DRAFT`. A policy is renewed once: a second renewal is a `CONFLICT`.
    async fn renew_policy(&self, ctx: &Context<'_>, input: RenewPolicyInput) -> Result<Policy> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let m = super::renewal::renew(tx.db(), p, input).await?;
        let mut metadata = summary(&m);
        metadata["previousPolicyId"] = json!(m.previous_policy_id);
        tx.commit("policy.renew", Some(("Policy", m.id)), metadata).await?;
        Ok(Policy(m))
    }

    /// Deletes a policy the caller may write. One with claims, or that documents still refer to, is a `CONFLICT`.
    async fn delete_policy(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Policy")?;
        let tx = Audited::begin(ctx).await?;
        service::delete(tx.db(), p, key).await?;
        tx.commit("policy.delete", Some(("Policy", key)), json!({})).await?;
        Ok(true)
    }
}

/// What the audit trail keeps of a policy write.
fn summary(policy_row: &crate::entities::policy::Model) -> serde_json::Value {
    json!({"number": policy_row.number, "status": policy_row.status, "premium": crate::currency::Money::to_decimal(policy_row.premium_minor, &policy_row.currency).to_string(), "currency": policy_row.currency})
}
