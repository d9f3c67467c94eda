//! Company queries and mutations.

use async_graphql::{Context, ID, Object, Result};

use super::{
    service,
    types::{Company, CompanyFilter, CompanyOrder, CreateCompanyInput, UpdateCompanyInput},
};
use serde_json::json;

use crate::graphql::direct::Direct;
use crate::{
    audit::service::Audited,
    principal::Role,
    graphql::{context::ContextExt, ids, pagination::{Page, PageArgs, paginate_fast}},
    entities::company,
    scope,
};

#[derive(Default)]
pub struct CompanyQuery;

#[Object]
impl CompanyQuery {
    /// The insurers of the caller's organization. Everyone signed in may read them.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn companies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CompanyFilter>,
        order_by: Option<Vec<CompanyOrder>>,
    ) -> Result<Page<Direct<Company>>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter, order_by);
        Ok(paginate_fast(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), |row| Direct(Company(row))).await?)
    }

    /// One insurer by ID (`NOT_FOUND` outside the caller's organization).
    async fn company(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Company>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Company")?;
        let m = scope::one(&ctx.state().db, scope::companies(p), company::Column::Id, key, "Company").await?;
        Ok(Some(Company(m)))
    }
}

#[derive(Default)]
pub struct CompanyMutation;

#[Object]
impl CompanyMutation {
    /// Adds an insurer (MANAGER and up). A code already used in the organization is a `CONFLICT`.
    async fn create_company(&self, ctx: &Context<'_>, input: CreateCompanyInput) -> Result<Company> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let tx = Audited::begin(ctx).await?;
        let m = service::create(tx.db(), p, input).await?;
        tx.commit("company.create", Some(("Company", m.id)), json!({"name": m.name, "code": m.code})).await?;
        Ok(Company(m))
    }

    /// Changes an insurer (MANAGER and up).
    async fn update_company(&self, ctx: &Context<'_>, input: UpdateCompanyInput) -> Result<Company> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let tx = Audited::begin(ctx).await?;
        let m = service::update(tx.db(), p, input).await?;
        tx.commit("company.update", Some(("Company", m.id)), json!({"name": m.name, "code": m.code})).await?;
        Ok(Company(m))
    }

    /// Deletes an insurer that has no policies (MANAGER and up); one with policies is a `CONFLICT`.
    async fn delete_company(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let key = ids::decode(&id, "Company")?;
        let tx = Audited::begin(ctx).await?;
        service::delete(tx.db(), p, key).await?;
        tx.commit("company.delete", Some(("Company", key)), json!({})).await?;
        Ok(true)
    }
}
