//! Bordereau queries and mutations (MANAGER and up).

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    types::{CreateDeclarationBatchInput, DeclarationBatch, DeclarationBatchFilter},
};
use crate::{
    audit::service::Audited,
    entities::declaration_batch,
    graphql::{
        context::ContextExt,
        ids,
        pagination::{Page, PageArgs, paginate},
    },
    mail::templates::Locale,
    principal::Role,
};

#[derive(Default)]
pub struct DeclarationQuery;

#[Object]
impl DeclarationQuery {
    /// The organization's bordereaux, newest first (MANAGER and up).
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn declaration_batches(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DeclarationBatchFilter>,
    ) -> Result<Page<DeclarationBatch>> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let query = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, query, PageArgs::new(first, after, last, before).counted(ctx), DeclarationBatch).await?)
    }
}

#[derive(Default)]
pub struct DeclarationMutation;

#[Object]
impl DeclarationMutation {
    /// Makes a DRAFT bordereau (MANAGER and up): the insurer's ACTIVE or EXPIRED policies in
    /// `currency` whose effective date is in the period and that no other batch holds, each with
    /// its premium and commission now, and exact totals. Its document is rendered by a job with
    /// the REPORT template `templateId` (`DeclarationBatch.job`, then `document`).
    async fn create_declaration_batch(&self, ctx: &Context<'_>, input: CreateDeclarationBatchInput) -> Result<DeclarationBatch> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let state = ctx.state();
        let template = crate::jobs::service::report_template(&state.db, p, &input.template_id).await?;
        let tx = Audited::begin(ctx).await?;
        let batch = service::create(tx.db(), p, &input, template.id, state.settings.declaration_max_policies).await?;
        tx.commit("declaration.create", Some(("DeclarationBatch", batch.id)), summary(&batch)).await?;
        let job = match crate::jobs::service::generate_declaration(state, p, &ctx.actor()?, template, batch.id).await {
            Ok(job) => job,
            Err(error) => {
                // A batch without its document could never be sent: it goes (its policies are free again).
                if let Err(undone) = service::delete(&state.db, p, batch.id).await {
                    tracing::error!(batch = %batch.id, error = %undone, "a batch whose job could not be queued was not deleted");
                }
                return Err(error.into());
            }
        };
        service::attach_job(&state.db, batch.id, job.id).await?;
        Ok(DeclarationBatch(declaration_batch::Model { job_id: Some(job.id), ..batch }))
    }

    /// Deletes a DRAFT bordereau; its policies can be declared again, and its document's job, if
    /// still at work, is cancelled. A sent one is `BAD_USER_INPUT`.
    async fn delete_declaration_batch(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&id, "DeclarationBatch")?;
        let tx = Audited::begin(ctx).await?;
        let batch = service::delete(tx.db(), p, key).await?;
        tx.commit("declaration.delete", Some(("DeclarationBatch", batch.id)), summary(&batch)).await?;
        // Its document is not wanted any more: a job still at work on it stops.
        if let Some(job) = batch.job_id {
            crate::jobs::service::cancel(ctx.state(), p, &ctx.actor()?, job).await?;
        }
        Ok(true)
    }

    /// Sends a bordereau whose document is ready (else `CONFLICT`): mailed with its document to the
    /// insurer's `contactEmail` (a `DECLARATION` message) and, when the insurer has an integration,
    /// delivered to it as a signed `declaration.sent` webhook (see `setCompanyIntegration`). A batch
    /// already sent is a `CONFLICT`; one whose sending FAILED is sent again.
    async fn send_declaration_batch(&self, ctx: &Context<'_>, id: ID) -> Result<DeclarationBatch> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&id, "DeclarationBatch")?;
        let locale = Locale::from_accept_language(ctx.meta().accept_language.as_deref());
        let tx = Audited::begin(ctx).await?;
        let (batch, message) = service::send(tx.db(), p, key, locale).await?;
        tx.commit("declaration.send", Some(("DeclarationBatch", batch.id)), summary(&batch)).await?;
        if let Some(message) = &message {
            crate::mail::service::queued(ctx.state(), message);
        }
        if batch.delivery_id.is_some() {
            crate::integrations::service::queued(ctx.state());
        }
        Ok(DeclarationBatch(batch))
    }
}

/// What the audit row keeps of a batch.
fn summary(batch: &declaration_batch::Model) -> serde_json::Value {
    json!({
        "company": ids::encode("Company", batch.company_id), "periodStart": batch.period_start.to_string(),
        "periodEnd": batch.period_end.to_string(), "currency": batch.currency, "itemCount": batch.item_count,
        "totalPremiumMinor": batch.total_premium_minor, "totalCommissionMinor": batch.total_commission_minor,
    })
}
