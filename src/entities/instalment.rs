//! `instalments`: a share of a policy's premium due on a day; `(policy_id, due_date)` is unique.
//! A policy without rows has one implicit instalment, the whole premium on its effective date
//! (materialised with the policy's id as its own when first needed).
use sea_orm::entity::prelude::*;

/// The stored status of an instalment past its due date and not fully paid.
pub const STATUS_OVERDUE: &str = "OVERDUE";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instalments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub policy_id: Uuid,
    pub due_date: Date,
    /// In the policy currency's minor unit.
    pub amount_minor: i64,
    /// What the policy's payments, oldest instalment first, cover of it.
    pub paid_minor: i64,
    /// `DUE`, `PARTIAL`, `PAID` or `OVERDUE`.
    pub status: String,
    /// False for the default single instalment.
    pub planned: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
