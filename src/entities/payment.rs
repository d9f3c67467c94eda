//! `payments`: money received on a policy, in its currency's minor unit; reversed, it keeps its
//! row (`reversed_at`) and no longer counts.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub policy_id: Uuid,
    pub amount_minor: i64,
    /// ISO 4217 code, the policy's when it was recorded.
    pub currency: String,
    /// `CASH`, `TRANSFER`, `CHEQUE`, `MOBILE_MONEY` or `CARD`.
    pub method: String,
    pub reference: Option<String>,
    pub paid_at: DateTimeUtc,
    pub reversed_at: Option<DateTimeUtc>,
    pub reversed_by: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
