//! Batched loading of the policies nested under clients and companies: one statement for the
//! first page of every parent on a page (a `ROW_NUMBER()` window per parent), one for their counts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use crate::{auth::principal::Principal, entities::policy, error::AppError, scope};

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
    pub db: DatabaseConnection,
    pub principal: Principal,
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
    pub db: DatabaseConnection,
    pub principal: Principal,
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
