//! Client queries and mutations.

use async_graphql::{Context, ID, Object, Result};

use super::{
    service,
    types::{Client, ClientFilter, ClientOrder, CreateClientInput, UpdateClientInput},
};
use serde_json::json;

use crate::graphql::direct::Direct;
use crate::{
    audit::service::Audited,
    graphql::{context::ContextExt, ids, pagination::{Page, PageArgs, paginate_fast}},
    entities::client,
    scope,
};

#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// The clients the caller may read: an AGENT's own, the organization's for MANAGER and up.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClientFilter>,
        order_by: Option<Vec<ClientOrder>>,
    ) -> Result<Page<Direct<Client>>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter, order_by)?;
        let page = paginate_fast(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), |row| Direct(Client(row))).await?;
        let ids: Vec<_> = page.edges.iter().map(|edge| edge.node.0.0.id).collect();
        super::types::prefetch_nested(ctx, &ids).await?;
        Ok(page)
    }

    /// One client by ID (`NOT_FOUND` when the caller may not read it).
    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Client>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Client")?;
        let m = scope::one(&ctx.state().db, scope::clients(p), client::Column::Id, key, "Client").await?;
        Ok(Some(Client(m)))
    }
}

#[derive(Default)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Adds a client. Everyone signed in may; an AGENT becomes its owner.
    async fn create_client(&self, ctx: &Context<'_>, input: CreateClientInput) -> Result<Client> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let m = service::create(tx.db(), p, input).await?;
        tx.commit("client.create", Some(("Client", m.id)), json!({"kind": m.kind, "owner": m.owner_id.to_string()})).await?;
        Ok(Client(m))
    }

    /// Changes a client the caller may write (an AGENT's own; any in the organization for MANAGER and up).
    async fn update_client(&self, ctx: &Context<'_>, input: UpdateClientInput) -> Result<Client> {
        let p = ctx.principal()?;
        let tx = Audited::begin(ctx).await?;
        let m = service::update(tx.db(), p, input).await?;
        tx.commit("client.update", Some(("Client", m.id)), json!({"owner": m.owner_id.to_string()})).await?;
        Ok(Client(m))
    }

    /// Deletes a client that has no policies; one with policies is a `CONFLICT`.
    async fn delete_client(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Client")?;
        let tx = Audited::begin(ctx).await?;
        service::delete(tx.db(), p, key).await?;
        tx.commit("client.delete", Some(("Client", key)), json!({})).await?;
        Ok(true)
    }
}
