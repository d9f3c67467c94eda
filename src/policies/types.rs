//! GraphQL types of policies.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::graphql::direct::{Direct, Enum, Plain, PlainValue, answer, ready};
use crate::{
    attachments::{service::OwnerKind, types::{Attachment, AttachmentsOf}},
    claims::types::{Claim, ClaimParent, ClaimsOf},
    commissions::{self, types::CommissionRate},
    clients::types::Client,
    companies::types::Company,
    currency::Money,
    documents::types::{Document, DocumentParent, DocumentsOf},
    payments::types::{self as payments, Instalment, Payment},
    graphql::{
        context::ContextExt,
        ids,
        loaders::loader_error,
        pagination::{OrderDirection, Page, PageArgs},
        per_parent,
        scalars::Date,
    },
    entities::policy,
    error::{AppError, AppResult},
};

/// Where a policy is in its life cycle. `CANCELLED` and `EXPIRED` are final.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PolicyStatus {
    /// Being prepared; not yet in force. Can become `ACTIVE` or `CANCELLED`.
    #[default]
    Draft,
    /// In force. Can become `SUSPENDED`, `CANCELLED` or `EXPIRED`.
    Active,
    /// Temporarily not in force. Can become `ACTIVE` again, `CANCELLED` or `EXPIRED`.
    Suspended,
    /// Ended before its term (final).
    Cancelled,
    /// Ended at its term (final).
    Expired,
}

impl PolicyStatus {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Draft => "DRAFT",
            PolicyStatus::Active => "ACTIVE",
            PolicyStatus::Suspended => "SUSPENDED",
            PolicyStatus::Cancelled => "CANCELLED",
            PolicyStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(text: &str) -> Option<PolicyStatus> {
        match text {
            "DRAFT" => Some(PolicyStatus::Draft),
            "ACTIVE" => Some(PolicyStatus::Active),
            "SUSPENDED" => Some(PolicyStatus::Suspended),
            "CANCELLED" => Some(PolicyStatus::Cancelled),
            "EXPIRED" => Some(PolicyStatus::Expired),
            _ => None,
        }
    }

    /// The status of a stored row; an unknown value is a data error, never guessed.
    pub fn of(policy_row: &policy::Model) -> AppResult<PolicyStatus> {
        PolicyStatus::parse(&policy_row.status)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("policy {} has unknown status {:?}", policy_row.id, policy_row.status)))
    }
}

/// The line of business a policy belongs to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ProductType {
    /// Motor insurance.
    Auto,
    /// Home and property insurance.
    Home,
    /// Health insurance.
    Health,
    /// Life insurance.
    Life,
    /// Travel insurance.
    Travel,
    /// Business (commercial) insurance.
    Business,
    /// Anything else.
    #[default]
    Other,
}

impl ProductType {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::Auto => "AUTO",
            ProductType::Home => "HOME",
            ProductType::Health => "HEALTH",
            ProductType::Life => "LIFE",
            ProductType::Travel => "TRAVEL",
            ProductType::Business => "BUSINESS",
            ProductType::Other => "OTHER",
        }
    }

    /// Parses the stored spelling; anything unknown reads as `OTHER`.
    pub fn parse(text: &str) -> ProductType {
        match text {
            "AUTO" => ProductType::Auto,
            "HOME" => ProductType::Home,
            "HEALTH" => ProductType::Health,
            "LIFE" => ProductType::Life,
            "TRAVEL" => ProductType::Travel,
            "BUSINESS" => ProductType::Business,
            _ => ProductType::Other,
        }
    }
}

/// An insurance policy: a client's contract with an insurer.
pub struct Policy(pub policy::Model);

impl Plain for Policy {
    fn plain(&self, ctx: &Context<'_>) -> Option<async_graphql::Value> {
        Some(match ctx.item.node.name.node.as_str() {
            "id" => ready(self.id(ctx))?.into_value(),
            "number" => ready(self.number(ctx))?.into_value(),
            "productName" => ready(self.product_name(ctx))?.into_value(),
            "productType" => Enum(ready(self.product_type(ctx))?).into_value(),
            // A status this service cannot read is an error: its resolver answers it.
            "status" => Enum(ready(self.status(ctx))?).into_value(),
            "premium" => ready(self.premium(ctx))?.into_value(),
            "netPremium" => ready(self.net_premium(ctx))?.into_value(),
            "fees" => ready(self.fees(ctx))?.into_value(),
            "taxes" => ready(self.taxes(ctx))?.into_value(),
            "currency" => ready(self.currency(ctx))?.into_value(),
            "effectiveDate" => ready(self.effective_date(ctx))?.into_value(),
            "expiryDate" => ready(self.expiry_date(ctx))?.into_value(),
            "createdAt" => ready(self.created_at(ctx))?.into_value(),
            "updatedAt" => ready(self.updated_at(ctx))?.into_value(),
            _ => return None,
        })
    }

    fn is_nested(name: &str) -> bool {
        matches!(name, "client" | "company")
    }

    async fn nested(&self, ctx: &Context<'_>) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
        match ctx.item.node.name.node.as_str() {
            "client" => answer(ctx, self.client(ctx).await).await,
            "company" => answer(ctx, self.company(ctx).await).await,
            _ => Ok(None),
        }
    }
}

#[Object]
impl Policy {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Policy", self.0.id)
    }
    /// The policy number, unique in the organization (e.g. `AUTO/2026/0042`).
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The insurer's name for the product (e.g. `Tous risques`).
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }
    /// The line of business.
    async fn product_type(&self) -> ProductType {
        ProductType::parse(&self.0.product_type)
    }
    /// Where the policy is in its life cycle.
    async fn status(&self) -> async_graphql::Result<PolicyStatus> {
        Ok(PolicyStatus::of(&self.0)?)
    }
    /// The premium, `netPremium + fees + taxes`, exact in the currency's minor unit, as a decimal
    /// string (`"125000.50"` in EUR; `"125000"` in XAF, which has no minor unit).
    async fn premium(&self) -> Decimal {
        Money::to_decimal(self.0.premium_minor, &self.0.currency)
    }
    /// The premium before fees and taxes (the whole premium when no breakdown was given).
    async fn net_premium(&self) -> Decimal {
        Money::to_decimal(self.0.net_premium_minor, &self.0.currency)
    }
    /// Policy fees included in the premium.
    async fn fees(&self) -> Decimal {
        Money::to_decimal(self.0.fees_minor, &self.0.currency)
    }
    /// Taxes included in the premium.
    async fn taxes(&self) -> Decimal {
        Money::to_decimal(self.0.taxes_minor, &self.0.currency)
    }
    /// The insurer's commission rate in force on `effectiveDate` (the product type's own rate,
    /// else the rate for every product); null when the insurer has none.
    async fn commission_rate(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CommissionRate>> {
        Ok(commissions::types::in_force(ctx, &self.0).await?.map(CommissionRate))
    }
    /// The broker's commission: `netPremium` × `commissionRate.rate` / 100, rounded half-even to the
    /// currency's minor unit; null when no rate is in force.
    async fn commission(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Decimal>> {
        let rate = commissions::types::in_force(ctx, &self.0).await?;
        Ok(rate.map(|rate| Money::to_decimal(commissions::rules::commission(self.0.net_premium_minor, rate.rate_ppm), &self.0.currency)))
    }
    /// ISO 4217 code of the premium's currency (e.g. `XAF`).
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The first day the policy covers.
    async fn effective_date(&self) -> Date {
        Date(self.0.effective_date)
    }
    /// The day the policy ends (after `effectiveDate`).
    async fn expiry_date(&self) -> Date {
        Date(self.0.expiry_date)
    }
    /// What the policy covers: a free-form JSON object (guarantees, limits, deductibles…).
    async fn coverage(&self) -> Json<serde_json::Value> {
        Json(self.0.coverage.clone())
    }
    /// The policy holder.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Direct<Client>>> {
        let found = ctx.loaders()?.clients.load_one(self.0.client_id).await.map_err(loader_error)?;
        Ok(found.map(|row| Direct(Client(row))))
    }
    /// The insurer.
    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Direct<Company>>> {
        let found = ctx.loaders()?.companies.load_one(self.0.company_id).await.map_err(loader_error)?;
        Ok(found.map(|row| Direct(Company(row))))
    }
    /// The policy this one renews, when it is a renewal.
    async fn previous_policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        let Some(id) = self.0.previous_policy_id else { return Ok(None) };
        Ok(ctx.loaders()?.policies.load_one(id).await.map_err(loader_error)?.map(Policy))
    }
    /// The policy renewing this one, or null while it is not renewed.
    async fn renewal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        let found = ctx.loaders()?.get::<super::renewal::Renewals>().load_one(self.0.id).await.map_err(loader_error)?;
        Ok(found.map(Policy))
    }
    /// The claims of this policy that the caller may read, newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Claim>> {
        let args = PageArgs::new(first, after, last, before);
        per_parent::connection::<ClaimsOf, _>(ctx, ClaimParent::Policy, self.0.id, args, Claim).await
    }
    /// The documents made for this policy that the caller may read, newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Document>> {
        let args = PageArgs::new(first, after, last, before);
        per_parent::connection::<DocumentsOf, _>(ctx, DocumentParent::Policy, self.0.id, args, Document).await
    }
    /// When the policy was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the policy was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Files attached to the policy (photos, reports, invoices), newest first.
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
        per_parent::connection::<AttachmentsOf, _>(ctx, OwnerKind::Policy, self.0.id, args, Attachment).await
    }

    // Money received (`payments`): the instalments, the payments, what is paid and what is left.
    /// The premium's instalments by due date, each with what the payments cover of it (oldest
    /// first). Without a plan (`setInstalmentPlan`), one: the whole premium due on `effectiveDate`.
    async fn instalments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Instalment>> {
        payments::instalments_of(ctx, &self.0).await
    }
    /// The payments recorded on this policy that the caller may read, reversed ones included, newest first.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Payment>> {
        payments::payments_of(ctx, &self.0, PageArgs::new(first, after, last, before)).await
    }
    /// What the payments not reversed add up to, exact in the currency's minor unit.
    async fn paid(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        Ok(Money::to_decimal(payments::paid_of(ctx, &self.0).await?, &self.0.currency))
    }
    /// What is left to pay: `premium - paid`.
    async fn balance(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        let paid = payments::paid_of(ctx, &self.0).await?;
        Ok(Money::to_decimal(self.0.premium_minor - paid, &self.0.currency))
    }
}

/// Loads the nested lists (`claims`, `documents`, `attachments`, `payments`, `instalments`) the current page of policies selects, for all
/// of `policies` at once.
pub async fn prefetch_nested(ctx: &Context<'_>, policies: &[uuid::Uuid]) -> async_graphql::Result<()> {
    let claims = per_parent::prefetch::<ClaimsOf>(ctx, "claims", ClaimParent::Policy, policies);
    let documents = per_parent::prefetch::<DocumentsOf>(ctx, "documents", DocumentParent::Policy, policies);
    let attachments = per_parent::prefetch::<AttachmentsOf>(ctx, "attachments", OwnerKind::Policy, policies);
    let money = payments::prefetch(ctx, policies);
    let (claims, documents, attachments, money) = futures_util::join!(claims, documents, attachments, money);
    claims.and(documents).and(attachments).and(money)
}

/// Creates a policy for a client with an insurer of the same organization.
#[derive(InputObject)]
pub struct CreatePolicyInput {
    /// The policy number: letters, digits, `-`, `_`, `/` and `.`, at most 64 characters; unique in the organization.
    pub number: String,
    /// The policy holder (a client the caller may write).
    pub client_id: ID,
    /// The insurer (a company of the client's organization).
    pub company_id: ID,
    /// The insurer's name for the product, at most 200 characters.
    pub product_name: String,
    /// The line of business.
    #[graphql(default)]
    pub product_type: ProductType,
    /// The initial status: `DRAFT` or `ACTIVE`.
    #[graphql(default)]
    pub status: PolicyStatus,
    /// The premium: positive, rounded half-even to the currency's minor unit. With a breakdown,
    /// it must equal `netPremium + fees + taxes`.
    pub premium: Decimal,
    /// The premium before fees and taxes (default: the premium less fees and taxes).
    pub net_premium: Option<Decimal>,
    /// Policy fees included in the premium (default 0).
    pub fees: Option<Decimal>,
    /// Taxes included in the premium (default 0).
    pub taxes: Option<Decimal>,
    /// ISO 4217 code of the premium's currency.
    #[graphql(default = "XAF")]
    pub currency: String,
    /// The first day the policy covers.
    pub effective_date: Date,
    /// The day the policy ends; must be after `effectiveDate`.
    pub expiry_date: Date,
    /// What the policy covers: a JSON object. Defaults to `{}`.
    pub coverage: Option<Json<serde_json::Value>>,
}

/// Changes a policy: the fields given are set, the others kept.
#[derive(InputObject)]
pub struct UpdatePolicyInput {
    /// The policy to change.
    pub id: ID,
    /// A new policy number, unique in the organization.
    pub number: Option<String>,
    /// Another policy holder, among the clients the caller may write in the policy's organization.
    pub client_id: Option<ID>,
    /// Another insurer of the policy's organization.
    pub company_id: Option<ID>,
    /// A new product name.
    pub product_name: Option<String>,
    /// A new line of business.
    pub product_type: Option<ProductType>,
    /// A new status; only the moves of the life cycle are allowed (see `PolicyStatus`).
    pub status: Option<PolicyStatus>,
    /// A new premium: positive, rounded half-even to the currency's minor unit. Fees and taxes are
    /// kept and the net premium becomes the rest, unless given too.
    pub premium: Option<Decimal>,
    /// A new net premium (the premium becomes `netPremium + fees + taxes`).
    pub net_premium: Option<Decimal>,
    /// New fees included in the premium.
    pub fees: Option<Decimal>,
    /// New taxes included in the premium.
    pub taxes: Option<Decimal>,
    /// A new ISO 4217 currency code.
    pub currency: Option<String>,
    /// A new first day of cover.
    pub effective_date: Option<Date>,
    /// A new end day; must stay after `effectiveDate`.
    pub expiry_date: Option<Date>,
    /// A new coverage object (replaces the old one whole).
    pub coverage: Option<Json<serde_json::Value>>,
}

/// Narrows the list of policies. All the criteria given must hold.
#[derive(InputObject, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct PolicyFilter {
    /// Case-insensitive text in the number or the product name.
    pub search: Option<String>,
    /// Only policies in this status.
    pub status: Option<PolicyStatus>,
    /// Only policies in one of these statuses (an empty list does not narrow).
    pub statuses: Option<Vec<PolicyStatus>>,
    /// Only this line of business.
    pub product_type: Option<ProductType>,
    /// Only policies with this insurer.
    pub company_id: Option<ID>,
    /// Only policies of this client.
    pub client_id: Option<ID>,
    /// Only policies effective on or after this day.
    pub effective_from: Option<Date>,
    /// Only policies effective on or before this day.
    pub effective_to: Option<Date>,
    /// Only policies expiring strictly before this day.
    pub expiring_before: Option<Date>,
    /// Only ACTIVE policies expiring from today to this many days ahead (0 to 3660) that are not yet renewed.
    pub renewal_due_within_days: Option<i32>,
    /// True: only policies with an `OVERDUE` instalment (as the scheduler last marked them); false: only those without.
    pub overdue: Option<bool>,
}

/// Renews a policy into a new one for the same client. Only `number` is required: by default the
/// renewal starts the day after the old expiry, lasts as many days, keeps the premium and the
/// insurer, and starts as a `DRAFT`.
#[derive(InputObject)]
pub struct RenewPolicyInput {
    /// The policy to renew (ACTIVE, SUSPENDED or EXPIRED; renewed once only).
    pub policy_id: ID,
    /// The renewal's number, unique in the organization.
    pub number: String,
    /// Its first day (default: the day after the old policy's expiry).
    pub effective_date: Option<Date>,
    /// Its end day (default: as many days after `effectiveDate` as the old policy lasted).
    pub expiry_date: Option<Date>,
    /// Its premium (default: the old policy's).
    pub premium: Option<Decimal>,
    /// Its insurer, of the same organization (default: the old policy's).
    pub company_id: Option<ID>,
    /// `DRAFT` (default) or `ACTIVE`.
    pub status: Option<PolicyStatus>,
}

/// What policies can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PolicyOrderField {
    /// The policy number (as text).
    Number,
    /// The first day of cover.
    EffectiveDate,
    /// The end day.
    ExpiryDate,
    /// The premium amount (regardless of currency).
    Premium,
    /// The status (by its name).
    Status,
    /// Creation time (the default, newest first).
    CreatedAt,
}

/// One sort key for policies.
#[derive(InputObject)]
pub struct PolicyOrder {
    /// What to sort by.
    pub field: PolicyOrderField,
    /// Ascending unless told otherwise.
    #[graphql(default)]
    pub direction: OrderDirection,
}
