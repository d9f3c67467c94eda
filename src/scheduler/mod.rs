//! The scheduler: every `SCHEDULER_INTERVAL_SECS` one worker process (whichever takes the lease)
//! runs a tick: policies past their expiry become EXPIRED, and the alerts their dates call for
//! are raised, each once, with their mail; raised alerts are published once committed; due report
//! schedules run, and the reports they made that finished are mailed.
//! Instalments past due become OVERDUE and instalments falling due are alerted (`instalments.rs`).

pub mod expiry;
pub mod instalments;
pub mod lease;
pub mod notify;

use chrono::{DateTime, Utc};

use crate::{alerts, error::AppResult, state::AppState};

/// The lease every process competes for.
const TICK: &str = "tick";

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub expired: usize,
    /// Instalments the tick marked `OVERDUE`.
    pub overdue: usize,
    pub alerts_raised: usize,
    pub reports_queued: usize,
    /// Alert mail and finished scheduled reports' mail.
    pub messages_queued: usize,
}

/// Runs one tick as of `now`, in one transaction: expiry, its audit and the alerts.
pub async fn tick(state: &AppState, now: DateTime<Utc>) -> AppResult<TickReport> {
    let txn = crate::db::begin(&state.db).await?;
    let groups = expiry::groups(&txn, now).await?;
    let mut candidates = Vec::new();
    let mut expired_count = 0;
    for group in &groups {
        let expired = expiry::expire(&txn, group, now).await?;
        expiry::audit(&txn, &expired, now).await?;
        expired_count += expired.len();
        candidates.extend(expired.iter().map(|due| expiry::expired_alert(due, now)));
        for due in expiry::expiring(&txn, group).await? {
            candidates.extend(expiry::expiring_alert(group, &due, now));
        }
    }
    // Instalments: the implicit ones written, the overdue marked and alerted, those falling due alerted.
    instalments::materialise(&txn, now).await?;
    let mut overdue_count = 0;
    for group in instalments::groups(&txn, now).await? {
        overdue_count += instalments::mark_overdue(&txn, &group, now).await? as usize;
        candidates.extend(instalments::overdue(&txn, &group).await?.iter().map(|due| instalments::overdue_alert(due, now)));
        for due in instalments::falling_due(&txn, &group).await? {
            candidates.extend(instalments::due_alert(&group, &due, now));
        }
    }
    let raised = alerts::service::raise(&txn, candidates).await?;
    let mut messages = notify::mail_alerts(&txn, &raised).await?;
    txn.commit().await?;
    alerts::service::publish(state, &raised).await?;
    let reports_queued = crate::schedules::runner::run_due(state, now).await?;
    messages += crate::schedules::runner::deliver_finished(state).await?;
    if messages > 0 {
        state.wake_mailers();
    }
    Ok(TickReport { expired: expired_count, overdue: overdue_count, alerts_raised: raised.len(), reports_queued, messages_queued: messages })
}

/// Runs the scheduler until `shutdown` turns true: every interval, the process holding the lease ticks.
pub async fn run(state: AppState, holder: String, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(state.settings.scheduler_interval_secs.max(1));
    let hold = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::seconds(60));
    tracing::info!(holder = %holder, interval_secs = every.as_secs(), "scheduler started");
    loop {
        let now = Utc::now();
        match lease::acquire(&state.db, TICK, &holder, now, hold).await {
            Ok(true) => match tick(&state, now).await {
                Ok(report) => {
                    let _ = lease::ran(&state.db, TICK, now).await;
                    tracing::info!(expired = report.expired, alerts = report.alerts_raised, reports = report.reports_queued, "scheduler tick");
                }
                Err(e) => tracing::error!(error = %e, "scheduler tick failed; the next one retries"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler lease unavailable"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
