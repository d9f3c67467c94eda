//! A POLICY-scope item: one policy's document (a certificate).

use sea_orm::{ColumnTrait, QueryFilter};

use super::{Failure, JobContext, Made, envelope};
use crate::{
    entities::{job_item, policy},
    scope,
    state::AppState,
    templates::render_data::{PolicySources, merge},
};

pub(super) async fn make(state: &AppState, ctx: &JobContext, item: &job_item::Model, number: &str) -> Result<Made, Failure> {
    let policy_id = item.policy_id.ok_or_else(|| Failure::Template("the item has no policy".into()))?;
    let sources = match ctx.take_prefetched(policy_id) {
        Some(found) => found,
        None => {
            let selected = scope::job_policies(ctx.job.organization_id).filter(policy::Column::Id.eq(policy_id));
            PolicySources::load_many(&state.db, selected).await?.pop().ok_or_else(|| Failure::Template("Policy no longer exists".into()))?
        }
    };
    if sources.policy.organization_id != ctx.job.organization_id {
        return Err(Failure::Template("the policy is not in the job's organization".into()));
    }
    let data = merge(envelope(ctx, number), sources.data());
    let rendered = ctx.renderer(state).render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, data).await?;
    Ok(Made { rendered, name_part: sources.policy.number.clone(), policy_id: Some(sources.policy.id), client_id: Some(sources.policy.client_id) })
}
