//! `report_schedules`: a REPORT template run by cron, as its creator, mailed to recipients.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub template_id: Uuid,
    /// A `PolicyFilter` as JSON.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub filter: Option<Json>,
    pub cron: String,
    pub timezone: String,
    /// A JSON array of e-mail addresses.
    #[sea_orm(column_type = "JsonBinary")]
    pub recipients: Json,
    pub is_active: bool,
    pub last_run_at: Option<DateTimeUtc>,
    pub next_run_at: Option<DateTimeUtc>,
    pub last_job_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
