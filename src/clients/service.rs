//! Client logic: validation, ownership rules, writes and list queries.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Select, Set,
};
use uuid::Uuid;

use super::types::{ClientFilter, ClientKind, ClientOrder, ClientOrderField, CreateClientInput, UpdateClientInput};
use crate::{
    principal::Principal,
    entities::{attachment, client, policy, user},
    error::{AppError, AppResult},
    graphql::{ids, validation::{optional_email, optional_phone, optional_text}},
    scope,
    text::{ilike, like_pattern},
};

const NAME_MAX: usize = 200;
const ADDRESS_MAX: usize = 1000;
const EXTERNAL_REF_MAX: usize = 100;

/// A PERSON needs a last name, a BUSINESS a company name (both already trimmed, blank as `None`).
fn check_kind(kind: ClientKind, last_name: Option<&str>, company_name: Option<&str>) -> AppResult<()> {
    match kind {
        ClientKind::Person if last_name.is_none() => {
            Err(AppError::invalid("input.lastName", "is required for a PERSON client"))
        }
        ClientKind::Business if company_name.is_none() => {
            Err(AppError::invalid("input.companyName", "is required for a BUSINESS client"))
        }
        _ => Ok(()),
    }
}

/// The given text when present (blank clears it), else the current value.
fn text_or(given: Option<&str>, current: &Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    match given {
        Some(v) => optional_text(Some(v), field, max),
        None => Ok(current.clone()),
    }
}

/// An active user the caller can see, optionally within organization `org`; else `BAD_USER_INPUT` on `input.ownerId`.
async fn active_owner(db: &impl ConnectionTrait, principal: &Principal, key: Uuid, org: Option<Uuid>) -> AppResult<user::Model> {
    let mut q = scope::users(principal).filter(user::Column::Id.eq(key));
    if let Some(org) = org {
        q = q.filter(user::Column::OrganizationId.eq(org));
    }
    q.one(db)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| AppError::invalid("input.ownerId", "no active user of the organization has this ID"))
}

pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateClientInput) -> AppResult<client::Model> {
    let first_name = optional_text(input.first_name.as_deref(), "input.firstName", NAME_MAX)?;
    let last_name = optional_text(input.last_name.as_deref(), "input.lastName", NAME_MAX)?;
    let company_name = optional_text(input.company_name.as_deref(), "input.companyName", NAME_MAX)?;
    check_kind(input.kind, last_name.as_deref(), company_name.as_deref())?;
    let email = optional_email(input.email.as_deref(), "input.email")?;
    let phone = optional_phone(input.phone.as_deref(), "input.phone")?;
    let address = optional_text(input.address.as_deref(), "input.address", ADDRESS_MAX)?;
    let external_ref = optional_text(input.external_ref.as_deref(), "input.externalRef", EXTERNAL_REF_MAX)?;

    let (owner_id, organization_id) = match &input.owner_id {
        None => (principal.user_id, principal.org_id),
        Some(raw) => {
            let key = ids::decode_input(raw, "User", "input.ownerId")?;
            if principal.is_agent() {
                if key != principal.user_id {
                    return Err(AppError::forbidden());
                }
                (principal.user_id, principal.org_id)
            } else {
                // Outside SUPERADMIN, `scope::users` keeps the owner in the caller's organization.
                let owner = active_owner(db, principal, key, None).await?;
                (owner.id, owner.organization_id)
            }
        }
    };

    let now = Utc::now();
    let model = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        owner_id: Set(owner_id),
        kind: Set(input.kind.as_str().to_string()),
        first_name: Set(first_name),
        last_name: Set(last_name),
        company_name: Set(company_name),
        email: Set(email),
        phone: Set(phone),
        address: Set(address),
        external_ref: Set(external_ref),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(db).await.map_err(conflict_on_write)
}

pub async fn update(db: &impl ConnectionTrait, principal: &Principal, input: UpdateClientInput) -> AppResult<client::Model> {
    let id = ids::decode(&input.id, "Client")?;
    let existing = scope::one(db, scope::clients(principal), client::Column::Id, id, "Client").await?;

    let new_owner = match &input.owner_id {
        None => None,
        Some(raw) => {
            let key = ids::decode_input(raw, "User", "input.ownerId")?;
            if key == existing.owner_id {
                None
            } else if principal.is_agent() {
                return Err(AppError::forbidden());
            } else {
                Some(active_owner(db, principal, key, Some(existing.organization_id)).await?.id)
            }
        }
    };

    let kind = input.kind.unwrap_or_else(|| ClientKind::parse(&existing.kind));
    let first_name = text_or(input.first_name.as_deref(), &existing.first_name, "input.firstName", NAME_MAX)?;
    let last_name = text_or(input.last_name.as_deref(), &existing.last_name, "input.lastName", NAME_MAX)?;
    let company_name =
        text_or(input.company_name.as_deref(), &existing.company_name, "input.companyName", NAME_MAX)?;
    check_kind(kind, last_name.as_deref(), company_name.as_deref())?;

    let mut m: client::ActiveModel = existing.into();
    m.kind = Set(kind.as_str().to_string());
    m.first_name = Set(first_name);
    m.last_name = Set(last_name);
    m.company_name = Set(company_name);
    if input.email.is_some() {
        m.email = Set(optional_email(input.email.as_deref(), "input.email")?);
    }
    if input.phone.is_some() {
        m.phone = Set(optional_phone(input.phone.as_deref(), "input.phone")?);
    }
    if input.address.is_some() {
        m.address = Set(optional_text(input.address.as_deref(), "input.address", ADDRESS_MAX)?);
    }
    if input.external_ref.is_some() {
        m.external_ref =
            Set(optional_text(input.external_ref.as_deref(), "input.externalRef", EXTERNAL_REF_MAX)?);
    }
    if let Some(owner) = new_owner {
        m.owner_id = Set(owner);
    }
    m.updated_at = Set(Utc::now());
    m.update(db).await.map_err(conflict_on_write)
}

/// Deletes a client that has no policies, documents or attachments (else `CONFLICT`).
pub async fn delete(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<()> {
    let existing = scope::one(db, scope::clients(principal), client::Column::Id, id, "Client").await?;
    let in_use = policy::Entity::find().filter(policy::Column::ClientId.eq(existing.id)).count(db).await?;
    if in_use > 0 {
        return Err(AppError::conflict(format!("this client still has {in_use} policies")));
    }
    let attached = attachment::Entity::find().filter(attachment::Column::ClientId.eq(existing.id)).count(db).await?;
    if attached > 0 {
        return Err(AppError::conflict(format!("this client still has {attached} attachments")));
    }
    client::Entity::delete_by_id(existing.id).exec(db).await.map_err(|e| {
        if crate::error::is_foreign_key_violation(&e) {
            AppError::conflict("this client still has policies, documents or attachments")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// The scoped, filtered and ordered list query (`BAD_USER_INPUT` on a malformed `filter.ownerId`).
pub fn list(principal: &Principal, filter: Option<ClientFilter>, order: Option<Vec<ClientOrder>>) -> AppResult<Select<client::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::clients(principal);
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(
            Condition::any()
                .add(ilike(client::Column::FirstName, &pat))
                .add(ilike(client::Column::LastName, &pat))
                .add(ilike(client::Column::CompanyName, &pat))
                .add(ilike(client::Column::Email, &pat))
                .add(ilike(client::Column::ExternalRef, &pat)),
        );
    }
    if let Some(kind) = f.kind {
        q = q.filter(client::Column::Kind.eq(kind.as_str()));
    }
    if let Some(owner) = &f.owner_id {
        let key = ids::decode_input(owner, "User", "filter.ownerId")?;
        q = q.filter(client::Column::OwnerId.eq(key));
    }
    if let Some(from) = f.created_from {
        q = q.filter(client::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        q = q.filter(client::Column::CreatedAt.lt(to));
    }
    let orders = order.unwrap_or_default();
    if orders.is_empty() {
        q = q.order_by_desc(client::Column::CreatedAt);
    }
    for o in orders {
        let col = match o.field {
            ClientOrderField::LastName => client::Column::LastName,
            ClientOrderField::FirstName => client::Column::FirstName,
            ClientOrderField::CompanyName => client::Column::CompanyName,
            ClientOrderField::Email => client::Column::Email,
            ClientOrderField::CreatedAt => client::Column::CreatedAt,
        };
        q = q.order_by(col, o.direction.into());
    }
    Ok(q.order_by_asc(client::Column::Id))
}

fn conflict_on_write(e: sea_orm::DbErr) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict("a client with these details already exists")
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_needs_a_last_name_and_a_business_a_company_name() {
        assert!(check_kind(ClientKind::Person, Some("Ngono"), None).is_ok());
        assert_eq!(check_kind(ClientKind::Person, None, Some("ACME")).unwrap_err().code(), "BAD_USER_INPUT");
        assert!(check_kind(ClientKind::Business, None, Some("ACME")).is_ok());
        assert_eq!(check_kind(ClientKind::Business, Some("Ngono"), None).unwrap_err().code(), "BAD_USER_INPUT");
    }
}
