//! Renewals: a new policy for the same client that continues an old one, by default from the day
//! after its expiry, for as many days, with the same premium and insurer, as a `DRAFT`. A policy
//! is renewed once: the unique `previous_policy_id` decides, even between concurrent renewals.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Select, Set,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::{
    rules,
    types::{PolicyStatus, RenewPolicyInput},
};
use crate::{
    entities::{company, policy},
    error::{AppError, AppResult, is_unique_violation},
    graphql::{ids, loaders::RequestLoader},
    principal::Principal,
    scope,
};

/// Renews a policy the caller may write (ACTIVE, SUSPENDED or EXPIRED) into a new one.
pub async fn renew(db: &impl ConnectionTrait, principal: &Principal, input: RenewPolicyInput) -> AppResult<policy::Model> {
    let id = ids::decode_input(&input.policy_id, "Policy", "input.policyId")?;
    let old = scope::one(db, scope::policies(principal), policy::Column::Id, id, "Policy").await?;
    let status = PolicyStatus::of(&old)?;
    if !matches!(status, PolicyStatus::Active | PolicyStatus::Suspended | PolicyStatus::Expired) {
        return Err(AppError::invalid("input.policyId", format!("a {} policy cannot be renewed", status.as_str())));
    }
    if renewal_of(db, old.id).await?.is_some() {
        return Err(already_renewed(&old.number));
    }
    let number = rules::number(&input.number, "input.number")?;
    let (effective, expiry) = dates(&old, input.effective_date.map(|d| d.0), input.expiry_date.map(|d| d.0))?;
    // A new premium keeps the old breakdown's fees and taxes; none given, the old premium whole.
    let amounts = rules::PremiumInput { premium: input.premium, ..Default::default() };
    let premium = if amounts.is_empty() { rules::Premium::of(&old) } else { rules::premium(&amounts, Some(rules::Premium::of(&old)), &old.currency)? };
    let company_id = match &input.company_id {
        Some(raw) => {
            let key = ids::decode_input(raw, "Company", "input.companyId")?;
            let found = scope::one(db, scope::companies(principal), company::Column::Id, key, "Company").await?;
            if found.organization_id != old.organization_id {
                return Err(AppError::NotFound("Company"));
            }
            found.id
        }
        None => old.company_id,
    };
    let status = input.status.unwrap_or(PolicyStatus::Draft);
    rules::initial_status(status, "input.status")?;
    let now = Utc::now();
    let row = policy::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(old.organization_id),
        number: Set(number),
        client_id: Set(old.client_id),
        company_id: Set(company_id),
        product_name: Set(old.product_name.clone()),
        product_type: Set(old.product_type.clone()),
        status: Set(status.as_str().to_string()),
        premium_minor: Set(premium.total),
        net_premium_minor: Set(premium.net),
        fees_minor: Set(premium.fees),
        taxes_minor: Set(premium.taxes),
        currency: Set(old.currency.clone()),
        effective_date: Set(effective),
        expiry_date: Set(expiry),
        coverage: Set(old.coverage.clone()),
        created_by: Set(Some(principal.user_id)),
        previous_policy_id: Set(Some(old.id)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    row.insert(db).await.map_err(|error| write_error(error, &old.number))
}

/// The renewal's dates: given, or the day after the old expiry for the old policy's length.
fn dates(old: &policy::Model, effective: Option<NaiveDate>, expiry: Option<NaiveDate>) -> AppResult<(NaiveDate, NaiveDate)> {
    let field = if expiry.is_some() { "input.expiryDate" } else { "input.effectiveDate" };
    let effective = effective.unwrap_or(old.expiry_date + Duration::days(1));
    let expiry = expiry.unwrap_or(effective + (old.expiry_date - old.effective_date));
    rules::date_range(effective, expiry, field)?;
    Ok((effective, expiry))
}

/// The policy renewing `policy_id`, if any (unscoped: only to decide whether one exists).
async fn renewal_of(db: &impl ConnectionTrait, policy_id: Uuid) -> AppResult<Option<policy::Model>> {
    Ok(policy::Entity::find().filter(policy::Column::PreviousPolicyId.eq(policy_id)).one(db).await?)
}

fn already_renewed(number: &str) -> AppError {
    AppError::conflict_on("input.policyId", format!("policy {number} has already been renewed"))
}

/// Of two renewals at once, the unique link refuses the second; a taken number is the other conflict.
fn write_error(error: DbErr, old_number: &str) -> AppError {
    if !is_unique_violation(&error) {
        return error.into();
    }
    if error.to_string().contains("previous_policy_id") {
        already_renewed(old_number)
    } else {
        AppError::conflict_on("input.number", "a policy with this number already exists")
    }
}

/// Before a policy is deleted, its renewal no longer points at it.
pub async fn unlink(db: &impl ConnectionTrait, policy_id: Uuid) -> AppResult<()> {
    policy::Entity::update_many()
        .col_expr(policy::Column::PreviousPolicyId, Expr::value(Option::<Uuid>::None))
        .filter(policy::Column::PreviousPolicyId.eq(policy_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `renewalDueWithinDays`: ACTIVE policies expiring from today to `days` ahead that no policy renews.
pub fn due_within(query: Select<policy::Entity>, days: i32, today: NaiveDate) -> AppResult<Select<policy::Entity>> {
    if !(0..=3660).contains(&days) {
        return Err(AppError::invalid("filter.renewalDueWithinDays", "must be between 0 and 3660"));
    }
    let renewal = Alias::new("renewal");
    let renewed = Query::select()
        .expr(Expr::val(1))
        .from_as(policy::Entity, renewal.clone())
        .and_where(
            Expr::col((renewal, policy::Column::PreviousPolicyId)).equals((policy::Entity, policy::Column::Id)),
        )
        .to_owned();
    Ok(query.filter(
        Condition::all()
            .add(policy::Column::Status.eq(PolicyStatus::Active.as_str()))
            .add(policy::Column::ExpiryDate.gte(today))
            .add(policy::Column::ExpiryDate.lte(today + Duration::days(i64::from(days))))
            .add(Expr::exists(renewed).not()),
    ))
}

/// The renewals of many policies (that the caller may read), by the policy they renew.
pub struct Renewals {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for Renewals {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        Renewals { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for Renewals {
    type Value = policy::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, policy::Model>, Self::Error> {
        let rows = scope::policies(&self.principal)
            .filter(policy::Column::PreviousPolicyId.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(rows.into_iter().filter_map(|row| Some((row.previous_policy_id?, row))).collect())
    }
}
