//! Claim validation and the one status machine:
//! REPORTED → SUBMITTED → UNDER_REVIEW → APPROVED | REJECTED; APPROVED → SETTLED; SETTLED | REJECTED → CLOSED.

use chrono::NaiveDate;

use super::types::ClaimStatus;
use crate::{
    error::{AppError, AppResult},
    graphql::validation::required_text,
};

/// The longest description.
pub const DESCRIPTION_MAX: usize = 5_000;
/// The longest insurer reference.
pub const INSURER_REFERENCE_MAX: usize = 100;
/// The longest note on a status change.
pub const NOTE_MAX: usize = 2_000;

/// The statuses a claim in `from` may move to.
pub fn next_statuses(from: ClaimStatus) -> &'static [ClaimStatus] {
    use ClaimStatus::*;
    match from {
        Reported => &[Submitted],
        Submitted => &[UnderReview],
        UnderReview => &[Approved, Rejected],
        Approved => &[Settled],
        Settled | Rejected => &[Closed],
        Closed => &[],
    }
}

/// Checks a move of the machine, with the settled amount given exactly when moving to `SETTLED`.
pub fn transition(from: ClaimStatus, to: ClaimStatus, settled: bool) -> AppResult<()> {
    if !next_statuses(from).contains(&to) {
        let allowed: Vec<&str> = next_statuses(from).iter().map(|s| s.as_str()).collect();
        let message = if allowed.is_empty() {
            format!("a {} claim cannot change status", from.as_str())
        } else {
            format!("a {} claim can only become {}, not {}", from.as_str(), allowed.join(" or "), to.as_str())
        };
        return Err(AppError::invalid("status", message));
    }
    match (to, settled) {
        (ClaimStatus::Settled, false) => Err(AppError::invalid("amountSettled", "is required to settle a claim")),
        (ClaimStatus::Settled, true) | (_, false) => Ok(()),
        (_, true) => Err(AppError::invalid("amountSettled", "is given only when the claim becomes SETTLED")),
    }
}

/// A claim's details may change until it is closed.
pub fn editable(status: ClaimStatus) -> AppResult<()> {
    if status == ClaimStatus::Closed {
        Err(AppError::invalid("input.id", "a CLOSED claim cannot change"))
    } else {
        Ok(())
    }
}

/// The incident happened while the policy covered it, and not in the future.
pub fn incident_date(day: NaiveDate, effective: NaiveDate, expiry: NaiveDate, today: NaiveDate) -> AppResult<()> {
    const FIELD: &str = "input.incidentDate";
    if day > today {
        return Err(AppError::invalid(FIELD, format!("the incident date ({day}) is in the future")));
    }
    if day < effective || day > expiry {
        return Err(AppError::invalid(
            FIELD,
            format!("the incident date ({day}) is outside the policy's dates ({effective} to {expiry})"),
        ));
    }
    Ok(())
}

/// A description: trimmed, non-empty.
pub fn description(raw: &str, field: &str) -> AppResult<String> {
    required_text(raw, field, DESCRIPTION_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClaimStatus::*;

    const ALL: [ClaimStatus; 7] = [Reported, Submitted, UnderReview, Approved, Rejected, Settled, Closed];

    #[test]
    fn only_the_contracts_moves_are_allowed() {
        let allowed = [
            (Reported, Submitted),
            (Submitted, UnderReview),
            (UnderReview, Approved),
            (UnderReview, Rejected),
            (Approved, Settled),
            (Settled, Closed),
            (Rejected, Closed),
        ];
        for from in ALL {
            for to in ALL {
                let ok = transition(from, to, to == Settled).is_ok();
                assert_eq!(ok, allowed.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn settling_needs_an_amount_and_nothing_else_takes_one() {
        assert_eq!(transition(Approved, Settled, false).unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(transition(Reported, Submitted, true).unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn incidents_fall_within_the_policy_and_not_in_the_future() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (from, to, today) = (d("2026-01-01"), d("2026-12-31"), d("2026-06-01"));
        assert!(incident_date(d("2026-05-31"), from, to, today).is_ok());
        assert!(incident_date(d("2025-12-31"), from, to, today).is_err());
        assert!(incident_date(d("2026-06-02"), from, to, today).is_err());
    }
}
