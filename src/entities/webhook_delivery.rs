//! `webhook_deliveries`: the integrations' queue. One row per delivery (its id is the
//! `X-MonAssurance-Delivery` header, kept across retries); workers claim due `PENDING` rows with a
//! lease and POST `body` to the company's endpoint (`integrations::worker`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub company_id: Uuid,
    /// `X-MonAssurance-Event`, e.g. `declaration.sent`.
    pub event: String,
    /// What the delivery is about (a declaration batch): `attempts_for` lists by it.
    pub subject_id: Uuid,
    /// The JSON body, serialised once at enqueue so every attempt sends (and signs) the same bytes.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// `PENDING`, `DELIVERED` or `FAILED`.
    pub status: String,
    /// Attempts made (each claim counts one).
    pub attempts: i32,
    /// Not claimed before this time (a retry's backoff).
    pub next_attempt_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub leased_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
