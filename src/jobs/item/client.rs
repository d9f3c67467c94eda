//! A CLIENT-scope item: one client's document (a statement) over all its policies.

use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::{Failure, JobContext, Made, envelope};
use crate::{
    entities::{client, job_item, policy},
    error::AppError,
    scope,
    state::AppState,
    templates::render_data::{self, merge},
};

pub(super) async fn make(state: &AppState, ctx: &JobContext, item: &job_item::Model, number: &str) -> Result<Made, Failure> {
    let client_id = item.client_id.ok_or_else(|| Failure::Template("the item has no client".into()))?;
    let client = scope::job_clients(ctx.job.organization_id)
        .filter(client::Column::Id.eq(client_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("Client"))?;
    if client.organization_id != ctx.job.organization_id {
        return Err(Failure::Template("the client is not in the job's organization".into()));
    }
    let policies = scope::job_policies(ctx.job.organization_id)
        .filter(policy::Column::ClientId.eq(client.id))
        .order_by_asc(policy::Column::Number)
        .all(&state.db)
        .await?;
    let rows: Vec<Value> = policies.iter().map(|policy| render_data::report_row(policy, Some(&client), None)).collect();
    let client_data = render_data::client(&client);
    let name = client_data["displayName"].as_str().unwrap_or("client").to_string();
    let data = merge(envelope(ctx, number), json!({"client": client_data, "policies": rows}));
    let rendered = ctx.renderer(state).render(ctx.format, ctx.scope, &ctx.version.content, &ctx.assets, data).await?;
    Ok(Made { rendered, name_part: name, policy_id: None, client_id: Some(client.id) })
}
