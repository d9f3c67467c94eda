//! Per-request DataLoaders: nested objects load in one scoped statement per type and page.

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    RuntimeErr, Select,
    sea_query::{Alias, DynIden, Expr, IntoIden, JoinType, SelectStatement},
    sqlx::{self, Column as _, Row as _},
};
use uuid::Uuid;

use crate::{
    entities::{
        client, company, organization, policy,
        positional::{Fast, IntoModel, Positional},
        user,
    },
    error::AppError,
    graphql::pagination::Riders,
    principal::Principal,
    scope,
};

/// A row with a primary key.
pub trait Keyed {
    fn key(&self) -> Uuid;
}

macro_rules! keyed {
    ($($m:path),*) => { $(impl Keyed for $m { fn key(&self) -> Uuid { self.id } })* };
}
keyed!(company::Model, client::Model, policy::Model, user::Model, organization::Model);

/// Loads rows of `E` by key, always through the caller's scope. The scoped query is built when
/// a load runs, not with the loader: a request (or a subscription, for its whole life) holds
/// every loader, most of them unused.
/// Each row is read as `R`: the model itself (by name), or `Fast<Model>` (by position, for the
/// parents of the list pages: `entities::positional`).
pub struct ScopedLoader<E: EntityTrait, R = <E as EntityTrait>::Model> {
    db: DatabaseConnection,
    principal: Principal,
    scoped: fn(&Principal) -> Select<E>,
    id_col: E::Column,
    read_as: PhantomData<fn() -> R>,
}

impl<E, R> Loader<Uuid> for ScopedLoader<E, R>
where
    E: EntityTrait,
    E::Model: Keyed + Clone + Send + Sync + 'static,
    E::Column: Send + Sync,
    Select<E>: Send + Sync,
    R: FromQueryResult + IntoModel<E::Model> + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, Self::Error> {
        let rows = (self.scoped)(&self.principal)
            .filter(self.id_col.is_in(keys.iter().copied()))
            .into_model::<R>()
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(rows.into_iter().map(|row| {
            let m = row.into_model();
            (m.key(), m)
        }).collect())
    }
}

/// A loader whose rows are kept for the rest of the request, so a list can fetch its children's
/// parents in one statement up front (`prefetch`) and each child then finds its parent loaded.
pub type Cached<E, R = <E as EntityTrait>::Model> = DataLoader<ScopedLoader<E, R>, HashMapCache>;

/// The loaders of one request, bound to its principal.
pub struct Loaders {
    pub companies: Cached<company::Entity, Fast<company::Model>>,
    pub clients: Cached<client::Entity, Fast<client::Model>>,
    pub policies: Cached<policy::Entity, Fast<policy::Model>>,
    pub users: Cached<user::Entity>,
    pub organizations: Cached<organization::Entity>,
    db: DatabaseConnection,
    principal: Principal,
    /// The domains' own loaders ([`RequestLoader`]), made on first use.
    others: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// A loader a domain defines for itself (`claims::types::ClaimEvents`), made once per
/// request from the request's database and principal: `ctx.loaders()?.get::<ClaimEvents>()`.
pub trait RequestLoader: Send + Sync + Sized + 'static {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self;
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, p: &Principal) -> Self {
        fn dl<E, R>(db: &DatabaseConnection, p: &Principal, scoped: fn(&Principal) -> Select<E>, id_col: E::Column) -> Cached<E, R>
        where
            E: EntityTrait,
            ScopedLoader<E, R>: Loader<Uuid>,
        {
            let loader = ScopedLoader { db: db.clone(), principal: p.clone(), scoped, id_col, read_as: PhantomData };
            DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
        }
        Loaders {
            companies: dl(db, p, scope::companies, company::Column::Id),
            clients: dl(db, p, scope::clients, client::Column::Id),
            policies: dl(db, p, scope::policies, policy::Column::Id),
            users: dl(db, p, scope::users, user::Column::Id),
            organizations: dl(db, p, scope::organizations, organization::Column::Id),
            db: db.clone(),
            principal: p.clone(),
            others: Mutex::default(),
        }
    }

    /// This request's `L`, made on first use. What it loads is kept for the rest of the request,
    /// so a list can load its nodes' children up front and each node then finds its own.
    pub fn get<L: RequestLoader>(&self) -> Arc<DataLoader<L, HashMapCache>> {
        let mut others = self.others.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let made = others
            .entry(TypeId::of::<L>())
            .or_insert_with(|| {
                let loader = DataLoader::with_cache(L::new(&self.db, &self.principal), tokio::spawn, HashMapCache::default());
                Arc::new(Arc::new(loader)) as Arc<dyn Any + Send + Sync>
            });
        made.downcast_ref::<Arc<DataLoader<L, HashMapCache>>>().expect("loaders are kept by their type").clone()
    }
}

/// Turns a loader failure into the client-facing error.
pub fn loader_error(error: Arc<AppError>) -> async_graphql::Error {
    match Arc::try_unwrap(error) {
        Ok(error) => error.into(),
        Err(shared) => AppError::Internal(anyhow::anyhow!("{shared}")).into(),
    }
}

/// Loads the rows behind `keys` in one statement, ahead of the fields that will ask for them one by one.
pub async fn prefetch<E, R>(loader: &Cached<E, R>, keys: impl IntoIterator<Item = Uuid>) -> async_graphql::Result<()>
where
    E: EntityTrait,
    ScopedLoader<E, R>: Loader<Uuid, Error = Arc<AppError>>,
{
    let mut keys: Vec<Uuid> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        loader.load_many(keys).await.map_err(loader_error)?;
    }
    Ok(())
}

/// The rows of `E` a page reads in its own statement (a policy page's clients or companies),
/// joined to each of its rows through the scoped query of `E`, so they are the rows the loader
/// would have loaded; then fed to the loader ([`Joined::feed`]), where the page's nodes find them.
/// Each row is read once however many of the page's rows it is joined to.
pub struct Joined<E: EntityTrait> {
    /// The scoped query, until it is joined.
    scoped: Option<Select<E>>,
    /// The alias of the joined rows and the prefix of their columns' names.
    prefix: &'static str,
    /// The page's column that holds the key: `(table, column)`.
    link: (DynIden, DynIden),
    /// Where the joined columns start, and where the key is, in a PostgreSQL row (found on the first).
    at: Option<(usize, usize)>,
    seen: HashSet<Uuid>,
    rows: Vec<(Uuid, E::Model)>,
}

impl<E> Joined<E>
where
    E: EntityTrait,
    E::Model: Positional,
{
    /// `scoped` joined on its `id` = `link` (the page's column), its columns named `prefix` + name.
    pub fn new(scoped: Select<E>, prefix: &'static str, link: (impl IntoIden, impl IntoIden)) -> Self {
        Joined { scoped: Some(scoped), prefix, link: (link.0.into_iden(), link.1.into_iden()), at: None, seen: HashSet::new(), rows: Vec::new() }
    }

    /// True once the rows were joined to a page (a backward page reads its rows alone).
    pub fn joined(&self) -> bool {
        self.scoped.is_none()
    }

    /// Gives the rows read to `loader`.
    pub async fn feed<R>(self, loader: &Cached<E, R>)
    where
        ScopedLoader<E, R>: Loader<Uuid, Value = E::Model>,
    {
        if !self.rows.is_empty() {
            loader.feed_many(self.rows).await;
        }
    }

    fn name(&self, column: &str) -> String {
        format!("{}{column}", self.prefix)
    }
}

impl<E> Riders for Joined<E>
where
    E: EntityTrait,
    E::Model: Positional + Send,
    Select<E>: Send,
{
    fn join(&mut self, page: &mut SelectStatement) {
        let Some(scoped) = self.scoped.take() else { return };
        let mut inner = scoped.select_only();
        for column in E::Column::iter() {
            inner = inner.column_as(column, self.name(column.as_str()));
        }
        let alias = Alias::new(self.prefix);
        let (table, column) = self.link.clone();
        page.join_subquery(
            JoinType::LeftJoin,
            inner.into_query(),
            alias.clone(),
            Expr::col((alias.clone(), Alias::new(self.name("id")))).equals((table, column)),
        );
        for column in E::Column::iter() {
            page.column((alias.clone(), Alias::new(self.name(column.as_str()))));
        }
    }

    fn read(&mut self, row: &QueryResult) -> Result<(), DbErr> {
        let sql = |e: sqlx::Error| DbErr::Query(RuntimeErr::SqlxError(e.into()));
        let Some(pg) = row.try_as_pg_row() else {
            let Some(id) = row.try_get::<Option<Uuid>>(self.prefix, "id")? else { return Ok(()) };
            if self.seen.insert(id) {
                self.rows.push((id, E::Model::from_query_result(row, self.prefix)?));
            }
            return Ok(());
        };
        let (base, key) = match self.at {
            Some(at) => at,
            None => {
                let first = E::Column::iter().next().map(|c| self.name(c.as_str())).unwrap_or_default();
                let at = (pg.try_column(first.as_str()).map_err(sql)?.ordinal(), pg.try_column(self.name("id").as_str()).map_err(sql)?.ordinal());
                *self.at.insert(at)
            }
        };
        let Some(id) = pg.try_get::<Option<Uuid>, _>(key).map_err(sql)? else { return Ok(()) };
        if self.seen.insert(id) {
            self.rows.push((id, E::Model::from_pg_at(pg, base).map_err(sql)?));
        }
        Ok(())
    }
}

impl<R: Riders> Riders for Option<R> {
    fn join(&mut self, page: &mut SelectStatement) {
        if let Some(r) = self {
            r.join(page);
        }
    }
    fn read(&mut self, row: &QueryResult) -> Result<(), DbErr> {
        self.as_mut().map_or(Ok(()), |r| r.read(row))
    }
}

impl<A: Riders, B: Riders> Riders for (A, B) {
    fn join(&mut self, page: &mut SelectStatement) {
        self.0.join(page);
        self.1.join(page);
    }
    fn read(&mut self, row: &QueryResult) -> Result<(), DbErr> {
        self.0.read(row)?;
        self.1.read(row)
    }
}
