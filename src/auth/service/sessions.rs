//! Sessions: opening one with its tokens, refresh-token rotation with reuse detection, revocation,
//! and the per-request check of an access token (cached for `SESSION_CACHE_SECS`; a revocation
//! leaves a tombstone that a check in flight cannot overwrite).

use chrono::{Duration as ChronoDuration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

use crate::{
    audit::service as audit,
    principal::{Actor, Principal, RequestMeta, Role},
    entities::{refresh_token, session, user},
    error::{AppError, AppResult},
    seams::{Cache, revocable},
    state::AppState,
};

/// What a successful sign-in returns.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
    pub session: session::Model,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub(super) fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Creates a session with its first refresh token.
pub(super) async fn open_session(
    state: &AppState,
    db: &impl ConnectionTrait,
    user: &user::Model,
    device_name: Option<String>,
    meta: &RequestMeta,
) -> AppResult<Issued> {
    let now = Utc::now();
    let expires_at = now + ChronoDuration::seconds(state.settings.refresh_token_ttl_secs);
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        organization_id: Set(user.organization_id),
        device_name: Set(device_name),
        user_agent: Set(meta.user_agent.clone().map(|ua| ua.chars().take(500).collect())),
        ip: Set(meta.ip.clone()),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    let refresh = new_refresh_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session.id),
        token_hash: Set(sha256_hex(&refresh)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
    }
    .insert(db)
    .await?;
    issue(state, user, session, refresh)
}

pub(super) fn issue(state: &AppState, user: &user::Model, session: session::Model, refresh: String) -> AppResult<Issued> {
    let role = Role::parse(&user.role).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown role")))?;
    let (access_token, expires_in) = state.jwt.issue(user.id, user.organization_id, role, session.id)?;
    Ok(Issued { access_token, refresh_token: refresh, expires_in, user: user.clone(), session })
}

/// Rotates a refresh token. A token used twice revokes its whole session (family).
pub async fn refresh(state: &AppState, token: &str, meta: &RequestMeta) -> AppResult<Issued> {
    let denied = || AppError::Unauthenticated("invalid refresh token".into());
    let now = Utc::now();
    let hash = sha256_hex(token.trim());
    let txn = crate::db::begin(&state.db).await?;
    let Some(current) =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(&hash)).one(&txn).await?
    else {
        return Err(denied());
    };
    // Mark it used, only if nobody did before: a second use is a reuse.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(current.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected == 0 {
        txn.rollback().await?;
        revoke_sessions(&state.db, &[current.session_id]).await?;
        forget_sessions(state, &[current.session_id]).await;
        if let Some(s) = session::Entity::find_by_id(current.session_id).one(&state.db).await? {
            let actor = Actor::anonymous(meta.clone(), Some(s.organization_id), Some(s.user_id));
            let info = json!({"sessionId": s.id.to_string()});
            audit::record(&state.db, &actor, "auth.refresh_token_reused", Some(("Session", s.id)), info).await?;
        }
        tracing::warn!(session_id = %current.session_id, "refresh token reuse: session family revoked");
        return Err(AppError::Unauthenticated("refresh token already used; the session was revoked".into()));
    }
    let session = session::Entity::find_by_id(current.session_id).one(&txn).await?.ok_or_else(denied)?;
    if session.revoked_at.is_some() || session.expires_at <= now || current.expires_at <= now {
        return Err(denied());
    }
    let user = user::Entity::find_by_id(session.user_id).one(&txn).await?.ok_or_else(denied)?;
    if !user.is_active {
        return Err(denied());
    }
    let expires_at = now + ChronoDuration::seconds(state.settings.refresh_token_ttl_secs);
    let new_token = new_refresh_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session.id),
        token_hash: Set(sha256_hex(&new_token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let mut s: session::ActiveModel = session.into();
    s.last_used_at = Set(now);
    s.expires_at = Set(expires_at);
    if meta.ip.is_some() {
        s.ip = Set(meta.ip.clone());
    }
    let session = s.update(&txn).await?;
    let actor = Actor::anonymous(meta.clone(), Some(user.organization_id), Some(user.id));
    audit::record(&txn, &actor, "auth.refresh", Some(("Session", session.id)), json!({})).await?;
    txn.commit().await?;
    issue(state, &user, session, new_token)
}

/// Revokes sessions in `db` (pass the change's transaction). Call `forget_sessions` after it commits,
/// so no request caches the session as live in between.
pub async fn revoke_sessions(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.is_in(ids.iter().copied()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Drops cached session checks, so revoked sessions stop working at once.
pub async fn forget_sessions(state: &AppState, ids: &[Uuid]) {
    for id in ids {
        forget(state.cache.as_ref(), *id).await;
    }
}

/// Revokes every live session of a user (optionally keeping one).
pub async fn revoke_user_sessions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> AppResult<u64> {
    let live: Vec<Uuid> = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .filter(|id| Some(*id) != keep)
        .collect();
    revoke_sessions(db, &live).await
}

pub(super) fn cache_key(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

/// Turns a bearer access token into a principal: signature, expiry, then a live session and an
/// active user (the database is asked at most every `SESSION_CACHE_SECS`; revocations here evict).
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Principal> {
    let claims = state.jwt.verify(token)?;
    if let Some(p) = recall(state.cache.as_ref(), claims.sid).await {
        if p.user_id == claims.sub {
            return Ok(p.into_principal(claims.sid));
        }
    }
    let revoked = || AppError::Unauthenticated("session revoked or expired".into());
    let now = Utc::now();
    let session = session::Entity::find_by_id(claims.sid).one(&state.db).await?.ok_or_else(revoked)?;
    if session.revoked_at.is_some() || session.expires_at <= now || session.user_id != claims.sub {
        return Err(revoked());
    }
    let user = user::Entity::find_by_id(claims.sub).one(&state.db).await?.ok_or_else(revoked)?;
    if !user.is_active {
        return Err(AppError::Unauthenticated("this account is deactivated".into()));
    }
    let role = Role::parse(&user.role).ok_or_else(revoked)?;
    let cached = CachedPrincipal { user_id: user.id, org_id: user.organization_id, role };
    remember(state.cache.as_ref(), claims.sid, &cached, Duration::from_secs(state.settings.session_cache_secs)).await;
    Ok(cached.into_principal(claims.sid))
}

/// The cached check of a session, if one is trusted.
async fn recall(cache: &dyn Cache, session_id: Uuid) -> Option<CachedPrincipal> {
    let bytes = revocable::recall(cache, &cache_key(session_id)).await?;
    serde_json::from_slice(&bytes).ok()
}

/// Caches a check read from the database, unless the session was revoked (or its user changed)
/// since (`seams::revocable`: the revocation's tombstone is never overwritten).
async fn remember(cache: &dyn Cache, session_id: Uuid, checked: &CachedPrincipal, ttl: Duration) {
    if let Ok(bytes) = serde_json::to_vec(checked) {
        revocable::remember(cache, &cache_key(session_id), bytes, ttl).await;
    }
}

/// Puts a tombstone over the cached check of a session (after the change that revokes the
/// session, or changes its user, commits).
async fn forget(cache: &dyn Cache, session_id: Uuid) {
    revocable::revoke(cache, &cache_key(session_id)).await;
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedPrincipal {
    user_id: Uuid,
    org_id: Uuid,
    role: Role,
}

impl CachedPrincipal {
    fn into_principal(self, session_id: Uuid) -> Principal {
        Principal { user_id: self.user_id, org_id: self.org_id, role: self.role, session_id: Some(session_id), api_key: None }
    }
}

/// Drops the cached session checks of a user, so a role change applies at once.
pub async fn forget_cached_sessions(state: &AppState, user_id: Uuid) -> AppResult<()> {
    let sessions = session::Entity::find().filter(session::Column::UserId.eq(user_id)).all(&state.db).await?;
    for s in sessions {
        forget(state.cache.as_ref(), s.id).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seams::MemoryCache;

    const TTL: Duration = Duration::from_secs(60);

    fn checked() -> CachedPrincipal {
        CachedPrincipal { user_id: Uuid::from_u128(1), org_id: Uuid::from_u128(2), role: Role::Admin }
    }

    /// The race of `authenticate` against a revocation, with its steps in the bad order: the check
    /// reads the session live from the database, the revocation commits and evicts, and only
    /// then does the check cache what it read.
    #[tokio::test]
    async fn a_check_that_read_a_session_before_its_revocation_does_not_cache_it_after() {
        let cache = MemoryCache::default();
        let session = Uuid::from_u128(3);
        let read_before_revocation = checked();
        forget(&cache, session).await;
        remember(&cache, session, &read_before_revocation, TTL).await;
        assert!(recall(&cache, session).await.is_none(), "a revoked session was cached as live");
    }

    #[tokio::test]
    async fn a_revocation_after_a_check_is_cached_evicts_it_and_other_sessions_still_cache() {
        let cache = MemoryCache::default();
        let (revoked, other) = (Uuid::from_u128(3), Uuid::from_u128(4));
        remember(&cache, revoked, &checked(), TTL).await;
        remember(&cache, other, &checked(), TTL).await;
        assert!(recall(&cache, revoked).await.is_some());
        forget(&cache, revoked).await;
        assert!(recall(&cache, revoked).await.is_none());
        assert_eq!(recall(&cache, other).await.map(|p| p.user_id), Some(checked().user_id));
    }
}
