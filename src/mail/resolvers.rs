//! Mail queries and mutations.

use async_graphql::{Context, ID, Object, Result};
use serde_json::json;

use super::{
    service,
    templates::Locale,
    types::{Message, MessageFilter, SendDocumentInput},
};
use crate::{
    audit::service::Audited,
    entities::outbox,
    graphql::{
        context::ContextExt,
        ids,
        pagination::{Page, PageArgs, paginate},
    },
    principal::Role,
};

#[derive(Default)]
pub struct MailQuery;

#[Object]
impl MailQuery {
    /// The organization's messages, newest first (ADMIN). Their bodies are never answered.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<MessageFilter>,
    ) -> Result<Page<Message>> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let q = service::list(p, filter)?;
        Ok(paginate(&ctx.state().db, q, PageArgs::new(first, after, last, before).counted(ctx), Message).await?)
    }
}

#[derive(Default)]
pub struct MailMutation;

#[Object]
impl MailMutation {
    /// Puts a `FAILED` message back to `PENDING`, its attempts counted afresh (ADMIN). Any other
    /// status is `BAD_USER_INPUT`.
    async fn retry_message(&self, ctx: &Context<'_>, id: ID) -> Result<Message> {
        let p = ctx.principal()?;
        p.require(Role::Admin)?;
        let key = ids::decode(&id, "Message")?;
        let tx = Audited::begin(ctx).await?;
        let row = service::retry(tx.db(), p, key).await?;
        tx.commit("message.retry", Some(("Message", row.id)), summary(&row)).await?;
        service::queued(ctx.state(), &row);
        Ok(Message(row))
    }

    /// Mails a document the caller may read to the addresses of `to`, as one message with the
    /// file attached under its `fileName` (an invalid address is `BAD_USER_INPUT` on `input.to`).
    /// Written in the language the request's `Accept-Language` prefers (French by default).
    async fn send_document(&self, ctx: &Context<'_>, input: SendDocumentInput) -> Result<Message> {
        let p = ctx.principal()?;
        let locale = Locale::from_accept_language(ctx.meta().accept_language.as_deref());
        let tx = Audited::begin(ctx).await?;
        let row = service::send_document(tx.db(), p, input, locale).await?;
        let mut metadata = summary(&row);
        metadata["documentId"] = json!(row.document_id.map(|id| ids::encode("Document", id).to_string()));
        tx.commit("message.send_document", Some(("Message", row.id)), metadata).await?;
        service::queued(ctx.state(), &row);
        Ok(Message(row))
    }
}

/// What the audit trail keeps of a message (never its body).
fn summary(row: &outbox::Model) -> serde_json::Value {
    json!({"kind": row.kind, "recipient": row.recipient, "subject": row.subject, "status": row.status})
}
