//! Small accessors resolvers use: `ctx.state()`, `ctx.principal()?`, `ctx.meta()`.

use async_graphql::Context;

use crate::{
    principal::{Actor, Auth, Principal, RequestMeta},
    error::{AppError, AppResult},
    graphql::loaders::Loaders,
    state::AppState,
};

pub trait ContextExt {
    fn state(&self) -> &AppState;
    /// The authenticated caller, or `UNAUTHENTICATED`.
    fn principal(&self) -> AppResult<&Principal>;
    fn meta(&self) -> RequestMeta;
    /// The caller as the audit trail records them.
    fn actor(&self) -> AppResult<Actor>;
    /// The request's DataLoaders (bound to the principal), or `UNAUTHENTICATED`.
    fn loaders(&self) -> AppResult<&Loaders>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn principal(&self) -> AppResult<&Principal> {
        match self.data_opt::<Auth>() {
            Some(Auth::Authenticated(p)) => Ok(p),
            Some(Auth::Invalid(reason)) => Err(AppError::Unauthenticated(reason.clone())),
            Some(Auth::Unavailable) => Err(AppError::Db(sea_orm::DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout))),
            _ => Err(AppError::unauthenticated()),
        }
    }

    fn meta(&self) -> RequestMeta {
        self.data_opt::<RequestMeta>().cloned().unwrap_or_default()
    }

    fn actor(&self) -> AppResult<Actor> {
        Ok(Actor::of(self.principal()?, self.meta()))
    }

    fn loaders(&self) -> AppResult<&Loaders> {
        self.principal()?;
        self.data_opt::<Loaders>().ok_or_else(AppError::unauthenticated)
    }
}

/// Holds one of the caller's live subscriptions for as long as the returned guard lives; past the
/// server's `MAX_SUBSCRIPTIONS_PER_USER`, `RATE_LIMITED` until one ends.
pub fn hold_subscription(
    state: &crate::state::AppState,
    principal: &crate::principal::Principal,
) -> Result<crate::seams::quota::Held, crate::error::AppError> {
    state.subscriptions.try_hold(principal.user_id).ok_or_else(|| {
        crate::error::AppError::TooMany(format!("at most {} live subscriptions per user; end one first", state.subscriptions.max()))
    })
}
