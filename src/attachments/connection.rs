//! `connection`: a page of one owner's attachments (`Client.attachments`, `Policy.attachments`),
//! newest first. A plain first page goes through a DataLoader keyed by owner: one statement for
//! the first page of every owner on a page (a `ROW_NUMBER()` window per owner), one for their
//! counts. Another owner type is another [`OwnerKind`]: nothing here changes.
//!
//! A DataLoader batches the keys that arrive within its delay (1 ms), so a page of 100 owners
//! resolved slowly (a busy machine, a debug build) can be split into two statements. A list of
//! owners that knows its rows calls [`prefetch`] first: the pages its selection asks for are
//! loaded in one statement, whatever the timing, and each owner's field finds its own.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{Context, Lookahead, Result, Value, dataloader::Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::{service::OwnerKind, types::Attachment};
use crate::{
    entities::attachment,
    error::AppError,
    graphql::{
        context::ContextExt,
        loaders::{RequestLoader, loader_error},
        pagination::{Page, PageArgs, TotalCount, first_size, page_of, paginate},
    },
    principal::Principal,
    scope,
};

/// The attachments of owners of one kind the caller may read.
fn of_owners(principal: &Principal, kind: OwnerKind, ids: &[Uuid]) -> Select<attachment::Entity> {
    scope::attachments(principal)
        .filter(attachment::Column::OwnerKind.eq(kind.as_str()))
        .filter(kind.column().is_in(ids.iter().copied()))
}

/// The first `take` attachments (newest first) of one owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirstPage {
    pub owner: OwnerKind,
    pub id: Uuid,
    pub take: u64,
}

pub struct AttachmentPages {
    db: DatabaseConnection,
    principal: Principal,
    /// Pages loaded ahead by [`prefetch`], for the rest of the request.
    prefetched: Mutex<HashMap<FirstPage, Vec<attachment::Model>>>,
}

impl RequestLoader for AttachmentPages {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        AttachmentPages { db: db.clone(), principal: principal.clone(), prefetched: Mutex::default() }
    }
}

impl Loader<FirstPage> for AttachmentPages {
    type Value = Vec<attachment::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FirstPage]) -> Result<HashMap<FirstPage, Self::Value>, Self::Error> {
        let mut groups: HashMap<(OwnerKind, u64), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.owner, k.take)).or_default().push(k.id);
        }
        let backend = self.db.get_database_backend();
        let mut out = HashMap::new();
        for ((owner, take), ids) in groups {
            let column = owner.column();
            let column_name = sea_orm::IdenStatic::as_str(&column);
            let mut inner = of_owners(&self.principal, owner, &ids).into_query();
            inner.expr_as(
                Expr::cust(format!("ROW_NUMBER() OVER (PARTITION BY \"{column_name}\" ORDER BY \"created_at\" DESC, \"id\" DESC)")),
                Alias::new("rn"),
            );
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).lte(take as i64))
                .to_owned();
            let rows = attachment::Entity::find()
                .from_raw_sql(backend.build(&outer))
                .all(&self.db)
                .await
                .map_err(|e| Arc::new(AppError::from(e)))?;
            let mut by_owner: HashMap<Uuid, Vec<attachment::Model>> = HashMap::new();
            for row in rows {
                if let Some(key) = owner.key_of(&row) {
                    by_owner.entry(key).or_default().push(row);
                }
            }
            for id in ids {
                let mut rows = by_owner.remove(&id).unwrap_or_default();
                rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                out.insert(FirstPage { owner, id, take }, rows);
            }
        }
        Ok(out)
    }
}

/// How many attachments (the caller may read) each owner has.
pub struct AttachmentCounts {
    db: DatabaseConnection,
    principal: Principal,
    /// Counts loaded ahead by [`prefetch`], for the rest of the request.
    prefetched: Mutex<HashMap<(OwnerKind, Uuid), u64>>,
}

impl RequestLoader for AttachmentCounts {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        AttachmentCounts { db: db.clone(), principal: principal.clone(), prefetched: Mutex::default() }
    }
}

impl Loader<(OwnerKind, Uuid)> for AttachmentCounts {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[(OwnerKind, Uuid)]) -> Result<HashMap<(OwnerKind, Uuid), u64>, Self::Error> {
        let mut groups: HashMap<OwnerKind, Vec<Uuid>> = HashMap::new();
        for (owner, id) in keys {
            groups.entry(*owner).or_default().push(*id);
        }
        let mut out = HashMap::new();
        for (owner, ids) in groups {
            let column = owner.column();
            let counts: Vec<(Uuid, i64)> = of_owners(&self.principal, owner, &ids)
                .select_only()
                .column(column)
                .column_as(attachment::Column::Id.count(), "n")
                .group_by(column)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(|e| Arc::new(AppError::from(e)))?;
            let counts: HashMap<Uuid, i64> = counts.into_iter().collect();
            for id in ids {
                out.insert((owner, id), u64::try_from(counts.get(&id).copied().unwrap_or(0)).unwrap_or(0));
            }
        }
        Ok(out)
    }
}

/// A page of the attachments of one owner the caller may read, newest first. The plain first page
/// (`first` alone) of every owner on a page of owners loads in one statement.
pub async fn connection(
    ctx: &Context<'_>,
    owner: (OwnerKind, Uuid),
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Page<Attachment>> {
    let p = ctx.principal()?;
    let (kind, id) = owner;
    if after.is_none() && before.is_none() && last.is_none() {
        let take = first_size(first)?;
        let loaders = ctx.loaders()?;
        let key = FirstPage { owner: kind, id, take: take + 1 };
        let pages = loaders.get::<AttachmentPages>();
        let mut rows = match ahead(&pages.loader().prefetched, &key) {
            Some(rows) => rows,
            None => pages.load_one(key).await.map_err(loader_error)?.unwrap_or_default(),
        };
        let has_next = rows.len() as u64 > take;
        rows.truncate(take as usize);
        let counts = loaders.get::<AttachmentCounts>();
        let total = TotalCount::lazy(move || {
            let counts = counts.clone();
            async move {
                if let Some(n) = ahead(&counts.loader().prefetched, &owner) {
                    return Ok(n);
                }
                let n = counts.load_one(owner).await.map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
                Ok(n.unwrap_or(0))
            }
        });
        return Ok(page_of(rows.into_iter().map(Attachment).collect(), 0, false, has_next, total));
    }
    let q = of_owners(p, kind, &[id]).order_by_desc(attachment::Column::CreatedAt).order_by_desc(attachment::Column::Id);
    Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before), Attachment).await?)
}

/// What [`prefetch`] loaded for `key`, if it did.
fn ahead<K: Eq + std::hash::Hash, V: Clone>(prefetched: &Mutex<HashMap<K, V>>, key: &K) -> Option<V> {
    prefetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).cloned()
}

/// Loads ahead, in one statement per page size (and one for the counts when `totalCount` is
/// asked), the first pages of attachments that `nodes` (the selection of one owner in a list)
/// asks for, for every owner in `owners`. Selections with `after`, `last` or `before` are left
/// to the plain query.
pub async fn prefetch(ctx: &Context<'_>, nodes: &[Lookahead<'_>], kind: OwnerKind, owners: &[Uuid]) -> Result<()> {
    if owners.is_empty() {
        return Ok(());
    }
    let mut takes = Vec::new();
    let mut counted = false;
    for field in nodes.iter().flat_map(|node| node.field("attachments").selection_fields()) {
        let arguments = field.arguments().map_err(|e| AppError::invalid("attachments", e.message))?;
        let argument = |name: &str| arguments.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v).filter(|v| **v != Value::Null);
        if ["after", "last", "before"].iter().any(|name| argument(name).is_some()) {
            continue;
        }
        let first = match argument("first") {
            Some(Value::Number(n)) => Some(n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(i32::MAX)),
            _ => None,
        };
        takes.push(first_size(first)? + 1);
        counted |= field.selection_set().any(|f| f.name() == "totalCount");
    }
    takes.sort_unstable();
    takes.dedup();
    let loaders = ctx.loaders()?;
    if !takes.is_empty() {
        let pages = loaders.get::<AttachmentPages>();
        let keys: Vec<FirstPage> = takes.iter().flat_map(|&take| owners.iter().map(move |&id| FirstPage { owner: kind, id, take })).collect();
        let loaded = pages.loader().load(&keys).await.map_err(loader_error)?;
        pages.loader().prefetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend(loaded);
    }
    if counted {
        let counts = loaders.get::<AttachmentCounts>();
        let keys: Vec<(OwnerKind, Uuid)> = owners.iter().map(|&id| (kind, id)).collect();
        let loaded = counts.loader().load(&keys).await.map_err(loader_error)?;
        counts.loader().prefetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend(loaded);
    }
    Ok(())
}
