//! Signing in with a password, throttled per account and per address.

use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter,
};
use serde_json::json;
use std::time::Duration;

use crate::auth::{
    password,
    types::LoginInput,
};
use super::sessions::{Issued, open_session};
use crate::{
    audit::service as audit,
    principal::{Actor, RequestMeta},
    entities::user,
    seams::RateDecision,
    error::{AppError, AppResult},
    state::AppState,
    graphql::validation::optional_text,
};

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
    let txn = crate::db::begin(&state.db).await?;
    let issued = open_session(state, &txn, &user, device_name, meta).await?;
    let actor = Actor::anonymous(meta.clone(), Some(user.organization_id), Some(user.id));
    let info = json!({"sessionId": issued.session.id.to_string(), "deviceName": issued.session.device_name});
    audit::record(&txn, &actor, "auth.login", Some(("User", user.id)), info).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Login attempts per account (`LOGIN_ATTEMPTS_PER_MINUTE`) and per address (six times that), per
/// minute. Windows expire, so an attacker's attempts never lock an account out for long.
pub(super) async fn throttle_login(state: &AppState, email: &str, meta: &RequestMeta) -> AppResult<()> {
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
