//! Rates: exact percents, and which rate is in force for a policy.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::{currency::Money, entities::commission_rate, error::{AppError, AppResult}};

/// The product type a rate for every product is stored under.
pub const EVERY_PRODUCT: &str = "*";

/// A percent in [0, 100] with at most four decimals, in parts per million (12.5 % is 125000).
pub fn rate_ppm(rate: Decimal, field: &str) -> AppResult<i64> {
    if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
        return Err(AppError::invalid(field, "must be a percent between 0 and 100"));
    }
    let rate = rate.normalize();
    if rate.scale() > 4 {
        return Err(AppError::invalid(field, "may have at most four decimals"));
    }
    let ppm = rate * Decimal::from(10_000);
    Ok(i64::try_from(ppm.mantissa() / 10i128.pow(ppm.scale())).unwrap_or(0))
}

/// The percent a rate in parts per million stands for (`125000` is `12.5`).
pub fn percent(ppm: i64) -> Decimal {
    Decimal::new(ppm, 4).normalize()
}

/// The rate in force on `on` for `product_type` among one insurer's rates: the latest that started
/// on or before that day for the product type, else the latest for every product.
pub fn in_force<'a>(rates: &'a [commission_rate::Model], product_type: &str, on: NaiveDate) -> Option<&'a commission_rate::Model> {
    let latest = |kind: &str| {
        rates.iter().filter(|rate| rate.product_type == kind && rate.valid_from <= on).max_by_key(|rate| rate.valid_from)
    };
    latest(product_type).or_else(|| latest(EVERY_PRODUCT))
}

/// The commission on a net premium (minor units), rounded half-even to the minor unit.
pub fn commission(net_premium_minor: i64, rate_ppm: i64) -> i64 {
    Money::percent_of(net_premium_minor, percent(rate_ppm))
}

/// In SQL: the rate in force on the effective date of each policy `p` (aliased so), in parts per
/// million; the product type's own rate first, then the rate for every product; null when none.
/// The same choice as [`in_force`].
pub const RATE_SQL: &str = "COALESCE(\
    (SELECT r.rate_ppm FROM commission_rates r WHERE r.company_id = p.company_id AND r.product_type = p.product_type \
     AND r.valid_from <= p.effective_date ORDER BY r.valid_from DESC LIMIT 1), \
    (SELECT r.rate_ppm FROM commission_rates r WHERE r.company_id = p.company_id AND r.product_type = '*' \
     AND r.valid_from <= p.effective_date ORDER BY r.valid_from DESC LIMIT 1))";

/// In SQL: the commission on `net` (minor units) at `rate` (ppm, null for none: 0), rounded
/// half-even in integers on both backends — the same as [`commission`]. `net × rate` is split as
/// `(net / 10⁶) × rate + (net % 10⁶) × rate / 10⁶` so that no product leaves a BIGINT, whatever
/// the amount (rows older than `currency::MAX_MINOR` included).
pub fn commission_sql(net: &str, rate: &str) -> String {
    let whole = format!("(({net}) / 1000000) * ({rate})");
    let low = format!("((({net}) % 1000000) * ({rate}))");
    let units = format!("({whole} + {low} / 1000000)");
    format!(
        "CASE WHEN {rate} IS NULL THEN 0 ELSE {units} + CASE WHEN {low} % 1000000 > 500000 \
         OR ({low} % 1000000 = 500000 AND {units} % 2 = 1) THEN 1 ELSE 0 END END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn rate(kind: &str, from: &str, ppm: i64) -> commission_rate::Model {
        commission_rate::Model {
            id: uuid::Uuid::now_v7(),
            organization_id: uuid::Uuid::nil(),
            company_id: uuid::Uuid::nil(),
            product_type: kind.into(),
            rate_ppm: ppm,
            valid_from: NaiveDate::from_str(from).unwrap(),
            created_by: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn rates_are_exact_percents() {
        assert_eq!(rate_ppm(Decimal::from_str("12.5").unwrap(), "r").unwrap(), 125_000);
        assert_eq!(rate_ppm(Decimal::from_str("0").unwrap(), "r").unwrap(), 0);
        assert_eq!(rate_ppm(Decimal::from_str("100").unwrap(), "r").unwrap(), 1_000_000);
        assert_eq!(rate_ppm(Decimal::from_str("33.3333").unwrap(), "r").unwrap(), 333_333);
        assert!(rate_ppm(Decimal::from_str("100.01").unwrap(), "r").is_err());
        assert!(rate_ppm(Decimal::from_str("-1").unwrap(), "r").is_err());
        assert!(rate_ppm(Decimal::from_str("1.00001").unwrap(), "r").is_err());
        assert_eq!(percent(125_000).to_string(), "12.5");
    }

    #[test]
    fn the_product_rate_wins_then_every_product_by_date() {
        let rates = [rate("*", "2026-01-01", 100_000), rate("AUTO", "2026-06-01", 150_000), rate("*", "2026-09-01", 120_000)];
        let day = |text| NaiveDate::from_str(text).unwrap();
        assert_eq!(in_force(&rates, "AUTO", day("2026-03-01")).unwrap().rate_ppm, 100_000);
        assert_eq!(in_force(&rates, "AUTO", day("2026-06-01")).unwrap().rate_ppm, 150_000);
        assert_eq!(in_force(&rates, "AUTO", day("2026-12-01")).unwrap().rate_ppm, 150_000);
        assert_eq!(in_force(&rates, "HOME", day("2026-12-01")).unwrap().rate_ppm, 120_000);
        assert!(in_force(&rates, "HOME", day("2025-12-31")).is_none());
    }

    #[test]
    fn commissions_round_half_even() {
        assert_eq!(commission(100_000, 125_000), 12_500);
        assert_eq!(commission(1, 500_000), 0);
        assert_eq!(commission(3, 500_000), 2);
        assert_eq!(commission(10_000, 333_333), 3_333);
    }
}
