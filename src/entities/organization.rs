//! `organizations`: the tenants.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    /// IANA time zone: what "today" is for the organization's alerts (default `Africa/Douala`).
    pub timezone: String,
    /// Instalments due before this day are not marked OVERDUE nor alerted about (their premiums
    /// were collected before payments were recorded here); null: every instalment.
    pub payments_tracked_from: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
