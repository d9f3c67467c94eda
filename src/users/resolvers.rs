//! User queries and mutations.

use async_graphql::{Context, ID, Object, Result};

use super::{
    service,
    types::{CreateUserInput, UpdateUserInput, User, UserFilter, UserOrder},
};
use serde_json::json;

use crate::{
    audit::service::Audited,
    auth::service as auth,
    principal::Role,
    graphql::{context::ContextExt, ids, pagination::{Page, PageArgs, paginate}},
    entities::user,
    scope,
};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let p = ctx.principal()?;
        Ok(User::new(scope::one(&ctx.state().db, scope::users(p), user::Column::Id, p.user_id, "User").await?))
    }

    /// The users of the organization (ADMIN).
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UserFilter>,
        order_by: Option<Vec<UserOrder>>,
    ) -> Result<Page<User>> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let q = service::list(p, filter, order_by);
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), User::new).await?)
    }

    /// One user by ID (ADMIN, or the user themselves).
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "User")?;
        if key != p.user_id {
            p.require(Role::Admin)?;
        }
        Ok(Some(User::new(scope::one(&ctx.state().db, scope::users(p), user::Column::Id, key, "User").await?)))
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user in the caller's organization (ADMIN).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let tx = Audited::begin(ctx).await?;
        let m = service::create(tx.db(), p, input).await?;
        tx.commit("user.create", Some(("User", m.id)), json!({"email": m.email, "role": m.role})).await?;
        Ok(User::new(m))
    }

    /// Changes a user's e-mail, name or role (ADMIN).
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<User> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let tx = Audited::begin(ctx).await?;
        let before = ids::decode(&input.id, "User")?;
        let m = service::update(tx.db(), p, input).await?;
        tx.commit("user.update", Some(("User", before)), json!({"email": m.email, "role": m.role})).await?;
        // A role change applies to live tokens at once.
        auth::forget_cached_sessions(ctx.state(), m.id).await?;
        Ok(User::new(m))
    }

    /// Deactivates a user (ADMIN): they cannot sign in, and their tokens stop working at once.
    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let key = ids::decode(&id, "User")?;
        let tx = Audited::begin(ctx).await?;
        let m = service::deactivate(tx.db(), p, key).await?;
        tx.commit("user.deactivate", Some(("User", m.id)), json!({"email": m.email})).await?;
        auth::forget_cached_sessions(ctx.state(), m.id).await?;
        Ok(true)
    }
}
