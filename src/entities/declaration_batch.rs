//! `declaration_batches`: a bordereau — what the broker declares to one insurer for a period.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "declaration_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub company_id: Uuid,
    pub period_start: Date,
    pub period_end: Date,
    /// ISO 4217 code of every amount (only policies in this currency are declared).
    pub currency: String,
    /// `DRAFT` or `SENT` (`FAILED` is read from the deliveries).
    pub status: String,
    pub item_count: i32,
    pub total_premium_minor: i64,
    pub total_commission_minor: i64,
    pub template_id: Uuid,
    /// The job rendering the document.
    pub job_id: Option<Uuid>,
    /// The `DECLARATION` message, once sent.
    pub message_id: Option<Uuid>,
    /// The webhook delivery, once sent to an insurer with an integration.
    pub delivery_id: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
