//! `connection`: a page of policies, everywhere one is answered (`policies`, `Client.policies`,
//! `Company.policies`), and the batched loading of the nested ones: one statement for the first
//! page of every parent on a page (a `ROW_NUMBER()` window per parent), one for their counts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Result, dataloader::Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::{
    service,
    types::{Policy, PolicyFilter, PolicyOrder},
};
use crate::{
    attachments::{self, service::OwnerKind},
    entities::policy,
    error::AppError,
    graphql::{
        context::ContextExt,
        loaders::{RequestLoader, loader_error, prefetch},
        pagination::{Page, PageArgs, TotalCount, first_size, page_of, paginate},
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

/// The first `take` policies (newest first) of one parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirstPage {
    pub parent: Parent,
    pub id: Uuid,
    pub take: u64,
}

pub struct PolicyPages {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for PolicyPages {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        PolicyPages { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<FirstPage> for PolicyPages {
    type Value = Vec<policy::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FirstPage]) -> Result<HashMap<FirstPage, Self::Value>, Self::Error> {
        let mut groups: HashMap<(Parent, u64), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.parent, k.take)).or_default().push(k.id);
        }
        let backend = self.db.get_database_backend();
        let mut out = HashMap::new();
        for ((parent, take), ids) in groups {
            let col = parent.column();
            let col_name = sea_orm::IdenStatic::as_str(&col);
            let mut inner = scope::policies(&self.principal).filter(col.is_in(ids.iter().copied())).into_query();
            inner.expr_as(
                Expr::cust(format!(
                    "ROW_NUMBER() OVER (PARTITION BY \"{col_name}\" ORDER BY \"created_at\" DESC, \"id\" ASC)"
                )),
                Alias::new("rn"),
            );
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).lte(take as i64))
                .to_owned();
            let rows = policy::Entity::find()
                .from_raw_sql(backend.build(&outer))
                .all(&self.db)
                .await
                .map_err(|e| Arc::new(AppError::from(e)))?;
            let mut by_parent: HashMap<Uuid, Vec<policy::Model>> = HashMap::new();
            for row in rows {
                let key = match parent {
                    Parent::Client => row.client_id,
                    Parent::Company => row.company_id,
                };
                by_parent.entry(key).or_default().push(row);
            }
            for id in ids {
                let mut rows = by_parent.remove(&id).unwrap_or_default();
                rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
                out.insert(FirstPage { parent, id, take }, rows);
            }
        }
        Ok(out)
    }
}

/// How many policies (the caller may read) each parent has.
pub struct PolicyCounts {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for PolicyCounts {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        PolicyCounts { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<(Parent, Uuid)> for PolicyCounts {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[(Parent, Uuid)]) -> Result<HashMap<(Parent, Uuid), u64>, Self::Error> {
        let mut groups: HashMap<Parent, Vec<Uuid>> = HashMap::new();
        for (parent, id) in keys {
            groups.entry(*parent).or_default().push(*id);
        }
        let mut out = HashMap::new();
        for (parent, ids) in groups {
            let col = parent.column();
            let counts: Vec<(Uuid, i64)> = scope::policies(&self.principal)
                .filter(col.is_in(ids.iter().copied()))
                .select_only()
                .column(col)
                .column_as(policy::Column::Id.count(), "n")
                .group_by(col)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(|e| Arc::new(AppError::from(e)))?;
            let counts: HashMap<Uuid, i64> = counts.into_iter().collect();
            for id in ids {
                out.insert((parent, id), u64::try_from(counts.get(&id).copied().unwrap_or(0)).unwrap_or(0));
            }
        }
        Ok(out)
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
) -> Result<Page<Policy>> {
    let p = ctx.principal()?;
    let plain = after.is_none() && before.is_none() && last.is_none() && filter.is_none();
    if let (Some((parent, id)), true, None) = (parent, plain, order_by.as_ref().filter(|o| !o.is_empty())) {
        let take = first_size(first)?;
        let loaders = ctx.loaders()?;
        let mut rows = loaders
            .get::<PolicyPages>()
            .load_one(FirstPage { parent, id, take: take + 1 })
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let has_next = rows.len() as u64 > take;
        rows.truncate(take as usize);
        let counts = loaders.get::<PolicyCounts>();
        let total = TotalCount::lazy(move || {
            let counts = counts.clone();
            async move {
                let n = counts.load_one((parent, id)).await.map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
                Ok(n.unwrap_or(0))
            }
        });
        return Ok(page_of(rows.into_iter().map(Policy).collect(), 0, false, has_next, total));
    }
    let mut q = service::list(p, filter, order_by)?;
    if let Some((parent, id)) = parent {
        q = q.filter(parent.column().eq(id));
    }
    let conn = paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before), Policy).await?;
    prefetch_parents(ctx, conn.edges.iter().map(|e| &e.node.0)).await?;
    Ok(conn)
}

/// When the page's nodes ask for their client, company or attachments, loads them all in one statement each.
async fn prefetch_parents<'a>(ctx: &Context<'_>, rows: impl Iterator<Item = &'a crate::entities::policy::Model>) -> Result<()> {
    let look = ctx.look_ahead();
    let wants = |field: &str| {
        look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists()
    };
    let (client, company) = (wants("client"), wants("company"));
    let rows: Vec<_> = rows.collect();
    let nodes = [look.field("edges").field("node"), look.field("nodes")];
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    attachments::connection::prefetch(ctx, &nodes, OwnerKind::Policy, &ids).await?;
    if !client && !company {
        return Ok(());
    }
    let loaders = ctx.loaders()?;
    let clients = async {
        if client { prefetch(&loaders.clients, rows.iter().map(|r| r.client_id)).await } else { Ok(()) }
    };
    let companies = async {
        if company { prefetch(&loaders.companies, rows.iter().map(|r| r.company_id)).await } else { Ok(()) }
    };
    let (a, b) = futures_util::join!(clients, companies);
    a.and(b)
}

