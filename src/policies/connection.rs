//! `connection`: a page of policies, everywhere one is answered (`policies`, `Client.policies`,
//! `Company.policies`); the nested ones are batched per page of parents by `graphql::per_parent`.

use async_graphql::{Context, Result};
use sea_orm::{ColumnTrait, QueryFilter, Select};
use uuid::Uuid;

use super::{
    service,
    types::{Policy, PolicyFilter, PolicyOrder},
};
use crate::{
    entities::policy,
    graphql::{
        context::ContextExt,
        direct::Direct,
        loaders::{Joined, prefetch},
        pagination::{Page, PageArgs, paginate_joined},
        per_parent::{self, Children},
    },
    principal::Principal,
    scope,
};

/// Which column links a nested policy list to its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parent {
    Client,
    Company,
}

impl Parent {
    pub fn column(self) -> policy::Column {
        match self {
            Parent::Client => policy::Column::ClientId,
            Parent::Company => policy::Column::CompanyId,
        }
    }
}

/// Policies listed under their client or company.
pub struct PoliciesOf;

impl Children for PoliciesOf {
    type Entity = policy::Entity;
    type Parent = Parent;

    fn scoped(principal: &Principal) -> Select<policy::Entity> {
        scope::policies(principal)
    }
    fn column(parent: Parent) -> policy::Column {
        parent.column()
    }
    fn parent_of(row: &policy::Model, parent: Parent) -> Option<Uuid> {
        Some(match parent {
            Parent::Client => row.client_id,
            Parent::Company => row.company_id,
        })
    }
    fn order_columns() -> (policy::Column, policy::Column) {
        (policy::Column::CreatedAt, policy::Column::Id)
    }
}

/// A page of the policies the caller may read, optionally those of one parent (`Client.policies`,
/// `Company.policies`). A parent's plain first page goes through a DataLoader, so a page of parents
/// costs one statement for all their policies.
#[allow(clippy::too_many_arguments)]
pub async fn connection(
    ctx: &Context<'_>,
    parent: Option<(Parent, Uuid)>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    filter: Option<PolicyFilter>,
    order_by: Option<Vec<PolicyOrder>>,
) -> Result<Page<Direct<Policy>>> {
    let p = ctx.principal()?;
    let plain = filter.is_none() && order_by.as_ref().is_none_or(|o| o.is_empty());
    if let (Some((parent, id)), true) = (parent, plain) {
        return per_parent::connection::<PoliciesOf, _>(ctx, parent, id, PageArgs::new(first, after, last, before), |row| Direct(Policy(row))).await;
    }
    let mut q = service::list(p, filter, order_by)?;
    if let Some((parent, id)) = parent {
        q = q.filter(parent.column().eq(id));
    }
    let wants = wanted(ctx);
    let mut parents = (
        wants.client.then(|| Joined::new(scope::clients(p), "client__", (policy::Entity, policy::Column::ClientId))),
        wants.company.then(|| Joined::new(scope::companies(p), "company__", (policy::Entity, policy::Column::CompanyId))),
    );
    let args = PageArgs::new(first, after, last, before).counted(ctx);
    let conn = paginate_joined(&ctx.state().db, q, args, &mut parents, |row| Direct(Policy(row))).await?;
    let (clients, companies) = parents;
    // What the page's statement read is fed to the loaders; a backward page read its rows alone.
    let loaders = ctx.loaders()?;
    let rest = Wanted {
        client: wants.client && !clients.as_ref().is_some_and(Joined::joined),
        company: wants.company && !companies.as_ref().is_some_and(Joined::joined),
        rates: wants.rates,
    };
    if let Some(j) = clients {
        j.feed(&loaders.clients).await;
    }
    if let Some(j) = companies {
        j.feed(&loaders.companies).await;
    }
    prefetch_parents(ctx, rest, conn.edges.iter().map(|e| &e.node.0.0)).await?;
    let ids: Vec<Uuid> = conn.edges.iter().map(|edge| edge.node.0.0.id).collect();
    super::types::prefetch_nested(ctx, &ids).await?;
    Ok(conn)
}

/// Which of the page's nodes' parents its selection asks for.
#[derive(Clone, Copy)]
struct Wanted {
    client: bool,
    company: bool,
    /// The commission or its rate: the company's rates.
    rates: bool,
}

fn wanted(ctx: &Context<'_>) -> Wanted {
    let look = ctx.look_ahead();
    let wants = |field: &str| look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists();
    Wanted { client: wants("client"), company: wants("company"), rates: wants("commission") || wants("commissionRate") }
}

/// Loads the parents `wants` names for the page's `rows` in one statement each.
async fn prefetch_parents<'a>(ctx: &Context<'_>, wants: Wanted, rows: impl Iterator<Item = &'a crate::entities::policy::Model>) -> Result<()> {
    let Wanted { client, company, rates } = wants;
    if !client && !company && !rates {
        return Ok(());
    }
    let loaders = ctx.loaders()?;
    let rows: Vec<_> = rows.collect();
    if rates {
        crate::commissions::types::prefetch(ctx, rows.iter().map(|r| r.company_id)).await?;
    }
    let clients = async {
        if client { prefetch(&loaders.clients, rows.iter().map(|r| r.client_id)).await } else { Ok(()) }
    };
    let companies = async {
        if company { prefetch(&loaders.companies, rows.iter().map(|r| r.company_id)).await } else { Ok(()) }
    };
    let (a, b) = futures_util::join!(clients, companies);
    a.and(b)
}

