//! `attachments`: files uploaded to a client, a policy or a claim; stored by content address.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `CLIENT`, `POLICY` or `CLAIM`: which of the owner columns names the owner.
    pub owner_kind: String,
    /// The owner's client (the owner itself for a client's attachment).
    pub client_id: Uuid,
    /// The owner's policy (a policy's or a claim's attachment).
    pub policy_id: Option<Uuid>,
    pub claim_id: Option<Uuid>,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub label: Option<String>,
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
