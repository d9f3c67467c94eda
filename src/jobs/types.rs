//! GraphQL types of jobs.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use super::events::Payload;
use crate::{
    graphql::{context::ContextExt, ids, loaders::loader_error, pagination::{Page, PageArgs, paginate}},
    documents::types::Document,
    entities::{document, job},
    policies::types::PolicyFilter,
    scope,
    templates::types::{DocumentFormat, Template},
    users::types::User,
};

/// Where a job is in its life.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is on it (or it waits for its next turn between slices).
    Running,
    /// Finished with at least one document; `failed` counts the items that could not be rendered.
    Succeeded,
    /// Finished with no document: every item failed, or the job could not run (`error` says why).
    Failed,
    /// Stopped by `cancelJob`; documents made before that are kept.
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(text: &str) -> JobStatus {
        match text {
            "RUNNING" => JobStatus::Running,
            "SUCCEEDED" => JobStatus::Succeeded,
            "FAILED" => JobStatus::Failed,
            "CANCELLED" => JobStatus::Cancelled,
            _ => JobStatus::Queued,
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// What a job makes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// One document for one policy or client (`generateDocument`).
    Document,
    /// One document per policy (`generateDocuments`).
    Documents,
    /// One document over many policies (`generateReport`).
    Report,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Document => "DOCUMENT",
            JobKind::Documents => "DOCUMENTS",
            JobKind::Report => "REPORT",
        }
    }
    pub fn parse(text: &str) -> JobKind {
        match text {
            "DOCUMENTS" => JobKind::Documents,
            "REPORT" => JobKind::Report,
            _ => JobKind::Document,
        }
    }
}

/// Progress of a job as a fraction in [0, 1].
pub fn progress_of(job_row: &job::Model) -> f64 {
    if job_row.total <= 0 {
        return if JobStatus::parse(&job_row.status).is_terminal() { 1.0 } else { 0.0 };
    }
    (f64::from(job_row.done + job_row.failed) / f64::from(job_row.total)).clamp(0.0, 1.0)
}

/// A generation job. Watch it with the `jobProgress` subscription.
#[derive(Clone)]
pub struct Job(pub job::Model);

#[Object]
impl Job {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Job", self.0.id)
    }
    /// What it makes.
    async fn kind(&self) -> JobKind {
        JobKind::parse(&self.0.kind)
    }
    /// Where it is in its life.
    async fn status(&self) -> JobStatus {
        JobStatus::parse(&self.0.status)
    }
    /// (done + failed) / total, in [0, 1]; never goes backwards.
    async fn progress(&self) -> f64 {
        progress_of(&self.0)
    }
    /// Items to make.
    async fn total(&self) -> i32 {
        self.0.total
    }
    /// Items made.
    async fn done(&self) -> i32 {
        self.0.done
    }
    /// Items that could not be made (the first error is in `error`).
    async fn failed(&self) -> i32 {
        self.0.failed
    }
    /// Why the job failed, when it did; else the first item error.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The format of its documents.
    async fn format(&self) -> DocumentFormat {
        DocumentFormat::parse(&self.0.format)
    }
    /// The template used.
    async fn template(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Template>> {
        let p = ctx.principal()?;
        let t = scope::templates(p)
            .filter(crate::entities::template::Column::Id.eq(self.0.template_id))
            .one(&ctx.state().db)
            .await
            .map_err(crate::error::AppError::from)?;
        Ok(t.map(Template))
    }
    /// The documents made so far, oldest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Document>> {
        let p = ctx.principal()?;
        let q = scope::documents(p)
            .filter(document::Column::JobId.eq(self.0.id))
            .order_by_asc(document::Column::CreatedAt)
            .order_by_asc(document::Column::Id);
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Document).await?)
    }
    /// Who started it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was asked for.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When a worker first took it.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Generates one document: a POLICY template with `policyId`, or a CLIENT template with `clientId`.
#[derive(InputObject)]
pub struct GenerateDocumentInput {
    pub template_id: ID,
    pub policy_id: Option<ID>,
    pub client_id: Option<ID>,
    /// Must match the template's format when given.
    pub format: Option<DocumentFormat>,
    /// A retried request with the same key returns the first job instead of starting another.
    pub idempotency_key: Option<String>,
}

/// Generates one document per policy (a POLICY template): the listed policies (at most 10,000) or those matching `filter`.
#[derive(InputObject)]
pub struct GenerateDocumentsInput {
    pub template_id: ID,
    pub policy_ids: Option<Vec<ID>>,
    pub filter: Option<PolicyFilter>,
    pub idempotency_key: Option<String>,
}

/// Generates one document over the policies matching `filter` (a REPORT template).
#[derive(InputObject)]
pub struct GenerateReportInput {
    pub template_id: ID,
    pub filter: Option<PolicyFilter>,
    pub idempotency_key: Option<String>,
}

/// Narrows the list of jobs.
#[derive(InputObject, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// A change in a job, as subscriptions push it: the event's payload, shared by every subscriber
/// that sees it (one published event, decoded once, not copied per subscriber).
pub struct JobEvent(pub Arc<Payload>);

impl JobEvent {
    /// An event about `job` as it is now (read from its row rather than received).
    pub fn now(job: job::Model, message: Option<String>) -> Self {
        JobEvent(Arc::new(Payload { job, message, document_id: None, at: Utc::now() }))
    }
}

#[Object]
impl JobEvent {
    /// The job, as of this event.
    async fn job(&self) -> Job {
        Job(self.0.job.clone())
    }
    /// Its status.
    async fn status(&self) -> JobStatus {
        JobStatus::parse(&self.0.job.status)
    }
    /// Its progress in [0, 1].
    async fn progress(&self) -> f64 {
        progress_of(&self.0.job)
    }
    /// Items made.
    async fn done(&self) -> i32 {
        self.0.job.done
    }
    /// Items that failed.
    async fn failed(&self) -> i32 {
        self.0.job.failed
    }
    /// Items in all.
    async fn total(&self) -> i32 {
        self.0.job.total
    }
    /// What happened, in words (e.g. an item's error).
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// The document this event is about, when one was just made.
    async fn document(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Document>> {
        let Some(id) = self.0.document_id else { return Ok(None) };
        let p = ctx.principal()?;
        let d = scope::documents(p).filter(document::Column::Id.eq(id)).one(&ctx.state().db).await.map_err(crate::error::AppError::from)?;
        Ok(d.map(Document))
    }
    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}
