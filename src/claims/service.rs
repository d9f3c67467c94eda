//! Claims over `scope::claims`: declaring one on a policy, changing its details, moving it
//! through the status machine with its history, and the filtered list.

use chrono::{Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Set, sea_query::Query,
};
use uuid::Uuid;

use super::{
    numbering, rules,
    types::{ClaimFilter, ClaimStatus, CreateClaimInput, UpdateClaimInput},
};
use crate::{
    currency::Money,
    entities::{claim, claim_event, client, policy},
    error::{AppError, AppResult},
    graphql::{
        ids,
        validation::optional_text,
    },
    principal::Principal,
    scope,
    text::{ilike, like_pattern},
};

/// One claim the caller may read (`NOT_FOUND` otherwise).
pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<claim::Model> {
    scope::one(db, scope::claims(principal), claim::Column::Id, id, "Claim").await
}

/// Declares a claim on a policy the caller may write: numbered, `REPORTED`, with its first event.
pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateClaimInput) -> AppResult<claim::Model> {
    let policy_id = ids::decode_input(&input.policy_id, "Policy", "input.policyId")?;
    let description = rules::description(&input.description, "input.description")?;
    let policy = scope::one(db, scope::policies(principal), policy::Column::Id, policy_id, "Policy").await?;
    let amount = Money::parse(input.amount_claimed, &policy.currency, "input.amountClaimed")?;
    let now = Utc::now();
    rules::incident_date(input.incident_date.0, policy.effective_date, policy.expiry_date, now.date_naive())?;
    let number = numbering::next(db, policy.organization_id, now.year()).await?;
    let row = claim::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(policy.organization_id),
        number: Set(number),
        policy_id: Set(policy.id),
        client_id: Set(policy.client_id),
        status: Set(ClaimStatus::Reported.as_str().to_string()),
        incident_date: Set(input.incident_date.0),
        reported_at: Set(now),
        description: Set(description),
        insurer_reference: Set(None),
        amount_claimed_minor: Set(amount.minor),
        amount_settled_minor: Set(None),
        currency: Set(policy.currency),
        created_by: Set(Some(principal.user_id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    record_event(db, principal, &row, 1, None).await?;
    Ok(row)
}

/// Changes a claim's details; a `CLOSED` claim is final.
pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdateClaimInput) -> AppResult<claim::Model> {
    let id = ids::decode(&input.id, "Claim")?;
    let existing = get(db, principal, id).await?;
    rules::editable(ClaimStatus::parse(&existing.status)?)?;
    let code = existing.currency.clone();
    let mut row: claim::ActiveModel = existing.into();
    if let Some(text) = &input.description {
        row.description = Set(rules::description(text, "input.description")?);
    }
    if input.insurer_reference.is_some() {
        let reference = optional_text(input.insurer_reference.as_deref(), "input.insurerReference", rules::INSURER_REFERENCE_MAX)?;
        row.insurer_reference = Set(reference);
    }
    if let Some(amount) = input.amount_claimed {
        row.amount_claimed_minor = Set(Money::parse(amount, &code, "input.amountClaimed")?.minor);
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Moves a claim along the status machine and appends the event. The row is written only while
/// it still has the status that was checked, so of two concurrent moves the loser gets a `CONFLICT`.
pub async fn set_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    status: ClaimStatus,
    note: Option<String>,
    amount_settled: Option<rust_decimal::Decimal>,
) -> AppResult<claim::Model> {
    let existing = get(db, principal, id).await?;
    let current = ClaimStatus::parse(&existing.status)?;
    rules::transition(current, status, amount_settled.is_some())?;
    let note = optional_text(note.as_deref(), "note", rules::NOTE_MAX)?;
    let settled = amount_settled.map(|amount| Money::parse(amount, &existing.currency, "amountSettled")).transpose()?;
    let mut row: claim::ActiveModel = existing.into();
    row.status = Set(status.as_str().to_string());
    if let Some(money) = settled {
        row.amount_settled_minor = Set(Some(money.minor));
    }
    row.updated_at = Set(Utc::now());
    let saved = match claim::Entity::update(row).validate()?.filter(claim::Column::Status.eq(current.as_str())).exec(db).await {
        Err(DbErr::RecordNotUpdated) => {
            return Err(AppError::conflict("the claim changed while it was being updated; reload it and try again"));
        }
        other => other?,
    };
    let last: Option<i32> = claim_event::Entity::find()
        .select_only()
        .column_as(claim_event::Column::Seq.max(), "last")
        .filter(claim_event::Column::ClaimId.eq(saved.id))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    record_event(db, principal, &saved, last.unwrap_or(0) + 1, note).await?;
    Ok(saved)
}

async fn record_event(
    db: &impl ConnectionTrait,
    principal: &Principal,
    row: &claim::Model,
    seq: i32,
    note: Option<String>,
) -> AppResult<()> {
    claim_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        claim_id: Set(row.id),
        seq: Set(seq),
        status: Set(row.status.clone()),
        note: Set(note),
        actor_id: Set(Some(principal.user_id)),
        at: Set(row.updated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The scoped, filtered list (declared newest first, `id` last).
pub fn list(principal: &Principal, filter: Option<ClaimFilter>) -> AppResult<Select<claim::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::claims(principal);
    if let Some(s) = f.status {
        q = q.filter(claim::Column::Status.eq(s.as_str()));
    }
    if let Some(raw) = &f.policy_id {
        q = q.filter(claim::Column::PolicyId.eq(ids::decode_input(raw, "Policy", "filter.policyId")?));
    }
    if let Some(raw) = &f.client_id {
        q = q.filter(claim::Column::ClientId.eq(ids::decode_input(raw, "Client", "filter.clientId")?));
    }
    if let Some(day) = f.from {
        q = q.filter(claim::Column::IncidentDate.gte(day.0));
    }
    if let Some(day) = f.to {
        q = q.filter(claim::Column::IncidentDate.lte(day.0));
    }
    if let Some(text) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(text);
        let named = Query::select()
            .column(client::Column::Id)
            .from(client::Entity)
            .cond_where(
                Condition::any()
                    .add(ilike(client::Column::LastName, &pattern))
                    .add(ilike(client::Column::FirstName, &pattern))
                    .add(ilike(client::Column::CompanyName, &pattern)),
            )
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(ilike(claim::Column::Number, &pattern))
                .add(ilike(claim::Column::InsurerReference, &pattern))
                .add(claim::Column::ClientId.in_subquery(named)),
        );
    }
    Ok(q.order_by_desc(claim::Column::CreatedAt).order_by_asc(claim::Column::Id))
}
