//! The portfolio query.

use async_graphql::{Context, Object, Result};

use super::{service, types::Portfolio};
use crate::{
    error::AppError,
    graphql::{context::ContextExt, scalars::Date},
};

/// The contract's default currency.
const DEFAULT_CURRENCY: &str = "XAF";

#[derive(Default)]
pub struct PortfolioQuery;

#[Object]
impl PortfolioQuery {
    /// The policies the caller may read whose `effectiveDate` is in `[from, to]` and whose
    /// currency is `currency` (default `XAF`; amounts of different currencies are never added up): counts,
    /// premium, commission, paid and balance, in total and by insurer, product type and status.
    async fn portfolio(&self, ctx: &Context<'_>, from: Date, to: Date, currency: Option<String>) -> Result<Portfolio> {
        let p = ctx.principal()?;
        let code = crate::currency::currency(currency.as_deref().unwrap_or(DEFAULT_CURRENCY), "currency")?;
        if to.0 < from.0 {
            return Err(AppError::invalid("to", "must not be before `from`").into());
        }
        let groups = service::groups(&ctx.state().db, p, from.0, to.0, &code).await?;
        Ok(Portfolio::of(&groups, &code))
    }
}
