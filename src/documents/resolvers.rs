//! Document queries and mutations.

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    types::{Document, DocumentFilter, PurgeResult},
};
use crate::{
    audit::service::Audited,
    principal::Role,
    graphql::{context::ContextExt, ids, pagination::{Page, PageArgs, paginate}},
    entities::document,
    scope,
};

#[derive(Default)]
pub struct DocumentQuery;

#[Object]
impl DocumentQuery {
    /// The documents the caller may read (an AGENT's own clients' and the ones they generated), newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DocumentFilter>,
    ) -> Result<Page<Document>> {
        let p = ctx.principal()?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Document).await?)
    }

    /// One document by ID.
    async fn document(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Document>> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Document")?;
        Ok(Some(Document(scope::one(&ctx.state().db, scope::documents(p), document::Column::Id, key, "Document").await?)))
    }
}

#[derive(Default)]
pub struct DocumentMutation;

#[Object]
impl DocumentMutation {
    /// Deletes a document the caller may read. Its stored file goes with the next `purgeOrphanFiles`.
    async fn delete_document(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let p = ctx.principal()?;
        let key = ids::decode(&id, "Document")?;
        let tx = Audited::begin(ctx).await?;
        let d = service::delete(tx.db(), p, key).await?;
        tx.commit("document.delete", Some(("Document", d.id)), json!({"fileName": d.file_name})).await?;
        Ok(true)
    }

    /// Removes stored files no document refers to, and documents whose file is gone (ADMIN: the
    /// organization's; SUPERADMIN: every organization's).
    async fn purge_orphan_files(&self, ctx: &Context<'_>) -> Result<PurgeResult> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        Ok(service::purge_orphans(ctx.state(), p, &ctx.actor()?).await?)
    }
}
