//! The loop of every outbox worker (mail, webhooks): take the next due row until none is left,
//! then wait for a wake-up, the soonest retry or a poll; after an error, wait a second.

use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::{error::AppResult, state::AppState};

/// The longest an idle loop waits before looking again (a wake-up usually comes first).
pub const POLL: Duration = Duration::from_secs(1);

/// Runs `next` (true: it did one, look again at once) until `shutdown` turns true or its sender is
/// gone. `next_due` says how long until the soonest retry; `wakeup` is the loop's own wake-up.
pub async fn run<Next, Due>(
    state: &AppState,
    name: &str,
    what: &str,
    wakeup: &Notify,
    mut shutdown: watch::Receiver<bool>,
    mut next: impl FnMut() -> Next,
    mut next_due: impl FnMut() -> Due,
) where
    Next: Future<Output = AppResult<bool>>,
    Due: Future<Output = Option<Duration>>,
{
    loop {
        if *shutdown.borrow() {
            break;
        }
        match next().await {
            Ok(true) => continue,
            Ok(false) => {
                let wait = next_due().await.unwrap_or(POLL);
                tokio::select! {
                    _ = wakeup.notified() => {}
                    _ = state.job_wakeup.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
            Err(e) => {
                tracing::error!(worker = %name, error = %e, "{what} loop error; retrying in a second");
                tokio::time::sleep(POLL).await;
            }
        }
    }
    tracing::info!(worker = %name, "{what} loop stopped");
}
