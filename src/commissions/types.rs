//! GraphQL types of commissions, and the loader of each insurer's rates.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, InputObject, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::rules;
use crate::{
    companies::types::Company,
    entities::{commission_rate, company, policy},
    error::AppError,
    graphql::{
        context::ContextExt,
        ids,
        loaders::{RequestLoader, loader_error},
        scalars::Date,
    },
    policies::types::ProductType,
    principal::Principal,
    scope,
};

/// An insurer's commission rate on a product type (or every product), in force from a date until
/// a later rate of the same insurer and product type starts.
pub struct CommissionRate(pub commission_rate::Model);

#[Object]
impl CommissionRate {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("CommissionRate", self.0.id)
    }
    /// The insurer paying it.
    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Company>> {
        let found = ctx.loaders()?.companies.load_one(self.0.company_id).await.map_err(loader_error)?;
        Ok(found.map(Company))
    }
    /// The product type it applies to; null for every product (a product type's own rate wins).
    async fn product_type(&self) -> Option<ProductType> {
        (self.0.product_type != rules::EVERY_PRODUCT).then(|| ProductType::parse(&self.0.product_type))
    }
    /// The rate, a percent of the net premium (`"12.5"`).
    async fn rate(&self) -> Decimal {
        rules::percent(self.0.rate_ppm)
    }
    /// The first effective date it applies to.
    async fn valid_from(&self) -> Date {
        Date(self.0.valid_from)
    }
    /// When it was set.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Sets an insurer's commission rate.
#[derive(InputObject)]
pub struct SetCommissionRateInput {
    /// The insurer.
    pub company_id: ID,
    /// The product type; null (or absent) for every product.
    pub product_type: Option<ProductType>,
    /// A percent of the net premium in [0, 100], at most four decimals.
    pub rate: Decimal,
    /// The first policy effective date it applies to.
    pub valid_from: Date,
}

/// Every rate of many insurers (of the caller's organization), by insurer: one statement for a page.
pub struct CompanyRates {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for CompanyRates {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        CompanyRates { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for CompanyRates {
    type Value = Arc<Vec<commission_rate::Model>>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let companies = scope::companies(&self.principal).select_only().column(company::Column::Id).into_query();
        let rows = commission_rate::Entity::find()
            .filter(commission_rate::Column::CompanyId.is_in(keys.iter().copied()))
            .filter(commission_rate::Column::CompanyId.in_subquery(companies))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        let mut by_company: HashMap<Uuid, Vec<commission_rate::Model>> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            by_company.entry(row.company_id).or_default().push(row);
        }
        Ok(by_company.into_iter().map(|(key, rates)| (key, Arc::new(rates))).collect())
    }
}

/// The rate in force on a policy's effective date (its product type's, else every product's).
pub async fn in_force(ctx: &Context<'_>, policy: &policy::Model) -> async_graphql::Result<Option<commission_rate::Model>> {
    let rates = ctx.loaders()?.get::<CompanyRates>().load_one(policy.company_id).await.map_err(loader_error)?;
    Ok(rates.and_then(|rates| rules::in_force(&rates, &policy.product_type, policy.effective_date).cloned()))
}

/// Loads the rates of every insurer of a page of policies in one statement, ahead of the
/// `commission` fields that will ask for them one by one.
pub async fn prefetch(ctx: &Context<'_>, companies: impl IntoIterator<Item = Uuid>) -> async_graphql::Result<()> {
    let mut keys: Vec<Uuid> = companies.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    ctx.loaders()?.get::<CompanyRates>().load_many(keys).await.map_err(loader_error)?;
    Ok(())
}
