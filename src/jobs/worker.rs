//! Workers: claim a job atomically (a lease), work through a slice of its items while a heartbeat
//! renews the lease, then give the job back so every organization takes its turn. A dead worker's
//! lease expires and another worker takes the job over; items already done are never redone, and a
//! job taken over `JOB_MAX_ATTEMPTS` times without progress fails instead of being claimed forever.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{events, types::JobStatus};
use super::item::{self, ItemOutcome};
use crate::{
    entities::{job, job_item},
    error::{AppError, AppResult},
    graphql::ids,
    state::AppState,
};

/// How long a claim lasts without a heartbeat (`JOB_LEASE_SECS`).
fn lease(state: &AppState) -> Duration {
    Duration::from_secs(Ord::max(state.settings.job_lease_secs, 1))
}
/// Items a worker makes before giving the job back for others' turn.
const SLICE_ITEMS: u64 = 25;
/// Attempts before an item that keeps failing for transient reasons is given up (its error kept).
const MAX_ITEM_ATTEMPTS: i32 = 4;

/// What a client reads about a failure of ours: what failed and where to look, never the detail
/// (paths, SQL), which goes to the log beside the same reference.
fn public_error(what: &str, job_id: Uuid, item_seq: Option<i32>) -> String {
    let job = ids::encode("Job", job_id);
    match item_seq {
        Some(seq) => format!("the {what} failed for item {} (reference: job {}); the details are in the server log", seq + 1, job.as_str()),
        None => format!("the {what} failed (reference: job {}); the details are in the server log", job.as_str()),
    }
}

/// A name for this worker: host, process and number.
pub fn worker_name(count: usize) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{host}-{}-{count}", std::process::id())
}

/// Runs until `shutdown` turns true: claim, work, or wait to be woken (at most a second).
pub async fn run(state: AppState, name: String, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tracing::info!(worker = %name, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        match execute_next(&state, &name, Some(&shutdown)).await {
            Ok(true) => continue,
            Ok(false) => {
                tokio::select! {
                    _ = state.job_wakeup.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(worker = %name, error = %e, "worker error; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    tracing::info!(worker = %name, "worker stopped");
}

/// Claims the job whose turn is oldest and works one slice of it. False when there was nothing to do.
pub async fn try_execute_next(state: &AppState, worker: &str) -> AppResult<bool> {
    execute_next(state, worker, None).await
}

/// As [`try_execute_next`]; once `stop` turns true the slice ends after the current item and the
/// job is given back at once (no lease to wait out), for another worker to go on with.
async fn execute_next(state: &AppState, worker: &str, stop: Option<&tokio::sync::watch::Receiver<bool>>) -> AppResult<bool> {
    let Some(j) = claim(state, worker).await? else { return Ok(false) };
    let _active = state.metrics.working();
    let max_attempts = Ord::max(state.settings.job_max_attempts, 1) as i32;
    // A cancelled job is ended as cancelled, however often it was taken over.
    if j.attempts >= max_attempts && !j.cancel_requested {
        tracing::error!(job = %j.id, attempts = j.attempts, "job given up: its workers kept stopping before any progress");
        let message = format!(
            "this job was given up after {max_attempts} attempts: each time, its worker stopped before finishing an item \
             (reference: job {})",
            ids::encode("Job", j.id).as_str()
        );
        fail_job(state, &j, &message).await?;
        return Ok(true);
    }
    work_slice(state, worker, j, stop).await?;
    Ok(true)
}

/// The wait before retrying an item that failed for a transient reason (storage, database):
/// 250 ms, 1 s, 4 s… with ±25% jitter, at most 10 s.
fn backoff(attempt: i32) -> Duration {
    let base = Ord::min(250u64.saturating_mul(4u64.saturating_pow(attempt.clamp(0, 8) as u32)), 10_000);
    let jitter = rand::random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// Runs every pending job to the end (tests and the CLI drive this).
pub async fn run_until_idle(state: &AppState) -> AppResult<()> {
    while try_execute_next(state, "inline").await? {}
    Ok(())
}

/// One statement that takes a claimable job: queued, or running with an expired (or given back)
/// lease. Organizations take turns: the one whose last turn (its latest heartbeat, on any of its
/// jobs) is oldest goes first, one never served before all, then its job whose turn is oldest.
/// Taking over a lease another worker still names (it died or lost it) counts an attempt.
async fn claim(state: &AppState, worker: &str) -> AppResult<Option<job::Model>> {
    let backend = state.db.get_database_backend();
    let now = Utc::now();
    let lock = if backend == DatabaseBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let mut sql = format!(
        "UPDATE jobs SET status = 'RUNNING', lease_owner = $1, lease_expires_at = $2, heartbeat_at = $3, \
         started_at = COALESCE(started_at, $3), \
         attempts = CASE WHEN lease_owner IS NULL THEN attempts ELSE attempts + 1 END, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs AS candidate WHERE status IN ('QUEUED', 'RUNNING') \
         AND (lease_expires_at IS NULL OR lease_expires_at < $3) \
         ORDER BY COALESCE((SELECT MAX(served.heartbeat_at) FROM jobs AS served \
         WHERE served.organization_id = candidate.organization_id), $4) ASC, turn_at ASC, id ASC LIMIT 1 {lock}) \
         RETURNING *"
    );
    if backend == DatabaseBackend::Sqlite {
        sql = sql.replace('$', "?");
    }
    let lease_until = now + chrono::Duration::from_std(lease(state)).unwrap_or_default();
    let never = chrono::DateTime::<Utc>::UNIX_EPOCH;
    let values: [sea_orm::Value; 4] = [worker.into(), lease_until.into(), now.into(), never.into()];
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    Ok(job::Entity::find().from_raw_sql(stmt).one(&state.db).await?)
}

/// Renews the lease; false when it was lost (another worker took the job over).
async fn heartbeat(state: &AppState, worker: &str, job_id: Uuid) -> AppResult<bool> {
    let now = Utc::now();
    let res = job::Entity::update_many()
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(now + chrono::Duration::from_std(lease(state)).unwrap_or_default()))
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::LeaseOwner.eq(worker))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Leases an item may run without finishing before its worker stops renewing the lease (10 minutes
/// with the default `JOB_LEASE_SECS`): an item stuck on something that never answers then loses
/// its job to another worker, and after `JOB_MAX_ATTEMPTS` of those the job fails.
const STALL_LEASES: u32 = 20;

/// Why the lease stopped being renewed.
enum LeaseEnd {
    /// Another worker has the job.
    Lost,
    /// No item was recorded for [`STALL_LEASES`] leases.
    Stalled,
}

/// Works a slice while the lease is renewed beside it: an item (a big report, storage retries, a
/// render waiting for a free child then using its whole budget) or a backoff may outlast the lease.
/// If the lease is lost all the same, or the slice stalls, the slice stops where it is (the next
/// owner redoes the item in flight; its document, if made, is found, not made twice).
async fn work_slice(state: &AppState, worker: &str, job_row: job::Model, stop: Option<&tokio::sync::watch::Receiver<bool>>) -> AppResult<()> {
    let job_id = job_row.id;
    let recorded = AtomicU64::new(0);
    tokio::select! {
        worked = work_items(state, worker, job_row, stop, &recorded) => worked,
        end = keep_lease(state, worker, job_id, &recorded) => {
            match end {
                LeaseEnd::Lost => tracing::warn!(job = %job_id, "lease lost; another worker has the job"),
                LeaseEnd::Stalled => tracing::error!(job = %job_id, "no item finished for {STALL_LEASES} leases; leaving the job to another worker"),
            }
            Ok(())
        }
    }
}

/// Renews the lease every third of it while items keep being recorded (`recorded` counts them);
/// returns once the lease was lost or the slice stalled.
async fn keep_lease(state: &AppState, worker: &str, job_id: Uuid, recorded: &AtomicU64) -> LeaseEnd {
    let period = lease(state) / 3;
    let (mut seen, mut since) = (recorded.load(Ordering::Relaxed), Instant::now());
    loop {
        tokio::time::sleep(period).await;
        let now_recorded = recorded.load(Ordering::Relaxed);
        if now_recorded != seen {
            (seen, since) = (now_recorded, Instant::now());
        } else if since.elapsed() > lease(state) * STALL_LEASES {
            return LeaseEnd::Stalled;
        }
        match heartbeat(state, worker, job_id).await {
            Ok(true) => {}
            Ok(false) => return LeaseEnd::Lost,
            // The database may be back before the lease runs out: keep trying.
            Err(e) => tracing::warn!(job = %job_id, error = %e, "heartbeat failed; retrying"),
        }
    }
}

async fn work_items(
    state: &AppState,
    worker: &str,
    job_row: job::Model,
    stop: Option<&tokio::sync::watch::Receiver<bool>>,
    recorded_items: &AtomicU64,
) -> AppResult<()> {
    if job_row.cancel_requested {
        return finish(state, worker, job_row.id, Some(JobStatus::Cancelled)).await;
    }
    let ctx = match item::JobContext::load(state, &job_row).await {
        Ok(ctx) => ctx,
        Err(e) => {
            tracing::error!(job = %job_row.id, error = %e, "job cannot run");
            let message = match &e {
                AppError::NotFound(_) | AppError::BadInput { .. } => e.to_string(),
                _ => public_error("server", job_row.id, None),
            };
            fail_job(state, &job_row, &message).await?;
            return Ok(());
        }
    };
    let items = job_item::Entity::find()
        .filter(job_item::Column::JobId.eq(job_row.id))
        .filter(job_item::Column::Status.eq("PENDING"))
        .order_by_asc(job_item::Column::Seq)
        .limit(SLICE_ITEMS)
        .all(&state.db)
        .await?;
    // Items are made `render_workers` at a time (the render pool has that many children) and
    // recorded one by one in order, so progress still moves forward item by item. An item made
    // but not recorded (a stop, a cancel, a lost lease) is found by the next owner: its document
    // exists once.
    let concurrency = state.settings.render_workers.max(1);
    ctx.prefetch(state, &items).await?;
    let ctx = &ctx;
    let mut made = futures_util::stream::iter(items)
        .map(|item| async move {
            let started = Instant::now();
            let outcome = item::make(state, ctx, &item).await;
            (item, outcome, started.elapsed())
        })
        .buffered(concurrency);
    // Cancellation is read from the job row each record returns (the claimed row at first).
    let mut cancel_requested = job_row.cancel_requested;
    while let Some((item, outcome, took)) = made.next().await {
        if stop.is_some_and(|s| *s.borrow()) {
            tracing::info!(job = %job_row.id, "stopping: giving the job back");
            break;
        }
        if cancel_requested {
            return finish(state, worker, job_row.id, Some(JobStatus::Cancelled)).await;
        }
        state.metrics.job_item(&job_row.kind, took);
        let attempts = item.attempts;
        let recorded = record(state, worker, &job_row, &item, outcome).await?;
        let Some(row) = recorded.row else {
            tracing::warn!(job = %job_row.id, "lease lost; another worker has the job");
            return Ok(());
        };
        recorded_items.fetch_add(1, Ordering::Relaxed);
        cancel_requested = row.cancel_requested;
        if recorded.retry {
            tokio::time::sleep(backoff(attempts)).await;
        }
    }
    drop(made);
    let pending = job_item::Entity::find()
        .filter(job_item::Column::JobId.eq(job_row.id))
        .filter(job_item::Column::Status.eq("PENDING"))
        .limit(1)
        .all(&state.db)
        .await?;
    if pending.is_empty() {
        finish(state, worker, job_row.id, None).await
    } else {
        // Give the job back: its next turn comes after the jobs waiting longer.
        let now = Utc::now();
        job::Entity::update_many()
            .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .col_expr(job::Column::TurnAt, Expr::value(now))
            .filter(job::Column::Id.eq(job_row.id))
            .filter(job::Column::LeaseOwner.eq(worker))
            .exec(&state.db)
            .await?;
        state.wake_workers();
        Ok(())
    }
}

/// What recording an item tells the loop.
struct Recorded {
    /// The item failed for a transient reason and will be retried (after a backoff).
    retry: bool,
    /// The job's row as committed (none when the lease was lost): its `cancel_requested` is the
    /// cancellation check before the next item.
    row: Option<job::Model>,
}

/// Writes an item's outcome and the job's counters in one transaction (three statements: the
/// item, the job `RETURNING` its new row, the commit), then publishes the event from that row.
async fn record(state: &AppState, worker: &str, job_row: &job::Model, item: &job_item::Model, outcome: ItemOutcome) -> AppResult<Recorded> {
    let (status, error, document_id, retry) = match outcome {
        ItemOutcome::Done { document_id } => ("DONE", None, Some(document_id), false),
        ItemOutcome::Failed { message } => ("FAILED", Some(message), None, false),
        ItemOutcome::Transient { what, detail } => {
            let retry = item.attempts + 1 < MAX_ITEM_ATTEMPTS;
            tracing::warn!(job = %job_row.id, item = item.seq, attempt = item.attempts + 1, retry, what, error = %detail, "item failed");
            let message = public_error(what, job_row.id, Some(item.seq));
            if retry { ("PENDING", Some(message), None, true) } else { ("FAILED", Some(message), None, false) }
        }
    };
    let txn = crate::db::begin(&state.db).await?;
    job_item::Entity::update_many()
        .col_expr(job_item::Column::Status, Expr::value(status))
        .col_expr(job_item::Column::Error, Expr::value(error.clone()))
        .col_expr(job_item::Column::Attempts, Expr::value(item.attempts + 1))
        .filter(job_item::Column::Id.eq(item.id))
        .exec(&txn)
        .await?;
    // A recorded item is progress: the attempts without any start again from none.
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .filter(job::Column::Id.eq(job_row.id))
        .filter(job::Column::LeaseOwner.eq(worker));
    match status {
        "DONE" => update = update.col_expr(job::Column::Done, Expr::col(job::Column::Done).add(1)),
        "FAILED" => {
            update = update.col_expr(job::Column::Failed, Expr::col(job::Column::Failed).add(1));
            if job_row.error.is_none() {
                update = update.col_expr(job::Column::Error, Expr::value(error.clone()));
            }
        }
        _ => {}
    }
    let Some(row) = update.exec_with_returning(&txn).await?.into_iter().next() else {
        // The lease was lost meanwhile: the new owner redoes this item (its document, if any, is kept once).
        txn.rollback().await?;
        return Ok(Recorded { retry: false, row: None });
    };
    txn.commit().await?;
    if retry {
        return Ok(Recorded { retry: true, row: Some(row) });
    }
    events::publish(state, &row, error, document_id);
    Ok(Recorded { retry: false, row: Some(row) })
}

/// Ends a job: cancelled, or succeeded when any item was made, failed when none was.
async fn finish(state: &AppState, worker: &str, job_id: Uuid, forced: Option<JobStatus>) -> AppResult<()> {
    let Some(row) = job::Entity::find_by_id(job_id).one(&state.db).await? else { return Ok(()) };
    let status = forced.unwrap_or(if row.done > 0 || row.total == 0 { JobStatus::Succeeded } else { JobStatus::Failed });
    let now = Utc::now();
    let res = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status.as_str()))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(job::Column::Id.eq(job_id))
        .filter(job::Column::LeaseOwner.eq(worker))
        .exec(&state.db)
        .await?;
    if res.rows_affected == 1 {
        if let Some(done) = job::Entity::find_by_id(job_id).one(&state.db).await? {
            let took = done.started_at.zip(done.finished_at).and_then(|(a, b)| (b - a).to_std().ok());
            state.metrics.job_finished(&done.kind, status.as_str(), took);
            events::publish(state, &done, Some(status.as_str().to_lowercase()), None);
        }
    }
    Ok(())
}

async fn fail_job(state: &AppState, job_row: &job::Model, message: &str) -> AppResult<()> {
    let now = Utc::now();
    let mut m: job::ActiveModel = job_row.clone().into();
    m.status = Set(JobStatus::Failed.as_str().into());
    m.error = Set(Some(message.chars().take(2000).collect()));
    m.finished_at = Set(Some(now));
    m.updated_at = Set(now);
    m.lease_owner = Set(None);
    m.lease_expires_at = Set(None);
    let saved = m.update(&state.db).await?;
    events::publish(state, &saved, Some(message.to_string()), None);
    Ok(())
}

