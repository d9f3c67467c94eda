//! Starting and cancelling jobs. A job and its items are written in one transaction; workers are woken after.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::types::{GenerateDocumentInput, GenerateDocumentsInput, GenerateReportInput, JobFilter, JobKind, JobStatus};
use super::params::{JobParams, PrincipalSnapshot, ReportParams, too_many_policies};
use crate::{
    audit::service as audit,
    principal::{Actor, Principal},
    entities::{job, job_item, policy, template, template_version},
    error::{AppError, AppResult},
    graphql::ids,
    scope,
    state::AppState,
    templates::{self, types::{DocumentFormat, TemplateScope}},
};

/// The most items one `generateDocuments` job may hold.
pub const MAX_ITEMS: usize = 10_000;

struct NewJob {
    kind: JobKind,
    template: template::Model,
    items: Vec<(Option<Uuid>, Option<Uuid>)>,
    params: JobParams,
    idempotency_key: Option<String>,
}

/// An active template of the caller's organization, with its current version.
async fn usable_template(
    db: &impl ConnectionTrait,
    principal: &Principal,
    raw: &async_graphql::ID,
) -> AppResult<(template::Model, template_version::Model)> {
    let key = ids::decode_input(raw, "Template", "input.templateId")?;
    let t = templates::service::get(db, principal, key).await?;
    if !t.is_active {
        return Err(AppError::invalid("input.templateId", "this template is archived"));
    }
    let v = template_version::Entity::find()
        .filter(template_version::Column::TemplateId.eq(t.id))
        .filter(template_version::Column::Version.eq(t.current_version))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("template {} has no current version", t.id)))?;
    Ok((t, v))
}

fn idempotency(raw: Option<String>) -> AppResult<Option<String>> {
    match raw.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
        Some(k) if k.len() > 200 => Err(AppError::invalid("input.idempotencyKey", "must be at most 200 characters")),
        other => Ok(other),
    }
}

/// The job an earlier request with the same idempotency key started. A key is the caller's: one
/// another user of the organization already used is a `CONFLICT`.
async fn existing(db: &impl ConnectionTrait, principal: &Principal, key: &Option<String>) -> AppResult<Option<job::Model>> {
    let Some(k) = key else { return Ok(None) };
    let found = job::Entity::find()
        .filter(job::Column::OrganizationId.eq(principal.org_id))
        .filter(job::Column::IdempotencyKey.eq(k.as_str()))
        .one(db)
        .await?;
    match found {
        Some(j) if j.created_by != Some(principal.user_id) => {
            Err(AppError::conflict_on("input.idempotencyKey", "this idempotency key was already used by someone else"))
        }
        other => Ok(other),
    }
}

async fn enqueue(state: &AppState, principal: &Principal, actor: &Actor, new: NewJob) -> AppResult<job::Model> {
    if let Some(j) = existing(&state.db, principal, &new.idempotency_key).await? {
        return Ok(j);
    }
    let (version_id, format) = {
        let v = template_version::Entity::find()
            .filter(template_version::Column::TemplateId.eq(new.template.id))
            .filter(template_version::Column::Version.eq(new.template.current_version))
            .one(&state.db)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no current version")))?;
        (v.id, new.template.format.clone())
    };
    let now = Utc::now();
    let txn = crate::db::begin(&state.db).await?;
    let inserted = job::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(new.template.organization_id),
        kind: Set(new.kind.as_str().into()),
        status: Set(JobStatus::Queued.as_str().into()),
        template_id: Set(new.template.id),
        template_version_id: Set(version_id),
        format: Set(format),
        params: Set(new.params.to_json()),
        total: Set(new.items.len() as i32),
        done: Set(0),
        failed: Set(0),
        error: Set(None),
        attempts: Set(0),
        idempotency_key: Set(new.idempotency_key.clone()),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        heartbeat_at: Set(None),
        turn_at: Set(now),
        cancel_requested: Set(false),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await;
    let j = match inserted {
        Ok(j) => j,
        Err(e) if crate::error::is_unique_violation(&e) => {
            txn.rollback().await?;
            return existing(&state.db, principal, &new.idempotency_key).await?.ok_or_else(|| AppError::from(e));
        }
        Err(e) => return Err(e.into()),
    };
    for (chunk_no, chunk) in new.items.chunks(500).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, (policy_id, client_id))| job_item::ActiveModel {
            id: Set(Uuid::now_v7()),
            job_id: Set(j.id),
            seq: Set((chunk_no * 500 + i) as i32),
            policy_id: Set(*policy_id),
            client_id: Set(*client_id),
            status: Set("PENDING".into()),
            error: Set(None),
            attempts: Set(0),
        });
        job_item::Entity::insert_many(rows).exec(&txn).await?;
    }
    let info = json!({"kind": j.kind, "total": j.total, "template": new.template.name});
    audit::record(&txn, actor, "job.create", Some(("Job", j.id)), info).await?;
    txn.commit().await?;
    state.wake_workers();
    super::events::publish(state, &j, Some("queued".into()), None);
    Ok(j)
}

pub async fn generate_document(state: &AppState, principal: &Principal, actor: &Actor, input: GenerateDocumentInput) -> AppResult<job::Model> {
    let key = idempotency(input.idempotency_key)?;
    if let Some(j) = existing(&state.db, principal, &key).await? {
        return Ok(j);
    }
    let (t, _) = usable_template(&state.db, principal, &input.template_id).await?;
    if let Some(f) = input.format {
        if f.as_str() != t.format {
            return Err(AppError::invalid("input.format", format!("this template makes {} documents", t.format)));
        }
    }
    let item = match TemplateScope::parse(&t.scope) {
        TemplateScope::Policy => {
            let raw = input.policy_id.as_ref().ok_or_else(|| AppError::invalid("input.policyId", "a POLICY template needs a policyId"))?;
            let pid = ids::decode_input(raw, "Policy", "input.policyId")?;
            let pol = scope::one(&state.db, scope::policies(principal), policy::Column::Id, pid, "Policy").await?;
            if !templates::service::offered_for(&state.db, t.id, pol.company_id).await? {
                return Err(AppError::invalid("input.templateId", "this template is not offered for this policy's company"));
            }
            (Some(pol.id), Some(pol.client_id))
        }
        TemplateScope::Client => {
            let raw = input.client_id.as_ref().ok_or_else(|| AppError::invalid("input.clientId", "a CLIENT template needs a clientId"))?;
            let cid = ids::decode_input(raw, "Client", "input.clientId")?;
            let c = scope::one(&state.db, scope::clients(principal), crate::entities::client::Column::Id, cid, "Client").await?;
            (None, Some(c.id))
        }
        TemplateScope::Report => return Err(AppError::invalid("input.templateId", "a REPORT template is used with generateReport")),
    };
    let new = NewJob { kind: JobKind::Document, template: t, items: vec![item], params: JobParams::Document, idempotency_key: key };
    enqueue(state, principal, actor, new).await
}

pub async fn generate_documents(state: &AppState, principal: &Principal, actor: &Actor, input: GenerateDocumentsInput) -> AppResult<job::Model> {
    let key = idempotency(input.idempotency_key)?;
    if let Some(j) = existing(&state.db, principal, &key).await? {
        return Ok(j);
    }
    let (t, _) = usable_template(&state.db, principal, &input.template_id).await?;
    if TemplateScope::parse(&t.scope) != TemplateScope::Policy {
        return Err(AppError::invalid("input.templateId", "generateDocuments needs a POLICY template"));
    }
    let mut q = match (&input.policy_ids, input.filter) {
        (Some(raw), _) => {
            if raw.is_empty() || raw.len() > MAX_ITEMS {
                return Err(AppError::invalid("input.policyIds", format!("give between 1 and {MAX_ITEMS} policies")));
            }
            let mut keys = Vec::with_capacity(raw.len());
            for (i, id) in raw.iter().enumerate() {
                keys.push(ids::decode_input(id, "Policy", &format!("input.policyIds.{i}"))?);
            }
            keys.sort_unstable();
            keys.dedup();
            let found = scope::policies(principal).filter(policy::Column::Id.is_in(keys.clone())).count(&state.db).await?;
            if found as usize != keys.len() {
                return Err(AppError::NotFound("Policy"));
            }
            scope::policies(principal).filter(policy::Column::Id.is_in(keys))
        }
        (None, Some(filter)) => crate::policies::service::list(principal, Some(filter), None)?,
        (None, None) => return Err(AppError::invalid("input.policyIds", "give policyIds or a filter")),
    };
    q = restrict_to_bound_companies(&state.db, q, t.id).await?;
    let rows: Vec<(Uuid, Uuid)> = q
        .select_only()
        .column(policy::Column::Id)
        .column(policy::Column::ClientId)
        .limit(MAX_ITEMS as u64 + 1)
        .into_tuple()
        .all(&state.db)
        .await?;
    if rows.len() > MAX_ITEMS {
        return Err(AppError::invalid("input.filter", format!("more than {MAX_ITEMS} policies match; narrow the filter")));
    }
    if rows.is_empty() {
        return Err(AppError::invalid("input.filter", "no policy matches (or the template is not offered for their companies)"));
    }
    let items = rows.into_iter().map(|(pid, cid)| (Some(pid), Some(cid))).collect();
    let new = NewJob { kind: JobKind::Documents, template: t, items, params: JobParams::Documents, idempotency_key: key };
    enqueue(state, principal, actor, new).await
}

/// Keeps only the policies of the companies a template is bound to (all when it is bound to none).
async fn restrict_to_bound_companies(db: &impl ConnectionTrait, query: Select<policy::Entity>, template_id: Uuid) -> AppResult<Select<policy::Entity>> {
    use crate::entities::template_company;
    let bound: Vec<Uuid> = template_company::Entity::find()
        .filter(template_company::Column::TemplateId.eq(template_id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.company_id)
        .collect();
    Ok(if bound.is_empty() { query } else { query.filter(policy::Column::CompanyId.is_in(bound)) })
}

pub async fn generate_report(state: &AppState, p: &Principal, actor: &Actor, input: GenerateReportInput) -> AppResult<job::Model> {
    let key = idempotency(input.idempotency_key)?;
    if let Some(j) = existing(&state.db, p, &key).await? {
        return Ok(j);
    }
    let (t, _) = usable_template(&state.db, p, &input.template_id).await?;
    if TemplateScope::parse(&t.scope) != TemplateScope::Report {
        return Err(AppError::invalid("input.templateId", "generateReport needs a REPORT template"));
    }
    // Checks the filter now (bad IDs are the caller's fault), runs it when the job runs.
    let report = ReportParams { principal: PrincipalSnapshot::of(p), filter: input.filter, declaration: None };
    let matching = report.policies(t.organization_id, None)?;
    // A PDF or HTML template sees every row at once: refuse now what it could not hold (XLSX
    // streams its rows, whatever their number).
    if DocumentFormat::parse(&t.format) != DocumentFormat::Xlsx {
        let limit = state.settings.report_max_policies;
        let found = matching.select_only().column(policy::Column::Id).limit(limit.saturating_add(1)).into_tuple::<Uuid>().all(&state.db).await?;
        if found.len() as u64 > limit {
            return Err(AppError::invalid("input.filter", too_many_policies(limit)));
        }
    }
    let params = JobParams::Report(report);
    let new = NewJob { kind: JobKind::Report, template: t, items: vec![(None, None)], params, idempotency_key: key };
    enqueue(state, p, actor, new).await
}

/// Checks that `template_id` names a REPORT template the caller may use (for a bordereau);
/// refusals are on `input.templateId`.
pub async fn report_template(db: &impl ConnectionTrait, p: &Principal, template_id: &async_graphql::ID) -> AppResult<template::Model> {
    let (t, _) = usable_template(db, p, template_id).await?;
    if TemplateScope::parse(&t.scope) != TemplateScope::Report {
        return Err(AppError::invalid("input.templateId", "a bordereau needs a REPORT template"));
    }
    Ok(t)
}

/// Queues the report of a declaration batch (its policies, their declared amounts, the batch as
/// `declaration`), once per batch whoever asks again (the batch is its idempotency key).
pub async fn generate_declaration(state: &AppState, p: &Principal, actor: &Actor, template: template::Model, batch: Uuid) -> AppResult<job::Model> {
    let report = ReportParams { principal: PrincipalSnapshot::of(p), filter: None, declaration: Some(batch) };
    let params = JobParams::Report(report);
    let key = Some(format!("declaration:{batch}"));
    let new = NewJob { kind: JobKind::Report, template, items: vec![(None, None)], params, idempotency_key: key };
    enqueue(state, p, actor, new).await
}

/// Cancels a job the caller may read: at once when it waits, after the current item when it runs.
/// The change and its audit row commit together; a job already ended is answered as it is, and
/// nothing is recorded.
pub async fn cancel(state: &AppState, principal: &Principal, actor: &Actor, id: Uuid) -> AppResult<job::Model> {
    let txn = crate::db::begin(&state.db).await?;
    let j = scope::one(&txn, scope::jobs(principal), job::Column::Id, id, "Job").await?;
    if JobStatus::parse(&j.status).is_terminal() {
        txn.rollback().await?;
        return Ok(j);
    }
    let now = Utc::now();
    let mut m: job::ActiveModel = j.clone().into();
    m.cancel_requested = Set(true);
    m.updated_at = Set(now);
    let idle = j.lease_owner.is_none() || j.lease_expires_at.is_none_or(|t| t < now);
    if idle {
        m.status = Set(JobStatus::Cancelled.as_str().into());
        m.finished_at = Set(Some(now));
    }
    let saved = m.update(&txn).await?;
    let info = json!({"status": saved.status, "done": saved.done, "total": saved.total});
    audit::record(&txn, actor, "job.cancel", Some(("Job", saved.id)), info).await?;
    txn.commit().await?;
    if idle {
        super::events::publish(state, &saved, Some("cancelled".into()), None);
    }
    Ok(saved)
}

pub fn list(principal: &Principal, filter: Option<JobFilter>) -> Select<job::Entity> {
    let f = filter.unwrap_or_default();
    let mut q = scope::jobs(principal);
    if let Some(s) = f.status {
        q = q.filter(job::Column::Status.eq(s.as_str()));
    }
    if let Some(k) = f.kind {
        q = q.filter(job::Column::Kind.eq(k.as_str()));
    }
    if let Some(from) = f.created_from {
        q = q.filter(job::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(job::Column::CreatedAt.lt(to));
    }
    q.order_by_desc(job::Column::CreatedAt).order_by_desc(job::Column::Id)
}
