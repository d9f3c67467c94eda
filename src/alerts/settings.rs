//! Alert settings per organization: stored when changed, the contract's defaults otherwise.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

use super::types::{AlertSettings, UpdateAlertSettingsInput};
use crate::{
    entities::alert_setting,
    error::{AppError, AppResult},
};

/// The most thresholds of one kind.
const MAX_THRESHOLDS: usize = 10;
/// The furthest threshold, in days.
const MAX_DAYS: i32 = 366;

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings { expiry_days_before: vec![30, 7], instalment_days_before: vec![7], email_owner: true, email_client: false }
    }
}

impl AlertSettings {
    /// A stored row, or the defaults when the organization has none.
    pub fn of(row: Option<&alert_setting::Model>) -> AlertSettings {
        let Some(row) = row else { return AlertSettings::default() };
        let days = |value: &serde_json::Value, fallback: Vec<i32>| {
            serde_json::from_value::<Vec<i32>>(value.clone()).unwrap_or(fallback)
        };
        let defaults = AlertSettings::default();
        AlertSettings {
            expiry_days_before: days(&row.expiry_days_before, defaults.expiry_days_before),
            instalment_days_before: days(&row.instalment_days_before, defaults.instalment_days_before),
            email_owner: row.email_owner,
            email_client: row.email_client,
        }
    }
}

/// The settings of `organization`.
pub async fn get(db: &impl ConnectionTrait, organization: Uuid) -> AppResult<AlertSettings> {
    let row = alert_setting::Entity::find_by_id(organization).one(db).await?;
    Ok(AlertSettings::of(row.as_ref()))
}

/// Thresholds: 1 to 10 whole days from 0 to 366, kept sorted and without repeats.
fn thresholds(days: Vec<i32>, field: &str) -> AppResult<Vec<i32>> {
    if days.is_empty() || days.len() > MAX_THRESHOLDS {
        return Err(AppError::invalid(field, format!("give 1 to {MAX_THRESHOLDS} thresholds")));
    }
    if let Some(bad) = days.iter().find(|d| !(0..=MAX_DAYS).contains(*d)) {
        return Err(AppError::invalid(field, format!("{bad} is not a number of days from 0 to {MAX_DAYS}")));
    }
    let mut days = days;
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    Ok(days)
}

/// Changes the settings of `organization`; returns them.
pub async fn update(db: &impl ConnectionTrait, organization: Uuid, input: UpdateAlertSettingsInput) -> AppResult<AlertSettings> {
    let mut settings = get(db, organization).await?;
    if let Some(days) = input.expiry_days_before {
        settings.expiry_days_before = thresholds(days, "input.expiryDaysBefore")?;
    }
    if let Some(days) = input.instalment_days_before {
        settings.instalment_days_before = thresholds(days, "input.instalmentDaysBefore")?;
    }
    if let Some(flag) = input.email_owner {
        settings.email_owner = flag;
    }
    if let Some(flag) = input.email_client {
        settings.email_client = flag;
    }
    let row = alert_setting::ActiveModel {
        organization_id: Set(organization),
        expiry_days_before: Set(json!(settings.expiry_days_before)),
        instalment_days_before: Set(json!(settings.instalment_days_before)),
        email_owner: Set(settings.email_owner),
        email_client: Set(settings.email_client),
        updated_at: Set(Utc::now()),
    };
    if alert_setting::Entity::find_by_id(organization).one(db).await?.is_some() {
        row.update(db).await?;
    } else {
        row.insert(db).await?;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_bounded_sorted_and_unique() {
        assert_eq!(thresholds(vec![7, 30, 7], "f").unwrap(), vec![30, 7]);
        assert!(thresholds(vec![], "f").is_err());
        assert!(thresholds(vec![-1], "f").is_err());
        assert!(thresholds(vec![400], "f").is_err());
    }
}
