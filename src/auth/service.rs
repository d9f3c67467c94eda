//! Sign-in logic: registration, login, refresh-token rotation with reuse detection, session checks.

use chrono::{Duration as ChronoDuration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
    sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

use super::{
    password,
    principal::{Principal, RequestMeta, Role},
    types::{LoginInput, RegisterInput},
};
use crate::{
    audit::service::{self as audit, Actor},
    entities::{organization, refresh_token, session, user},
    seams::RateDecision,
    error::{AppError, AppResult},
    state::AppState,
    validation::{Email, optional_text, required_text},
};

/// What a successful sign-in returns.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
    pub session: session::Model,
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn slugify(name: &str) -> String {
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

/// Creates a session with its first refresh token.
async fn open_session(
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

fn issue(state: &AppState, user: &user::Model, session: session::Model, refresh: String) -> AppResult<Issued> {
    let role = Role::parse(&user.role).ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown role")))?;
    let (access_token, expires_in) = state.jwt.issue(user.id, user.organization_id, role, session.id)?;
    Ok(Issued { access_token, refresh_token: refresh, expires_in, user: user.clone(), session })
}

/// Creates an organization and its first ADMIN, and signs them in.
pub async fn register(state: &AppState, input: RegisterInput, meta: &RequestMeta) -> AppResult<Issued> {
    let org_name = required_text(&input.organization_name, "input.organizationName", 200)?;
    let email = Email::parse(&input.email, "input.email")?;
    let full_name = required_text(&input.full_name, "input.fullName", 200)?;
    password::check_policy(&input.password, email.as_str(), "input.password")?;
    let hash = password::hash(input.password).await?;

    let txn = state.db.begin().await?;
    if user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?.is_some() {
        return Err(AppError::conflict_on("input.email", "an account with this e-mail already exists"));
    }
    let base = slugify(&org_name);
    let taken = organization::Entity::find().filter(organization::Column::Slug.eq(&base)).one(&txn).await?.is_some();
    let slug = if taken { format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6]) } else { base };
    let now = Utc::now();
    let org = organization::ActiveModel { id: Set(Uuid::now_v7()), name: Set(org_name), slug: Set(slug), created_at: Set(now) }
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

fn email_conflict(e: sea_orm::DbErr) -> AppError {
    if crate::error::is_unique_violation(&e) {
        AppError::conflict_on("input.email", "an account with this e-mail already exists")
    } else {
        e.into()
    }
}

/// Checks the credentials and opens a session. Every failure reads the same.
pub async fn login(state: &AppState, input: LoginInput, meta: &RequestMeta) -> AppResult<Issued> {
    let denied = || AppError::Unauthenticated("invalid e-mail or password".into());
    let email = input.email.trim().to_lowercase();
    let device_name = optional_text(input.device_name.as_deref(), "input.deviceName", 100)?;
    throttle_login(state, &email, meta).await?;
    let found = user::Entity::find().filter(user::Column::Email.eq(&email)).one(&state.db).await?;
    let ok = password::verify(input.password, found.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match found {
        Some(u) if ok && u.is_active => u,
        other => {
            let (org, who) = other.map(|u| (Some(u.organization_id), Some(u.id))).unwrap_or((None, None));
            let actor = Actor::anonymous(meta.clone(), org, who);
            audit::record(&state.db, &actor, "auth.login_failed", who.map(|id| ("User", id)), json!({"email": email})).await?;
            return Err(denied());
        }
    };
    // A successful sign-in clears the account's failed attempts.
    state.rate_limiter.reset(&format!("login:account:{email}")).await;
    let txn = state.db.begin().await?;
    let issued = open_session(state, &txn, &user, device_name, meta).await?;
    let actor = Actor::anonymous(meta.clone(), Some(user.organization_id), Some(user.id));
    let info = json!({"sessionId": issued.session.id.to_string(), "deviceName": issued.session.device_name});
    audit::record(&txn, &actor, "auth.login", Some(("User", user.id)), info).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Login attempts per account (`LOGIN_ATTEMPTS_PER_MINUTE`) and per address (six times that), per
/// minute. Windows expire, so an attacker's attempts never lock an account out for long.
async fn throttle_login(state: &AppState, email: &str, meta: &RequestMeta) -> AppResult<()> {
    let per_account = state.settings.login_attempts_per_minute;
    if per_account == 0 {
        return Ok(());
    }
    let minute = Duration::from_secs(60);
    let mut checks = vec![(format!("login:account:{email}"), per_account)];
    if let Some(ip) = &meta.ip {
        checks.push((format!("login:ip:{ip}"), per_account.saturating_mul(6)));
    }
    for (key, limit) in checks {
        if let RateDecision::Limited { retry_after } = state.rate_limiter.hit(&key, limit, minute).await {
            state.metrics.rate_limited("login");
            return Err(AppError::RateLimited { retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64 });
        }
    }
    Ok(())
}

/// Rotates a refresh token. A token used twice revokes its whole session (family).
pub async fn refresh(state: &AppState, token: &str, meta: &RequestMeta) -> AppResult<Issued> {
    let denied = || AppError::Unauthenticated("invalid refresh token".into());
    let now = Utc::now();
    let hash = sha256_hex(token.trim());
    let txn = state.db.begin().await?;
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
        state.cache.delete(&cache_key(*id)).await;
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

fn cache_key(session_id: Uuid) -> String {
    format!("session:{session_id}")
}

/// Turns a bearer access token into a principal: signature, expiry, then a live session and an
/// active user (the database is asked at most every `SESSION_CACHE_SECS`; revocations here evict).
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Principal> {
    let claims = state.jwt.verify(token)?;
    let key = cache_key(claims.sid);
    if let Some(bytes) = state.cache.get(&key).await {
        if let Ok(p) = serde_json::from_slice::<CachedPrincipal>(&bytes) {
            if p.user_id == claims.sub {
                return Ok(p.into_principal(claims.sid));
            }
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
    if let Ok(bytes) = serde_json::to_vec(&cached) {
        state.cache.set(&key, bytes, Duration::from_secs(state.settings.session_cache_secs)).await;
    }
    Ok(cached.into_principal(claims.sid))
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

/// Creates a SUPERADMIN (CLI only), in the platform organization.
pub async fn create_superadmin(state: &AppState, email: &str, password_raw: &str) -> AppResult<user::Model> {
    let email = Email::parse(email, "email")?;
    password::check_policy(password_raw, email.as_str(), "password")?;
    let hash = password::hash(password_raw.to_string()).await?;
    let txn = state.db.begin().await?;
    let now = Utc::now();
    let org = match organization::Entity::find().filter(organization::Column::Slug.eq("platform")).one(&txn).await? {
        Some(o) => o,
        None => {
            organization::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set("MonAssurance platform".into()),
                slug: Set("platform".into()),
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

/// Drops the cached session checks of a user, so a role change applies at once.
pub async fn forget_cached_sessions(state: &AppState, user_id: Uuid) -> AppResult<()> {
    let sessions = session::Entity::find().filter(session::Column::UserId.eq(user_id)).all(&state.db).await?;
    for s in sessions {
        state.cache.delete(&cache_key(s.id)).await;
    }
    Ok(())
}
