//! User administration.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, QueryOrder, Select, Set};
use uuid::Uuid;

use super::types::{CreateUserInput, UpdateUserInput, UserFilter, UserOrder, UserOrderField};
use crate::{
    principal::{Principal, Role},
    auth::{password, service as auth},
    entities::user,
    error::{AppError, AppResult},
    graphql::{ids, validation::{Email, required_text}},
    scope,
    text::{ilike, like_pattern},
};

fn assignable(principal: &Principal, role: Role, field: &str) -> AppResult<Role> {
    if role == Role::Superadmin && !principal.is_superadmin() {
        return Err(AppError::invalid(field, "SUPERADMIN is created only from the command line"));
    }
    Ok(role)
}

fn email_conflict(e: sea_orm::DbErr) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict_on("input.email", "an account with this e-mail already exists")
    } else {
        e.into()
    }
}

pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateUserInput) -> AppResult<user::Model> {
    let email = Email::parse(&input.email, "input.email")?;
    let full_name = required_text(&input.full_name, "input.fullName", 200)?;
    let role = assignable(principal, input.role, "input.role")?;
    password::check_policy(&input.password, email.as_str(), "input.password")?;
    let hash = password::hash(input.password).await?;
    let now = Utc::now();
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.org_id),
        email: Set(email.into_inner()),
        password_hash: Set(hash),
        full_name: Set(full_name),
        role: Set(role.as_str().into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(email_conflict)
}

pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: UpdateUserInput,
) -> AppResult<user::Model> {
    let id = ids::decode(&input.id, "User")?;
    let existing = scope::one(db, scope::users(principal), user::Column::Id, id, "User").await?;
    let mut m: user::ActiveModel = existing.clone().into();
    if let Some(e) = &input.email {
        m.email = Set(Email::parse(e, "input.email")?.into_inner());
    }
    if let Some(n) = &input.full_name {
        m.full_name = Set(required_text(n, "input.fullName", 200)?);
    }
    if let Some(role) = input.role {
        if existing.id == principal.user_id && role != principal.role {
            return Err(AppError::invalid("input.role", "you cannot change your own role"));
        }
        if existing.role == Role::Superadmin.as_str() && !principal.is_superadmin() {
            return Err(AppError::forbidden());
        }
        m.role = Set(assignable(principal, role, "input.role")?.as_str().into());
    }
    m.updated_at = Set(Utc::now());
    m.update(db).await.map_err(email_conflict)
}

/// Deactivates a user: they cannot sign in and every session ends at once.
pub async fn deactivate(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<user::Model> {
    let existing = scope::one(db, scope::users(principal), user::Column::Id, id, "User").await?;
    if existing.id == principal.user_id {
        return Err(AppError::invalid("id", "you cannot deactivate yourself"));
    }
    if existing.role == Role::Superadmin.as_str() && !principal.is_superadmin() {
        return Err(AppError::forbidden());
    }
    let mut m: user::ActiveModel = existing.into();
    m.is_active = Set(false);
    m.updated_at = Set(Utc::now());
    let updated = m.update(db).await?;
    auth::revoke_user_sessions(db, updated.id, None).await?;
    Ok(updated)
}

pub fn list(principal: &Principal, filter: Option<UserFilter>, order: Option<Vec<UserOrder>>) -> Select<user::Entity> {
    let f = filter.unwrap_or_default();
    let mut q = scope::users(principal);
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(s);
        q = q.filter(Condition::any().add(ilike(user::Column::Email, &pat)).add(ilike(user::Column::FullName, &pat)));
    }
    if let Some(role) = f.role {
        q = q.filter(user::Column::Role.eq(role.as_str()));
    }
    if let Some(active) = f.is_active {
        q = q.filter(user::Column::IsActive.eq(active));
    }
    let orders = order.unwrap_or_default();
    if orders.is_empty() {
        q = q.order_by_asc(user::Column::Email);
    }
    for o in orders {
        let col = match o.field {
            UserOrderField::Email => user::Column::Email,
            UserOrderField::FullName => user::Column::FullName,
            UserOrderField::CreatedAt => user::Column::CreatedAt,
        };
        q = q.order_by(col, o.direction.into());
    }
    q.order_by_asc(user::Column::Id)
}
