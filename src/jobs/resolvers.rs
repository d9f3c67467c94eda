//! Job queries, generation mutations, and the progress subscriptions.

use async_graphql::{Context, ID, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    events::{self, Payload},
    service,
    types::{GenerateDocumentInput, GenerateDocumentsInput, GenerateReportInput, Job, JobEvent, JobFilter, JobStatus},
};
use crate::{
    principal::Principal,
    graphql::{
        context::{ContextExt, hold_subscription},
        ids,
        pagination::{Page, PageArgs, paginate},
        shared::{Admission, Audience, SharedExecution, SharedField},
    },
    entities::job,
    error::AppError,
    scope,
    state::AppState,
};

/// How far back `jobEvents(since:)` replays: an older `since` counts from this long ago.
pub const REPLAY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// The jobs the caller may read (an AGENT's own; the organization's for MANAGER and up), newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<JobFilter>,
    ) -> Result<Page<Job>> {
        let p = ctx.principal()?;
        Ok(paginate(&ctx.state().db, service::list(p, filter), PageArgs::new(first, after, last, before).counted(ctx), Job).await?)
    }

    /// One job by ID.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Job>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Job")?;
        Ok(Some(Job(scope::one(&ctx.state().db, scope::jobs(p), job::Column::Id, key, "Job").await?)))
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Starts a job that makes one document (a POLICY template with `policyId`, a CLIENT one with `clientId`).
    async fn generate_document(&self, ctx: &Context<'_>, input: GenerateDocumentInput) -> Result<Job> {
        let p = ctx.principal()?;
        Ok(Job(service::generate_document(ctx.state(), p, &ctx.actor()?, input).await?))
    }

    /// Starts one job that makes a document per policy (at most 10,000).
    async fn generate_documents(&self, ctx: &Context<'_>, input: GenerateDocumentsInput) -> Result<Job> {
        let p = ctx.principal()?;
        Ok(Job(service::generate_documents(ctx.state(), p, &ctx.actor()?, input).await?))
    }

    /// Starts a job that makes one document over the policies matching the filter (a REPORT template).
    async fn generate_report(&self, ctx: &Context<'_>, input: GenerateReportInput) -> Result<Job> {
        let p = ctx.principal()?;
        Ok(Job(service::generate_report(ctx.state(), p, &ctx.actor()?, input).await?))
    }

    /// Cancels a job: at once when it waits, after its current item when it runs. Documents made are kept.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> Result<Job> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Job")?;
        Ok(Job(service::cancel(ctx.state(), p, &ctx.actor()?, key).await?))
    }
}

/// Re-reads a job (after a lag, or when no event came for a while).
async fn reread(state: &AppState, principal: &Principal, id: uuid::Uuid) -> Option<job::Model> {
    scope::jobs(principal).filter(job::Column::Id.eq(id)).one(&state.db).await.ok().flatten()
}

/// `jobEvents` without `since` streams only what happens from now on, filtered by what the caller
/// may see: the organization's jobs for a MANAGER and up, an AGENT's own. Every field reachable
/// from `JobEvent` answers by the same rule (`scope::`, `User`'s disclosure: organization, role,
/// an AGENT's own id), so the subscribers of one audience share one execution per event.
pub const SHARED_JOB_EVENTS: SharedField = SharedField {
    name: "jobEvents",
    live_only: |args| args.get("since") == async_graphql::Value::Null,
    audience: |p| Audience { org_id: p.org_id, role: p.role, user_id: p.is_agent().then_some(p.user_id) },
    admit: |state, p| hold_subscription(state, p).map(|held| Box::new(held) as Admission),
};

/// A place among the caller's live subscriptions (`MAX_SUBSCRIPTIONS_PER_USER`), held while the
/// stream lives. Past the limit: `RATE_LIMITED`, because the caller is using too much of a shared
/// resource and may retry once it ends one (`QUERY_TOO_COMPLEX` is about one operation's shape,
/// which no retry fixes).
#[derive(Default)]
pub struct JobSubscription;

#[Subscription]
impl JobSubscription {
    /// A job's progress: first its current state, then each change, ending after the final state.
    /// Progress never goes backwards. A user holds at most the server's `MAX_SUBSCRIPTIONS_PER_USER`
    /// (default 20) live subscriptions, this one and `jobEvents` alike; past that, `RATE_LIMITED`
    /// until one ends.
    async fn job_progress(&self, ctx: &Context<'_>, job_id: ID) -> Result<impl Stream<Item = JobEvent> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state().clone();
        let key = ids::decode(&job_id, "Job")?;
        // Checked before anything is subscribed: a made-up or hidden job keeps nothing.
        scope::one(&state.db, scope::jobs(&p), job::Column::Id, key, "Job").await?;
        let held = hold_subscription(&state, &p)?;
        // Listen first, then read: no change can slip between the two.
        let mut live = state.events.subscribe(&events::job_topic(key));
        let first = scope::one(&state.db, scope::jobs(&p), job::Column::Id, key, "Job").await?;
        Ok(async_stream::stream! {
            let _held = held;
            // A job that already ended says why in its first (and only) event.
            let message = if JobStatus::parse(&first.status).is_terminal() { first.error.clone() } else { None };
            let mut last = JobEvent::now(first, message).0;
            yield JobEvent(last.clone());
            if JobStatus::parse(&last.job.status).is_terminal() {
                return;
            }
            loop {
                let next = tokio::time::timeout(std::time::Duration::from_secs(5), live.next()).await;
                let candidate = match next {
                    Ok(Some(event)) if event.is_lagged() => reread(&state, &p, key).await.map(|j| JobEvent::now(j, None).0),
                    Ok(Some(event)) => event.decode::<Payload>(),
                    // The bus closed: nothing more will come.
                    Ok(None) => break,
                    // Quiet for a while: the row is the truth (an event may have gone to another process).
                    Err(_) => reread(&state, &p, key).await.map(|j| JobEvent::now(j, None).0),
                };
                let Some(candidate) = candidate else { continue };
                if !events::is_newer(&last.job, &candidate.job) {
                    continue;
                }
                last = candidate;
                let terminal = JobStatus::parse(&last.job.status).is_terminal();
                yield JobEvent(last.clone());
                if terminal {
                    break;
                }
            }
        })
    }

    /// Changes to every job the caller may read (an AGENT's own; the organization's for MANAGER and up).
    /// With `since`, first replays the current state of the jobs changed since then (after a
    /// reconnect), oldest first: at most the 100 most recently changed (the server's
    /// `JOB_EVENTS_REPLAY_MAX`), and none changed more than 24 hours ago (an older `since` counts
    /// from then). A client that was away longer, or sees a full replay, re-reads the `jobs` query.
    /// Counts against `MAX_SUBSCRIPTIONS_PER_USER`, like `jobProgress`.
    async fn job_events(&self, ctx: &Context<'_>, since: Option<DateTime<Utc>>) -> Result<impl Stream<Item = JobEvent> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state().clone();
        // Run once for a group of subscribers, each of whom was admitted on joining it.
        let held = match ctx.data_opt::<SharedExecution>() {
            Some(_) => None,
            None => Some(hold_subscription(&state, &p)?),
        };
        let mut live = state.events.subscribe(&events::org_topic(p.org_id));
        let replay = match since {
            Some(since) => {
                let from = since.max(Utc::now() - REPLAY_WINDOW);
                let mut recent = scope::jobs(&p)
                    .filter(job::Column::UpdatedAt.gte(from))
                    .order_by_desc(job::Column::UpdatedAt)
                    .order_by_desc(job::Column::Id)
                    .limit(state.settings.job_events_replay_max)
                    .all(&state.db)
                    .await
                    .map_err(AppError::from)?;
                recent.reverse();
                recent
            }
            None => Vec::new(),
        };
        Ok(async_stream::stream! {
            let _held = held;
            for j in replay {
                yield JobEvent::now(j, None);
            }
            while let Some(event) = live.next().await {
                // Decoded once for every subscriber of the organization; each keeps what it may see.
                let Some(e) = event.decode::<Payload>() else { continue };
                let visible = e.job.organization_id == p.org_id && (!p.is_agent() || e.job.created_by == Some(p.user_id));
                if visible {
                    yield JobEvent(e);
                }
            }
        })
    }
}
