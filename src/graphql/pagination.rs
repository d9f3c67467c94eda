//! Relay connections over any sea-orm `Select`: opaque offset cursors, `first`/`after`/`last`/`before`,
//! and a `totalCount` that costs a statement only when a client asks for it.

use std::{future::Future, pin::Pin, sync::Arc};

use async_graphql::{
    Enum, Object,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, Statement, QueryResult, QuerySelect, QueryTrait, Select,
    sea_query::{Alias, Expr, SelectStatement, SubQueryStatement},
};

use crate::{
    entities::positional::{Fast, IntoModel, Positional},
    error::{AppError, AppResult},
};

/// The largest page a client may ask for; larger `first`/`last` values are capped to it.
pub const MAX_PAGE: u64 = 100;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: u64 = 20;

/// The complexity of a connection field: its nodes' cost times the page it asks for (`first` or
/// `last`, else the default page, at most [`MAX_PAGE`]), plus one for the field itself.
pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let page = first.or(last).map(|n| n.clamp(0, MAX_PAGE as i32) as usize).unwrap_or(DEFAULT_PAGE as usize);
    page.max(1).saturating_mul(child_complexity).saturating_add(1)
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

impl From<OrderDirection> for sea_orm::Order {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => sea_orm::Order::Asc,
            OrderDirection::Desc => sea_orm::Order::Desc,
        }
    }
}

const TOTAL_COLUMN: &str = "total__";

/// A Relay connection whose extra field is `totalCount`.
pub type Page<N> = Connection<Offset, N, TotalCount>;

/// An edge's cursor: its offset in the result, written (opaque) only when a client selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offset(pub u64);

impl async_graphql::connection::CursorType for Offset {
    type Error = AppError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        decode_cursor(s, "after").map(Offset)
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(self.0)
    }
}

type CountFn = dyn Fn() -> Pin<Box<dyn Future<Output = AppResult<u64>> + Send>> + Send + Sync;

/// `totalCount`, computed lazily.
#[derive(Clone)]
pub struct TotalCount(Arc<CountFn>);

#[Object]
impl TotalCount {
    /// How many items match the filter, across all pages.
    async fn total_count(&self) -> async_graphql::Result<i64> {
        Ok((self.0)().await? as i64)
    }
}

impl TotalCount {
    /// A count computed by `f` only when the client selects `totalCount`.
    pub fn lazy<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<u64>> + Send + 'static,
    {
        TotalCount(Arc::new(move || Box::pin(f())))
    }

    /// A count already known (read with the page).
    pub fn known(n: u64) -> Self {
        TotalCount(Arc::new(move || Box::pin(async move { Ok(n) })))
    }
}

/// Builds a connection from nodes that start at `offset`.
pub fn page_of<N: async_graphql::OutputType>(
    nodes: Vec<N>,
    offset: u64,
    has_previous: bool,
    has_next: bool,
    total: TotalCount,
) -> Page<N> {
    let mut conn = Connection::with_additional_fields(has_previous, has_next, total);
    conn.edges.extend(nodes.into_iter().enumerate().map(|(i, n)| Edge::new(Offset(offset + i as u64), n)));
    conn
}

/// The page size a client asked for with `first` (default and cap applied).
pub fn first_size(first: Option<i32>) -> AppResult<u64> {
    Ok(page_size(first, "first")?.unwrap_or(DEFAULT_PAGE))
}

/// The paging arguments of a connection field, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    /// `totalCount` is selected: a forward page reads it in the same statement.
    pub total: bool,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        PageArgs { first, after, last, before, total: false }
    }

    /// Notes whether the connection's selection asks for `totalCount` (the look-ahead of `ctx`,
    /// the connection field's context).
    pub fn counted(mut self, ctx: &async_graphql::Context<'_>) -> Self {
        self.total = ctx.look_ahead().field("totalCount").exists();
        self
    }
}

fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str, field: &str) -> AppResult<u64> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| AppError::invalid(field, "invalid cursor"))
}

fn page_size(count: Option<i32>, field: &str) -> AppResult<Option<u64>> {
    match count {
        None => Ok(None),
        Some(count) if count < 0 => Err(AppError::invalid(field, format!("`{field}` must not be negative"))),
        Some(count) => Ok(Some((count as u64).min(MAX_PAGE))),
    }
}

/// Runs one page of `select` (already filtered, scoped and ordered, with a unique tie-breaker last)
/// and maps each row to its GraphQL node.
pub async fn paginate<E, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    args: PageArgs,
    to_node: impl Fn(E::Model) -> N,
) -> AppResult<Page<N>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    N: async_graphql::OutputType,
{
    paginate_with::<E, E::Model, N>(db, select, args, &mut NoRiders, to_node).await
}

/// [`paginate`] for the entities whose rows are read by position (`entities::positional`): the
/// policies, clients and companies of the list pages.
pub async fn paginate_fast<E, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    args: PageArgs,
    to_node: impl Fn(E::Model) -> N,
) -> AppResult<Page<N>>
where
    E: EntityTrait,
    E::Model: Positional + Send + Sync,
    N: async_graphql::OutputType,
{
    paginate_with::<E, Fast<E::Model>, N>(db, select, args, &mut NoRiders, to_node).await
}

/// What a page reads in its own statement beside its rows: rows of other tables joined to each
/// of its rows (a policy page's clients and companies: `policies::connection`).
pub trait Riders: Send {
    /// Adds the joins and their columns to the page's statement, after the page's own columns.
    fn join(&mut self, page: &mut SelectStatement);
    /// Reads the joined part of one row of the page.
    fn read(&mut self, row: &QueryResult) -> Result<(), DbErr>;
}

/// A page that reads nothing beside its rows.
struct NoRiders;

impl Riders for NoRiders {
    fn join(&mut self, _: &mut SelectStatement) {}
    fn read(&mut self, _: &QueryResult) -> Result<(), DbErr> {
        Ok(())
    }
}

/// [`paginate_fast`] with `riders` read in the page's statement. Only a forward page (`first`,
/// or no size at all) joins them: a backward one reads its rows alone and leaves `riders` as
/// they were (their `join` is not called).
pub async fn paginate_joined<E, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    args: PageArgs,
    riders: &mut impl Riders,
    to_node: impl Fn(E::Model) -> N,
) -> AppResult<Page<N>>
where
    E: EntityTrait,
    E::Model: Positional + Send + Sync,
    N: async_graphql::OutputType,
{
    paginate_with::<E, Fast<E::Model>, N>(db, select, args, riders, to_node).await
}

/// `statement` (a SELECT with no LIMIT, OFFSET or locking clause of its own) limited to `limit` rows from
/// `offset`, both written in the SQL rather than bound. PostgreSQL plans a prepared statement
/// afresh on every run (a "custom plan") until a generic plan, made once, is estimated no dearer;
/// with `LIMIT $n OFFSET $m` the generic plan guesses a tenth of the rows for each and never
/// wins, so every page was planned again: about half of the database's CPU for a 100-policy page
/// with its clients and companies (planning 0.4-0.7 ms, execution 0.5 ms). Written out, the first
/// page of each size is one statement the database plans once per connection; a deeper page is a
/// statement of its own (planned once, as before).
fn paged(db: &DatabaseConnection, statement: &SelectStatement, limit: u64, offset: u64) -> Statement {
    let mut built = db.get_database_backend().build(statement);
    built.sql = format!("{} LIMIT {limit} OFFSET {offset}", built.sql);
    built
}

/// [`paginate`], each row read as `R`, with `riders` (forward pages).
async fn paginate_with<E, R, N>(
    db: &DatabaseConnection,
    select: Select<E>,
    args: PageArgs,
    riders: &mut impl Riders,
    to_node: impl Fn(E::Model) -> N,
) -> AppResult<Page<N>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Sized + Send + Sync,
    R: FromQueryResult + IntoModel<E::Model> + Send + Sync,
    N: async_graphql::OutputType,
{
    let first = page_size(args.first, "first")?;
    let last = page_size(args.last, "last")?;
    let start = match &args.after {
        Some(c) => decode_cursor(c, "after")? + 1,
        None => 0,
    };
    let end = match &args.before {
        Some(c) => Some(decode_cursor(c, "before")?),
        None => None,
    };
    let (count_select, count_db) = (select.clone(), db.clone());
    let mut total = TotalCount::lazy(move || {
        let (s, db) = (count_select.clone(), count_db.clone());
        async move { Ok(s.count(&db).await?) }
    });

    let (offset, has_previous, has_next, rows) = if first.is_some() || last.is_none() {
        let mut limit = first.unwrap_or(DEFAULT_PAGE);
        if let Some(end) = end {
            limit = limit.min(end.saturating_sub(start));
        }
        let mut statement = if args.total {
            // The count comes with the page, as a scalar subquery the database runs once: one
            // statement instead of two, and the page still stops after its rows (a window
            // `COUNT(*) OVER ()` would read and sort every matching row first). An empty page
            // (past the end) carries no count; the lazy one answers then.
            let mut whole = select.clone().into_query();
            whole.clear_order_by();
            let mut count = SelectStatement::new();
            count.expr(Expr::cust("COUNT(*)")).from_subquery(whole, Alias::new("counted__"));
            select.column_as(Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(count))), TOTAL_COLUMN).into_query()
        } else {
            select.into_query()
        };
        riders.join(&mut statement);
        let results = db.query_all_raw(paged(db, &statement, limit + 1, start)).await?;
        let mut rows: Vec<E::Model> = Vec::with_capacity(results.len());
        for (i, result) in results.iter().enumerate() {
            if args.total && i == 0 {
                total = TotalCount::known(u64::try_from(result.try_get::<i64>("", TOTAL_COLUMN)?).unwrap_or(0));
            }
            rows.push(R::from_query_result(result, "")?.into_model());
            riders.read(result)?;
        }
        // With `before`, the item it names still follows this page.
        let has_next = rows.len() as u64 > limit || end.is_some();
        rows.truncate(limit as usize);
        let mut offset = start;
        let mut has_previous = start > 0;
        if let Some(last) = last {
            // Both given: the last `last` of the first `first`.
            let drop = rows.len().saturating_sub(last as usize);
            rows.drain(..drop);
            offset += drop as u64;
            has_previous = offset > 0;
        }
        (offset, has_previous, has_next, rows)
    } else {
        let last = last.unwrap_or(DEFAULT_PAGE);
        let end = match end {
            Some(e) => e,
            None => select.clone().count(db).await?,
        };
        let offset = end.saturating_sub(last).max(start);
        let limit = end.saturating_sub(offset);
        let rows = if limit == 0 {
            Vec::new()
        } else {
            let results = db.query_all_raw(paged(db, &select.into_query(), limit, offset)).await?;
            results.iter().map(|r| R::from_query_result(r, "").map(IntoModel::into_model)).collect::<Result<_, _>>()?
        };
        (offset, offset > 0, args.before.is_some(), rows)
    };
    Ok(page_of(rows.into_iter().map(to_node).collect(), offset, has_previous, has_next, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_bad_input() {
        assert_eq!(decode_cursor(&encode_cursor(42), "after").unwrap(), 42);
        let err = decode_cursor("nope", "after").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn page_sizes_are_capped_and_never_negative() {
        assert_eq!(page_size(Some(1000), "first").unwrap(), Some(MAX_PAGE));
        assert!(page_size(Some(-1), "first").is_err());
    }
}
