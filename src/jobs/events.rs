//! Job events: published after the change is committed, on the job's topic and its organization's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{entities::job, state::AppState};

/// What travels on the event bus.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Payload {
    pub job: job::Model,
    pub message: Option<String>,
    pub document_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

pub fn job_topic(id: Uuid) -> String {
    format!("job:{id}")
}

pub fn org_topic(id: Uuid) -> String {
    format!("org-jobs:{id}")
}

/// Publishes the job's state. Call only after the transaction that changed it has committed.
pub fn publish(state: &AppState, job_row: &job::Model, message: Option<String>, document_id: Option<Uuid>) {
    let payload = Payload { job: job_row.clone(), message, document_id, at: Utc::now() };
    match serde_json::to_value(&payload) {
        Ok(v) => {
            state.events.publish(&job_topic(job_row.id), v.clone());
            state.events.publish(&org_topic(job_row.organization_id), v);
        }
        Err(e) => tracing::error!(error = %e, "cannot serialise a job event"),
    }
}

/// True when `next` is not older than `prev`: progress never goes backwards for a subscriber.
pub fn is_newer(prev: &job::Model, next: &job::Model) -> bool {
    let rank = |j: &job::Model| {
        let terminal = matches!(j.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED");
        (terminal as i32, j.done + j.failed)
    };
    rank(next) > rank(prev) || (rank(next) == rank(prev) && next.updated_at > prev.updated_at)
}
