//! Instalment and payment mutations (reading them goes through `Policy` and `node`).

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    types::{Payment, RecordPaymentInput, SetInstalmentPlanInput},
};
use crate::{
    audit::service::Audited,
    currency::Money,
    entities::payment,
    graphql::{context::ContextExt, ids},
    policies::types::Policy,
};

#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Splits a policy's premium into 1 to 120 instalments on distinct days whose amounts sum
    /// exactly to the premium (else `BAD_USER_INPUT` on `input.instalments`). It replaces the
    /// previous plan (or the default single instalment); what is already paid is allocated to the
    /// new instalments, oldest first.
    async fn set_instalment_plan(&self, ctx: &Context<'_>, input: SetInstalmentPlanInput) -> Result<Policy> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let (row, plan) = service::set_plan(tx.db(), p, input).await?;
        let plan: Vec<serde_json::Value> = plan
            .iter()
            .map(|item| json!({"dueDate": item.due_date, "amount": Money::to_decimal(item.amount_minor, &row.currency).to_string()}))
            .collect();
        tx.commit("policy.set_instalment_plan", Some(("Policy", row.id)), json!({"number": row.number, "instalments": plan})).await?;
        Ok(Policy(row))
    }

    /// Records money received on a policy, allocated to its oldest instalment first. More than
    /// the policy's balance is `BAD_USER_INPUT` on `input.amount` (and nothing is written).
    async fn record_payment(&self, ctx: &Context<'_>, input: RecordPaymentInput) -> Result<Payment> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let row = service::record(tx.db(), p, input).await?;
        tx.commit("payment.record", Some(("Payment", row.id)), summary(&row)).await?;
        Ok(Payment(row))
    }

    /// Reverses a payment (a mistake, a bounced cheque): it stays listed with `reversedAt` and no
    /// longer counts, and the instalments are allocated again. A payment is reversed once:
    /// reversing it again is a `CONFLICT`.
    async fn reverse_payment(&self, ctx: &Context<'_>, id: ID) -> Result<Payment> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Payment")?;
        let tx = Audited::begin(ctx).await?;
        let row = service::reverse(tx.db(), p, key).await?;
        tx.commit("payment.reverse", Some(("Payment", row.id)), summary(&row)).await?;
        Ok(Payment(row))
    }
}

/// What the audit trail keeps of a payment write.
fn summary(row: &payment::Model) -> serde_json::Value {
    json!({
        "policyId": ids::encode("Policy", row.policy_id).0,
        "amount": Money::to_decimal(row.amount_minor, &row.currency).to_string(),
        "currency": row.currency,
        "method": row.method,
        "reference": row.reference,
        "paidAt": row.paid_at,
        "reversedAt": row.reversed_at,
    })
}
