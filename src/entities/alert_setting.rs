//! `alert_settings`: an organization's alert thresholds and recipients (absent: the defaults).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// A JSON array of whole days before a policy's expiry, e.g. `[30, 7]`.
    #[sea_orm(column_type = "JsonBinary")]
    pub expiry_days_before: Json,
    /// A JSON array of whole days before an instalment is due, e.g. `[7]`.
    #[sea_orm(column_type = "JsonBinary")]
    pub instalment_days_before: Json,
    pub email_owner: bool,
    pub email_client: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
