//! Lists nested under each node of a page (`Client.policies`, `Policy.claims`, `Client.documents`):
//! the plain first page of every parent in one statement (a `ROW_NUMBER()` window per parent),
//! their counts in one more, and [`prefetch`] to load them for a whole page of parents at once
//! when the look-ahead shows a nested list, so the batch never splits however busy the server is.

use std::{collections::HashMap, fmt::Debug, hash::Hash, marker::PhantomData, sync::Arc};

use async_graphql::{Context, Result, Value, dataloader::Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query},
};
use uuid::Uuid;

use super::{
    context::ContextExt,
    loaders::{RequestLoader, loader_error},
    pagination::{Page, PageArgs, TotalCount, first_size, page_of, paginate},
};
use crate::{error::AppError, principal::Principal};

/// A kind of row listed under parents (`policies` under clients and companies, `claims` under
/// policies and clients…). Rows are listed newest first (`created_at` descending, then `id`).
pub trait Children: Send + Sync + 'static {
    type Entity: EntityTrait<Model: FromQueryResult + Clone + Send + Sync + 'static, Column: Send + Sync>;
    /// Which kind of parent (which foreign-key column) a list hangs from.
    type Parent: Copy + Eq + Hash + Debug + Send + Sync + 'static;

    /// The rows the caller may read.
    fn scoped(principal: &Principal) -> Select<Self::Entity>;
    /// The column holding a row's parent of kind `parent`.
    fn column(parent: Self::Parent) -> <Self::Entity as EntityTrait>::Column;
    /// A row's parent of kind `parent`.
    fn parent_of(row: &<Self::Entity as EntityTrait>::Model, parent: Self::Parent) -> Option<Uuid>;
    /// The row's `created_at` and `id` columns, the list's order.
    fn order_columns() -> (<Self::Entity as EntityTrait>::Column, <Self::Entity as EntityTrait>::Column);
    /// Narrows the rows to those listed under a parent of kind `parent`, beyond its column (a
    /// client's own attachments, not its policies'). Nothing by default.
    fn of_parent(query: Select<Self::Entity>, _parent: Self::Parent) -> Select<Self::Entity> {
        query
    }
}

/// The first `take` rows of one parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirstPage<P> {
    pub parent: P,
    pub id: Uuid,
    pub take: u64,
}

/// Loads first pages of `C` for many parents at once.
pub struct Pages<C> {
    db: DatabaseConnection,
    principal: Principal,
    kind: PhantomData<fn() -> C>,
}

impl<C: Children> RequestLoader for Pages<C> {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        Pages { db: db.clone(), principal: principal.clone(), kind: PhantomData }
    }
}

type Row<C> = <<C as Children>::Entity as EntityTrait>::Model;

impl<C: Children> Loader<FirstPage<C::Parent>> for Pages<C> {
    type Value = Vec<Row<C>>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FirstPage<C::Parent>]) -> Result<HashMap<FirstPage<C::Parent>, Self::Value>, Self::Error> {
        let mut groups: HashMap<(C::Parent, u64), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry((key.parent, key.take)).or_default().push(key.id);
        }
        let backend = self.db.get_database_backend();
        let (created_at, id_col) = C::order_columns();
        let mut out = HashMap::new();
        for ((parent, take), ids) in groups {
            let col = C::column(parent);
            let mut inner = C::of_parent(C::scoped(&self.principal), parent).filter(col.is_in(ids.iter().copied())).into_query();
            inner.expr_as(
                Expr::cust(format!(
                    "ROW_NUMBER() OVER (PARTITION BY \"{}\" ORDER BY \"{}\" DESC, \"{}\" ASC)",
                    col.as_str(),
                    created_at.as_str(),
                    id_col.as_str()
                )),
                Alias::new("rn"),
            );
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).lte(take as i64))
                // Each parent's rows then arrive in their list's order.
                .order_by(Alias::new("rn"), Order::Asc)
                .to_owned();
            let rows = C::Entity::find()
                .from_raw_sql(backend.build(&outer))
                .all(&self.db)
                .await
                .map_err(|e| Arc::new(AppError::from(e)))?;
            let mut by_parent: HashMap<Uuid, Vec<Row<C>>> = HashMap::new();
            for row in rows {
                if let Some(key) = C::parent_of(&row, parent) {
                    by_parent.entry(key).or_default().push(row);
                }
            }
            for id in ids {
                let rows = by_parent.remove(&id).unwrap_or_default();
                out.insert(FirstPage { parent, id, take }, rows);
            }
        }
        Ok(out)
    }
}

/// Counts the rows of `C` (that the caller may read) of many parents at once.
pub struct Counts<C> {
    db: DatabaseConnection,
    principal: Principal,
    kind: PhantomData<fn() -> C>,
}

impl<C: Children> RequestLoader for Counts<C> {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        Counts { db: db.clone(), principal: principal.clone(), kind: PhantomData }
    }
}

impl<C: Children> Loader<(C::Parent, Uuid)> for Counts<C> {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[(C::Parent, Uuid)]) -> Result<HashMap<(C::Parent, Uuid), u64>, Self::Error> {
        let mut groups: HashMap<C::Parent, Vec<Uuid>> = HashMap::new();
        for (parent, id) in keys {
            groups.entry(*parent).or_default().push(*id);
        }
        let (_, id_col) = C::order_columns();
        let mut out = HashMap::new();
        for (parent, ids) in groups {
            let col = C::column(parent);
            let counts: Vec<(Uuid, i64)> = C::of_parent(C::scoped(&self.principal), parent)
                .filter(col.is_in(ids.iter().copied()))
                .select_only()
                .column(col)
                .column_as(id_col.count(), "n")
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

/// A page of the rows of `C` under one parent. The plain first page (no cursor, no `last`) comes
/// from the request's batch loader; any other page is its own statement.
pub async fn connection<C: Children, N: async_graphql::OutputType>(
    ctx: &Context<'_>,
    parent: C::Parent,
    id: Uuid,
    args: PageArgs,
    to_node: impl Fn(Row<C>) -> N,
) -> Result<Page<N>> {
    let principal = ctx.principal()?;
    let loaders = ctx.loaders()?;
    let counts = loaders.get::<Counts<C>>();
    let total = TotalCount::lazy(move || {
        let counts = counts.clone();
        async move {
            let n = counts.load_one((parent, id)).await.map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
            Ok(n.unwrap_or(0))
        }
    });
    if args.after.is_none() && args.before.is_none() && args.last.is_none() {
        let take = first_size(args.first)?;
        let mut rows = loaders
            .get::<Pages<C>>()
            .load_one(FirstPage { parent, id, take: take + 1 })
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let has_next = rows.len() as u64 > take;
        rows.truncate(take as usize);
        return Ok(page_of(rows.into_iter().map(to_node).collect(), 0, false, has_next, total));
    }
    let (created_at, id_col) = C::order_columns();
    let select = C::of_parent(C::scoped(principal), parent).filter(C::column(parent).eq(id)).order_by_desc(created_at).order_by_asc(id_col);
    let mut page = paginate(&ctx.state().db, select, args, to_node).await?;
    page.additional_fields = total;
    Ok(page)
}

/// When the current field's nodes (`edges.node` or `nodes`) select the nested list `field`, loads
/// that list for all of `parents` in one batch (and their counts when `totalCount` is selected).
pub async fn prefetch<C: Children>(
    ctx: &Context<'_>,
    field: &str,
    parent: C::Parent,
    parents: &[Uuid],
) -> Result<()> {
    if parents.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    let mut selections = look.field("edges").field("node").field(field).selection_fields();
    selections.extend(look.field("nodes").field(field).selection_fields());
    if selections.is_empty() {
        return Ok(());
    }
    let loaders = ctx.loaders()?;
    let (mut takes, mut counted) = (Vec::new(), false);
    for selection in selections {
        // Arguments that do not resolve are the field's own error to answer.
        let Ok(arguments) = selection.arguments() else { continue };
        let argument = |name: &str| arguments.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v);
        let given = |name: &str| argument(name).is_some_and(|v| *v != Value::Null);
        if given("after") || given("before") || given("last") {
            continue;
        }
        let first = match argument("first") {
            Some(Value::Number(n)) => n.as_i64().map(|n| n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32),
            _ => None,
        };
        // A bad `first` is answered by the field itself.
        if let Ok(take) = first_size(first) {
            takes.push(take + 1);
        }
        counted |= selection.selection_set().any(|s| s.name() == "totalCount");
    }
    takes.sort_unstable();
    takes.dedup();
    let mut keys = Vec::with_capacity(takes.len() * parents.len());
    for &take in &takes {
        keys.extend(parents.iter().map(|&id| FirstPage { parent, id, take }));
    }
    loaders.get::<Pages<C>>().load_many(keys).await.map_err(loader_error)?;
    if counted {
        let keys: Vec<(C::Parent, Uuid)> = parents.iter().map(|&id| (parent, id)).collect();
        loaders.get::<Counts<C>>().load_many(keys).await.map_err(loader_error)?;
    }
    Ok(())
}
