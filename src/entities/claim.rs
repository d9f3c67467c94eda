//! `claims`: a client's claim on a policy; `number` (`CLM-<year>-<5 digits>`) is unique per organization.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub number: String,
    pub policy_id: Uuid,
    /// The policy's client when the claim was made (kept for scoping and search).
    pub client_id: Uuid,
    pub status: String,
    pub incident_date: Date,
    pub reported_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub insurer_reference: Option<String>,
    /// In the currency's minor unit (`crate::currency`).
    pub amount_claimed_minor: i64,
    pub amount_settled_minor: Option<i64>,
    /// ISO 4217 code, the policy's.
    pub currency: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
