//! The mail loop of a worker process: claim one due `PENDING` message with a lease (one
//! statement; `FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's single writer otherwise), send
//! it, and record the outcome only while the lease is still this loop's. A message is sent once
//! however many loops run; a loop that dies mid-send leaves the lease to expire and another one
//! sends it (the only case a message can go twice).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
    sea_query::Expr,
};

use super::{
    sender::{AttachedFile, Delivery, Sender},
    types::{MessageKind, MessageStatus},
};
use crate::{
    entities::{document, outbox},
    error::AppResult,
    state::AppState,
    storage::StoredRef,
};


/// Runs until `shutdown` turns true (or its sender is gone). Without `SMTP_URL` there is nothing
/// to do: messages stay `PENDING`.
pub async fn run(state: AppState, name: String, shutdown: tokio::sync::watch::Receiver<bool>) {
    let Some(server) = state.settings.mail.smtp.clone() else {
        tracing::info!("SMTP_URL is unset: messages stay PENDING (and are logged when queued)");
        return;
    };
    let sender = match Sender::new(&server, &state.settings.mail.from) {
        Ok(sender) => sender,
        Err(e) => {
            tracing::error!(error = %e, "mail loop cannot start");
            return;
        }
    };
    tracing::info!(worker = %name, host = %server.host, port = server.port, "mail loop started");
    let (next, next_due) = (|| deliver_next(&state, &sender, &name), || next_due_in(&state));
    crate::outbox::run(&state, &name, "mail", &state.mail_wakeup, shutdown, next, next_due).await;
}

/// How long until the soonest retry is due, at most [`POLL`](crate::outbox::POLL). A message another worker holds is
/// left out: its lease ending (its worker died) is found by the next poll.
async fn next_due_in(state: &AppState) -> Option<Duration> {
    let now = Utc::now();
    let soonest: Option<Option<DateTime<Utc>>> = outbox::Entity::find()
        .select_only()
        .column_as(outbox::Column::NextAttemptAt.min(), "soonest")
        .filter(outbox::Column::Status.eq(MessageStatus::Pending.as_str()))
        .filter(Condition::any().add(outbox::Column::LeasedUntil.is_null()).add(outbox::Column::LeasedUntil.lt(now)))
        .into_tuple()
        .one(&state.db)
        .await
        .ok()?;
    let due = soonest.flatten()?;
    let wait = (due - now).to_std().unwrap_or(Duration::from_millis(10));
    Some(wait.clamp(Duration::from_millis(10), crate::outbox::POLL))
}

/// Claims one due message and makes one attempt at it. False when none was due.
pub async fn deliver_next(state: &AppState, sender: &Sender, worker: &str) -> AppResult<bool> {
    let Some(message) = claim(state, worker).await? else { return Ok(false) };
    let delivery = match attachment(state, &message).await {
        Ok(file) => sender.send(&message, file).await,
        Err(delivery) => delivery,
    };
    record(state, worker, &message, delivery).await?;
    Ok(true)
}

/// One statement that takes a due `PENDING` message whose lease (if any) ran out, and counts
/// the attempt.
async fn claim(state: &AppState, worker: &str) -> AppResult<Option<outbox::Model>> {
    let backend = state.db.get_database_backend();
    let now = Utc::now();
    let lock = if backend == DatabaseBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let mut sql = format!(
        "UPDATE outbox SET lease_owner = $1, leased_until = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM outbox WHERE status = 'PENDING' \
         AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
         AND (leased_until IS NULL OR leased_until < $3) \
         ORDER BY next_attempt_at ASC, id ASC LIMIT 1 {lock}) \
         RETURNING *"
    );
    if backend == DatabaseBackend::Sqlite {
        sql = sql.replace('$', "?");
    }
    let lease = chrono::Duration::seconds(state.settings.mail.lease_secs.max(5) as i64);
    let values: [sea_orm::Value; 3] = [worker.into(), (now + lease).into(), now.into()];
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    Ok(outbox::Entity::find().from_raw_sql(stmt).one(&state.db).await?)
}

/// The document to attach, read back decrypted and decompressed; a deleted one fails the
/// message, a storage error is retried.
async fn attachment(state: &AppState, message: &outbox::Model) -> Result<Option<AttachedFile>, Delivery> {
    let Some(document_id) = message.document_id else { return Ok(None) };
    let found = document::Entity::find_by_id(document_id)
        .filter(document::Column::OrganizationId.eq(message.organization_id))
        .one(&state.db)
        .await
        .map_err(|e| Delivery::Transient(format!("the document could not be read: {e}")))?;
    let Some(doc) = found else {
        return Err(Delivery::Permanent("the document was deleted before the message was sent".into()));
    };
    let stored = StoredRef {
        key: doc.storage_key.clone(),
        sha256: doc.sha256.clone(),
        compressed: doc.compressed,
        encrypted: doc.encrypted,
        kid: doc.kid.clone(),
    };
    let bytes = state.storage.get(&stored).await.map_err(|e| {
        tracing::warn!(message = %message.id, document = %doc.id, error = %e, "mail: cannot read the document to attach");
        Delivery::Transient("the document could not be read from storage".into())
    })?;
    Ok(Some(AttachedFile { file_name: doc.file_name, mime_type: doc.mime_type, bytes }))
}

/// The wait before attempt `attempts + 1`: `MAIL_RETRY_BASE_MS` doubled per attempt made, at
/// most `MAIL_RETRY_MAX_MS`, with ±20% jitter so that retries of many messages spread out.
fn backoff(state: &AppState, attempts: i32) -> Duration {
    let mail = &state.settings.mail;
    let doubled = mail.retry_base_ms.saturating_mul(1u64 << (attempts.clamp(1, 30) - 1) as u32);
    let wait = doubled.min(mail.retry_max_ms) as f64 * rand::random_range(0.8..1.2);
    Duration::from_millis(wait as u64)
}

/// Writes the attempt's outcome, only while the lease is still ours.
async fn record(state: &AppState, worker: &str, message: &outbox::Model, delivery: Delivery) -> AppResult<()> {
    let now = Utc::now();
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(outbox::Column::LeasedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(outbox::Column::Id.eq(message.id))
        .filter(outbox::Column::LeaseOwner.eq(worker));
    let max_attempts = state.settings.mail.max_attempts.max(1) as i32;
    let outcome = match &delivery {
        Delivery::Sent => {
            update = update
                .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Sent.as_str()))
                .col_expr(outbox::Column::SentAt, Expr::value(now));
            // A reset code must not outlive its delivery in the database.
            if message.kind == MessageKind::PasswordReset.as_str() {
                update = update
                    .col_expr(outbox::Column::Body, Expr::value(""))
                    .col_expr(outbox::Column::HtmlBody, Expr::value(Option::<String>::None));
            }
            "sent"
        }
        Delivery::Transient(reason) if message.attempts < max_attempts => {
            let next = now + chrono::Duration::from_std(backoff(state, message.attempts)).unwrap_or_default();
            update = update
                .col_expr(outbox::Column::LastError, Expr::value(reason.clone()))
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(next));
            tracing::warn!(message = %message.id, attempt = message.attempts, error = %reason, next = %next, "mail: temporary failure; will retry");
            "retry"
        }
        Delivery::Transient(reason) | Delivery::Permanent(reason) => {
            update = update
                .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Failed.as_str()))
                .col_expr(outbox::Column::LastError, Expr::value(reason.clone()));
            tracing::warn!(message = %message.id, attempts = message.attempts, error = %reason, "mail: message failed");
            "failed"
        }
    };
    let written = update.exec(&state.db).await?;
    if written.rows_affected == 0 {
        tracing::warn!(message = %message.id, outcome, "mail: the lease ran out during the attempt; another worker has the message");
    } else if outcome == "sent" {
        tracing::info!(message = %message.id, attempts = message.attempts, "mail: sent");
    }
    Ok(())
}
