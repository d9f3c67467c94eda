//! Policy logic: writes, the status life cycle and list queries, always within the caller's scope.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select, Set,
};
use uuid::Uuid;

use super::{
    rules,
    types::{CreatePolicyInput, PolicyFilter, PolicyOrder, PolicyOrderField, PolicyStatus, UpdatePolicyInput},
};
use crate::{
    principal::Principal,
    entities::{attachment, claim, client, company, declaration_item, instalment, payment, policy},
    error::{AppError, AppResult, is_foreign_key_violation, is_unique_violation},
    currency::currency,
    graphql::ids,
    scope,
    text::{ilike, like_pattern},
};

/// One policy the caller may read (`NOT_FOUND` otherwise).
pub async fn get(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<policy::Model> {
    scope::one(db, scope::policies(principal), policy::Column::Id, id, "Policy").await
}

/// The same, its row locked until the transaction ends (PostgreSQL; SQLite serialises writers):
/// a change or a delete waits for a payment being recorded, and a payment for them.
async fn locked(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<policy::Model> {
    use sea_orm::QuerySelect;
    scope::policies(principal)
        .filter(policy::Column::Id.eq(id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("Policy"))
}

/// One policy by its number (`NOT_FOUND` when the caller may read none). Numbers are unique per
/// organization; a SUPERADMIN, who spans organizations, gets the one of their own organization first.
pub async fn by_number(db: &impl ConnectionTrait, principal: &Principal, number: &str) -> AppResult<policy::Model> {
    let mut q = scope::policies(principal).filter(policy::Column::Number.eq(number.trim()));
    if principal.is_superadmin() {
        q = q.order_by_desc(policy::Column::OrganizationId.eq(principal.org_id));
    }
    q.order_by_asc(policy::Column::Id).one(db).await?.ok_or(AppError::NotFound("Policy"))
}

/// A client the caller may write, in organization `org` when one is required.
async fn client_for(db: &impl ConnectionTrait, principal: &Principal, id: Uuid, org: Option<Uuid>) -> AppResult<client::Model> {
    let c = scope::one(db, scope::clients(principal), client::Column::Id, id, "Client").await?;
    match org {
        Some(org) if c.organization_id != org => Err(AppError::NotFound("Client")),
        _ => Ok(c),
    }
}

/// A company of organization `org` the caller may read.
async fn company_in(db: &impl ConnectionTrait, principal: &Principal, id: Uuid, org: Uuid) -> AppResult<company::Model> {
    let c = scope::one(db, scope::companies(principal), company::Column::Id, id, "Company").await?;
    if c.organization_id == org { Ok(c) } else { Err(AppError::NotFound("Company")) }
}

pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreatePolicyInput) -> AppResult<policy::Model> {
    let client_id = ids::decode_input(&input.client_id, "Client", "input.clientId")?;
    let company_id = ids::decode_input(&input.company_id, "Company", "input.companyId")?;
    let number = rules::number(&input.number, "input.number")?;
    let product_name = rules::product_name(&input.product_name, "input.productName")?;
    rules::initial_status(input.status, "input.status")?;
    let currency = currency(&input.currency, "input.currency")?;
    let amounts = rules::PremiumInput { premium: Some(input.premium), net_premium: input.net_premium, fees: input.fees, taxes: input.taxes };
    let premium = rules::premium(&amounts, None, &currency)?;
    rules::date_range(input.effective_date.0, input.expiry_date.0, "input.expiryDate")?;
    let coverage = rules::coverage(input.coverage.map(|j| j.0), "input.coverage")?;

    let client = client_for(db, principal, client_id, None).await?;
    let company = company_in(db, principal, company_id, client.organization_id).await?;
    let now = Utc::now();
    let model = policy::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(client.organization_id),
        number: Set(number),
        client_id: Set(client.id),
        company_id: Set(company.id),
        product_name: Set(product_name),
        product_type: Set(input.product_type.as_str().to_string()),
        status: Set(input.status.as_str().to_string()),
        premium_minor: Set(premium.total),
        net_premium_minor: Set(premium.net),
        fees_minor: Set(premium.fees),
        taxes_minor: Set(premium.taxes),
        currency: Set(currency),
        effective_date: Set(input.effective_date.0),
        expiry_date: Set(input.expiry_date.0),
        coverage: Set(coverage),
        created_by: Set(Some(principal.user_id)),
        previous_policy_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db).await.map_err(write_error)
}

/// A policy's premium or currency may change while no payment is recorded on it; an instalment
/// plan, which summed to the old premium, is then dropped (the policy is back to one instalment).
/// Read straight from the tables: `payments` sits above this module.
async fn money_may_change(db: &impl ConnectionTrait, policy_id: Uuid) -> AppResult<()> {
    let payments = payment::Entity::find()
        .filter(payment::Column::PolicyId.eq(policy_id))
        .filter(payment::Column::ReversedAt.is_null())
        .count(db)
        .await?;
    if payments > 0 {
        return Err(AppError::conflict(format!(
            "this policy has {payments} payment(s): reverse its payments first to change its premium or currency"
        )));
    }
    instalment::Entity::delete_many().filter(instalment::Column::PolicyId.eq(policy_id)).exec(db).await?;
    Ok(())
}

/// A policy in a bordereau was declared in its currency: it keeps it.
async fn declared_keeps_currency(db: &impl ConnectionTrait, policy_id: Uuid) -> AppResult<()> {
    let declared = declaration_item::Entity::find().filter(declaration_item::Column::PolicyId.eq(policy_id)).count(db).await?;
    if declared > 0 {
        return Err(AppError::conflict_on("input.currency", "this policy was declared to its insurer in its currency, which can no longer change"));
    }
    Ok(())
}

/// The implicit instalment (the whole premium, written once a payment or the scheduler needed it)
/// is due on the effective date, so it moves with it; its status is worked out again from what is
/// paid, and the scheduler marks it `OVERDUE` again if the new date has passed. A plan stays.
async fn default_instalment_moves(db: &impl ConnectionTrait, policy_id: Uuid, effective: chrono::NaiveDate) -> AppResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let status = Expr::case(Expr::col(instalment::Column::PaidMinor).gte(Expr::col(instalment::Column::AmountMinor)), "PAID")
        .case(Expr::col(instalment::Column::PaidMinor).gt(0), "PARTIAL")
        .finally("DUE");
    instalment::Entity::update_many()
        .col_expr(instalment::Column::DueDate, Expr::value(effective))
        .col_expr(instalment::Column::Status, status.into())
        .col_expr(instalment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(instalment::Column::PolicyId.eq(policy_id))
        .filter(instalment::Column::Planned.eq(false))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdatePolicyInput) -> AppResult<policy::Model> {
    let id = ids::decode(&input.id, "Policy")?;
    let existing = locked(db, principal, id).await?;
    let current = PolicyStatus::of(&existing)?;
    let org = existing.organization_id;
    let (old_effective, old_expiry) = (existing.effective_date, existing.expiry_date);
    let old_premium = rules::Premium::of(&existing);
    let old_currency = existing.currency.clone();
    let mut m: policy::ActiveModel = existing.into();

    if let Some(v) = &input.number {
        m.number = Set(rules::number(v, "input.number")?);
    }
    if let Some(v) = &input.product_name {
        m.product_name = Set(rules::product_name(v, "input.productName")?);
    }
    if let Some(t) = input.product_type {
        m.product_type = Set(t.as_str().to_string());
    }
    let status_changes = match input.status {
        Some(to) if rules::transition(current, to, "input.status")? => {
            m.status = Set(to.as_str().to_string());
            true
        }
        _ => false,
    };
    let new_currency = input.currency.as_deref().map(|v| currency(v, "input.currency")).transpose()?;
    let amounts = rules::PremiumInput { premium: input.premium, net_premium: input.net_premium, fees: input.fees, taxes: input.taxes };
    let code = new_currency.clone().unwrap_or_else(|| old_currency.clone());
    let premium = if code != old_currency {
        // Amounts are in the currency's minor unit: the old ones are carried over at their value.
        let carried = rules::rescale(old_premium, &old_currency, &code)?;
        Some(rules::premium(&amounts, Some(carried), &code)?)
    } else if !amounts.is_empty() {
        Some(rules::premium(&amounts, Some(old_premium), &code)?)
    } else {
        None
    };
    if code != old_currency {
        declared_keeps_currency(db, id).await?;
    }
    if let Some(premium) = premium.filter(|premium| *premium != old_premium || code != old_currency) {
        money_may_change(db, id).await?;
        m.premium_minor = Set(premium.total);
        m.net_premium_minor = Set(premium.net);
        m.fees_minor = Set(premium.fees);
        m.taxes_minor = Set(premium.taxes);
    }
    if let Some(code) = new_currency {
        m.currency = Set(code);
    }
    if input.effective_date.is_some() || input.expiry_date.is_some() {
        let effective = input.effective_date.map_or(old_effective, |d| d.0);
        let expiry = input.expiry_date.map_or(old_expiry, |d| d.0);
        let field = if input.expiry_date.is_some() { "input.expiryDate" } else { "input.effectiveDate" };
        rules::date_range(effective, expiry, field)?;
        if effective != old_effective {
            default_instalment_moves(db, id, effective).await?;
        }
        m.effective_date = Set(effective);
        m.expiry_date = Set(expiry);
    }
    if input.coverage.is_some() {
        m.coverage = Set(rules::coverage(input.coverage.map(|j| j.0), "input.coverage")?);
    }
    if let Some(raw) = &input.client_id {
        let key = ids::decode_input(raw, "Client", "input.clientId")?;
        m.client_id = Set(client_for(db, principal, key, Some(org)).await?.id);
    }
    if let Some(raw) = &input.company_id {
        let key = ids::decode_input(raw, "Company", "input.companyId")?;
        m.company_id = Set(company_in(db, principal, key, org).await?.id);
    }
    m.updated_at = Set(Utc::now());
    save(db, m, status_changes.then_some(current)).await
}

/// Moves a policy along its life cycle; the same status is a no-op, a forbidden move `BAD_USER_INPUT`.
pub async fn set_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    status: PolicyStatus,
) -> AppResult<policy::Model> {
    let existing = get(db, principal, id).await?;
    let current = PolicyStatus::of(&existing)?;
    if !rules::transition(current, status, "status")? {
        return Ok(existing);
    }
    let mut m: policy::ActiveModel = existing.into();
    m.status = Set(status.as_str().to_string());
    m.updated_at = Set(Utc::now());
    save(db, m, Some(current)).await
}

/// Writes changes. With `expected_status`, the row is only written while it still has that status,
/// so two concurrent moves cannot both pass the life-cycle check (the loser gets a `CONFLICT`).
async fn save(
    db: &impl ConnectionTrait,
    m: policy::ActiveModel,
    expected_status: Option<PolicyStatus>,
) -> AppResult<policy::Model> {
    let result = match expected_status {
        None => m.update(db).await,
        Some(s) => policy::Entity::update(m).validate()?.filter(policy::Column::Status.eq(s.as_str())).exec(db).await,
    };
    match result {
        Err(DbErr::RecordNotUpdated) => {
            Err(AppError::conflict("the policy changed while it was being updated; reload it and try again"))
        }
        other => other.map_err(write_error),
    }
}

/// Deletes a policy the caller may write. One with claims, payments or attachments, or that documents still refer to, is a `CONFLICT`.
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<()> {
    let existing = locked(db, principal, id).await?;
    // Claims are a broker's record of a loss: a policy with any is kept, whatever the database says.
    let claims = claim::Entity::find().filter(claim::Column::PolicyId.eq(existing.id)).count(db).await?;
    if claims > 0 {
        return Err(AppError::conflict(format!("this policy has {claims} claim(s); a policy with claims cannot be deleted")));
    }
    // Payments are the broker's record of money received, reversed ones too.
    let paid = payment::Entity::find().filter(payment::Column::PolicyId.eq(existing.id)).count(db).await?;
    if paid > 0 {
        return Err(AppError::conflict(format!("this policy has {paid} payment(s); a policy with payments cannot be deleted")));
    }
    let attached = attachment::Entity::find().filter(attachment::Column::PolicyId.eq(existing.id)).count(db).await?;
    if attached > 0 {
        return Err(AppError::conflict(format!("this policy still has {attached} attachments")));
    }
    super::renewal::unlink(db, existing.id).await?;
    policy::Entity::delete_by_id(existing.id).exec(db).await.map_err(|e| {
        if is_foreign_key_violation(&e) {
            AppError::conflict("this policy still has documents or attachments")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// The scoped, filtered and ordered list query (created newest first by default, `id` last).
pub fn list(
    principal: &Principal,
    filter: Option<PolicyFilter>,
    order: Option<Vec<PolicyOrder>>,
) -> AppResult<Select<policy::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::policies(principal);
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(ilike(policy::Column::Number, &pat))
                .add(ilike(policy::Column::ProductName, &pat)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(policy::Column::Status.eq(s.as_str()));
    }
    if let Some(list) = f.statuses.filter(|l| !l.is_empty()) {
        q = q.filter(policy::Column::Status.is_in(list.iter().map(|s| s.as_str())));
    }
    if let Some(t) = f.product_type {
        q = q.filter(policy::Column::ProductType.eq(t.as_str()));
    }
    if let Some(raw) = &f.company_id {
        q = q.filter(policy::Column::CompanyId.eq(ids::decode_input(raw, "Company", "filter.companyId")?));
    }
    if let Some(raw) = &f.client_id {
        q = q.filter(policy::Column::ClientId.eq(ids::decode_input(raw, "Client", "filter.clientId")?));
    }
    if let Some(d) = f.effective_from {
        q = q.filter(policy::Column::EffectiveDate.gte(d.0));
    }
    if let Some(d) = f.effective_to {
        q = q.filter(policy::Column::EffectiveDate.lte(d.0));
    }
    if let Some(d) = f.expiring_before {
        q = q.filter(policy::Column::ExpiryDate.lt(d.0));
    }
    if let Some(overdue) = f.overdue {
        let late = sea_orm::sea_query::Query::select()
            .column(instalment::Column::PolicyId)
            .from(instalment::Entity)
            .and_where(instalment::Column::Status.eq(instalment::STATUS_OVERDUE))
            .to_owned();
        q = q.filter(if overdue { policy::Column::Id.in_subquery(late) } else { policy::Column::Id.not_in_subquery(late) });
    }
    if let Some(days) = f.renewal_due_within_days {
        q = super::renewal::due_within(q, days, Utc::now().date_naive())?;
    }
    let orders = order.unwrap_or_default();
    if orders.is_empty() {
        q = q.order_by_desc(policy::Column::CreatedAt);
    }
    for o in orders {
        let col = match o.field {
            PolicyOrderField::Number => policy::Column::Number,
            PolicyOrderField::EffectiveDate => policy::Column::EffectiveDate,
            PolicyOrderField::ExpiryDate => policy::Column::ExpiryDate,
            PolicyOrderField::Premium => policy::Column::PremiumMinor,
            PolicyOrderField::Status => policy::Column::Status,
            PolicyOrderField::CreatedAt => policy::Column::CreatedAt,
        };
        q = q.order_by(col, o.direction.into());
    }
    Ok(q.order_by_asc(policy::Column::Id))
}

/// A taken number is a `CONFLICT` on `input.number`; anything else stays a database error.
fn write_error(error: DbErr) -> AppError {
    if is_unique_violation(&error) {
        AppError::conflict_on("input.number", "a policy with this number already exists")
    } else {
        error.into()
    }
}
