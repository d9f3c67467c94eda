//! Integration logic: setting or removing a company's endpoint and secret, queueing a delivery in
//! the caller's transaction ([`enqueue`], then [`queued`] after the commit) and reading the
//! attempts made for a subject ([`attempts_for`]) and its deliveries ([`deliveries_for`]).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{
    endpoint,
    secret::{self, Sealed, WebhookSecret},
    types::{DeliveryStatus, SetCompanyIntegrationInput},
};
use crate::{
    config::Settings,
    entities::{company, company_integration, delivery_attempt, webhook_delivery},
    error::{AppError, AppResult},
    principal::Principal,
    scope,
    state::AppState,
};

/// The shortest and longest secrets accepted.
const SECRET_MIN: usize = 16;
const SECRET_MAX: usize = 256;
/// The longest event name (`X-MonAssurance-Event`).
const EVENT_MAX: usize = 64;

/// A `setCompanyIntegration` checked before its transaction: the endpoint resolved and checked,
/// the new secret sealed (resolving a name may take seconds: no transaction waits on it).
pub enum Change {
    /// `endpoint: null`.
    Remove,
    /// A new or changed endpoint, with a new secret or (`None`) the one kept.
    Set { endpoint: String, secret: Option<Sealed> },
}

/// What a change did, for the audit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    Created,
    Updated { new_secret: bool },
    Removed,
    /// Removing an integration that did not exist.
    Nothing,
}

/// Validates the input of a `setCompanyIntegration` on company `company_id`: `BAD_USER_INPUT` on
/// `input.endpoint` or `input.secret`.
pub async fn prepare(settings: &Settings, company_id: Uuid, input: &SetCompanyIntegrationInput) -> AppResult<Change> {
    let Some(raw) = input.endpoint.as_deref() else { return Ok(Change::Remove) };
    let checked = endpoint::check(raw, settings).await.map_err(|why| AppError::invalid("input.endpoint", why))?;
    let secret = match input.secret.as_deref() {
        None => None,
        Some(text) => {
            let length = text.chars().count();
            if !(SECRET_MIN..=SECRET_MAX).contains(&length) {
                return Err(AppError::invalid("input.secret", format!("between {SECRET_MIN} and {SECRET_MAX} characters")));
            }
            if text.chars().any(char::is_control) {
                return Err(AppError::invalid("input.secret", "must not hold control characters"));
            }
            let ring = secret::keys(settings).map_err(|e| AppError::invalid("input.secret", e.to_string()))?;
            let sealed = secret::seal(&ring, company_id, &WebhookSecret::new(text)).map_err(|e| AppError::Internal(e.into()))?;
            Some(sealed)
        }
    };
    Ok(Change::Set { endpoint: checked.url.to_string(), secret })
}

/// Applies a prepared change to the company (one the caller may read, else `NOT_FOUND`).
pub async fn apply(db: &impl ConnectionTrait, principal: &Principal, company_id: Uuid, change: Change) -> AppResult<(company::Model, Done)> {
    let company = scope::one(db, scope::companies(principal), company::Column::Id, company_id, "Company").await?;
    let existing = company_integration::Entity::find_by_id(company.id).one(db).await?;
    let now = Utc::now();
    let done = match (change, existing) {
        (Change::Remove, None) => Done::Nothing,
        (Change::Remove, Some(row)) => {
            company_integration::Entity::delete_by_id(row.company_id).exec(db).await?;
            Done::Removed
        }
        (Change::Set { secret: None, .. }, None) => {
            return Err(AppError::invalid("input.secret", "give the secret deliveries will be signed with"));
        }
        (Change::Set { endpoint, secret: Some(sealed) }, None) => {
            company_integration::ActiveModel {
                company_id: Set(company.id),
                organization_id: Set(company.organization_id),
                endpoint: Set(endpoint),
                secret_encrypted: Set(sealed.encrypted),
                secret_kid: Set(sealed.kid),
                last_delivery_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            Done::Created
        }
        (Change::Set { endpoint, secret }, Some(row)) => {
            let new_secret = secret.is_some();
            let mut active: company_integration::ActiveModel = row.into();
            active.endpoint = Set(endpoint);
            if let Some(sealed) = secret {
                active.secret_encrypted = Set(sealed.encrypted);
                active.secret_kid = Set(sealed.kid);
            }
            active.updated_at = Set(now);
            active.update(db).await?;
            Done::Updated { new_secret }
        }
    };
    Ok((company, done))
}

/// Queues a delivery of `payload` to the company's integration, in the caller's transaction
/// (`db`): call [`queued`] once it committed. Returns the delivery's id (its
/// `X-MonAssurance-Delivery` header), or `None` when the company has no integration.
///
/// `event` names what happened (`declaration.sent`, the `X-MonAssurance-Event` header);
/// `subject_id` is what it happened to (a declaration batch), for [`attempts_for`]. The payload
/// is serialised once here, so every attempt sends and signs the same bytes.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    company_id: Uuid,
    event: &str,
    subject_id: Uuid,
    payload: serde_json::Value,
) -> AppResult<Option<Uuid>> {
    if event.is_empty() || event.len() > EVENT_MAX || !event.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(AppError::Internal(anyhow::anyhow!("integrations::enqueue: `{event}` is not an event name")));
    }
    let integration = company_integration::Entity::find_by_id(company_id)
        .filter(company_integration::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?;
    if integration.is_none() {
        return Ok(None);
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    webhook_delivery::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        company_id: Set(company_id),
        event: Set(event.to_string()),
        subject_id: Set(subject_id),
        body: Set(payload.to_string()),
        status: Set(DeliveryStatus::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_error: Set(None),
        lease_owner: Set(None),
        leased_until: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Some(id))
}

/// Once the transaction that called [`enqueue`] committed: wakes the delivery loops (this
/// process's at once, the others' through Redis).
pub fn queued(state: &AppState) {
    state.wake_webhooks();
}

/// Every webhook attempt made for each of `subject_ids`, oldest first (a subject with none is
/// absent from the map). The caller has already scoped the subjects to what its principal reads.
pub async fn attempts_for(db: &impl ConnectionTrait, subject_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<delivery_attempt::Model>>> {
    let mut out: HashMap<Uuid, Vec<delivery_attempt::Model>> = HashMap::new();
    for chunk in subject_ids.chunks(500) {
        let rows = delivery_attempt::Entity::find()
            .filter(delivery_attempt::Column::SubjectId.is_in(chunk.iter().copied()))
            .order_by_asc(delivery_attempt::Column::At)
            .order_by_asc(delivery_attempt::Column::Attempt)
            .all(db)
            .await?;
        for row in rows {
            out.entry(row.subject_id).or_default().push(row);
        }
    }
    Ok(out)
}

/// The webhook deliveries queued for each of `subject_ids`, oldest first, whatever their state
/// (`status` `PENDING` before the first attempt and between retries, then `DELIVERED` or
/// `FAILED`). The caller has already scoped the subjects to what its principal reads.
pub async fn deliveries_for(db: &impl ConnectionTrait, subject_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<webhook_delivery::Model>>> {
    let mut out: HashMap<Uuid, Vec<webhook_delivery::Model>> = HashMap::new();
    for chunk in subject_ids.chunks(500) {
        let rows = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::SubjectId.is_in(chunk.iter().copied()))
            .order_by_asc(webhook_delivery::Column::CreatedAt)
            .order_by_asc(webhook_delivery::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            out.entry(row.subject_id).or_default().push(row);
        }
    }
    Ok(out)
}
