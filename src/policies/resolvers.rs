//! Policy queries and mutations, and the policy connection nested under companies and clients.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

use super::{
    service,
    types::{CreatePolicyInput, Policy, PolicyFilter, PolicyOrder, PolicyStatus, UpdatePolicyInput},
};
use serde_json::json;

use crate::{
    audit::service::Audited,
    context::ContextExt,
    ids,
    error::AppError,
    loaders::{loader_error, prefetch},
    pagination::{Conn, PageArgs, TotalCount, first_size, page_of, paginate},
};

pub use super::nested::{FirstPage, Parent};

/// A page of the policies the caller may read, optionally those of one parent (`Client.policies`,
/// `Company.policies`). A parent's plain first page goes through a DataLoader, so a page of parents
/// costs one statement for all their policies.
#[allow(clippy::too_many_arguments)]
pub async fn connection(
    ctx: &Context<'_>,
    parent: Option<(Parent, Uuid)>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    filter: Option<PolicyFilter>,
    order_by: Option<Vec<PolicyOrder>>,
) -> Result<Conn<Policy>> {
    let p = ctx.principal()?;
    let plain = after.is_none() && before.is_none() && last.is_none() && filter.is_none();
    if let (Some((parent, id)), true, None) = (parent, plain, order_by.as_ref().filter(|o| !o.is_empty())) {
        let take = first_size(first)?;
        let loaders = ctx.loaders()?;
        let mut rows = loaders
            .policy_pages
            .load_one(FirstPage { parent, id, take: take + 1 })
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let has_next = rows.len() as u64 > take;
        rows.truncate(take as usize);
        let counts = loaders.policy_counts.clone();
        let total = TotalCount::lazy(move || {
            let counts = counts.clone();
            async move {
                let n = counts.load_one((parent, id)).await.map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
                Ok(n.unwrap_or(0))
            }
        });
        return Ok(page_of(rows.into_iter().map(Policy).collect(), 0, false, has_next, total));
    }
    let mut q = service::list(p, filter, order_by)?;
    if let Some((parent, id)) = parent {
        q = q.filter(parent.column().eq(id));
    }
    let conn = paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before), Policy).await?;
    prefetch_parents(ctx, conn.edges.iter().map(|e| &e.node.0)).await?;
    Ok(conn)
}

/// When the page's nodes ask for their client or company, loads them all in one statement each.
async fn prefetch_parents<'a>(ctx: &Context<'_>, rows: impl Iterator<Item = &'a crate::entities::policy::Model>) -> Result<()> {
    let look = ctx.look_ahead();
    let wants = |field: &str| {
        look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists()
    };
    let (client, company) = (wants("client"), wants("company"));
    if !client && !company {
        return Ok(());
    }
    let loaders = ctx.loaders()?;
    let rows: Vec<_> = rows.collect();
    let clients = async {
        if client { prefetch(&loaders.clients, rows.iter().map(|r| r.client_id)).await } else { Ok(()) }
    };
    let companies = async {
        if company { prefetch(&loaders.companies, rows.iter().map(|r| r.company_id)).await } else { Ok(()) }
    };
    let (a, b) = futures_util::join!(clients, companies);
    a.and(b)
}

#[derive(Default)]
pub struct PolicyQuery;

#[Object]
impl PolicyQuery {
    /// The policies the caller may read: an AGENT's own clients', the organization's for everyone else.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::pagination::cost(first, last, child_complexity)")]
    async fn policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PolicyFilter>,
        order_by: Option<Vec<PolicyOrder>>,
    ) -> Result<Conn<Policy>> {
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

    /// Deletes a policy the caller may write. One that documents still refer to is a `CONFLICT`.
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
fn summary(m: &crate::entities::policy::Model) -> serde_json::Value {
    json!({"number": m.number, "status": m.status, "premiumCents": m.premium_cents, "currency": m.currency})
}
