//! Who is calling: the `Principal` put into every request, the roles of API.md, and the
//! `Actor` every audit row records.

use async_graphql::Enum;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// What a user may do. Each role includes the rights of those before it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Sees and writes only the clients they own and those clients' policies.
    Agent,
    /// Everything in the organization, plus companies and templates; reads the audit log.
    Manager,
    /// A manager who also manages users and API keys.
    Admin,
    /// Platform operator: spans every organization. Created only by the CLI.
    Superadmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "AGENT",
            Role::Manager => "MANAGER",
            Role::Admin => "ADMIN",
            Role::Superadmin => "SUPERADMIN",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "AGENT" => Some(Role::Agent),
            "MANAGER" => Some(Role::Manager),
            "ADMIN" => Some(Role::Admin),
            "SUPERADMIN" => Some(Role::Superadmin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: Role,
    /// The signed-in session (device) the access token belongs to; `None` for an API key.
    pub session_id: Option<Uuid>,
    /// Set when the caller is an integration using an API key.
    pub api_key: Option<ApiKeyGrant>,
}

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiKeyGrant {
    pub id: Uuid,
    /// The `write` scope: mutations are allowed.
    pub write: bool,
}

impl Principal {
    /// Fails with `FORBIDDEN` unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> AppResult<()> {
        if self.role >= role { Ok(()) } else { Err(AppError::forbidden()) }
    }

    pub fn is_superadmin(&self) -> bool {
        self.role == Role::Superadmin
    }

    pub fn is_agent(&self) -> bool {
        self.role == Role::Agent
    }

    /// The caller's session, or `FORBIDDEN` for an API key (which has none).
    pub fn session(&self) -> AppResult<Uuid> {
        self.session_id.ok_or_else(|| AppError::Forbidden("API keys have no session; sign in as a user".into()))
    }

    /// True when the caller may run mutations (any user, or an API key with the `write` scope).
    pub fn may_write(&self) -> bool {
        self.api_key.is_none_or(|k| k.write)
    }
}

/// The credentials state of a request, decided once by the transport.
#[derive(Clone, Debug)]
pub enum Auth {
    Anonymous,
    Authenticated(Principal),
    /// A token was sent but is invalid, expired or revoked; operations needing a user answer `UNAUTHENTICATED`.
    Invalid(String),
    /// The credentials could not be checked (the database is down): operations needing a user
    /// fail with a retryable error, never `UNAUTHENTICATED` (a client would sign the user out).
    Unavailable,
}

/// Facts about the HTTP request that operations record (sessions, audit).
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The `Accept-Language` header as sent (mail written for the request follows it).
    pub accept_language: Option<String>,
}

/// Who acts, and from where: what every audit row records besides the change itself.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub org_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub meta: RequestMeta,
}

impl Actor {
    pub fn of(principal: &Principal, meta: RequestMeta) -> Self {
        Actor { org_id: Some(principal.org_id), user_id: Some(principal.user_id), api_key_id: principal.api_key.map(|k| k.id), meta }
    }

    /// Someone not signed in (a failed login, a reset request), optionally known by their account.
    pub fn anonymous(meta: RequestMeta, org_id: Option<Uuid>, user_id: Option<Uuid>) -> Self {
        Actor { org_id, user_id, api_key_id: None, meta }
    }
}

