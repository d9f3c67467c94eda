//! `jobs`: a durable generation job; the row is the truth, the queue only wakes workers.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub kind: String,
    pub status: String,
    pub template_id: Uuid,
    pub template_version_id: Uuid,
    pub format: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub params: Json,
    pub total: i32,
    pub done: i32,
    pub failed: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// Turns taken over from a worker that stopped or lost the job, since its last recorded item
    /// (`JOB_MAX_ATTEMPTS` caps them).
    pub attempts: i32,
    pub idempotency_key: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub heartbeat_at: Option<DateTimeUtc>,
    /// When the job's next turn comes: workers take the organization whose last turn is oldest,
    /// then its job whose turn is oldest (fairness).
    pub turn_at: DateTimeUtc,
    pub cancel_requested: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
