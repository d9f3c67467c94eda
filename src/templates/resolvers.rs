//! Template queries and mutations, and the preview.

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    assets, service,
    types::{
        CreateTemplateInput, DocumentFormat, PreviewTemplateInput, Template, TemplateFilter, TemplatePreview,
        TemplateScope, TemplateVersion, UpdateTemplateInput,
    },
};
use crate::{
    audit::service::Audited,
    principal::Role,
    graphql::{context::ContextExt, ids, pagination::{Page, PageArgs, paginate}},
    templates::{render_data, renderer::Renderer},
};

#[derive(Default)]
pub struct TemplateQuery;

#[Object]
impl TemplateQuery {
    /// The organization's templates (active ones unless the filter says otherwise). Everyone reads them.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn templates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TemplateFilter>,
    ) -> Result<Page<Template>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Template).await?)
    }

    /// One template by ID.
    async fn template(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Template>> {
        let p = ctx.principal()?;
        Ok(Some(Template(service::get(&ctx.state().db, p, ids::decode(&id, "Template")?).await?)))
    }
}

#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    /// Creates a template with its version 1 (MANAGER and up). Content that does not compile against
    /// sample data is refused with `BAD_USER_INPUT` and `extensions.diagnostics`.
    async fn create_template(&self, ctx: &Context<'_>, input: CreateTemplateInput) -> Result<Template> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let uploads = assets::read_uploads(ctx, input.assets.as_deref().unwrap_or_default(), "input.assets")?;
        // Checked before the transaction: a render may take seconds and must not hold a connection.
        let with = assets::merged(&[], &uploads);
        Renderer::of(ctx.state(), p.org_id).check(input.format, input.scope, &input.content, &with, "input.content").await?;
        let tx = Audited::begin(ctx).await?;
        let (t, v) = service::create(tx.db(), p, input).await?;
        assets::save(tx.db(), v.id, &[], &uploads).await?;
        let names: Vec<&str> = uploads.iter().map(|a| a.name.as_str()).collect();
        let info = json!({"name": t.name, "format": t.format, "scope": t.scope, "version": v.version, "checksum": v.checksum, "assets": names});
        tx.commit("template.create", Some(("Template", t.id)), info).await?;
        Ok(Template(t))
    }

    /// Changes a template's name or description (MANAGER and up).
    async fn update_template(&self, ctx: &Context<'_>, input: UpdateTemplateInput) -> Result<Template> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let tx = Audited::begin(ctx).await?;
        let t = service::update(tx.db(), p, input).await?;
        tx.commit("template.update", Some(("Template", t.id)), json!({"name": t.name})).await?;
        Ok(Template(t))
    }

    /// Adds a version (MANAGER and up): immutable, numbered, checked before it is saved; it becomes current.
    async fn create_template_version(
        &self,
        ctx: &Context<'_>,
        template_id: ID,
        content: String,
        changelog: Option<String>,
        #[graphql(desc = "Images to add or replace by file name (multipart request); the previous version's others are kept.")]
        assets: Option<Vec<async_graphql::Upload>>,
    ) -> Result<TemplateVersion> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&template_id, "Template")?;
        let uploads = assets::read_uploads(ctx, assets.as_deref().unwrap_or_default(), "assets")?;
        let t = service::get(&ctx.state().db, p, key).await?;
        let previous = match service::current_version(&ctx.state().db, &t).await? {
            Some(v) => assets::of_version(&ctx.state().db, v.id).await?,
            None => Vec::new(),
        };
        let (format, scope) = (DocumentFormat::parse(&t.format), TemplateScope::parse(&t.scope));
        Renderer::of(ctx.state(), p.org_id).check(format, scope, &content, &assets::merged(&previous, &uploads), "content").await?;
        let tx = Audited::begin(ctx).await?;
        let v = service::create_version(tx.db(), p, key, &content, changelog).await?;
        assets::save(tx.db(), v.id, &previous, &uploads).await?;
        let names: Vec<&str> = uploads.iter().map(|a| a.name.as_str()).collect();
        let info = json!({"version": v.version, "checksum": v.checksum, "assets": names});
        tx.commit("template.create_version", Some(("Template", key)), info).await?;
        Ok(TemplateVersion(v))
    }

    /// Offers a template only for these companies' policies; an empty list offers it for all (MANAGER and up).
    async fn set_template_companies(&self, ctx: &Context<'_>, template_id: ID, company_ids: Vec<ID>) -> Result<Template> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&template_id, "Template")?;
        let tx = Audited::begin(ctx).await?;
        let t = service::set_companies(tx.db(), p, key, &company_ids).await?;
        let info = json!({"companies": company_ids.iter().map(|c| c.to_string()).collect::<Vec<_>>()});
        tx.commit("template.set_companies", Some(("Template", t.id)), info).await?;
        Ok(Template(t))
    }

    /// Archives a template (MANAGER and up): it stays readable, with its documents, but generates nothing more.
    async fn archive_template(&self, ctx: &Context<'_>, id: ID) -> Result<Template> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&id, "Template")?;
        let tx = Audited::begin(ctx).await?;
        let t = service::archive(tx.db(), p, key).await?;
        tx.commit("template.archive", Some(("Template", t.id)), json!({"name": t.name})).await?;
        Ok(Template(t))
    }

    /// Renders template content with a policy's data, given data, or sample data — storing nothing
    /// (MANAGER and up, like the template writes it tries out). Problems come back as
    /// `diagnostics` with `ok: false`, not as errors.
    async fn preview_template(&self, ctx: &Context<'_>, input: PreviewTemplateInput) -> Result<TemplatePreview> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let state = ctx.state();
        let data = match (&input.policy_id, input.sample_data) {
            (Some(id), _) => {
                let key = ids::decode_input(id, "Policy", "input.policyId")?;
                render_data::policy_document(&state.db, p, key, "PREVIEW").await?
            }
            (None, Some(json)) => json.0,
            (None, None) => render_data::sample(input.scope.as_str()),
        };
        let uploads = assets::read_uploads(ctx, input.assets.as_deref().unwrap_or_default(), "input.assets")?;
        let previous = match &input.template_id {
            Some(id) => {
                let t = service::get(&state.db, p, ids::decode_input(id, "Template", "input.templateId")?).await?;
                match service::current_version(&state.db, &t).await? {
                    Some(v) => assets::of_version(&state.db, v.id).await?,
                    None => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        let with = assets::merged(&previous, &uploads);
        Ok(Renderer::of(state, p.org_id).preview(input.format, input.scope, &input.content, &with, data).await?)
    }
}
