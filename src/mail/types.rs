//! GraphQL types of mail: `Message` (never its body), its kind and status, the list filter and
//! the `sendDocument` input.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    documents::types::Document,
    entities::{document, outbox},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        ids,
        loaders::{RequestLoader, loader_error},
    },
    principal::Principal,
    scope,
};

/// Why a message was written.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A password-reset code (its body is erased once sent).
    PasswordReset,
    /// A document sent by a user (`sendDocument`).
    Document,
    /// An alert (expiry, instalment).
    Alert,
    /// A scheduled report.
    Report,
    /// A declaration batch sent to an insurer.
    Declaration,
}

impl MessageKind {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::PasswordReset => "PASSWORD_RESET",
            MessageKind::Document => "DOCUMENT",
            MessageKind::Alert => "ALERT",
            MessageKind::Report => "REPORT",
            MessageKind::Declaration => "DECLARATION",
        }
    }

    pub fn parse(text: &str) -> AppResult<MessageKind> {
        Ok(match text {
            "PASSWORD_RESET" => MessageKind::PasswordReset,
            "DOCUMENT" => MessageKind::Document,
            "ALERT" => MessageKind::Alert,
            "REPORT" => MessageKind::Report,
            "DECLARATION" => MessageKind::Declaration,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown message kind {other:?}"))),
        })
    }
}

/// Where a message is: PENDING → SENT, or FAILED (after its attempts, or refused for good);
/// `retryMessage` puts a FAILED one back to PENDING.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// Waiting for a worker (or for its next attempt, after a temporary failure).
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good, or still failing after its attempts: `lastError` says why.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "PENDING",
            MessageStatus::Sent => "SENT",
            MessageStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> AppResult<MessageStatus> {
        Ok(match text {
            "PENDING" => MessageStatus::Pending,
            "SENT" => MessageStatus::Sent,
            "FAILED" => MessageStatus::Failed,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown message status {other:?}"))),
        })
    }
}

/// An e-mail the service sends (its body is never answered).
pub struct Message(pub outbox::Model);

#[Object]
impl Message {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Message", self.0.id)
    }
    /// Why it was written.
    async fn kind(&self) -> async_graphql::Result<MessageKind> {
        Ok(MessageKind::parse(&self.0.kind)?)
    }
    /// The addresses it goes to, comma-separated.
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    /// Its subject.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// Where it is.
    async fn status(&self) -> async_graphql::Result<MessageStatus> {
        Ok(MessageStatus::parse(&self.0.status)?)
    }
    /// Delivery attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The last failure: the SMTP server's answer (`451 …`, `550 …`) or what went wrong on the
    /// way to it. Kept after a later attempt succeeds.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The document attached, when it still exists and the caller may read it.
    async fn document(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Document>> {
        let Some(id) = self.0.document_id else { return Ok(None) };
        let found = ctx.loaders()?.get::<AttachedDocuments>().load_one(id).await.map_err(loader_error)?;
        Ok(found.map(Document))
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the SMTP server accepted it.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}

/// The documents of a page of messages (those the caller may read) in one statement.
pub struct AttachedDocuments {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for AttachedDocuments {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        AttachedDocuments { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for AttachedDocuments {
    type Value = document::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = scope::by_ids(scope::documents(&self.principal), document::Column::Id, keys)
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Narrows the list of messages. All the criteria given must hold.
#[derive(InputObject, Default)]
pub struct MessageFilter {
    /// Only messages in this status.
    pub status: Option<MessageStatus>,
    /// Only messages of this kind.
    pub kind: Option<MessageKind>,
    /// Only messages whose recipients contain this text (case-insensitive: an address or a part of one).
    pub recipient: Option<String>,
    /// Only messages queued at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages queued at or before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Mails a stored document to one or more addresses, as one message.
#[derive(InputObject)]
pub struct SendDocumentInput {
    /// The document to attach (one the caller may read).
    pub document_id: ID,
    /// The addresses (1 to 20), all in the one message.
    pub to: Vec<String>,
    /// The subject (at most 200 characters).
    pub subject: String,
    /// The text of the message (at most 10,000 characters); the file's name and the sender are added below it.
    pub body: String,
}
