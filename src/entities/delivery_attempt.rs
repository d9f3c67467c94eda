//! `delivery_attempts`: every attempt at a webhook delivery, its outcome and the insurer's answer.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub organization_id: Uuid,
    /// The delivery's subject (a declaration batch), copied so a batch's attempts are one lookup.
    pub subject_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// This attempt's outcome: `DELIVERED` (a 2xx) or `FAILED` (a retry may follow; the delivery's
    /// own status says whether it did).
    pub status: String,
    /// The HTTP status answered, if an answer came.
    pub http_status: Option<i32>,
    /// Why it failed, truncated.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub duration_ms: i32,
    /// When the attempt started.
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
