//! Report schedules over the caller's organization (MANAGER and up): checked once when written
//! (template, filter, cron, zone, recipients), `nextRunAt` computed and stored.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select, Set};
use serde_json::json;
use uuid::Uuid;

use super::{
    cron,
    types::{CreateReportScheduleInput, UpdateReportScheduleInput},
};
use crate::{
    entities::{report_schedule, template},
    error::{AppError, AppResult},
    graphql::{
        ids,
        validation::{Email, required_text},
    },
    organizations::timezone,
    policies::types::PolicyFilter,
    principal::{Principal, Role},
    scope,
    templates::types::TemplateScope,
};

/// The most recipients of one schedule.
const MAX_RECIPIENTS: usize = 20;
/// The most schedules one organization keeps: each tick reads them and each run makes a job.
pub const MAX_SCHEDULES: u64 = 100;

/// The organization's schedules (MANAGER and up), newest first.
pub fn list(principal: &Principal) -> AppResult<Select<report_schedule::Entity>> {
    principal.require(Role::Manager)?;
    Ok(report_schedule::Entity::find()
        .filter(report_schedule::Column::OrganizationId.eq(principal.org_id))
        .order_by_desc(report_schedule::Column::CreatedAt)
        .order_by_asc(report_schedule::Column::Id))
}

pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<report_schedule::Model> {
    scope::one(db, list(principal)?, report_schedule::Column::Id, id, "ReportSchedule").await
}

async fn report_template(db: &impl ConnectionTrait, principal: &Principal, raw: &async_graphql::ID) -> AppResult<template::Model> {
    let id = ids::decode_input(raw, "Template", "input.templateId")?;
    let found = scope::one(db, scope::templates(principal), template::Column::Id, id, "Template").await?;
    if found.organization_id != principal.org_id {
        return Err(AppError::NotFound("Template"));
    }
    if TemplateScope::parse(&found.scope) != TemplateScope::Report {
        return Err(AppError::invalid("input.templateId", "a schedule runs a REPORT template"));
    }
    Ok(found)
}

fn recipients(list: Vec<String>) -> AppResult<serde_json::Value> {
    if list.is_empty() || list.len() > MAX_RECIPIENTS {
        return Err(AppError::invalid("input.recipients", format!("give 1 to {MAX_RECIPIENTS} addresses")));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        out.push(Email::parse(raw, &format!("input.recipients.{i}"))?.into_inner());
    }
    out.dedup();
    Ok(json!(out))
}

/// Checks a filter's IDs now (bad ones are the caller's fault) and keeps it as JSON.
fn filter(principal: &Principal, filter: Option<PolicyFilter>) -> AppResult<Option<serde_json::Value>> {
    let Some(f) = filter else { return Ok(None) };
    crate::policies::service::list(principal, Some(f.clone()), None)?;
    Ok(Some(serde_json::to_value(f).map_err(|e| AppError::Internal(e.into()))?))
}

/// The next run of `cron_text` in `zone` after `after`; an expression that never runs is refused.
fn next_run(cron_text: &str, zone: &str, after: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let expression = cron::parse(cron_text, "input.cron")?;
    let tz = timezone::parse(zone, "input.timezone")?;
    cron::next_after(&expression, tz, after).ok_or_else(|| AppError::invalid("input.cron", "never runs"))
}

pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateReportScheduleInput) -> AppResult<report_schedule::Model> {
    principal.require(Role::Manager)?;
    if list(principal)?.count(db).await? >= MAX_SCHEDULES {
        return Err(AppError::invalid("input", format!("an organization keeps at most {MAX_SCHEDULES} report schedules; delete one first")));
    }
    let name = required_text(&input.name, "input.name", 200)?;
    let template = report_template(db, principal, &input.template_id).await?;
    let filter = filter(principal, input.filter)?;
    let zone = timezone::parse(&input.timezone, "input.timezone")?.name().to_string();
    let now = Utc::now();
    let next = next_run(&input.cron, &zone, now)?;
    let row = report_schedule::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.org_id),
        name: Set(name),
        template_id: Set(template.id),
        filter: Set(filter),
        cron: Set(input.cron.trim().to_string()),
        timezone: Set(zone),
        recipients: Set(recipients(input.recipients)?),
        is_active: Set(true),
        last_run_at: Set(None),
        next_run_at: Set(Some(next)),
        last_job_id: Set(None),
        last_error: Set(None),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(row.insert(db).await?)
}

pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdateReportScheduleInput) -> AppResult<report_schedule::Model> {
    let id = ids::decode(&input.id, "ReportSchedule")?;
    let existing = get(db, principal, id).await?;
    let (mut cron_text, mut zone) = (existing.cron.clone(), existing.timezone.clone());
    let mut row: report_schedule::ActiveModel = existing.into();
    if let Some(name) = &input.name {
        row.name = Set(required_text(name, "input.name", 200)?);
    }
    if let Some(raw) = &input.template_id {
        row.template_id = Set(report_template(db, principal, raw).await?.id);
    }
    if input.filter.is_some() {
        row.filter = Set(filter(principal, input.filter)?);
    }
    if let Some(list) = input.recipients {
        row.recipients = Set(recipients(list)?);
    }
    if let Some(text) = &input.cron {
        cron_text = text.trim().to_string();
        row.cron = Set(cron_text.clone());
    }
    if let Some(raw) = &input.timezone {
        zone = timezone::parse(raw, "input.timezone")?.name().to_string();
        row.timezone = Set(zone.clone());
    }
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
        if active {
            row.last_error = Set(None);
        }
    }
    let now = Utc::now();
    row.next_run_at = Set(Some(next_run(&cron_text, &zone, now)?));
    row.updated_at = Set(now);
    Ok(row.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<()> {
    let existing = get(db, principal, id).await?;
    report_schedule::Entity::delete_by_id(existing.id).exec(db).await?;
    Ok(())
}
