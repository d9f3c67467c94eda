//! Claim queries and mutations.

use async_graphql::{Context, ID, Object, Result};
use rust_decimal::Decimal;
use serde_json::json;

use super::{
    service,
    types::{Claim, ClaimFilter, ClaimStatus, CreateClaimInput, UpdateClaimInput},
};
use crate::{
    audit::service::Audited,
    entities::claim,
    graphql::{
        context::ContextExt,
        ids,
        pagination::{Page, PageArgs, paginate},
    },
};

#[derive(Default)]
pub struct ClaimQuery;

#[Object]
impl ClaimQuery {
    /// The claims the caller may read (an AGENT's own clients', the organization's for everyone
    /// else), declared newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClaimFilter>,
    ) -> Result<Page<Claim>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Claim).await?)
    }

    /// One claim by ID (`NOT_FOUND` when the caller may not read it).
    async fn claim(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Claim>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Claim")?;
        Ok(Some(Claim(service::get(&ctx.state().db, p, key).await?)))
    }
}

#[derive(Default)]
pub struct ClaimMutation;

#[Object]
impl ClaimMutation {
    /// Declares a claim on a policy the caller may write. It is numbered `CLM-<year>-<5 digits>`
    /// (in order, per organization and year) and starts `REPORTED`. The incident must fall within
    /// the policy's dates and not in the future (`BAD_USER_INPUT` on `input.incidentDate`).
    async fn create_claim(&self, ctx: &Context<'_>, input: CreateClaimInput) -> Result<Claim> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let row = service::create(tx.db(), p, input).await?;
        tx.commit("claim.create", Some(("Claim", row.id)), summary(&row)).await?;
        Ok(Claim(row))
    }

    /// Changes a claim's description, insurer reference or amount claimed (not once `CLOSED`).
    async fn update_claim(&self, ctx: &Context<'_>, input: UpdateClaimInput) -> Result<Claim> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let row = service::update(tx.db(), p, input).await?;
        tx.commit("claim.update", Some(("Claim", row.id)), summary(&row)).await?;
        Ok(Claim(row))
    }

    /// Moves a claim along its status machine and records the event (`note` kept with it):
    /// REPORTED → SUBMITTED → UNDER_REVIEW → APPROVED | REJECTED; APPROVED → SETTLED (with
    /// `amountSettled`); SETTLED | REJECTED → CLOSED. Any other move is `BAD_USER_INPUT`.
    async fn set_claim_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: ClaimStatus,
        note: Option<String>,
        amount_settled: Option<Decimal>,
    ) -> Result<Claim> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Claim")?;
        let tx = Audited::begin(ctx).await?;
        let row = service::set_status(tx.db(), p, key, status, note, amount_settled).await?;
        tx.commit("claim.set_status", Some(("Claim", row.id)), summary(&row)).await?;
        Ok(Claim(row))
    }
}

/// What the audit trail keeps of a claim write.
fn summary(row: &claim::Model) -> serde_json::Value {
    json!({
        "number": row.number,
        "status": row.status,
        "amountClaimed": crate::currency::Money::to_decimal(row.amount_claimed_minor, &row.currency).to_string(),
        "amountSettled": row.amount_settled_minor.map(|minor| crate::currency::Money::to_decimal(minor, &row.currency).to_string()),
        "currency": row.currency,
    })
}
