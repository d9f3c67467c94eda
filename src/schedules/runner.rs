//! Running due schedules, for the scheduler's tick: each due schedule is claimed by moving its
//! `nextRunAt` (a conditional update: one process wins), then its report is queued as its creator,
//! with an idempotency key per slot so a retried run never makes two jobs. A run missed while the
//! server was down is run once: the next slot is computed from now, not from the missed one.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::cron;
use crate::{
    entities::{report_schedule, user},
    error::{AppError, AppResult},
    graphql::ids,
    jobs::{service::generate_report, types::GenerateReportInput},
    organizations::timezone,
    principal::{Actor, Principal, RequestMeta, Role},
    state::AppState,
};

/// Runs the schedules due at `now`; returns how many reports were queued.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due = report_schedule::Entity::find()
        .filter(report_schedule::Column::IsActive.eq(true))
        .filter(report_schedule::Column::NextRunAt.lte(now))
        .all(&state.db)
        .await?;
    let mut queued = 0;
    for schedule in due {
        if !claim(&state.db, &schedule, now).await? {
            continue;
        }
        match creator(&state.db, &schedule).await? {
            Err(reason) => stop(&state.db, &schedule, &reason).await?,
            Ok(principal) => {
                let slot = schedule.next_run_at.unwrap_or(now);
                let input = GenerateReportInput {
                    template_id: ids::encode("Template", schedule.template_id),
                    filter: schedule.filter.clone().and_then(|f| serde_json::from_value(f).ok()),
                    idempotency_key: Some(format!("schedule:{}:{}", schedule.id, slot.timestamp())),
                };
                let actor = Actor::of(&principal, RequestMeta { request_id: "scheduler".into(), ..RequestMeta::default() });
                let outcome = generate_report(state, &principal, &actor, input).await;
                let (job, error) = match outcome {
                    Ok(job) => (Some(job.id), None),
                    Err(e) => (None, Some(e.client_message())),
                };
                queued += usize::from(job.is_some());
                report_schedule::Entity::update_many()
                    .col_expr(report_schedule::Column::LastJobId, Expr::value(job))
                    .col_expr(report_schedule::Column::LastError, Expr::value(error))
                    .filter(report_schedule::Column::Id.eq(schedule.id))
                    .exec(&state.db)
                    .await?;
                // Its document is mailed by `deliver_finished` once the job has made it.
            }
        }
    }
    Ok(queued)
}

/// Moves the schedule's next run past `now`; true when this process moved it (and so runs it).
async fn claim(db: &impl ConnectionTrait, schedule: &report_schedule::Model, now: DateTime<Utc>) -> AppResult<bool> {
    let zone = timezone::parse(&schedule.timezone, "timezone").unwrap_or(chrono_tz::Africa::Douala);
    let next = cron::parse(&schedule.cron, "cron").ok().and_then(|c| cron::next_after(&c, zone, now));
    let moved = report_schedule::Entity::update_many()
        .col_expr(report_schedule::Column::NextRunAt, Expr::value(next))
        .col_expr(report_schedule::Column::LastRunAt, Expr::value(Some(now)))
        .col_expr(report_schedule::Column::UpdatedAt, Expr::value(now))
        .filter(report_schedule::Column::Id.eq(schedule.id))
        .filter(report_schedule::Column::NextRunAt.eq(schedule.next_run_at))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// The schedule's creator as a principal, or why they can no longer run it.
async fn creator(db: &impl ConnectionTrait, schedule: &report_schedule::Model) -> AppResult<Result<Principal, String>> {
    let Some(id) = schedule.created_by else {
        return Ok(Err("the user who made this schedule no longer exists; resume it as someone who may run reports".into()));
    };
    let Some(person) = user::Entity::find_by_id(id).one(db).await? else {
        return Ok(Err("the user who made this schedule no longer exists".into()));
    };
    let role = Role::parse(&person.role).unwrap_or(Role::Agent);
    if !person.is_active {
        return Ok(Err(format!("{} is deactivated: the schedule ran as them and has stopped", person.email)));
    }
    if role < Role::Manager || person.organization_id != schedule.organization_id {
        return Ok(Err(format!("{} may no longer run scheduled reports (MANAGER and up): the schedule has stopped", person.email)));
    }
    Ok(Ok(Principal { user_id: person.id, org_id: schedule.organization_id, role, session_id: None, api_key: None }))
}

/// Stops a schedule its creator can no longer run, saying why.
async fn stop(db: &impl ConnectionTrait, schedule: &report_schedule::Model, reason: &str) -> AppResult<()> {
    tracing::warn!(schedule = %schedule.id, reason, "report schedule stopped");
    report_schedule::Entity::update_many()
        .col_expr(report_schedule::Column::IsActive, Expr::value(false))
        .col_expr(report_schedule::Column::LastError, Expr::value(Some(reason.to_string())))
        .filter(report_schedule::Column::Id.eq(schedule.id))
        .exec(db)
        .await
        .map_err(AppError::from)?;
    Ok(())
}

/// Mails each schedule's last report once its job has made it: one `REPORT` message to the
/// recipients with the document attached, never twice (a message of that document exists).
pub async fn deliver_finished(state: &AppState) -> AppResult<usize> {
    use crate::{
        entities::{document, job, outbox},
        mail::{
            service::{Outgoing, enqueue_many},
            templates::{self, Locale},
            types::MessageKind,
        },
    };
    let waiting = report_schedule::Entity::find().filter(report_schedule::Column::LastJobId.is_not_null()).all(&state.db).await?;
    let mut outgoing = Vec::new();
    for schedule in waiting {
        let Some(job_id) = schedule.last_job_id else { continue };
        let done = job::Entity::find_by_id(job_id).one(&state.db).await?.is_some_and(|j| j.status == "SUCCEEDED");
        if !done {
            continue;
        }
        let Some(made) = document::Entity::find().filter(document::Column::JobId.eq(job_id)).one(&state.db).await? else { continue };
        let sent = outbox::Entity::find()
            .filter(outbox::Column::DocumentId.eq(made.id))
            .filter(outbox::Column::Kind.eq(MessageKind::Report.as_str()))
            .one(&state.db)
            .await?
            .is_some();
        if sent {
            continue;
        }
        let recipients: Vec<String> = serde_json::from_value(schedule.recipients.clone()).unwrap_or_default();
        if recipients.is_empty() {
            continue;
        }
        let day = made.created_at.format("%d/%m/%Y").to_string();
        outgoing.push(Outgoing {
            organization_id: Some(schedule.organization_id),
            kind: MessageKind::Report,
            recipients,
            rendered: templates::report(Locale::Fr, &schedule.name, &day, &made.file_name)?,
            document_id: Some(made.id),
            locale: Locale::Fr,
        });
    }
    enqueue_many(&state.db, outgoing).await
}
