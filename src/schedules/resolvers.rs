//! Report schedule queries and mutations (MANAGER and up).

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    types::{CreateReportScheduleInput, ReportSchedule, UpdateReportScheduleInput},
};
use crate::{
    audit::service::Audited,
    entities::report_schedule,
    graphql::{
        context::ContextExt,
        ids,
        pagination::{Page, PageArgs, paginate},
    },
};

#[derive(Default)]
pub struct ScheduleQuery;

#[Object]
impl ScheduleQuery {
    /// The organization's report schedules, newest first (MANAGER and up).
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn report_schedules(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<ReportSchedule>> {
        let q = service::list(ctx.principal()?)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), ReportSchedule).await?)
    }
}

#[derive(Default)]
pub struct ScheduleMutation;

#[Object]
impl ScheduleMutation {
    /// Schedules a REPORT template by cron in a time zone; each run is a `generateReport` job run as
    /// the schedule's creator, its document mailed to `recipients`. A run missed while the server
    /// was down happens once at the next tick. A bad `cron` or `timezone` is `BAD_USER_INPUT` on it.
    async fn create_report_schedule(&self, ctx: &Context<'_>, input: CreateReportScheduleInput) -> Result<ReportSchedule> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let row = service::create(tx.db(), p, input).await?;
        tx.commit("report_schedule.create", Some(("ReportSchedule", row.id)), summary(&row)).await?;
        Ok(ReportSchedule(row))
    }

    /// Changes a schedule; `isActive: true` resumes a stopped one.
    async fn update_report_schedule(&self, ctx: &Context<'_>, input: UpdateReportScheduleInput) -> Result<ReportSchedule> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let row = service::update(tx.db(), p, input).await?;
        tx.commit("report_schedule.update", Some(("ReportSchedule", row.id)), summary(&row)).await?;
        Ok(ReportSchedule(row))
    }

    /// Deletes a schedule (its past jobs and documents stay).
    async fn delete_report_schedule(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "ReportSchedule")?;
        let tx = Audited::begin(ctx).await?;
        service::delete(tx.db(), p, key).await?;
        tx.commit("report_schedule.delete", Some(("ReportSchedule", key)), json!({})).await?;
        Ok(true)
    }
}

fn summary(row: &report_schedule::Model) -> serde_json::Value {
    json!({"name": row.name, "cron": row.cron, "timezone": row.timezone, "recipients": row.recipients, "isActive": row.is_active})
}
