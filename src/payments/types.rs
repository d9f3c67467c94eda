//! GraphQL types of instalments and payments, and how they load per page of policies.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

use crate::{
    currency::Money,
    entities::{instalment, payment, policy},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        ids,
        loaders::{RequestLoader, loader_error},
        pagination::{Page, PageArgs},
        per_parent::{self, Children},
        scalars::Date,
    },
    policies::types::Policy,
    principal::Principal,
    scope,
    users::types::User,
};

/// Where an instalment is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InstalmentStatus {
    /// Not yet due, nothing paid.
    Due,
    /// Not yet due, part paid.
    Partial,
    /// Paid in full.
    Paid,
    /// Past its due date (in the organization's time zone) and not paid in full.
    Overdue,
}

impl InstalmentStatus {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InstalmentStatus::Due => "DUE",
            InstalmentStatus::Partial => "PARTIAL",
            InstalmentStatus::Paid => "PAID",
            InstalmentStatus::Overdue => instalment::STATUS_OVERDUE,
        }
    }

    pub fn parse(text: &str) -> AppResult<InstalmentStatus> {
        Ok(match text {
            "DUE" => InstalmentStatus::Due,
            "PARTIAL" => InstalmentStatus::Partial,
            "PAID" => InstalmentStatus::Paid,
            instalment::STATUS_OVERDUE => InstalmentStatus::Overdue,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown instalment status {other:?}"))),
        })
    }
}

/// How a payment was made.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PaymentMethod {
    /// Cash at the counter.
    Cash,
    /// Bank transfer.
    Transfer,
    /// Cheque.
    Cheque,
    /// Mobile money (MTN MoMo, Orange Money…).
    MobileMoney,
    /// Bank card.
    Card,
}

impl PaymentMethod {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "CASH",
            PaymentMethod::Transfer => "TRANSFER",
            PaymentMethod::Cheque => "CHEQUE",
            PaymentMethod::MobileMoney => "MOBILE_MONEY",
            PaymentMethod::Card => "CARD",
        }
    }

    pub fn parse(text: &str) -> AppResult<PaymentMethod> {
        Ok(match text {
            "CASH" => PaymentMethod::Cash,
            "TRANSFER" => PaymentMethod::Transfer,
            "CHEQUE" => PaymentMethod::Cheque,
            "MOBILE_MONEY" => PaymentMethod::MobileMoney,
            "CARD" => PaymentMethod::Card,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown payment method {other:?}"))),
        })
    }
}

/// A share of a policy's premium due on a day. Without a plan, a policy has one: the whole
/// premium, due on its effective date (its ID then stays the same once a payment is recorded).
pub struct Instalment {
    pub row: instalment::Model,
    /// The policy's currency, the amounts'.
    pub currency: String,
}

#[Object]
impl Instalment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Instalment", self.row.id)
    }
    /// The day it is due.
    async fn due_date(&self) -> Date {
        Date(self.row.due_date)
    }
    /// What is due, exact in the currency's minor unit.
    async fn amount(&self) -> Decimal {
        Money::to_decimal(self.row.amount_minor, &self.currency)
    }
    /// What the policy's payments cover of it (oldest instalment first).
    async fn paid(&self) -> Decimal {
        Money::to_decimal(self.row.paid_minor, &self.currency)
    }
    /// Where it is. `OVERDUE` is set by the scheduler (or by a payment or reversal) once the due
    /// date has passed in the organization's time zone.
    async fn status(&self) -> async_graphql::Result<InstalmentStatus> {
        Ok(InstalmentStatus::parse(&self.row.status)?)
    }
}

/// Money received on a policy.
pub struct Payment(pub payment::Model);

#[Object]
impl Payment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Payment", self.0.id)
    }
    /// The policy paid.
    async fn policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        let found = ctx.loaders()?.policies.load_one(self.0.policy_id).await.map_err(loader_error)?;
        Ok(found.map(Policy))
    }
    /// The amount received, exact in the currency's minor unit.
    async fn amount(&self) -> Decimal {
        Money::to_decimal(self.0.amount_minor, &self.0.currency)
    }
    /// ISO 4217 code of the amount (the policy's).
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// How it was paid.
    async fn method(&self) -> async_graphql::Result<PaymentMethod> {
        Ok(PaymentMethod::parse(&self.0.method)?)
    }
    /// The receipt, transfer or cheque number, when one was given.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
    /// When the money was received.
    async fn paid_at(&self) -> DateTime<Utc> {
        self.0.paid_at
    }
    /// When it was reversed (it then no longer counts), or null.
    async fn reversed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reversed_at
    }
    /// Who recorded it (null once that user is deleted).
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One instalment of a plan.
#[derive(InputObject)]
pub struct InstalmentInput {
    /// The day it is due (each instalment of a plan on its own day).
    pub due_date: Date,
    /// What is due: positive, rounded half-even to the currency's minor unit.
    pub amount: Decimal,
}

/// Splits a policy's premium into instalments.
#[derive(InputObject)]
pub struct SetInstalmentPlanInput {
    /// The policy (one the caller may write).
    pub policy_id: ID,
    /// 1 to 120 instalments on distinct days whose amounts sum exactly to the premium.
    pub instalments: Vec<InstalmentInput>,
}

/// Money received on a policy.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The policy paid (one the caller may write).
    pub policy_id: ID,
    /// The amount, in the policy's currency: positive, rounded half-even to its minor unit, at most the balance.
    pub amount: Decimal,
    /// How it was paid.
    pub method: PaymentMethod,
    /// The receipt, transfer or cheque number (at most 100 characters).
    pub reference: Option<String>,
    /// When the money was received (default: now; not in the future).
    pub paid_at: Option<DateTime<Utc>>,
}

/// Which list of payments hangs from a parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentParent {
    Policy,
}

/// Payments listed under their policy (`Policy.payments`), newest first.
pub struct PaymentsOf;

impl Children for PaymentsOf {
    type Entity = payment::Entity;
    type Parent = PaymentParent;

    fn scoped(principal: &Principal) -> Select<payment::Entity> {
        scope::payments(principal)
    }
    fn column(parent: PaymentParent) -> payment::Column {
        match parent {
            PaymentParent::Policy => payment::Column::PolicyId,
        }
    }
    fn parent_of(row: &payment::Model, parent: PaymentParent) -> Option<Uuid> {
        match parent {
            PaymentParent::Policy => Some(row.policy_id),
        }
    }
    fn order_columns() -> (payment::Column, payment::Column) {
        (payment::Column::CreatedAt, payment::Column::Id)
    }
}

/// The instalment rows of many policies (that the caller may read) in one statement, by due date.
pub struct InstalmentRows {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for InstalmentRows {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        InstalmentRows { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for InstalmentRows {
    type Value = Vec<instalment::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = scope::instalments(&self.principal)
            .filter(instalment::Column::PolicyId.is_in(keys.iter().copied()))
            .order_by_asc(instalment::Column::PolicyId)
            .order_by_asc(instalment::Column::DueDate)
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        let mut out: HashMap<Uuid, Vec<instalment::Model>> = HashMap::new();
        for row in rows {
            out.entry(row.policy_id).or_default().push(row);
        }
        Ok(out)
    }
}

/// The implicit instalment of a policy without a plan: the whole premium on the effective date,
/// under the policy's own id (the id its row gets when it is written).
pub fn default_instalment(policy_row: &policy::Model) -> instalment::Model {
    instalment::Model {
        id: policy_row.id,
        organization_id: policy_row.organization_id,
        policy_id: policy_row.id,
        due_date: policy_row.effective_date,
        amount_minor: policy_row.premium_minor,
        paid_minor: 0,
        status: InstalmentStatus::Due.as_str().to_string(),
        planned: false,
        created_at: policy_row.created_at,
        updated_at: policy_row.updated_at,
    }
}

/// A policy's instalments by due date, through the request's batch loader.
async fn rows_of(ctx: &Context<'_>, policy_row: &policy::Model) -> async_graphql::Result<Vec<instalment::Model>> {
    let mut rows = ctx.loaders()?.get::<InstalmentRows>().load_one(policy_row.id).await.map_err(loader_error)?.unwrap_or_default();
    if rows.is_empty() {
        return Ok(vec![default_instalment(policy_row)]);
    }
    // The implicit instalment is always the premium on the effective date (its row may predate a change).
    for row in rows.iter_mut().filter(|row| !row.planned) {
        row.amount_minor = policy_row.premium_minor;
        row.due_date = policy_row.effective_date;
    }
    Ok(rows)
}

/// `Policy.instalments`.
pub async fn instalments_of(ctx: &Context<'_>, policy_row: &policy::Model) -> async_graphql::Result<Vec<Instalment>> {
    let rows = rows_of(ctx, policy_row).await?;
    Ok(rows.into_iter().map(|row| Instalment { row, currency: policy_row.currency.clone() }).collect())
}

/// `Policy.paid`, in minor units: what the payments not reversed cover (the instalments' `paid`,
/// which every payment and reversal allocates again under the policy's lock).
pub async fn paid_of(ctx: &Context<'_>, policy_row: &policy::Model) -> async_graphql::Result<i64> {
    Ok(rows_of(ctx, policy_row).await?.iter().map(|row| row.paid_minor).sum())
}

/// `Policy.payments`.
pub async fn payments_of(ctx: &Context<'_>, policy_row: &policy::Model, args: PageArgs) -> async_graphql::Result<Page<Payment>> {
    per_parent::connection::<PaymentsOf, _>(ctx, PaymentParent::Policy, policy_row.id, args, Payment).await
}

/// Loads what the current page of policies selects of their money (`payments`; `instalments`,
/// `paid` or `balance`) for all of `policies` at once.
pub async fn prefetch(ctx: &Context<'_>, policies: &[Uuid]) -> async_graphql::Result<()> {
    let payments = per_parent::prefetch::<PaymentsOf>(ctx, "payments", PaymentParent::Policy, policies);
    let instalments = async {
        let look = ctx.look_ahead();
        let wants = ["instalments", "paid", "balance"]
            .iter()
            .any(|field| look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists());
        if wants && !policies.is_empty() {
            ctx.loaders()?.get::<InstalmentRows>().load_many(policies.iter().copied()).await.map_err(loader_error)?;
        }
        Ok::<_, async_graphql::Error>(())
    };
    let (payments, instalments) = futures_util::join!(payments, instalments);
    payments.and(instalments)
}
