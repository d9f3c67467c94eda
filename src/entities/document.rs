//! `documents`: generated files; at most one per job item, stored by content address.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub job_id: Option<Uuid>,
    #[sea_orm(unique)]
    pub job_item_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    pub template_version_id: Option<Uuid>,
    pub policy_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub file_name: String,
    pub format: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub stored_bytes: i64,
    pub compressed: bool,
    pub encrypted: bool,
    pub kid: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
