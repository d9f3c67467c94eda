//! Instalments and payments over `scope`: setting a plan, recording and reversing payments. Each
//! write locks the policy row first (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's writers are
//! serialised by `BEGIN IMMEDIATE`), so two payments at once cannot both pass the balance check,
//! then re-allocates what is paid to the instalments, oldest first, in the same transaction.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{
    rules,
    types::{InstalmentStatus, RecordPaymentInput, SetInstalmentPlanInput, default_instalment},
};
use crate::{
    currency::Money,
    entities::{instalment, organization, payment, policy},
    error::{AppError, AppResult},
    graphql::{ids, validation::optional_text},
    organizations::timezone,
    principal::Principal,
    scope,
};

/// One payment the caller may read (`NOT_FOUND` otherwise).
pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<payment::Model> {
    scope::one(db, scope::payments(principal), payment::Column::Id, id, "Payment").await
}

/// One instalment the caller may read, with its currency: a stored row, or the implicit one of a
/// policy without a plan (its id is the policy's).
pub async fn instalment(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<(instalment::Model, String)> {
    if let Some(row) = scope::instalments(principal).filter(instalment::Column::Id.eq(id)).one(db).await? {
        let owner = scope::one(db, scope::policies(principal), policy::Column::Id, row.policy_id, "Instalment").await?;
        return Ok((row, owner.currency));
    }
    let owner = scope::one(db, scope::policies(principal), policy::Column::Id, id, "Instalment").await?;
    let planned = instalment::Entity::find().filter(instalment::Column::PolicyId.eq(owner.id)).one(db).await?;
    match planned {
        None => Ok((default_instalment(&owner), owner.currency)),
        Some(_) => Err(AppError::NotFound("Instalment")),
    }
}

/// A policy the caller may write, locked until the transaction ends.
async fn locked_policy(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<policy::Model> {
    scope::policies(principal)
        .filter(policy::Column::Id.eq(id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Policy"))
}

/// Replaces a policy's instalments with a plan summing exactly to its premium; what is already
/// paid is allocated to the new instalments, oldest first.
pub async fn set_plan(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: SetInstalmentPlanInput,
) -> AppResult<(policy::Model, Vec<rules::Planned>)> {
    let policy_id = ids::decode_input(&input.policy_id, "Policy", "input.policyId")?;
    if input.instalments.len() > rules::MAX_INSTALMENTS {
        return Err(AppError::invalid("input.instalments", format!("give 1 to {} instalments", rules::MAX_INSTALMENTS)));
    }
    let owner = locked_policy(db, principal, policy_id).await?;
    let items: Vec<_> = input.instalments.iter().map(|item| (item.due_date.0, item.amount)).collect();
    let plan = rules::plan(&items, &owner.currency, owner.premium_minor)?;
    let paid = paid_total(db, owner.id).await?;
    instalment::Entity::delete_many().filter(instalment::Column::PolicyId.eq(owner.id)).exec(db).await?;
    let now = Utc::now();
    let rows: Vec<instalment::ActiveModel> = plan
        .iter()
        .map(|item| instalment::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(owner.organization_id),
            policy_id: Set(owner.id),
            due_date: Set(item.due_date),
            amount_minor: Set(item.amount_minor),
            paid_minor: Set(0),
            status: Set(InstalmentStatus::Due.as_str().to_string()),
            planned: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    instalment::Entity::insert_many(rows).exec(db).await?;
    allocate(db, &owner, paid).await?;
    Ok((owner, plan))
}

/// Records a payment of at most the balance and allocates it, oldest instalment first.
pub async fn record(db: &impl ConnectionTrait, principal: &Principal, input: RecordPaymentInput) -> AppResult<payment::Model> {
    let policy_id = ids::decode_input(&input.policy_id, "Policy", "input.policyId")?;
    let reference = optional_text(input.reference.as_deref(), "input.reference", rules::REFERENCE_MAX)?;
    let now = Utc::now();
    let paid_at = rules::paid_at(input.paid_at, now)?;
    let owner = locked_policy(db, principal, policy_id).await?;
    let amount = Money::parse(input.amount, &owner.currency, "input.amount")?;
    let paid = paid_total(db, owner.id).await?;
    rules::within_balance(amount.minor, owner.premium_minor - paid, &owner.currency)?;
    let row = payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(owner.organization_id),
        policy_id: Set(owner.id),
        amount_minor: Set(amount.minor),
        currency: Set(owner.currency.clone()),
        method: Set(input.method.as_str().to_string()),
        reference: Set(reference),
        paid_at: Set(paid_at),
        reversed_at: Set(None),
        reversed_by: Set(None),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    allocate(db, &owner, paid + amount.minor).await?;
    Ok(row)
}

/// Reverses a payment: it keeps its row with `reversed_at` and no longer counts. Reversing it
/// again is a `CONFLICT`.
pub async fn reverse(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<payment::Model> {
    let found = get(db, principal, id).await?;
    let owner = locked_policy(db, principal, found.policy_id).await?;
    let now = Utc::now();
    let reversed = payment::Entity::update_many()
        .col_expr(payment::Column::ReversedAt, Expr::value(now))
        .col_expr(payment::Column::ReversedBy, Expr::value(principal.user_id))
        .filter(payment::Column::Id.eq(found.id))
        .filter(payment::Column::ReversedAt.is_null())
        .exec(db)
        .await?;
    if reversed.rows_affected == 0 {
        return Err(AppError::conflict("this payment is already reversed"));
    }
    let paid = paid_total(db, owner.id).await?;
    allocate(db, &owner, paid).await?;
    get(db, principal, id).await
}

/// What the payments not reversed of a policy add up to, in minor units.
async fn paid_total(db: &impl ConnectionTrait, policy_id: Uuid) -> AppResult<i64> {
    // Summed here rather than with SUM(), which PostgreSQL answers as a NUMERIC.
    let amounts: Vec<i64> = payment::Entity::find()
        .select_only()
        .column(payment::Column::AmountMinor)
        .filter(payment::Column::PolicyId.eq(policy_id))
        .filter(payment::Column::ReversedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(amounts.iter().sum())
}

/// Spreads `paid` over the policy's instalments, oldest first, and writes the rows that change
/// (the implicit instalment is written first when the policy has none).
async fn allocate(db: &impl ConnectionTrait, owner: &policy::Model, paid: i64) -> AppResult<()> {
    let mut rows = instalment::Entity::find()
        .filter(instalment::Column::PolicyId.eq(owner.id))
        .order_by_asc(instalment::Column::DueDate)
        .all(db)
        .await?;
    if rows.is_empty() {
        // The scheduler may write the same implicit instalment at once: whichever is first wins.
        let now = Utc::now();
        let implicit: instalment::ActiveModel = instalment::Model { created_at: now, updated_at: now, ..default_instalment(owner) }.into();
        instalment::Entity::insert(implicit.reset_all()).on_conflict_do_nothing().exec(db).await?;
        rows = instalment::Entity::find().filter(instalment::Column::PolicyId.eq(owner.id)).all(db).await?;
    }
    let organization: Option<(String, Option<chrono::NaiveDate>)> = organization::Entity::find_by_id(owner.organization_id)
        .select_only()
        .column(organization::Column::Timezone)
        .column(organization::Column::PaymentsTrackedFrom)
        .into_tuple()
        .one(db)
        .await?;
    let (zone, tracked_from) = organization.unwrap_or_else(|| (timezone::DEFAULT_TIMEZONE.to_string(), None));
    let today = timezone::today_in(&zone, Utc::now());
    // The implicit instalment is the premium on the effective date, whatever an earlier write
    // (a tick that raced a premium change) left in its row.
    let implicit = |row: &instalment::Model| (!row.planned).then_some((owner.premium_minor, owner.effective_date));
    let amounts: Vec<i64> = rows.iter().map(|row| implicit(row).map_or(row.amount_minor, |(amount, _)| amount)).collect();
    let now = Utc::now();
    for ((row, share), amount) in rows.into_iter().zip(rules::allocate(&amounts, paid)).zip(amounts) {
        let due_date = implicit(&row).map_or(row.due_date, |(_, due)| due);
        // Due before the organization recorded payments here: never called overdue (as the tick).
        let as_of = if tracked_from.is_some_and(|from| due_date < from) { due_date } else { today };
        let status = rules::status(amount, share, due_date, as_of).as_str();
        if row.paid_minor == share && row.status == status && row.amount_minor == amount && row.due_date == due_date {
            continue;
        }
        let mut active: instalment::ActiveModel = row.into();
        active.paid_minor = Set(share);
        active.amount_minor = Set(amount);
        active.due_date = Set(due_date);
        active.status = Set(status.to_string());
        active.updated_at = Set(now);
        active.update(db).await?;
    }
    Ok(())
}
