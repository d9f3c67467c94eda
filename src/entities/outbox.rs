//! `outbox`: the mail queue. Workers claim due `PENDING` messages with a lease and send them over
//! SMTP (`mail::worker`); `body` is the text alternative, `html_body` the HTML one.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Null for messages queued before mail delivery existed.
    pub organization_id: Option<Uuid>,
    /// `PASSWORD_RESET`, `DOCUMENT`, `ALERT`, `REPORT` or `DECLARATION`.
    pub kind: String,
    /// The addresses, comma-separated.
    pub recipient: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub html_body: Option<String>,
    /// `PENDING`, `SENT` or `FAILED`.
    pub status: String,
    /// Delivery attempts made (each claim counts one).
    pub attempts: i32,
    /// Not claimed before this time (a retry's backoff).
    pub next_attempt_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The document attached, if any.
    pub document_id: Option<Uuid>,
    pub lease_owner: Option<String>,
    pub leased_until: Option<DateTimeUtc>,
    /// `fr` or `en`: the language the message was written in.
    pub locale: String,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
