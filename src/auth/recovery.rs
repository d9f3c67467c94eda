//! Passwords: reset by e-mail (single-use token, 15 minutes, mailed through `mail`) and change (needs the current one).

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use super::{
    password,
    service::{forget_cached_sessions, revoke_user_sessions, sha256_hex},
};
use crate::{
    audit::service as audit,
    principal::{Actor, Principal, RequestMeta},
    entities::{password_reset, user},
    error::{AppError, AppResult},
    mail::{service as mail, templates::{self as mail_templates, Locale}, types::MessageKind},
    seams::RateDecision,
    state::AppState,
};

const RESET_TTL_MINUTES: i64 = 15;

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Queues a reset message when the account exists. The answer and the work done look the same
/// either way, so the mutation tells nobody whether an e-mail is registered.
pub async fn request_reset(state: &AppState, email: &str, meta: &RequestMeta) -> AppResult<()> {
    let email = email.trim().to_lowercase();
    let token = new_token();
    let token_hash = sha256_hex(&token);
    // At most 5 requests per account per 15 minutes; more are silently dropped.
    let within_limit = matches!(
        state.rate_limiter.hit(&format!("reset:{email}"), 5, Duration::from_secs(15 * 60)).await,
        RateDecision::Allowed
    );
    let found = user::Entity::find().filter(user::Column::Email.eq(&email)).one(&state.db).await?;
    let Some(u) = found.filter(|u| u.is_active && within_limit) else {
        // Same shape of work as the real path: hash a token and wait for a write's worth of time.
        tokio::time::sleep(Duration::from_millis(2)).await;
        return Ok(());
    };
    let now = Utc::now();
    // The link only when the service knows its public address; the code works either way.
    let link = state.settings.public_base_url.as_ref().map(|base| format!("{base}/reset-password?token={token}"));
    let locale = Locale::from_accept_language(meta.accept_language.as_deref());
    let rendered = mail_templates::password_reset(locale, &u.full_name, &token, link.as_deref(), RESET_TTL_MINUTES)?;
    let txn = crate::db::begin(&state.db).await?;
    password_reset::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(u.id),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(now + ChronoDuration::minutes(RESET_TTL_MINUTES)),
        used_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let message = mail::enqueue(
        &txn,
        mail::Outgoing {
            organization_id: Some(u.organization_id),
            kind: MessageKind::PasswordReset,
            recipients: vec![u.email.clone()],
            rendered,
            document_id: None,
            locale,
        },
    )
    .await?;
    let actor = Actor::anonymous(meta.clone(), Some(u.organization_id), Some(u.id));
    audit::record(&txn, &actor, "auth.password_reset_requested", Some(("User", u.id)), json!({})).await?;
    txn.commit().await?;
    mail::queued(state, &message);
    Ok(())
}

/// Sets a new password with a reset token; every session of the user ends, and every other
/// outstanding reset code of theirs is spent with it.
pub async fn reset(state: &AppState, token: &str, new_password: String, meta: &RequestMeta) -> AppResult<()> {
    let invalid = || AppError::invalid("token", "this reset code is invalid or has expired");
    let now = Utc::now();
    let row = password_reset::Entity::find()
        .filter(password_reset::Column::TokenHash.eq(sha256_hex(token.trim())))
        .one(&state.db)
        .await?
        .filter(|r| r.used_at.is_none() && r.expires_at > now)
        .ok_or_else(invalid)?;
    let u = user::Entity::find_by_id(row.user_id).one(&state.db).await?.filter(|u| u.is_active).ok_or_else(invalid)?;
    password::check_policy(&new_password, &u.email, "newPassword")?;
    let hash = password::hash(new_password).await?;
    let txn = crate::db::begin(&state.db).await?;
    // Spend the token only if nobody did meanwhile.
    let spent = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::Id.eq(row.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected == 0 {
        return Err(invalid());
    }
    spend_reset_codes(&txn, u.id, now).await?;
    let mut m: user::ActiveModel = u.clone().into();
    m.password_hash = Set(hash);
    m.updated_at = Set(now);
    m.update(&txn).await?;
    let actor = Actor::anonymous(meta.clone(), Some(u.organization_id), Some(u.id));
    audit::record(&txn, &actor, "auth.password_reset", Some(("User", u.id)), json!({})).await?;
    revoke_user_sessions(&txn, u.id, None).await?;
    txn.commit().await?;
    forget_cached_sessions(state, u.id).await?;
    Ok(())
}

/// Spends every outstanding reset code of a user: a code asked for before the password changed
/// (by a reset or by the user) must not set it again.
async fn spend_reset_codes(db: &impl ConnectionTrait, user_id: Uuid, now: DateTime<Utc>) -> AppResult<u64> {
    let spent = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::UsedAt, Expr::value(now))
        .filter(password_reset::Column::UserId.eq(user_id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(spent.rows_affected)
}

/// Changes the caller's password; their other sessions end, this one stays. Outstanding reset codes die.
pub async fn change(state: &AppState, principal: &Principal, current: String, new_password: String, meta: &RequestMeta) -> AppResult<()> {
    let session = principal.session()?;
    let u = user::Entity::find_by_id(principal.user_id).one(&state.db).await?.ok_or_else(AppError::unauthenticated)?;
    if !password::verify(current, Some(u.password_hash.clone())).await? {
        return Err(AppError::invalid("currentPassword", "the current password is wrong"));
    }
    password::check_policy(&new_password, &u.email, "newPassword")?;
    let hash = password::hash(new_password).await?;
    let txn = crate::db::begin(&state.db).await?;
    let mut m: user::ActiveModel = u.clone().into();
    m.password_hash = Set(hash);
    m.updated_at = Set(Utc::now());
    m.update(&txn).await?;
    spend_reset_codes(&txn, u.id, Utc::now()).await?;
    audit::record(&txn, &Actor::of(principal, meta.clone()), "auth.password_change", Some(("User", u.id)), json!({})).await?;
    revoke_user_sessions(&txn, u.id, Some(session)).await?;
    txn.commit().await?;
    forget_cached_sessions(state, u.id).await?;
    Ok(())
}
