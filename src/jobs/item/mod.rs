//! Making one job item: gather the data, render it, store it, record the document — once per item.
//! `policy`, `client` and `report` each gather and render their scope's data; this module holds
//! what every item shares (the job's context, storing and recording the document).

mod client;
mod policy;
mod report;

use std::{collections::HashMap, sync::Mutex};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{params::JobParams, types::JobKind};
use crate::{
    entities::{document, job, job_item, organization, policy as policy_entity, template, template_version, user},
    error::{AppError, AppResult},
    render::Rendered,
    scope,
    state::AppState,
    templates::{
        assets,
        render_data::PolicySources,
        renderer::{Assets, RenderFailure, Renderer},
        types::{DocumentFormat, TemplateScope},
    },
};

/// What every item of a job shares.
pub struct JobContext {
    pub job: job::Model,
    pub params: JobParams,
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
    prefetched: Mutex<HashMap<Uuid, PolicySources>>,
}

impl JobContext {
    pub async fn load(state: &AppState, job: &job::Model) -> AppResult<Self> {
        let params = JobParams::from_json(JobKind::parse(&job.kind), &job.params).map_err(AppError::bad_input)?;
        let template = template::Entity::find_by_id(job.template_id).one(&state.db).await?.ok_or(AppError::NotFound("Template"))?;
        let version = template_version::Entity::find_by_id(job.template_version_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound("TemplateVersion"))?;
        let organization =
            organization::Entity::find_by_id(job.organization_id).one(&state.db).await?.ok_or(AppError::NotFound("Organization"))?;
        let requester = match job.created_by {
            Some(id) => user::Entity::find_by_id(id).one(&state.db).await?,
            None => None,
        };
        let assets = assets::load(&state.db, version.id).await?;
        Ok(JobContext {
            prefetched: Default::default(),
            assets,
            params,
            job: job.clone(),
            format: DocumentFormat::parse(&template.format),
            scope: TemplateScope::parse(&template.scope),
            template,
            version,
            organization,
            requester,
        })
    }

    /// Reads the policies of `items` (POLICY scope) with their clients and companies at once.
    pub async fn prefetch(&self, state: &AppState, items: &[job_item::Model]) -> AppResult<()> {
        if self.scope != TemplateScope::Policy {
            return Ok(());
        }
        let ids: Vec<Uuid> = items.iter().filter_map(|item| item.policy_id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let selected = scope::job_policies(self.job.organization_id).filter(policy_entity::Column::Id.is_in(ids));
        let loaded = PolicySources::load_many(&state.db, selected).await?;
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        prefetched.clear();
        prefetched.extend(loaded.into_iter().map(|sources| (sources.policy.id, sources)));
        Ok(())
    }

    fn take_prefetched(&self, policy_id: Uuid) -> Option<PolicySources> {
        self.prefetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&policy_id)
    }

    fn renderer<'a>(&self, state: &'a AppState) -> Renderer<'a> {
        Renderer::of(state, self.job.organization_id)
    }
}

/// How an item ended.
pub enum ItemOutcome {
    Done { document_id: Uuid },
    /// The template or the data is at fault: retrying will not help. The message is the client's.
    Failed { message: String },
    /// Storage or the database failed: worth another attempt. `what` failed is told to the
    /// client; `detail` (paths, SQL) only goes to the log.
    Transient { what: &'static str, detail: String },
}

/// Why making an item failed, as the item makers report it.
enum Failure {
    Template(String),
    Transient { what: &'static str, detail: String },
}

impl Failure {
    fn database(detail: impl ToString) -> Self {
        Failure::Transient { what: "database", detail: detail.to_string() }
    }
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound(what) => Failure::Template(format!("{what} no longer exists")),
            AppError::Db(e) => Failure::database(e),
            other => Failure::Transient { what: "server", detail: other.to_string() },
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(error: sea_orm::DbErr) -> Self {
        Failure::database(error)
    }
}

impl From<RenderFailure> for Failure {
    fn from(error: RenderFailure) -> Self {
        match error {
            RenderFailure::Template(diagnostics) => {
                let text = diagnostics.iter().map(|d| match d.line {
                    Some(line) => format!("line {line}: {}", d.message),
                    None => d.message.clone(),
                });
                Failure::Template(text.collect::<Vec<_>>().join("; "))
            }
            RenderFailure::Internal(message) => Failure::Transient { what: "renderer", detail: message },
        }
    }
}

/// A rendered item and what its document is about.
struct Made {
    rendered: Rendered,
    /// What the file name says after the template's name (a policy number, a client's name, a date).
    name_part: String,
    policy_id: Option<Uuid>,
    client_id: Option<Uuid>,
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
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
pub async fn make(state: &AppState, ctx: &JobContext, item: &job_item::Model) -> ItemOutcome {
    match make_and_record(state, ctx, item).await {
        Ok(id) => ItemOutcome::Done { document_id: id },
        Err(Failure::Template(message)) => ItemOutcome::Failed { message },
        Err(Failure::Transient { what, detail }) => ItemOutcome::Transient { what, detail },
    }
}

async fn make_and_record(state: &AppState, ctx: &JobContext, item: &job_item::Model) -> Result<Uuid, Failure> {
    let number = format!("DOC-{}-{}", &ctx.job.id.simple().to_string()[..8].to_uppercase(), item.seq + 1);
    let made = match ctx.scope {
        TemplateScope::Policy => policy::make(state, ctx, item, &number).await?,
        TemplateScope::Client => client::make(state, ctx, item, &number).await?,
        TemplateScope::Report => report::make(state, ctx, &number).await?,
    };
    // A workbook is a zip already: zstd would gain next to nothing (attachments skip it too).
    let compressible = ctx.format != DocumentFormat::Xlsx;
    let stored = state.storage.put_with(ctx.job.organization_id, made.rendered.bytes, compressible).await.map_err(|e| Failure::Transient { what: "document storage", detail: e.to_string() })?;
    let file_name = format!("{}-{}.{}", slug(&ctx.template.name), slug(&made.name_part), made.rendered.extension);
    let row = document::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(ctx.job.organization_id),
        job_id: Set(Some(ctx.job.id)),
        job_item_id: Set(Some(item.id)),
        template_id: Set(Some(ctx.template.id)),
        template_version_id: Set(Some(ctx.version.id)),
        policy_id: Set(made.policy_id),
        client_id: Set(made.client_id),
        file_name: Set(file_name),
        format: Set(ctx.format.as_str().into()),
        mime_type: Set(made.rendered.mime.into()),
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
        Ok(recorded) => Ok(recorded.id),
        Err(e) if crate::error::is_unique_violation(&e) => {
            // Another worker recorded this item's document first: it is made once.
            let existing = document::Entity::find().filter(document::Column::JobItemId.eq(item.id)).one(&state.db).await?;
            existing.map(|d| d.id).ok_or_else(|| Failure::database(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// The envelope every document's data starts with (organization, requester, time, number).
fn envelope(ctx: &JobContext, number: &str) -> serde_json::Value {
    crate::templates::render_data::envelope(&ctx.organization, ctx.requester.as_ref(), Utc::now(), number)
}
