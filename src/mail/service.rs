//! Mail over `scope::messages`: queueing a message (any domain's, in its transaction), the
//! filtered list, `retryMessage` and `sendDocument`.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select, Set, sea_query::Expr};
use uuid::Uuid;

use super::{
    templates::{self, Locale, Rendered},
    types::{MessageFilter, MessageKind, MessageStatus, SendDocumentInput},
};
use crate::{
    entities::{document, outbox, user},
    error::{AppError, AppResult},
    graphql::{
        ids,
        validation::{Email, required_text},
    },
    principal::Principal,
    scope,
    state::AppState,
    text::{ilike, like_pattern},
};

/// Most addresses one message goes to.
pub const MAX_RECIPIENTS: usize = 20;
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 10_000;

/// A message to queue.
pub struct Outgoing {
    /// Null only for a message nobody's organization owns (none today).
    pub organization_id: Option<Uuid>,
    pub kind: MessageKind,
    /// Valid addresses, at least one.
    pub recipients: Vec<String>,
    pub rendered: Rendered,
    pub document_id: Option<Uuid>,
    pub locale: Locale,
}

/// Queues a message in the caller's transaction; after the commit, [`queued`] wakes the senders.
pub async fn enqueue(db: &impl ConnectionTrait, outgoing: Outgoing) -> AppResult<outbox::Model> {
    Ok(row(outgoing, Utc::now()).insert(db).await?)
}

/// Queues many messages in the caller's transaction, a few statements for any number (SQLite
/// takes at most 32,766 bound values: 17 per message).
pub async fn enqueue_many(db: &impl ConnectionTrait, messages: Vec<Outgoing>) -> AppResult<usize> {
    let count = messages.len();
    let now = Utc::now();
    let rows: Vec<outbox::ActiveModel> = messages.into_iter().map(|outgoing| row(outgoing, now)).collect();
    for chunk in rows.chunks(1_000) {
        outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(count)
}

/// The outbox row of a message queued at `now`, due at once.
fn row(outgoing: Outgoing, now: chrono::DateTime<Utc>) -> outbox::ActiveModel {
    outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(outgoing.organization_id),
        kind: Set(outgoing.kind.as_str().into()),
        recipient: Set(outgoing.recipients.join(", ")),
        subject: Set(outgoing.rendered.subject),
        body: Set(outgoing.rendered.text),
        html_body: Set(Some(outgoing.rendered.html)),
        status: Set(MessageStatus::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_error: Set(None),
        document_id: Set(outgoing.document_id),
        lease_owner: Set(None),
        leased_until: Set(None),
        locale: Set(outgoing.locale.as_str().into()),
        created_at: Set(now),
        sent_at: Set(None),
    }
}

/// Once the message's transaction committed: wake a sender, or say in the log that none will
/// send it (`SMTP_URL` unset, development).
pub fn queued(state: &AppState, message: &outbox::Model) {
    if state.settings.mail.smtp.is_some() {
        state.wake_mailers();
    } else {
        tracing::info!(
            message = %message.id,
            kind = %message.kind,
            recipient = %message.recipient,
            subject = %message.subject,
            "message queued; SMTP_URL is unset, so it stays PENDING"
        );
    }
}

/// The organization's messages, filtered, newest first.
pub fn list(principal: &Principal, filter: Option<MessageFilter>) -> AppResult<Select<outbox::Entity>> {
    let f = filter.unwrap_or_default();
    let mut q = scope::messages(principal);
    if let Some(status) = f.status {
        q = q.filter(outbox::Column::Status.eq(status.as_str()));
    }
    if let Some(kind) = f.kind {
        q = q.filter(outbox::Column::Kind.eq(kind.as_str()));
    }
    if let Some(text) = f.recipient.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(ilike(outbox::Column::Recipient, &like_pattern(text)));
    }
    if let Some(from) = f.from {
        q = q.filter(outbox::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to {
        q = q.filter(outbox::Column::CreatedAt.lte(to));
    }
    Ok(q.order_by_desc(outbox::Column::CreatedAt).order_by_desc(outbox::Column::Id))
}

/// Puts a FAILED message back to PENDING, due now, its attempts counted afresh. Only a FAILED
/// one: the update is conditional, so of two concurrent retries one wins.
pub async fn retry(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> AppResult<outbox::Model> {
    let existing = scope::one(db, scope::messages(principal), outbox::Column::Id, id, "Message").await?;
    let not_failed = || AppError::invalid("id", "only a FAILED message can be retried");
    if existing.status != MessageStatus::Failed.as_str() {
        return Err(not_failed());
    }
    let updated = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Pending.as_str()))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(outbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(outbox::Column::LeasedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(MessageStatus::Failed.as_str()))
        .exec_with_returning(db)
        .await?;
    updated.into_iter().next().ok_or_else(not_failed)
}

/// Validates a `sendDocument` and queues its message: the document must be one the caller may
/// read; every address must be valid (`BAD_USER_INPUT` on `input.to`).
pub async fn send_document(db: &impl ConnectionTrait, principal: &Principal, input: SendDocumentInput, locale: Locale) -> AppResult<outbox::Model> {
    let document_id = ids::decode_input(&input.document_id, "Document", "input.documentId")?;
    if input.to.is_empty() {
        return Err(AppError::invalid("input.to", "give at least one address"));
    }
    if input.to.len() > MAX_RECIPIENTS {
        return Err(AppError::invalid("input.to", format!("at most {MAX_RECIPIENTS} addresses")));
    }
    let mut recipients: Vec<String> = Vec::with_capacity(input.to.len());
    for raw in &input.to {
        let address = Email::parse(raw, "input.to").map_err(|_| AppError::invalid("input.to", format!("`{}` is not a valid e-mail address", raw.trim())))?;
        if !recipients.iter().any(|r| r == address.as_str()) {
            recipients.push(address.into_inner());
        }
    }
    let subject = required_text(&input.subject, "input.subject", SUBJECT_MAX)?;
    if subject.contains(['\r', '\n']) {
        return Err(AppError::invalid("input.subject", "the subject is one line"));
    }
    let body = required_text(&input.body, "input.body", BODY_MAX)?;
    let doc = scope::one(db, scope::documents(principal), document::Column::Id, document_id, "Document").await?;
    let sender = user::Entity::find_by_id(principal.user_id).one(db).await?.map(|u| u.full_name).unwrap_or_default();
    let rendered = templates::document(locale, &subject, &body, &doc.file_name, &sender)?;
    enqueue(
        db,
        Outgoing {
            organization_id: Some(doc.organization_id),
            kind: MessageKind::Document,
            recipients,
            rendered,
            document_id: Some(doc.id),
            locale,
        },
    )
    .await
}
