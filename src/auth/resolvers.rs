//! Sign-in queries and mutations.

use async_graphql::{Context, ID, Object, Result};
use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{
    recovery,
    service::{self},
    types::{AuthPayload, LoginInput, RegisterInput, Session},
};
use crate::{
    audit::service as audit,
    graphql::{context::ContextExt, ids},
    entities::session,
    error::AppError,
};

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The caller's live sessions (signed-in devices), newest first. A signed-in user only:
    /// an API key is `FORBIDDEN` (it is not its creator's device).
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let p = ctx.principal()?;
        p.session()?;
        let rows = crate::scope::own_sessions(p)
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .order_by_desc(session::Column::CreatedAt)
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Session::new).collect())
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an organization and its first ADMIN, and signs them in. The role is never chosen by the caller.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        Ok(service::register(ctx.state(), input, &ctx.meta()).await?.into())
    }

    /// Signs in. Wrong e-mail, wrong password and deactivated account all answer `UNAUTHENTICATED` alike.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        Ok(service::login(ctx.state(), input, &ctx.meta()).await?.into())
    }

    /// Exchanges a refresh token for new tokens. The old one dies; using it again revokes the session.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        Ok(service::refresh(ctx.state(), &refresh_token, &ctx.meta()).await?.into())
    }

    /// Ends the current session; its tokens stop working at once.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let p = ctx.principal()?;
        let session = p.session()?;
        let state = ctx.state();
        let txn = crate::db::begin(&state.db).await.map_err(AppError::from)?;
        service::revoke_sessions(&txn, &[session]).await?;
        audit::record(&txn, &ctx.actor()?, "auth.logout", Some(("Session", session)), json!({})).await?;
        txn.commit().await.map_err(AppError::from)?;
        service::forget_sessions(state, &[session]).await;
        Ok(true)
    }

    /// Ends every session of the caller, this one included.
    async fn logout_all(&self, ctx: &Context<'_>) -> Result<bool> {
        let p = ctx.principal()?;
        p.session()?;
        let state = ctx.state();
        let txn = crate::db::begin(&state.db).await.map_err(AppError::from)?;
        let ended = service::revoke_user_sessions(&txn, p.user_id, None).await?;
        let info = json!({"sessions": ended});
        audit::record(&txn, &ctx.actor()?, "auth.logout_all", Some(("User", p.user_id)), info).await?;
        txn.commit().await.map_err(AppError::from)?;
        service::forget_cached_sessions(state, p.user_id).await?;
        Ok(true)
    }

    /// Changes the caller's password (the current one is required); the caller's other sessions end.
    async fn change_password(&self, ctx: &Context<'_>, current_password: String, new_password: String) -> Result<bool> {
        let p = ctx.principal()?;
        recovery::change(ctx.state(), p, current_password, new_password, &ctx.meta()).await?;
        Ok(true)
    }

    /// Sends a password-reset code to `email` if an account has it. The answer is `true` either way.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        recovery::request_reset(ctx.state(), &email, &ctx.meta()).await?;
        Ok(true)
    }

    /// Sets a new password with a reset code (single use, 15 minutes); every session of the user ends and
    /// their other reset codes stop working.
    async fn reset_password(&self, ctx: &Context<'_>, token: String, new_password: String) -> Result<bool> {
        recovery::reset(ctx.state(), &token, new_password, &ctx.meta()).await?;
        Ok(true)
    }

    /// Ends one of the caller's sessions (`NOT_FOUND` for anyone else's; `FORBIDDEN` for an API key).
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        p.session()?;
        let key = ids::decode(&id, "Session")?;
        let found = crate::scope::own_sessions(p)
            .filter(session::Column::Id.eq(key))
            .one(&ctx.state().db)
            .await
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound("Session"))?;
        let state = ctx.state();
        let txn = crate::db::begin(&state.db).await.map_err(AppError::from)?;
        service::revoke_sessions(&txn, &[found.id]).await?;
        audit::record(&txn, &ctx.actor()?, "auth.revoke_session", Some(("Session", found.id)), json!({})).await?;
        txn.commit().await.map_err(AppError::from)?;
        service::forget_sessions(state, &[found.id]).await;
        Ok(true)
    }
}
