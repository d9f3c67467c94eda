//! One aggregate statement over the policies the caller may read, grouped by insurer, product type
//! and status; the totals and breakdowns are sums of those groups (a few dozen rows at most).

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait, Statement};
use uuid::Uuid;

use crate::{
    commissions::rules::{RATE_SQL, commission_sql},
    entities::policy,
    error::AppResult,
    principal::Principal,
    scope,
};

/// One group of policies with the same insurer, product type and status.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Group {
    pub company_id: Uuid,
    pub product_type: String,
    pub status: String,
    pub policy_count: i64,
    pub premium_minor: i64,
    pub commission_minor: i64,
    pub paid_minor: i64,
}

/// The groups of the caller's policies in `currency` whose effective date is in `[from, to]`.
pub async fn groups(db: &impl ConnectionTrait, principal: &Principal, from: NaiveDate, to: NaiveDate, currency: &str) -> AppResult<Vec<Group>> {
    let backend = db.get_database_backend();
    let scoped = scope::policies(principal)
        .filter(policy::Column::EffectiveDate.between(from, to))
        .filter(policy::Column::Currency.eq(currency))
        .select_only()
        .column(policy::Column::Id)
        .build(backend);
    let paid = paid_expression();
    let (rate, commission) = (RATE_SQL, commission_sql("t.net", "t.rate_ppm"));
    let sql = format!(
        "SELECT t.company_id, t.product_type, t.status, COUNT(*) AS policy_count, \
         CAST(SUM(t.premium) AS BIGINT) AS premium_minor, CAST(SUM({commission}) AS BIGINT) AS commission_minor, \
         CAST(SUM(t.paid) AS BIGINT) AS paid_minor \
         FROM (SELECT p.company_id, p.product_type, p.status, p.premium_minor AS premium, p.net_premium_minor AS net, \
               {rate} AS rate_ppm, {paid} AS paid \
               FROM policies p WHERE p.id IN ({inner})) t \
         GROUP BY t.company_id, t.product_type, t.status",
        inner = scoped.sql
    );
    let statement = Statement { sql, values: scoped.values, db_backend: backend };
    Ok(Group::find_by_statement(statement).all(db).await?)
}

/// What each policy `p` has been paid (its payments not reversed), as `Policy.paid` counts it.
fn paid_expression() -> &'static str {
    "(SELECT COALESCE(SUM(pay.amount_minor), 0) FROM payments pay WHERE pay.policy_id = p.id AND pay.reversed_at IS NULL)"
}
