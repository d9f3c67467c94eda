//! Audit queries.

use async_graphql::{Context, Object, Result};

use super::{
    service,
    types::{AuditLog, AuditLogFilter},
};
use crate::{
    principal::Role,
    graphql::{context::ContextExt, pagination::{Page, PageArgs, paginate}},
};

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organization's audit trail, newest first (MANAGER and up). Also as CSV: `GET /audit-logs.csv`.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn audit_logs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AuditLogFilter>,
    ) -> Result<Page<AuditLog>> {
        let p = ctx.principal()?;
        p.require(Role::Manager)?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), AuditLog).await?)
    }
}
