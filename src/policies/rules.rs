//! Policy validation: numbers, names, dates, coverage and the status life cycle.

use chrono::NaiveDate;
use serde_json::Value;

use super::types::PolicyStatus;
use crate::{
    error::{AppError, AppResult},
    currency::Money,
    graphql::validation::required_text,
};

/// The longest policy number.
pub const NUMBER_MAX: usize = 64;
/// The longest product name.
pub const PRODUCT_NAME_MAX: usize = 200;
/// The largest coverage document, serialized.
pub const COVERAGE_MAX_BYTES: usize = 64 * 1024;

/// A policy number: trimmed, non-empty, letters, digits, `-`, `_`, `/` and `.` only.
pub fn number(raw: &str, field: &str) -> AppResult<String> {
    let n = required_text(raw, field, NUMBER_MAX)?;
    if n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')) {
        Ok(n)
    } else {
        Err(AppError::invalid(field, "may hold only letters, digits, `-`, `_`, `/` and `.`"))
    }
}

/// A product name: trimmed, non-empty, at most 200 characters.
pub fn product_name(raw: &str, field: &str) -> AppResult<String> {
    required_text(raw, field, PRODUCT_NAME_MAX)
}

/// The expiry day must come strictly after the effective day; `field` names the one at fault.
pub fn date_range(effective: NaiveDate, expiry: NaiveDate, field: &str) -> AppResult<()> {
    if expiry > effective {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!("the expiry date ({expiry}) must be after the effective date ({effective})"),
        ))
    }
}

/// Coverage is a JSON object (absent: `{}`) of reasonable size.
pub fn coverage(value: Option<Value>, field: &str) -> AppResult<Value> {
    let v = value.unwrap_or_else(|| Value::Object(Default::default()));
    if !v.is_object() {
        return Err(AppError::invalid(field, "must be a JSON object"));
    }
    let size = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > COVERAGE_MAX_BYTES {
        return Err(AppError::invalid(field, format!("must be at most {} KiB", COVERAGE_MAX_BYTES / 1024)));
    }
    Ok(v)
}

/// A new policy starts as `DRAFT` or `ACTIVE`.
pub fn initial_status(status: PolicyStatus, field: &str) -> AppResult<()> {
    match status {
        PolicyStatus::Draft | PolicyStatus::Active => Ok(()),
        other => Err(AppError::invalid(
            field,
            format!("a new policy must be DRAFT or ACTIVE, not {}", other.as_str()),
        )),
    }
}

/// The statuses a policy in `from` may move to.
pub fn next_statuses(from: PolicyStatus) -> &'static [PolicyStatus] {
    match from {
        PolicyStatus::Draft => &[PolicyStatus::Active, PolicyStatus::Cancelled],
        PolicyStatus::Active => &[PolicyStatus::Suspended, PolicyStatus::Cancelled, PolicyStatus::Expired],
        PolicyStatus::Suspended => &[PolicyStatus::Active, PolicyStatus::Cancelled, PolicyStatus::Expired],
        PolicyStatus::Cancelled | PolicyStatus::Expired => &[],
    }
}

/// Checks a status change. `Ok(false)`: nothing to do (same status); `Ok(true)`: an allowed move;
/// a move the life cycle forbids is `BAD_USER_INPUT` on `field`, naming both states.
pub fn transition(from: PolicyStatus, to: PolicyStatus, field: &str) -> AppResult<bool> {
    if from == to {
        return Ok(false);
    }
    let allowed = next_statuses(from);
    if allowed.contains(&to) {
        return Ok(true);
    }
    let message = if allowed.is_empty() {
        format!("cannot change a policy from {} to {}: {} is final", from.as_str(), to.as_str(), from.as_str())
    } else {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        format!(
            "cannot change a policy from {} to {} (allowed: {})",
            from.as_str(),
            to.as_str(),
            names.join(", ")
        )
    };
    Err(AppError::invalid(field, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policies::types::PolicyStatus::{Active, Cancelled, Draft, Expired, Suspended};

    fn field_of(error: AppError) -> Option<String> {
        match error {
            AppError::BadInput { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn numbers_are_trimmed_and_limited_to_safe_characters() {
        assert_eq!(number("  AUTO/2026-0042_b.1 ", "input.number").unwrap(), "AUTO/2026-0042_b.1");
        let long = "x".repeat(NUMBER_MAX + 1);
        for bad in ["", "   ", "POL 1", "POL#1", "é1", long.as_str()] {
            assert!(number(bad, "input.number").is_err(), "{bad}");
        }
        assert_eq!(field_of(number("", "input.number").unwrap_err()).as_deref(), Some("input.number"));
    }

    #[test]
    fn expiry_must_be_strictly_after_effective() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(date_range(d("2026-01-01"), d("2026-12-31"), "input.expiryDate").is_ok());
        assert!(date_range(d("2026-01-01"), d("2026-01-01"), "input.expiryDate").is_err());
        let err = date_range(d("2026-02-01"), d("2026-01-01"), "input.expiryDate").unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("input.expiryDate"));
    }

    #[test]
    fn coverage_must_be_an_object_and_defaults_to_empty() {
        assert_eq!(coverage(None, "input.coverage").unwrap(), serde_json::json!({}));
        assert!(coverage(Some(serde_json::json!({"fire": 1000})), "input.coverage").is_ok());
        for bad in [serde_json::json!([]), serde_json::json!("x"), serde_json::json!(3), Value::Null] {
            assert!(coverage(Some(bad), "input.coverage").is_err());
        }
    }

    #[test]
    fn new_policies_start_as_draft_or_active() {
        assert!(initial_status(Draft, "input.status").is_ok());
        assert!(initial_status(Active, "input.status").is_ok());
        for s in [Suspended, Cancelled, Expired] {
            assert!(initial_status(s, "input.status").is_err());
        }
    }

    #[test]
    fn the_life_cycle_allows_only_its_moves() {
        let all = [Draft, Active, Suspended, Cancelled, Expired];
        let allowed = [
            (Draft, Active),
            (Draft, Cancelled),
            (Active, Suspended),
            (Active, Cancelled),
            (Active, Expired),
            (Suspended, Active),
            (Suspended, Cancelled),
            (Suspended, Expired),
        ];
        for from in all {
            for to in all {
                let r = transition(from, to, "status");
                if from == to {
                    assert!(!r.unwrap(), "{from:?} -> {to:?} is a no-op");
                } else if allowed.contains(&(from, to)) {
                    assert!(r.unwrap(), "{from:?} -> {to:?} is allowed");
                } else {
                    let err = r.unwrap_err();
                    let msg = err.to_string();
                    assert!(msg.contains(from.as_str()) && msg.contains(to.as_str()), "{msg}");
                    assert_eq!(field_of(err).as_deref(), Some("status"));
                }
            }
        }
    }
}

/// A premium and its breakdown, in the currency's minor unit: `premium = net + fees + taxes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Premium {
    pub total: i64,
    pub net: i64,
    pub fees: i64,
    pub taxes: i64,
}

/// The amounts an input gives (each optional), as decimals.
#[derive(Default)]
pub struct PremiumInput {
    pub premium: Option<rust_decimal::Decimal>,
    pub net_premium: Option<rust_decimal::Decimal>,
    pub fees: Option<rust_decimal::Decimal>,
    pub taxes: Option<rust_decimal::Decimal>,
}

impl PremiumInput {
    pub fn is_empty(&self) -> bool {
        self.premium.is_none() && self.net_premium.is_none() && self.fees.is_none() && self.taxes.is_none()
    }
}

/// Works out the premium from what the input gives over what the policy had (`old`, in the same
/// currency): fees and taxes given replace the old ones; a net premium given makes `premium` the sum
/// (a premium given too must equal it); a premium alone keeps fees and taxes and makes the net premium
/// the rest (it must stay positive).
pub fn premium(input: &PremiumInput, old: Option<Premium>, code: &str) -> AppResult<Premium> {
    let parse = |amount: Option<rust_decimal::Decimal>, field: &str| {
        amount.map(|amount| Money::parse_non_negative(amount, code, field).map(|m| m.minor)).transpose()
    };
    let fees = parse(input.fees, "input.fees")?.or(old.map(|o| o.fees)).unwrap_or(0);
    let taxes = parse(input.taxes, "input.taxes")?.or(old.map(|o| o.taxes)).unwrap_or(0);
    let total = input.premium.map(|amount| Money::parse(amount, code, "input.premium").map(|m| m.minor)).transpose()?;
    let net = match input.net_premium {
        Some(amount) => Money::parse(amount, code, "input.netPremium")?.minor,
        None => match (total, old) {
            (Some(total), _) => total - fees - taxes,
            (None, Some(old)) => old.net,
            (None, None) => return Err(AppError::invalid("input.premium", "a premium or a net premium is required")),
        },
    };
    if net <= 0 {
        return Err(AppError::invalid("input.premium", "must be more than its fees and taxes"));
    }
    let sum = net + fees + taxes;
    if total.is_some_and(|total| total != sum) {
        return Err(AppError::invalid("input.premium", "must equal netPremium + fees + taxes"));
    }
    if sum > crate::currency::MAX_MINOR {
        return Err(AppError::invalid("input.premium", "is too large"));
    }
    Ok(Premium { total: sum, net, fees, taxes })
}

/// The same amounts in another currency's minor unit (a policy whose currency changes keeps its
/// values), rounded half-even where the new unit is coarser.
pub fn rescale(premium: Premium, from: &str, to: &str) -> AppResult<Premium> {
    let convert = |minor: i64, field: &str| Money::parse_non_negative(Money::to_decimal(minor, from), to, field).map(|m| m.minor);
    let net = convert(premium.net, "input.currency")?;
    let fees = convert(premium.fees, "input.currency")?;
    let taxes = convert(premium.taxes, "input.currency")?;
    Ok(Premium { total: net + fees + taxes, net, fees, taxes })
}

impl Premium {
    pub fn of(policy: &crate::entities::policy::Model) -> Premium {
        Premium { total: policy.premium_minor, net: policy.net_premium_minor, fees: policy.fees_minor, taxes: policy.taxes_minor }
    }
}
