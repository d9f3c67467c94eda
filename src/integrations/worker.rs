//! The webhook loop of a worker process, shaped like the mail loop: claim one due `PENDING`
//! delivery with a lease (one statement; `FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's single
//! writer otherwise), check its endpoint again (DNS can change), POST it signed, and record the
//! attempt (always) and the delivery's new state (only while the lease is still this loop's).
//! Failures are retried with exponential backoff until `INTEGRATION_MAX_ATTEMPTS`, then `FAILED`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect, Set, Statement, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    endpoint,
    secret::{self, Sealed},
    sender::{self, Outcome, Outgoing},
    types::DeliveryStatus,
};
use crate::{
    entities::{company_integration, delivery_attempt, webhook_delivery},
    error::AppResult,
    state::AppState,
};

/// The longest wait between two attempts.
const RETRY_MAX_SECS: f64 = 3600.0;

/// Runs until `shutdown` turns true (or its sender is gone).
pub async fn run(state: AppState, name: String, shutdown: tokio::sync::watch::Receiver<bool>) {
    tracing::info!(worker = %name, "webhook loop started");
    let (next, next_due) = (|| deliver_next(&state, &name), || next_due_in(&state));
    crate::outbox::run(&state, &name, "webhook", &state.webhook_wakeup, shutdown, next, next_due).await;
}

/// Claims one due delivery and makes one attempt at it, as a loop would (tests drive this).
/// False when none was due.
pub async fn try_deliver_next(state: &AppState) -> AppResult<bool> {
    deliver_next(state, &format!("webhooks-{}", std::process::id())).await
}

/// How long until the soonest retry is due, at most [`POLL`](crate::outbox::POLL).
async fn next_due_in(state: &AppState) -> Option<Duration> {
    let now = Utc::now();
    let soonest: Option<Option<DateTime<Utc>>> = webhook_delivery::Entity::find()
        .select_only()
        .column_as(webhook_delivery::Column::NextAttemptAt.min(), "soonest")
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(Condition::any().add(webhook_delivery::Column::LeasedUntil.is_null()).add(webhook_delivery::Column::LeasedUntil.lt(now)))
        .into_tuple()
        .one(&state.db)
        .await
        .ok()?;
    let due = soonest.flatten()?;
    let wait = (due - now).to_std().unwrap_or(Duration::from_millis(10));
    Some(wait.clamp(Duration::from_millis(10), crate::outbox::POLL))
}

/// Claims one due delivery as `worker` and makes one attempt at it. False when none was due.
pub async fn deliver_next(state: &AppState, worker: &str) -> AppResult<bool> {
    let Some(delivery) = claim(state, worker).await? else { return Ok(false) };
    let at = Utc::now();
    let started = Instant::now();
    let (outcome, permanent) = attempt(state, &delivery).await;
    record(state, worker, &delivery, outcome, permanent, at, started.elapsed()).await?;
    Ok(true)
}

/// How long a claim lasts: one resolution and one request, with room to spare.
fn lease(state: &AppState) -> chrono::Duration {
    chrono::Duration::seconds(state.settings.integrations.timeout_secs as i64 * 2 + 30)
}

/// One statement that takes a due `PENDING` delivery whose lease (if any) ran out, and counts the attempt.
async fn claim(state: &AppState, worker: &str) -> AppResult<Option<webhook_delivery::Model>> {
    let backend = state.db.get_database_backend();
    let now = Utc::now();
    let lock = if backend == DatabaseBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let mut sql = format!(
        "UPDATE webhook_deliveries SET lease_owner = $1, leased_until = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' \
         AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
         AND (leased_until IS NULL OR leased_until < $3) \
         ORDER BY next_attempt_at ASC, id ASC LIMIT 1 {lock}) \
         RETURNING *"
    );
    if backend == DatabaseBackend::Sqlite {
        sql = sql.replace('$', "?");
    }
    let values: [sea_orm::Value; 3] = [worker.into(), (now + lease(state)).into(), now.into()];
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    Ok(webhook_delivery::Entity::find().from_raw_sql(stmt).one(&state.db).await?)
}

/// Makes the attempt; the flag says the failure is final whatever the attempts left (the
/// integration was removed).
async fn attempt(state: &AppState, delivery: &webhook_delivery::Model) -> (Outcome, bool) {
    let found = company_integration::Entity::find_by_id(delivery.company_id)
        .filter(company_integration::Column::OrganizationId.eq(delivery.organization_id))
        .one(&state.db)
        .await;
    let integration = match found {
        Ok(Some(integration)) => integration,
        Ok(None) => return (sender::failed(None, "the company's integration was removed".into()), true),
        Err(e) => return (sender::failed(None, format!("the integration could not be read: {e}")), false),
    };
    let sealed = Sealed { encrypted: integration.secret_encrypted.clone(), kid: integration.secret_kid.clone() };
    let secret = match secret::keys(&state.settings).and_then(|ring| secret::open(&ring, integration.company_id, &sealed)) {
        Ok(secret) => secret,
        Err(e) => return (sender::failed(None, e.to_string()), false),
    };
    // Checked again now: the name may resolve elsewhere than when the endpoint was set.
    let checked = match endpoint::check(&integration.endpoint, &state.settings).await {
        Ok(checked) => checked,
        Err(why) => return (sender::failed(None, format!("the endpoint was refused: {why}")), false),
    };
    let timeout = Duration::from_secs(state.settings.integrations.timeout_secs);
    let outgoing = Outgoing { delivery_id: delivery.id, event: &delivery.event, body: &delivery.body, secret: &secret };
    (sender::post(&checked, timeout, outgoing).await, false)
}

/// The wait before attempt `attempts + 1`: `INTEGRATION_RETRY_BASE_SECS` doubled per attempt
/// made, at most an hour, with ±20% jitter so that retries of many deliveries spread out.
fn backoff(state: &AppState, attempts: i32) -> chrono::Duration {
    let base = state.settings.integrations.retry_base_secs;
    let doubled = base * 2f64.powi(attempts.clamp(1, 30) - 1);
    let secs = doubled.min(RETRY_MAX_SECS) * rand::random_range(0.8..1.2);
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

/// Records the attempt, and the delivery's new state while the lease is still ours, in one
/// transaction; a success also stamps the integration's `last_delivery_at`.
async fn record(
    state: &AppState,
    worker: &str,
    delivery: &webhook_delivery::Model,
    outcome: Outcome,
    permanent: bool,
    at: DateTime<Utc>,
    took: Duration,
) -> AppResult<()> {
    let now = Utc::now();
    let max_attempts = state.settings.integrations.max_attempts.max(1) as i32;
    let (attempt_status, http_status, error) = match &outcome {
        Outcome::Delivered { http_status } => (DeliveryStatus::Delivered, Some(*http_status), None),
        Outcome::Failed { http_status, error } => (DeliveryStatus::Failed, *http_status, Some(error.clone())),
    };
    let tx = crate::db::begin(&state.db).await?;
    delivery_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(delivery.id),
        organization_id: Set(delivery.organization_id),
        subject_id: Set(delivery.subject_id),
        attempt: Set(delivery.attempts),
        status: Set(attempt_status.as_str().into()),
        http_status: Set(http_status.map(i32::from)),
        error: Set(error.clone()),
        duration_ms: Set(i32::try_from(took.as_millis()).unwrap_or(i32::MAX)),
        at: Set(at),
    }
    .insert(&tx)
    .await?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(webhook_delivery::Column::LeasedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::LeaseOwner.eq(worker));
    let verdict = match (&outcome, error) {
        (Outcome::Delivered { .. }, _) => {
            update = update
                .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Delivered.as_str()))
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Option::<String>::None));
            "delivered"
        }
        (_, error) if !permanent && delivery.attempts < max_attempts => {
            let next = now + backoff(state, delivery.attempts);
            update = update
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error.clone()))
                .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next));
            tracing::warn!(delivery = %delivery.id, attempt = delivery.attempts, error = ?error, next = %next, "webhook: attempt failed; will retry");
            "retry"
        }
        (_, error) => {
            update = update
                .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Failed.as_str()))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error.clone()));
            tracing::warn!(delivery = %delivery.id, attempts = delivery.attempts, error = ?error, "webhook: delivery failed");
            "failed"
        }
    };
    let written = update.exec(&tx).await?;
    if written.rows_affected == 0 {
        tracing::warn!(delivery = %delivery.id, verdict, "webhook: the lease ran out during the attempt; another worker has the delivery");
    } else if verdict == "delivered" {
        company_integration::Entity::update_many()
            .col_expr(company_integration::Column::LastDeliveryAt, Expr::value(now))
            .filter(company_integration::Column::CompanyId.eq(delivery.company_id))
            .exec(&tx)
            .await?;
        tracing::info!(delivery = %delivery.id, attempts = delivery.attempts, "webhook: delivered");
    }
    tx.commit().await?;
    Ok(())
}
