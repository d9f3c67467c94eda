//! Company logic: validation, writes and list queries.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
    Set, Condition,
};
use uuid::Uuid;

use super::types::{CompanyFilter, CompanyOrder, CompanyOrderField, CreateCompanyInput, UpdateCompanyInput};
use crate::{
    principal::Principal,
    entities::{company, policy},
    error::{AppError, AppResult},
    graphql::{ids, validation::{optional_email, optional_phone, optional_text, required_text}},
    scope,
    text::like_pattern,
};

fn code(raw: &str, field: &str) -> AppResult<String> {
    let c = required_text(raw, field, 32)?.to_uppercase();
    if c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
        Ok(c)
    } else {
        Err(AppError::invalid(field, "may hold only letters, digits, `-` and `_`"))
    }
}

fn endpoint(raw: Option<&str>, field: &str) -> AppResult<Option<String>> {
    let v = optional_text(raw, field, 500)?;
    if let Some(url) = &v {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(AppError::invalid(field, "must be an http(s) URL"));
        }
    }
    Ok(v)
}

pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateCompanyInput) -> AppResult<company::Model> {
    let now = Utc::now();
    let model = company::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.org_id),
        name: Set(required_text(&input.name, "input.name", 200)?),
        code: Set(code(&input.code, "input.code")?),
        contact_email: Set(optional_email(input.contact_email.as_deref(), "input.contactEmail")?),
        phone: Set(optional_phone(input.phone.as_deref(), "input.phone")?),
        address: Set(optional_text(input.address.as_deref(), "input.address", 1000)?),
        api_mode: Set(input.api_mode.as_str().to_string()),
        api_endpoint: Set(endpoint(input.api_endpoint.as_deref(), "input.apiEndpoint")?),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db).await.map_err(|e| conflict_on_code(e, "input.code"))
}

pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdateCompanyInput) -> AppResult<company::Model> {
    let id = ids::decode(&input.id, "Company")?;
    let existing = scope::one(db, scope::companies(principal), company::Column::Id, id, "Company").await?;
    let mut m: company::ActiveModel = existing.into();
    if let Some(v) = &input.name {
        m.name = Set(required_text(v, "input.name", 200)?);
    }
    if let Some(v) = &input.code {
        m.code = Set(code(v, "input.code")?);
    }
    if input.contact_email.is_some() {
        m.contact_email = Set(optional_email(input.contact_email.as_deref(), "input.contactEmail")?);
    }
    if input.phone.is_some() {
        m.phone = Set(optional_phone(input.phone.as_deref(), "input.phone")?);
    }
    if input.address.is_some() {
        m.address = Set(optional_text(input.address.as_deref(), "input.address", 1000)?);
    }
    if let Some(mode) = input.api_mode {
        m.api_mode = Set(mode.as_str().to_string());
    }
    if input.api_endpoint.is_some() {
        m.api_endpoint = Set(endpoint(input.api_endpoint.as_deref(), "input.apiEndpoint")?);
    }
    m.updated_at = Set(Utc::now());
    m.update(db).await.map_err(|e| conflict_on_code(e, "input.code"))
}

/// Deletes a company that has no policies (else `CONFLICT`).
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<()> {
    let existing = scope::one(db, scope::companies(principal), company::Column::Id, id, "Company").await?;
    let in_use = policy::Entity::find().filter(policy::Column::CompanyId.eq(existing.id)).count(db).await?;
    if in_use > 0 {
        return Err(AppError::conflict(format!("this company still has {in_use} policies")));
    }
    company::Entity::delete_by_id(existing.id).exec(db).await.map_err(|e| {
        if crate::error::is_foreign_key_violation(&e) {
            AppError::conflict("this company still has policies")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// The scoped, filtered and ordered list query.
pub fn list(principal: &Principal, filter: Option<CompanyFilter>, order: Option<Vec<CompanyOrder>>) -> Select<company::Entity> {
    let f = filter.unwrap_or_default();
    let mut q = scope::companies(principal);
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(crate::text::ilike(company::Column::Name, &pat))
                .add(crate::text::ilike(company::Column::Code, &pat))
                .add(crate::text::ilike(company::Column::ContactEmail, &pat)),
        );
    }
    if let Some(mode) = f.api_mode {
        q = q.filter(company::Column::ApiMode.eq(mode.as_str()));
    }
    if let Some(from) = f.created_from {
        q = q.filter(company::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(company::Column::CreatedAt.lt(to));
    }
    let orders = order.unwrap_or_default();
    if orders.is_empty() {
        q = q.order_by_asc(company::Column::Name);
    }
    for o in orders {
        let col = match o.field {
            CompanyOrderField::Name => company::Column::Name,
            CompanyOrderField::Code => company::Column::Code,
            CompanyOrderField::CreatedAt => company::Column::CreatedAt,
        };
        q = q.order_by(col, o.direction.into());
    }
    q.order_by_asc(company::Column::Id)
}

fn conflict_on_code(e: sea_orm::DbErr, field: &str) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict_on(field, "a company with this code already exists")
    } else {
        e.into()
    }
}
