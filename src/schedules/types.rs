//! GraphQL types of report schedules.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};

use crate::{
    entities::{job, report_schedule},
    error::AppError,
    graphql::{context::ContextExt, ids, loaders::loader_error},
    jobs::types::Job,
    policies::types::PolicyFilter,
    scope,
    templates::types::Template,
    users::types::User,
};

/// A report made on a schedule and mailed to its recipients.
pub struct ReportSchedule(pub report_schedule::Model);

#[Object]
impl ReportSchedule {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("ReportSchedule", self.0.id)
    }
    /// What people call it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The REPORT template it runs.
    async fn template(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Template>> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let p = ctx.principal()?;
        let found = scope::templates(p)
            .filter(crate::entities::template::Column::Id.eq(self.0.template_id))
            .one(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(found.map(Template))
    }
    /// The policies it covers (null: every policy its creator may read).
    async fn filter(&self) -> Option<Json<serde_json::Value>> {
        self.0.filter.clone().filter(|f| !f.is_null()).map(Json)
    }
    /// When it runs: 5 cron fields (minute hour day-of-month month day-of-week), e.g. `0 7 * * MON`.
    async fn cron(&self) -> &str {
        &self.0.cron
    }
    /// The IANA time zone `cron` is read in.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// Who receives the document.
    async fn recipients(&self) -> Vec<String> {
        serde_json::from_value(self.0.recipients.clone()).unwrap_or_default()
    }
    /// False once paused, or stopped because its creator can no longer run it (`lastError` says why).
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// When it last ran.
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at
    }
    /// When it runs next (null while inactive).
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        if self.0.is_active { self.0.next_run_at } else { None }
    }
    /// The job of its last run.
    async fn last_job(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Job>> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let Some(id) = self.0.last_job_id else { return Ok(None) };
        let found = scope::jobs(ctx.principal()?).filter(job::Column::Id.eq(id)).one(&ctx.state().db).await.map_err(AppError::from)?;
        Ok(found.map(Job))
    }
    /// Why its last run failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// Who made it: the report runs as this user.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Schedules a report (MANAGER and up); it runs as its creator.
#[derive(InputObject)]
pub struct CreateReportScheduleInput {
    /// At most 200 characters.
    pub name: String,
    /// A REPORT template of the organization.
    pub template_id: ID,
    /// The policies it covers (absent: every policy the creator may read).
    pub filter: Option<PolicyFilter>,
    /// 5 cron fields: minute hour day-of-month month day-of-week, e.g. `0 7 * * MON`.
    pub cron: String,
    /// The IANA time zone `cron` is read in.
    #[graphql(default = "Africa/Douala")]
    pub timezone: String,
    /// 1 to 20 e-mail addresses.
    pub recipients: Vec<String>,
}

/// Changes a schedule (MANAGER and up): the fields given are set.
#[derive(InputObject)]
pub struct UpdateReportScheduleInput {
    pub id: ID,
    pub name: Option<String>,
    pub template_id: Option<ID>,
    pub filter: Option<PolicyFilter>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub recipients: Option<Vec<String>>,
    /// Pause (false) or resume (true); resuming clears `lastError`.
    pub is_active: Option<bool>,
}
