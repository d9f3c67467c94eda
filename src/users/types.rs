//! GraphQL types of users.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use crate::{
    error::AppError,
    principal::Role,
    graphql::{context::ContextExt, ids, loaders::loader_error, pagination::OrderDirection},
    entities::{organization, user},
    organizations::types::Organization,
};

/// A person who signs in.
#[derive(Clone)]
pub struct User(pub user::Model, Disclosure);

/// Who may read a user's `email` and `role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disclosure {
    /// The user themselves and MANAGER and up; an AGENT reads a coworker's name only
    /// (`Template.createdBy`, `Document.createdBy`, `Client.owner`, …).
    ByRole,
    /// The user of a sign-in payload (`register`, `login`, `refreshToken`): whoever holds their
    /// credentials, whatever token the request also carries.
    SigningIn,
}

impl User {
    /// A user as another caller reads them.
    pub fn new(model: user::Model) -> Self {
        User(model, Disclosure::ByRole)
    }

    /// The user who is signing in.
    pub fn signing_in(model: user::Model) -> Self {
        User(model, Disclosure::SigningIn)
    }

    /// `FORBIDDEN` when an AGENT reads another user's account details. The fields stay
    /// non-null, so the refused user reads as null where it hangs (every such field is nullable).
    fn disclose(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if self.1 == Disclosure::SigningIn {
            return Ok(());
        }
        let principal = ctx.principal()?;
        if principal.user_id == self.0.id || principal.role >= Role::Manager {
            Ok(())
        } else {
            Err(AppError::Forbidden("an agent reads other users' names only".into()).into())
        }
    }
}

#[Object]
impl User {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("User", self.0.id)
    }
    /// Sign-in e-mail, unique across the platform. `FORBIDDEN` to an AGENT reading another user.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        self.disclose(ctx)?;
        Ok(&self.0.email)
    }
    /// The person's name.
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    /// What the user may do. `FORBIDDEN` to an AGENT reading another user.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        self.disclose(ctx)?;
        Ok(Role::parse(&self.0.role).unwrap_or(Role::Agent))
    }
    /// False once deactivated: a deactivated user cannot sign in and their tokens stop working.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the account was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The organization the user belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        if let Ok(loaders) = ctx.loaders() {
            let loaded = loaders.organizations.load_one(self.0.organization_id).await.map_err(loader_error)?;
            return Ok(loaded.map(Organization));
        }
        // Signing in (register, login, refresh): the user is the caller, reading their own organization.
        let org = organization::Entity::find_by_id(self.0.organization_id)
            .one(&ctx.state().db)
            .await
            .map_err(AppError::from)?;
        Ok(org.map(Organization))
    }
}

/// Creates a user in the caller's organization (ADMIN).
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub full_name: String,
    /// At least 10 characters, and not the e-mail address.
    pub password: String,
    /// AGENT, MANAGER or ADMIN (SUPERADMIN is created only by the command line).
    #[graphql(default_with = "Role::Agent")]
    pub role: Role,
}

/// Changes a user: the fields given are set, the others kept.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub role: Option<Role>,
}

/// Narrows the list of users.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Case-insensitive text in the e-mail or name.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// What users can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserOrderField {
    Email,
    FullName,
    CreatedAt,
}

/// One sort key for users.
#[derive(InputObject)]
pub struct UserOrder {
    pub field: UserOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}
