//! API-key logic: creation, revocation, and turning a secret into a principal.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::types::{ApiKeyScope, CreateApiKeyInput};
use crate::{
    principal::{ApiKeyGrant, Principal, Role},
    entities::api_key,
    error::{AppError, AppResult},
    seams::revocable,
    state::AppState,
    graphql::validation::required_text,
};

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a key; returns it with its secret (`ma_<prefix>_<random>`), which is never stored.
pub async fn create(db: &impl ConnectionTrait, principal: &Principal, input: CreateApiKeyInput) -> AppResult<(api_key::Model, String)> {
    let name = required_text(&input.name, "input.name", 100)?;
    if input.scopes.is_empty() {
        return Err(AppError::invalid("input.scopes", "give at least one scope"));
    }
    let scopes = if input.scopes.contains(&ApiKeyScope::Write) { "read,write" } else { "read" };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let random = URL_SAFE_NO_PAD.encode(bytes);
    let prefix = format!("ma_{}", &hex::encode(&bytes[..4]));
    let secret = format!("{prefix}_{random}");
    let model = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(principal.org_id),
        created_by: Set(Some(principal.user_id)),
        name: Set(name),
        prefix: Set(prefix),
        secret_hash: Set(hash(&secret)),
        scopes: Set(scopes.into()),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((model, secret))
}

/// Revokes a key of the caller's organization; it stops working at once.
pub async fn revoke(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<api_key::Model> {
    let mut q = api_key::Entity::find_by_id(id);
    if !principal.is_superadmin() {
        q = q.filter(api_key::Column::OrganizationId.eq(principal.org_id));
    }
    let key = q.one(db).await?.ok_or(AppError::NotFound("ApiKey"))?;
    let mut m: api_key::ActiveModel = key.clone().into();
    if key.revoked_at.is_none() {
        m.revoked_at = Set(Some(Utc::now()));
    }
    Ok(m.update(db).await?)
}

/// Drops a key's cached check (after its revocation commits), so it stops working at once.
pub async fn forget(state: &AppState, key: &api_key::Model) {
    revocable::revoke(state.cache.as_ref(), &cache_key(&key.secret_hash)).await;
}

fn cache_key(secret_hash: &str) -> String {
    format!("apikey:{secret_hash}")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedKey {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    write: bool,
}

/// Turns an API-key secret into a principal (cached for `SESSION_CACHE_SECS`; a revocation leaves
/// a tombstone that a check in flight cannot overwrite).
pub async fn authenticate(state: &AppState, secret: &str) -> AppResult<Principal> {
    let invalid = || AppError::Unauthenticated("invalid or revoked API key".into());
    let secret_hash = hash(secret.trim());
    let key = cache_key(&secret_hash);
    let recalled = revocable::recall(state.cache.as_ref(), &key).await;
    let cached = match recalled.and_then(|b| serde_json::from_slice::<CachedKey>(&b).ok()) {
        Some(c) => c,
        None => {
            let row = api_key::Entity::find()
                .filter(api_key::Column::SecretHash.eq(&secret_hash))
                .one(&state.db)
                .await?
                .filter(|k| k.revoked_at.is_none())
                .ok_or_else(invalid)?;
            let user_id = row.created_by.ok_or_else(invalid)?;
            // A key lives with its creator's rights: a deactivated or demoted creator's keys stop working.
            let creator = crate::entities::user::Entity::find_by_id(user_id).one(&state.db).await?;
            let admin = creator.as_ref().is_some_and(|u| u.is_active && matches!(u.role.as_str(), "ADMIN" | "SUPERADMIN"));
            if !admin {
                return Err(invalid());
            }
            let c = CachedKey { id: row.id, org_id: row.organization_id, user_id, write: row.scopes.split(',').any(|s| s == "write") };
            if let Ok(bytes) = serde_json::to_vec(&c) {
                // Not over a revocation's tombstone: a check that read the key before it was
                // revoked must not cache it as live afterwards (`seams::revocable`).
                revocable::remember(state.cache.as_ref(), &key, bytes, Duration::from_secs(state.settings.session_cache_secs)).await;
            }
            c
        }
    };
    if state.api_key_usage.due(cached.id) {
        let db = state.db.clone();
        let id = cached.id;
        tokio::spawn(async move {
            let _ = api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(Utc::now()))
                .filter(api_key::Column::Id.eq(id))
                .exec(&db)
                .await;
        });
    }
    Ok(Principal {
        user_id: cached.user_id,
        org_id: cached.org_id,
        role: Role::Manager,
        session_id: None,
        api_key: Some(ApiKeyGrant { id: cached.id, write: cached.write }),
    })
}
