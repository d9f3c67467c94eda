//! `policies`: a client's contract with a company; `number` is unique per organization.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub number: String,
    pub client_id: Uuid,
    pub company_id: Uuid,
    pub product_name: String,
    pub product_type: String,
    pub status: String,
    /// The premium in the currency's minor unit (`net_premium + fees + taxes`).
    pub premium_minor: i64,
    pub net_premium_minor: i64,
    pub fees_minor: i64,
    pub taxes_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub effective_date: Date,
    pub expiry_date: Date,
    /// jsonb on PostgreSQL, text on SQLite.
    #[sea_orm(column_type = "JsonBinary")]
    pub coverage: Json,
    pub created_by: Option<Uuid>,
    /// The policy this one renews (at most one renewal per policy).
    pub previous_policy_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
