//! Making one job item: gather the data, render it, store it, record the document — once per item.

use chrono::Utc;
use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::data;
use crate::{
    auth::principal::{Principal, Role},
    entities::{client, company, document, job, job_item, organization, policy, template, template_version, user},
    error::{AppError, AppResult},
    pagination::OrderDirection,
    policies::types::{PolicyFilter, PolicyOrder, PolicyOrderField},
    rendering::{Assets, RenderFailure},
    state::AppState,
    templates::types::{DocumentFormat, TemplateScope},
};

/// What every item of a job shares.
pub struct JobContext {
    pub job: job::Model,
    pub template: template::Model,
    pub version: template_version::Model,
    pub format: DocumentFormat,
    pub scope: TemplateScope,
    pub organization: organization::Model,
    pub requester: Option<user::Model>,
    /// The version's images, read once for every item.
    pub assets: Assets,
    /// Policies of the slice being worked, with their clients and companies, read in three
    /// statements for the whole slice (POLICY scope); an item takes its own out.
    prefetched: std::sync::Mutex<HashMap<Uuid, Prefetched>>,
}

type Prefetched = (policy::Model, Option<client::Model>, Option<company::Model>);

impl JobContext {
    pub async fn load(state: &AppState, j: &job::Model) -> AppResult<Self> {
        let template = template::Entity::find_by_id(j.template_id).one(&state.db).await?.ok_or(AppError::NotFound("Template"))?;
        let version =
            template_version::Entity::find_by_id(j.template_version_id).one(&state.db).await?.ok_or(AppError::NotFound("TemplateVersion"))?;
        let organization =
            organization::Entity::find_by_id(j.organization_id).one(&state.db).await?.ok_or(AppError::NotFound("Organization"))?;
        let requester = match j.created_by {
            Some(id) => user::Entity::find_by_id(id).one(&state.db).await?,
            None => None,
        };
        let assets = crate::templates::assets::load(&state.db, version.id).await?;
        Ok(JobContext {
            prefetched: Default::default(),
            assets,
            job: j.clone(),
            format: DocumentFormat::parse(&template.format),
            scope: TemplateScope::parse(&template.scope),
            template,
            version,
            organization,
            requester,
        })
    }
}

impl JobContext {
    /// Reads the policies of `items` (POLICY scope) with their clients and companies at once.
    pub async fn prefetch(&self, state: &AppState, items: &[job_item::Model]) -> AppResult<()> {
        if self.scope != TemplateScope::Policy {
            return Ok(());
        }
        let ids: Vec<Uuid> = items.iter().filter_map(|i| i.policy_id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let pols = policy::Entity::find()
            .filter(policy::Column::Id.is_in(ids))
            .filter(policy::Column::OrganizationId.eq(self.job.organization_id))
            .all(&state.db)
            .await?;
        let mut client_ids: Vec<Uuid> = pols.iter().map(|p| p.client_id).collect();
        client_ids.sort_unstable();
        client_ids.dedup();
        let mut company_ids: Vec<Uuid> = pols.iter().map(|p| p.company_id).collect();
        company_ids.sort_unstable();
        company_ids.dedup();
        let clients: HashMap<Uuid, client::Model> =
            client::Entity::find().filter(client::Column::Id.is_in(client_ids)).all(&state.db).await?.into_iter().map(|c| (c.id, c)).collect();
        let companies: HashMap<Uuid, company::Model> =
            company::Entity::find().filter(company::Column::Id.is_in(company_ids)).all(&state.db).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut map = self.prefetched.lock().unwrap_or_else(|p| p.into_inner());
        map.clear();
        for p in pols {
            let (c, co) = (clients.get(&p.client_id).cloned(), companies.get(&p.company_id).cloned());
            map.insert(p.id, (p, c, co));
        }
        Ok(())
    }

    fn take_prefetched(&self, policy_id: Uuid) -> Option<Prefetched> {
        self.prefetched.lock().unwrap_or_else(|p| p.into_inner()).remove(&policy_id)
    }
}

/// How an item ended.
pub enum ItemOutcome {
    Done { document_id: Uuid },
    /// The template or the data is at fault: retrying will not help.
    Failed { message: String },
    /// Storage or the database failed: worth another attempt.
    Transient { message: String },
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

/// Makes one item. Never panics; every failure is an outcome.
///
/// No read first: the unique index on `documents.job_item_id` makes a second document for the
/// same item impossible, and the insert's conflict answers the existing one (only an item whose
/// worker died between its document and its record is rendered twice, and stored once).
pub async fn item(state: &AppState, ctx: &JobContext, it: &job_item::Model) -> ItemOutcome {
    match make(state, ctx, it).await {
        Ok(id) => ItemOutcome::Done { document_id: id },
        Err(Failure::Template(m)) => ItemOutcome::Failed { message: m },
        Err(Failure::Transient(m)) => ItemOutcome::Transient { message: m },
    }
}

enum Failure {
    Template(String),
    Transient(String),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => Failure::Template(format!("{what} no longer exists")),
            other => Failure::Transient(other.to_string()),
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::Transient(e.to_string())
    }
}

async fn make(state: &AppState, ctx: &JobContext, it: &job_item::Model) -> Result<Uuid, Failure> {
    let number = format!("DOC-{}-{}", &ctx.job.id.simple().to_string()[..8].to_uppercase(), it.seq + 1);
    let base = data::envelope(&ctx.organization, ctx.requester.as_ref(), Utc::now(), &number);
    let (rendered, name_part, policy_id, client_id) = match ctx.scope {
        TemplateScope::Policy => {
            let pid = it.policy_id.ok_or_else(|| Failure::Template("the item has no policy".into()))?;
            let (pol, c, co) = match ctx.take_prefetched(pid) {
                Some(found) => found,
                None => {
                    let pol = policy::Entity::find_by_id(pid).one(&state.db).await?.ok_or(AppError::NotFound("Policy"))?;
                    let c = client::Entity::find_by_id(pol.client_id).one(&state.db).await?;
                    let co = company::Entity::find_by_id(pol.company_id).one(&state.db).await?;
                    (pol, c, co)
                }
            };
            if pol.organization_id != ctx.job.organization_id {
                return Err(Failure::Template("the policy is not in the job's organization".into()));
            }
            let extra = json!({"policy": data::policy(&pol), "client": c.as_ref().map(data::client), "company": co.as_ref().map(data::company)});
            let rendered = state.renderer.render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, data::merge(base, extra)).await;
            (rendered, pol.number.clone(), Some(pol.id), Some(pol.client_id))
        }
        TemplateScope::Client => {
            let cid = it.client_id.ok_or_else(|| Failure::Template("the item has no client".into()))?;
            let c = client::Entity::find_by_id(cid).one(&state.db).await?.ok_or(AppError::NotFound("Client"))?;
            if c.organization_id != ctx.job.organization_id {
                return Err(Failure::Template("the client is not in the job's organization".into()));
            }
            let pols = policy::Entity::find()
                .filter(policy::Column::ClientId.eq(c.id))
                .order_by_asc(policy::Column::Number)
                .all(&state.db)
                .await?;
            let rows: Vec<Value> = pols.iter().map(|p| data::report_row(p, Some(&c), None)).collect();
            let name = data::client(&c)["displayName"].as_str().unwrap_or("client").to_string();
            let payload = data::merge(base, json!({"client": data::client(&c), "policies": rows}));
            (state.renderer.render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, payload).await, name, None, Some(c.id))
        }
        TemplateScope::Report => {
            let date = Utc::now().format("%Y-%m-%d").to_string();
            // Pages, not rows, cross the channel: a row at a time would wake the writer's thread
            // 100,000 times for a 100,000-row report.
            let (tx, rx) = mpsc::channel(2);
            let rendered = if ctx.format == DocumentFormat::Xlsx {
                // Rows go from the database straight into the constant-memory sheet writer:
                // at most a page and the channel's worth of rows are held at once.
                let started = std::time::Instant::now();
                let reading = async {
                    let r = report_rows(state, ctx, tx).await;
                    (r, started.elapsed())
                };
                let ((read, read_time), rendered) = tokio::join!(reading, state.renderer.render_xlsx_rows(&ctx.version.content, rx));
                read?;
                tracing::debug!(job = %ctx.job.id, read_ms = read_time.as_millis() as u64, total_ms = started.elapsed().as_millis() as u64, "report streamed");
                rendered
            } else {
                // A Typst or HTML template sees the whole list at once.
                let (read, rows) = tokio::join!(report_rows(state, ctx, tx), collect(rx));
                read?;
                state.renderer.render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, data::merge(base, json!({"policies": rows}))).await
            };
            (rendered, date, None, None)
        }
    };
    let rendered = match rendered {
        Ok(r) => r,
        Err(RenderFailure::Template(diags)) => {
            let text = diags.iter().map(|d| match d.line {
                Some(l) => format!("line {l}: {}", d.message),
                None => d.message.clone(),
            });
            return Err(Failure::Template(text.collect::<Vec<_>>().join("; ")));
        }
        Err(RenderFailure::Internal(m)) => return Err(Failure::Transient(m)),
    };
    let stored = state.storage.put(rendered.bytes).await.map_err(|e| Failure::Transient(format!("storage: {e}")))?;
    let file_name = format!("{}-{}.{}", slug(&ctx.template.name), slug(&name_part), rendered.extension);
    let row = document::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(ctx.job.organization_id),
        job_id: Set(Some(ctx.job.id)),
        job_item_id: Set(Some(it.id)),
        template_id: Set(Some(ctx.template.id)),
        template_version_id: Set(Some(ctx.version.id)),
        policy_id: Set(policy_id),
        client_id: Set(client_id),
        file_name: Set(file_name),
        format: Set(ctx.format.as_str().into()),
        mime_type: Set(rendered.mime.into()),
        size_bytes: Set(stored.size_bytes as i64),
        sha256: Set(stored.sha256.clone()),
        storage_key: Set(stored.key.clone()),
        stored_bytes: Set(stored.stored_bytes as i64),
        compressed: Set(stored.compressed),
        encrypted: Set(stored.encrypted),
        kid: Set(stored.kid.clone()),
        created_by: Set(ctx.job.created_by),
        created_at: Set(Utc::now()),
    };
    match row.insert(&state.db).await {
        Ok(d) => Ok(d.id),
        Err(e) if crate::error::is_unique_violation(&e) => {
            // Another worker recorded this item's document first: it is made once.
            let d = document::Entity::find().filter(document::Column::JobItemId.eq(it.id)).one(&state.db).await?;
            d.map(|d| d.id).ok_or_else(|| Failure::Transient(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Policies read per statement for a report.
const REPORT_PAGE: u64 = 1000;

async fn collect(mut rx: mpsc::Receiver<Vec<Value>>) -> Vec<Value> {
    let mut rows = Vec::new();
    while let Some(page) = rx.recv().await {
        rows.extend(page);
    }
    rows
}

/// Sends the report's rows in policy-number order, read a page at a time through the
/// requester's scope (keyset on the number, unique per organization, so no page is
/// re-read or skipped and no offset grows). Stops early, without error, if the reader
/// is gone (the renderer refused the template: its error is the item's).
async fn report_rows(state: &AppState, ctx: &JobContext, tx: mpsc::Sender<Vec<Value>>) -> Result<(), Failure> {
    let filter: Option<PolicyFilter> = serde_json::from_value(ctx.job.params["filter"].clone())
        .map_err(|e| Failure::Template(format!("the report's filter cannot be read: {e}")))?;
    let who = &ctx.job.params["principal"];
    let p = Principal {
        user_id: who["userId"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default(),
        org_id: ctx.job.organization_id,
        role: serde_json::from_value(who["role"].clone()).unwrap_or(Role::Agent),
        session_id: None,
        api_key: None,
    };
    let by_number = vec![PolicyOrder { field: PolicyOrderField::Number, direction: OrderDirection::Asc }];
    let base = crate::policies::service::list(&p, filter, Some(by_number)).map_err(|e| Failure::Template(e.to_string()))?;
    let mut after: Option<String> = None;
    let mut clients: HashMap<Uuid, client::Model> = HashMap::new();
    let mut companies: HashMap<Uuid, company::Model> = HashMap::new();
    loop {
        let mut q = base.clone().limit(REPORT_PAGE);
        if let Some(last) = &after {
            q = q.filter(policy::Column::Number.gt(last.as_str()));
        }
        let page = q.all(&state.db).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after = Some(last.number.clone());
        // Each client and company is read once for the whole report (most policies share them);
        // bounded: a report over many distinct clients keeps at most a few pages' worth.
        if clients.len() > 4 * REPORT_PAGE as usize {
            clients.clear();
        }
        let mut client_ids: Vec<Uuid> = page.iter().map(|p| p.client_id).filter(|id| !clients.contains_key(id)).collect();
        client_ids.sort_unstable();
        client_ids.dedup();
        if !client_ids.is_empty() {
            clients.extend(client::Entity::find().filter(client::Column::Id.is_in(client_ids)).all(&state.db).await?.into_iter().map(|c| (c.id, c)));
        }
        let mut company_ids: Vec<Uuid> = page.iter().map(|p| p.company_id).filter(|id| !companies.contains_key(id)).collect();
        company_ids.sort_unstable();
        company_ids.dedup();
        if !company_ids.is_empty() {
            companies.extend(company::Entity::find().filter(company::Column::Id.is_in(company_ids)).all(&state.db).await?.into_iter().map(|c| (c.id, c)));
        }
        let full = page.len() as u64 == REPORT_PAGE;
        let rows = page.iter().map(|p| data::report_row(p, clients.get(&p.client_id), companies.get(&p.company_id))).collect();
        if tx.send(rows).await.is_err() {
            return Ok(());
        }
        if !full {
            return Ok(());
        }
    }
}
