//! GraphQL types of sign-in.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::service::Issued;
use crate::{
    graphql::{context::ContextExt, ids},
    entities::session,
    users::types::User,
};

/// Creates an organization and its first administrator.
#[derive(InputObject)]
pub struct RegisterInput {
    pub organization_name: String,
    pub email: String,
    /// At least 10 characters, and not the e-mail address.
    pub password: String,
    pub full_name: String,
}

/// Signs in with an e-mail and a password.
#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// A name for this device, shown in `sessions` (e.g. "Ann's laptop").
    pub device_name: Option<String>,
}

/// Tokens for a signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`. Short-lived (see `expiresIn`).
    pub access_token: String,
    /// Exchange with `refreshToken` for new tokens; single use (each use returns a new one).
    pub refresh_token: String,
    /// Seconds until `accessToken` expires.
    pub expires_in: i64,
    /// The signed-in user.
    pub user: User,
    /// The session these tokens belong to.
    pub session: Session,
}

/// A signed-in device.
pub struct Session {
    pub model: session::Model,
    /// Set when the tokens of this response belong to the session (login, refresh).
    pub issued: bool,
}

impl Session {
    pub fn new(model: session::Model) -> Self {
        Session { model, issued: false }
    }
}

#[Object]
impl Session {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Session", self.model.id)
    }
    /// The name given at login.
    async fn device_name(&self) -> Option<&str> {
        self.model.device_name.as_deref()
    }
    /// The browser or client that signed in.
    async fn user_agent(&self) -> Option<&str> {
        self.model.user_agent.as_deref()
    }
    /// The address it signed in from.
    async fn ip(&self) -> Option<&str> {
        self.model.ip.as_deref()
    }
    /// When it signed in.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When its tokens were last refreshed.
    async fn last_used_at(&self) -> DateTime<Utc> {
        self.model.last_used_at
    }
    /// When it ends unless refreshed.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.model.expires_at
    }
    /// When it was revoked (logout), if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.model.revoked_at
    }
    /// True for the session of the token making this request.
    async fn current(&self, ctx: &Context<'_>) -> bool {
        self.issued || ctx.principal().map(|p| p.session_id == Some(self.model.id)).unwrap_or(false)
    }
}

impl From<Issued> for AuthPayload {
    fn from(i: Issued) -> Self {
        AuthPayload {
            access_token: i.access_token,
            refresh_token: i.refresh_token,
            expires_in: i.expires_in,
            user: User::signing_in(i.user),
            session: Session { model: i.session, issued: true },
        }
    }
}
