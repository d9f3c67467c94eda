//! Creating accounts: `register` (an organization and its first ADMIN) and the CLI's SUPERADMIN.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{
    password,
    types::RegisterInput,
};
use super::sessions::{Issued, open_session};
use crate::{
    audit::service as audit,
    principal::{Actor, RequestMeta, Role},
    entities::{organization, user},
    error::{AppError, AppResult},
    organizations::timezone::DEFAULT_TIMEZONE,
    state::AppState,
    graphql::validation::{Email, required_text},
};

pub(super) fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').chars().take(48).collect::<String>();
    if slug.is_empty() { "org".into() } else { slug }
}

/// Creates an organization and its first ADMIN, and signs them in.
pub async fn register(state: &AppState, input: RegisterInput, meta: &RequestMeta) -> AppResult<Issued> {
    let org_name = required_text(&input.organization_name, "input.organizationName", 200)?;
    let email = Email::parse(&input.email, "input.email")?;
    let full_name = required_text(&input.full_name, "input.fullName", 200)?;
    password::check_policy(&input.password, email.as_str(), "input.password")?;
    let hash = password::hash(input.password).await?;

    let txn = crate::db::begin(&state.db).await?;
    if user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?.is_some() {
        return Err(AppError::conflict_on("input.email", "an account with this e-mail already exists"));
    }
    let base = slugify(&org_name);
    let taken = organization::Entity::find().filter(organization::Column::Slug.eq(&base)).one(&txn).await?.is_some();
    let slug = if taken { format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6]) } else { base };
    let now = Utc::now();
    let org = organization::ActiveModel { id: Set(Uuid::now_v7()), name: Set(org_name), slug: Set(slug), timezone: Set(DEFAULT_TIMEZONE.into()), payments_tracked_from: Set(None), created_at: Set(now) }
        .insert(&txn)
        .await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        email: Set(email.into_inner()),
        password_hash: Set(hash),
        full_name: Set(full_name),
        role: Set(Role::Admin.as_str().into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| email_conflict(e))?;
    let issued = open_session(state, &txn, &user, None, meta).await?;
    let actor = Actor::anonymous(meta.clone(), Some(org.id), Some(user.id));
    let info = json!({"organization": org.name, "slug": org.slug, "email": user.email});
    audit::record(&txn, &actor, "auth.register", Some(("Organization", org.id)), info).await?;
    txn.commit().await?;
    Ok(issued)
}

pub(super) fn email_conflict(e: sea_orm::DbErr) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict_on("input.email", "an account with this e-mail already exists")
    } else {
        e.into()
    }
}

/// Creates a SUPERADMIN (CLI only), in the platform organization.
pub async fn create_superadmin(state: &AppState, email: &str, password_raw: &str) -> AppResult<user::Model> {
    let email = Email::parse(email, "email")?;
    password::check_policy(password_raw, email.as_str(), "password")?;
    let hash = password::hash(password_raw.to_string()).await?;
    let txn = crate::db::begin(&state.db).await?;
    let now = Utc::now();
    let org = match organization::Entity::find().filter(organization::Column::Slug.eq("platform")).one(&txn).await? {
        Some(o) => o,
        None => {
            organization::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set("MonAssurance platform".into()),
                slug: Set("platform".into()),
                timezone: Set(DEFAULT_TIMEZONE.into()),
                payments_tracked_from: Set(None),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        email: Set(email.into_inner()),
        password_hash: Set(hash),
        full_name: Set("Platform administrator".into()),
        role: Set(Role::Superadmin.as_str().into()),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(email_conflict)?;
    txn.commit().await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(super::slugify("Assurances  du Golfe, SA!"), "assurances-du-golfe-sa");
        assert_eq!(super::slugify("***"), "org");
    }
}
