//! Commission rates: set (one per insurer, product type and start date) and listed.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select, Set, sea_query::OnConflict};
use uuid::Uuid;

use super::{rules, types::SetCommissionRateInput};
use crate::{
    entities::{commission_rate, company},
    error::{AppError, AppResult},
    graphql::ids,
    principal::Principal,
    scope,
};

/// Sets the rate of an insurer for a product type (or every product) from a date; a rate already
/// set for that insurer, product type and date is replaced.
pub async fn set(db: &impl ConnectionTrait, principal: &Principal, input: SetCommissionRateInput) -> AppResult<commission_rate::Model> {
    let company_id = ids::decode_input(&input.company_id, "Company", "input.companyId")?;
    let rate_ppm = rules::rate_ppm(input.rate, "input.rate")?;
    let company = scope::one(db, scope::companies(principal), company::Column::Id, company_id, "Company").await?;
    let product_type = input.product_type.map_or(rules::EVERY_PRODUCT, |kind| kind.as_str()).to_string();
    let row = commission_rate::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(company.organization_id),
        company_id: Set(company.id),
        product_type: Set(product_type.clone()),
        rate_ppm: Set(rate_ppm),
        valid_from: Set(input.valid_from.0),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(Utc::now()),
    };
    let key = [commission_rate::Column::CompanyId, commission_rate::Column::ProductType, commission_rate::Column::ValidFrom];
    let update = [commission_rate::Column::RatePpm, commission_rate::Column::CreatedBy, commission_rate::Column::CreatedAt];
    commission_rate::Entity::insert(row)
        .on_conflict(OnConflict::columns(key).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await?;
    commission_rate::Entity::find()
        .filter(commission_rate::Column::CompanyId.eq(company.id))
        .filter(commission_rate::Column::ProductType.eq(product_type))
        .filter(commission_rate::Column::ValidFrom.eq(input.valid_from.0))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a commission rate just set is missing")))
}

/// An insurer's rates (of a company the caller may read), the latest start first.
pub async fn list(db: &impl ConnectionTrait, principal: &Principal, company_id: Uuid) -> AppResult<Select<commission_rate::Entity>> {
    let company = scope::one(db, scope::companies(principal), company::Column::Id, company_id, "Company").await?;
    Ok(commission_rate::Entity::find()
        .filter(commission_rate::Column::CompanyId.eq(company.id))
        .order_by_desc(commission_rate::Column::ValidFrom)
        .order_by_asc(commission_rate::Column::ProductType)
        .order_by_asc(commission_rate::Column::Id))
}
