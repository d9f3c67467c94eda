//! Per-request DataLoaders: nested objects load in one scoped statement per type and page.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, Select};
use uuid::Uuid;

use crate::{
    entities::{
        client, company, organization, policy,
        positional::{Fast, IntoModel},
        user,
    },
    error::AppError,
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
