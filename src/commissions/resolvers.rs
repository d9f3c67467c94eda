//! Commission rate queries and mutations.

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    rules, service,
    types::{CommissionRate, SetCommissionRateInput},
};
use crate::{
    audit::service::Audited,
    graphql::{
        context::ContextExt,
        ids,
        pagination::{Page, PageArgs, paginate},
    },
    principal::Role,
};

#[derive(Default)]
pub struct CommissionQuery;

#[Object]
impl CommissionQuery {
    /// An insurer's commission rates, the latest start first (`NOT_FOUND` for a company outside
    /// the caller's organization). Everyone signed in may read them.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn commission_rates(
        &self,
        ctx: &Context<'_>,
        company_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<CommissionRate>> {
        let p = ctx.principal()?;
        let key = ids::decode_input(&company_id, "Company", "companyId")?;
        let q = service::list(&ctx.state().db, p, key).await?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), CommissionRate).await?)
    }
}

#[derive(Default)]
pub struct CommissionMutation;

#[Object]
impl CommissionMutation {
    /// Sets an insurer's commission rate (MANAGER and up): a percent in [0, 100] with at most four
    /// decimals, for one product type (or every product when `productType` is null), in force from
    /// `validFrom`. Setting a rate again for the same insurer, product type and date replaces it.
    async fn set_commission_rate(&self, ctx: &Context<'_>, input: SetCommissionRateInput) -> Result<CommissionRate> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let tx = Audited::begin(ctx).await?;
        let row = service::set(tx.db(), p, input).await?;
        let summary = json!({
            "company": ids::encode("Company", row.company_id), "productType": row.product_type,
            "rate": rules::percent(row.rate_ppm).to_string(), "validFrom": row.valid_from.to_string(),
        });
        tx.commit("commission_rate.set", Some(("CommissionRate", row.id)), summary).await?;
        Ok(CommissionRate(row))
    }
}
