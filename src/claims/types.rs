//! GraphQL types of claims, and how claims and their events load per page of parents.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select};
use uuid::Uuid;

use crate::{
    currency::Money,
    attachments::{
        service::OwnerKind,
        types::{Attachment, AttachmentsOf},
    },
    clients::types::Client,
    entities::{claim, claim_event},
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

/// Where a claim is: REPORTED → SUBMITTED → UNDER_REVIEW → APPROVED | REJECTED; APPROVED → SETTLED;
/// SETTLED | REJECTED → CLOSED (final).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClaimStatus {
    /// Declared by the client to the broker. Can become `SUBMITTED`.
    Reported,
    /// Sent to the insurer. Can become `UNDER_REVIEW`.
    Submitted,
    /// The insurer is assessing it. Can become `APPROVED` or `REJECTED`.
    UnderReview,
    /// Accepted by the insurer. Can become `SETTLED`.
    Approved,
    /// Refused by the insurer. Can become `CLOSED`.
    Rejected,
    /// Paid (`amountSettled`). Can become `CLOSED`.
    Settled,
    /// Filed away (final).
    Closed,
}

impl ClaimStatus {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Reported => "REPORTED",
            ClaimStatus::Submitted => "SUBMITTED",
            ClaimStatus::UnderReview => "UNDER_REVIEW",
            ClaimStatus::Approved => "APPROVED",
            ClaimStatus::Rejected => "REJECTED",
            ClaimStatus::Settled => "SETTLED",
            ClaimStatus::Closed => "CLOSED",
        }
    }

    pub fn parse(text: &str) -> AppResult<ClaimStatus> {
        Ok(match text {
            "REPORTED" => ClaimStatus::Reported,
            "SUBMITTED" => ClaimStatus::Submitted,
            "UNDER_REVIEW" => ClaimStatus::UnderReview,
            "APPROVED" => ClaimStatus::Approved,
            "REJECTED" => ClaimStatus::Rejected,
            "SETTLED" => ClaimStatus::Settled,
            "CLOSED" => ClaimStatus::Closed,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown claim status {other:?}"))),
        })
    }
}

/// A client's claim on one of their policies.
pub struct Claim(pub claim::Model);

#[Object]
impl Claim {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Claim", self.0.id)
    }
    /// `CLM-<year>-<5 digits>`, given in order per organization and year.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The policy claimed on.
    async fn policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        let found = ctx.loaders()?.policies.load_one(self.0.policy_id).await.map_err(loader_error)?;
        Ok(found.map(Policy))
    }
    /// The policy's holder.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Client>> {
        Ok(ctx.loaders()?.clients.load_one(self.0.client_id).await.map_err(loader_error)?.map(Client))
    }
    /// Where the claim is.
    async fn status(&self) -> async_graphql::Result<ClaimStatus> {
        Ok(ClaimStatus::parse(&self.0.status)?)
    }
    /// The day of the loss (within the policy's dates).
    async fn incident_date(&self) -> Date {
        Date(self.0.incident_date)
    }
    /// When the claim was declared.
    async fn reported_at(&self) -> DateTime<Utc> {
        self.0.reported_at
    }
    /// What happened.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The insurer's own reference for the claim, once it has one.
    async fn insurer_reference(&self) -> Option<&str> {
        self.0.insurer_reference.as_deref()
    }
    /// The amount claimed, exact in the currency's minor unit.
    async fn amount_claimed(&self) -> Decimal {
        Money::to_decimal(self.0.amount_claimed_minor, &self.0.currency)
    }
    /// The amount paid, once `SETTLED`.
    async fn amount_settled(&self) -> Option<Decimal> {
        self.0.amount_settled_minor.map(|minor| Money::to_decimal(minor, &self.0.currency))
    }
    /// ISO 4217 code of the amounts (the policy's currency).
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The claim's history, oldest first: one event per status it entered.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ClaimEvent>> {
        let found = ctx.loaders()?.get::<ClaimEvents>().load_one(self.0.id).await.map_err(loader_error)?;
        Ok(found.unwrap_or_default().into_iter().map(ClaimEvent).collect())
    }
    /// The claim's files (photos, expert reports, invoices), newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn attachments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Attachment>> {
        let args = PageArgs::new(first, after, last, before);
        per_parent::connection::<AttachmentsOf, _>(ctx, OwnerKind::Claim, self.0.id, args, Attachment).await
    }
    /// Who declared it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One step of a claim's history.
pub struct ClaimEvent(pub claim_event::Model);

#[Object]
impl ClaimEvent {
    /// The status the claim entered.
    async fn status(&self) -> async_graphql::Result<ClaimStatus> {
        Ok(ClaimStatus::parse(&self.0.status)?)
    }
    /// Why, as the actor wrote it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Who moved it (null once that user is deleted).
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// Declares a claim on a policy the caller may write.
#[derive(InputObject)]
pub struct CreateClaimInput {
    /// The policy claimed on.
    pub policy_id: ID,
    /// The day of the loss: within the policy's dates and not in the future.
    pub incident_date: Date,
    /// What happened (at most 5,000 characters).
    pub description: String,
    /// The amount claimed: positive, at most two decimal places, in the policy's currency.
    pub amount_claimed: Decimal,
}

/// Changes a claim's details (not its status: `setClaimStatus`); the fields given are set.
#[derive(InputObject)]
pub struct UpdateClaimInput {
    /// The claim to change (not `CLOSED`).
    pub id: ID,
    /// A new description.
    pub description: Option<String>,
    /// The insurer's reference (an empty string clears it).
    pub insurer_reference: Option<String>,
    /// A new amount claimed.
    pub amount_claimed: Option<Decimal>,
}

/// Narrows the list of claims. All the criteria given must hold.
#[derive(InputObject, Default)]
pub struct ClaimFilter {
    /// Only claims in this status.
    pub status: Option<ClaimStatus>,
    /// Only claims on this policy.
    pub policy_id: Option<ID>,
    /// Only claims of this client.
    pub client_id: Option<ID>,
    /// Case-insensitive text in the claim number, the insurer's reference or the client's name.
    pub search: Option<String>,
    /// Only incidents on or after this day.
    pub from: Option<Date>,
    /// Only incidents on or before this day.
    pub to: Option<Date>,
}

/// Which list of claims hangs from a parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClaimParent {
    Policy,
    Client,
}

/// Claims listed under their policy or client (`Policy.claims`, `Client.claims`).
pub struct ClaimsOf;

impl Children for ClaimsOf {
    type Entity = claim::Entity;
    type Parent = ClaimParent;

    fn scoped(principal: &Principal) -> Select<claim::Entity> {
        scope::claims(principal)
    }
    fn column(parent: ClaimParent) -> claim::Column {
        match parent {
            ClaimParent::Policy => claim::Column::PolicyId,
            ClaimParent::Client => claim::Column::ClientId,
        }
    }
    fn parent_of(row: &claim::Model, parent: ClaimParent) -> Option<Uuid> {
        Some(match parent {
            ClaimParent::Policy => row.policy_id,
            ClaimParent::Client => row.client_id,
        })
    }
    fn order_columns() -> (claim::Column, claim::Column) {
        (claim::Column::CreatedAt, claim::Column::Id)
    }
}

/// The events of many claims (that the caller may read) in one statement.
pub struct ClaimEvents {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for ClaimEvents {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        ClaimEvents { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for ClaimEvents {
    type Value = Vec<claim_event::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let visible = scope::claims(&self.principal)
            .select_only()
            .column(claim::Column::Id)
            .filter(claim::Column::Id.is_in(keys.iter().copied()))
            .into_query();
        let rows = claim_event::Entity::find()
            .filter(claim_event::Column::ClaimId.in_subquery(visible))
            .order_by_asc(claim_event::Column::ClaimId)
            .order_by_asc(claim_event::Column::Seq)
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        let mut out: HashMap<Uuid, Vec<claim_event::Model>> = HashMap::new();
        for row in rows {
            out.entry(row.claim_id).or_default().push(row);
        }
        Ok(out)
    }
}
