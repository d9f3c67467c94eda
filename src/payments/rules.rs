//! The arithmetic of money received, exact in minor units: an instalment plan's checks, the
//! allocation of what was paid to the oldest instalments first, and each instalment's status.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::types::InstalmentStatus;
use crate::{
    currency::Money,
    error::{AppError, AppResult},
};

/// The most instalments in a plan (ten years of monthly instalments).
pub const MAX_INSTALMENTS: usize = 120;
/// The longest payment reference.
pub const REFERENCE_MAX: usize = 100;
/// How far ahead of the server's clock `paidAt` may be (clocks differ a little).
const PAID_AT_SKEW_MINUTES: i64 = 5;

/// One instalment of a plan, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub due_date: NaiveDate,
    pub amount_minor: i64,
}

/// Checks a plan against the policy's premium: 1 to 120 instalments, distinct due dates, positive
/// amounts (rounded half-even to the currency's minor unit) that sum exactly to the premium.
/// Returns the plan by due date.
pub fn plan(items: &[(NaiveDate, Decimal)], currency: &str, premium_minor: i64) -> AppResult<Vec<Planned>> {
    const FIELD: &str = "input.instalments";
    if items.is_empty() || items.len() > MAX_INSTALMENTS {
        return Err(AppError::invalid(FIELD, format!("give 1 to {MAX_INSTALMENTS} instalments")));
    }
    let mut planned = Vec::with_capacity(items.len());
    for (i, (due_date, amount)) in items.iter().enumerate() {
        let money = Money::parse(*amount, currency, &format!("{FIELD}.{i}.amount"))?;
        planned.push(Planned { due_date: *due_date, amount_minor: money.minor });
    }
    planned.sort_by_key(|p| p.due_date);
    if let Some(twice) = planned.windows(2).find(|w| w[0].due_date == w[1].due_date) {
        return Err(AppError::invalid(FIELD, format!("two instalments are due on {}: due dates must differ", twice[0].due_date)));
    }
    // Each amount is at most 10^18 and there are at most 120: the sum fits an i128 whatever was given.
    let total: i128 = planned.iter().map(|p| i128::from(p.amount_minor)).sum();
    if total != i128::from(premium_minor) {
        let shown = |minor: i128| Money::to_decimal(i64::try_from(minor).unwrap_or(i64::MAX), currency);
        return Err(AppError::invalid(
            FIELD,
            format!("the instalments sum to {} {currency}, not the premium of {} {currency}", shown(total), shown(premium_minor.into())),
        ));
    }
    Ok(planned)
}

/// What `paid` covers of each instalment (`amounts` by due date), the oldest first.
pub fn allocate(amounts: &[i64], paid: i64) -> Vec<i64> {
    let mut left = paid.max(0);
    amounts
        .iter()
        .map(|&amount| {
            let share = left.min(amount);
            left -= share;
            share
        })
        .collect()
}

/// An instalment's status on `today` (the organization's): paid in full, past due, part paid, or due.
pub fn status(amount: i64, paid: i64, due_date: NaiveDate, today: NaiveDate) -> InstalmentStatus {
    if paid >= amount {
        InstalmentStatus::Paid
    } else if due_date < today {
        InstalmentStatus::Overdue
    } else if paid > 0 {
        InstalmentStatus::Partial
    } else {
        InstalmentStatus::Due
    }
}

/// A payment takes at most what the policy still owes.
pub fn within_balance(amount: i64, balance: i64, currency: &str) -> AppResult<()> {
    if amount > balance {
        return Err(AppError::invalid(
            "input.amount",
            format!("more than the balance of {} {currency}", Money::to_decimal(balance.max(0), currency)),
        ));
    }
    Ok(())
}

/// When the money was received: given, not in the future; absent, now.
pub fn paid_at(given: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    match given {
        Some(at) if at > now + chrono::Duration::minutes(PAID_AT_SKEW_MINUTES) => {
            Err(AppError::invalid("input.paidAt", "is in the future"))
        }
        Some(at) => Ok(at),
        None => Ok(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn plans_sum_exactly_to_the_premium() {
        let thirds = [(day("2026-03-01"), d("33.34")), (day("2026-01-01"), d("33.33")), (day("2026-02-01"), d("33.33"))];
        let plan = plan(&thirds, "EUR", 10_000).unwrap();
        assert_eq!(plan.iter().map(|p| p.amount_minor).collect::<Vec<_>>(), [3_333, 3_333, 3_334]);
        assert_eq!(plan[0].due_date, day("2026-01-01"), "by due date");
        let short = [(day("2026-01-01"), d("33.33")), (day("2026-02-01"), d("66.66"))];
        assert_eq!(super::plan(&short, "EUR", 10_000).unwrap_err().code(), "BAD_USER_INPUT");
        let twice = [(day("2026-01-01"), d("50")), (day("2026-01-01"), d("50"))];
        assert_eq!(super::plan(&twice, "EUR", 10_000).unwrap_err().code(), "BAD_USER_INPUT");
        assert!(super::plan(&[], "EUR", 10_000).is_err());
        let many: Vec<_> = (0..121).map(|i| (day("2026-01-01") + chrono::Duration::days(i), d("1"))).collect();
        assert!(super::plan(&many, "XAF", 121).is_err());
        assert_eq!(super::plan(&many[..120], "XAF", 120).unwrap().len(), 120);
    }

    #[test]
    fn payments_go_to_the_oldest_instalment_first() {
        assert_eq!(allocate(&[3_333, 3_333, 3_334], 5_000), [3_333, 1_667, 0]);
        assert_eq!(allocate(&[3_333, 3_333, 3_334], 10_000), [3_333, 3_333, 3_334]);
        assert_eq!(allocate(&[100], 0), [0]);
    }

    #[test]
    fn statuses_follow_what_is_paid_and_the_day() {
        let (due, today) = (day("2026-06-01"), day("2026-06-01"));
        assert_eq!(status(100, 100, due, today), InstalmentStatus::Paid);
        assert_eq!(status(100, 40, due, today), InstalmentStatus::Partial);
        assert_eq!(status(100, 0, due, today), InstalmentStatus::Due, "due today is not yet overdue");
        assert_eq!(status(100, 40, due, day("2026-06-02")), InstalmentStatus::Overdue);
        assert_eq!(status(100, 100, due, day("2026-06-02")), InstalmentStatus::Paid);
    }
}
