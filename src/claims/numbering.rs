//! Claim numbers, `CLM-<year>-<5 digits>`, per organization and year, without gaps or duplicates:
//! one counter row per organization and year, incremented by an upsert inside the creating
//! transaction. The row stays locked until that transaction ends (PostgreSQL), or the whole
//! database does (SQLite's writing transactions begin IMMEDIATE), so concurrent creations queue
//! on it, and a rolled-back creation gives its number back.

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The next claim number of `organization` for `year`, taken inside the caller's transaction.
pub async fn next(db: &impl ConnectionTrait, organization: Uuid, year: i32) -> AppResult<String> {
    let table = Alias::new("claim_counters");
    let (org_col, year_col, last_col) = (Alias::new("organization_id"), Alias::new("year"), Alias::new("last"));
    let upsert = Query::insert()
        .into_table(table.clone())
        .columns([org_col.clone(), year_col.clone(), last_col.clone()])
        .values_panic([organization.into(), year.into(), 1.into()])
        .on_conflict(
            OnConflict::columns([org_col, year_col])
                .value(last_col.clone(), Expr::col((table, last_col.clone())).add(1))
                .to_owned(),
        )
        .returning_col(last_col)
        .to_owned();
    let row = db
        .query_one(&upsert)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the claim counter upsert returned no row")))?;
    let last: i32 = row.try_get_by_index(0)?;
    format(year, last)
}

/// `CLM-2026-00042`; past 99,999 claims in a year there is no number left.
fn format(year: i32, n: i32) -> AppResult<String> {
    if n > 99_999 {
        return Err(AppError::conflict(format!("no claim number is left for {year} (at most 99,999 a year)")));
    }
    Ok(format!("CLM-{year}-{n:05}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_have_five_digits() {
        assert_eq!(super::format(2026, 42).unwrap(), "CLM-2026-00042");
        assert!(super::format(2026, 100_000).is_err());
    }
}
