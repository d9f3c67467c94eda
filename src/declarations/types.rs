//! GraphQL types of bordereaux.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::graphql::direct::Direct;
use crate::{
    companies::types::Company,
    currency::Money,
    documents::types::Document,
    entities::{declaration_batch, declaration_item, outbox, policy, webhook_delivery},
    error::AppResult,
    graphql::{
        context::ContextExt,
        ids,
        loaders::loader_error,
        pagination::{Page, PageArgs, paginate_fast},
        scalars::Date,
    },
    integrations::{
        self,
        types::{DeclarationDelivery, DeliveryChannel, DeliveryStatus},
    },
    jobs::types::Job,
    policies::types::Policy,
    scope,
    users::types::User,
};

/// Where a bordereau is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeclarationStatus {
    /// Made, not sent: it can be deleted (its policies are then free again).
    Draft,
    /// Sent to the insurer: mailed, and delivered to its integration when it has one.
    Sent,
    /// Sent, but its mail or its delivery finally failed: it can be sent again.
    Failed,
}

/// In SQL: a sent batch whose message or webhook delivery finally failed.
pub fn failed() -> Condition {
    let failed_messages = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::Status.eq("FAILED"))
        .into_query();
    let failed_deliveries = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Failed.as_str()))
        .into_query();
    Condition::any()
        .add(declaration_batch::Column::MessageId.in_subquery(failed_messages))
        .add(declaration_batch::Column::DeliveryId.in_subquery(failed_deliveries))
}

/// A batch's status: its own, or FAILED when its sending finally failed.
pub async fn status_of(db: &impl ConnectionTrait, batch: &declaration_batch::Model) -> AppResult<DeclarationStatus> {
    if batch.status == "DRAFT" {
        return Ok(DeclarationStatus::Draft);
    }
    let failed = declaration_batch::Entity::find_by_id(batch.id).filter(failed()).one(db).await?.is_some();
    Ok(if failed { DeclarationStatus::Failed } else { DeclarationStatus::Sent })
}

/// A bordereau: the policies declared to one insurer for a period, with their premium and
/// commission when declared, its document, and how it was sent.
pub struct DeclarationBatch(pub declaration_batch::Model);

impl DeclarationBatch {
    fn amount(&self, minor: i64) -> Decimal {
        Money::to_decimal(minor, &self.0.currency)
    }
}

#[Object]
impl DeclarationBatch {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("DeclarationBatch", self.0.id)
    }
    /// The insurer it declares to.
    async fn company(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Company>> {
        Ok(ctx.loaders()?.companies.load_one(self.0.company_id).await.map_err(loader_error)?.map(Company))
    }
    /// The first day of the period (policies by effective date).
    async fn period_start(&self) -> Date {
        Date(self.0.period_start)
    }
    /// The last day of the period.
    async fn period_end(&self) -> Date {
        Date(self.0.period_end)
    }
    /// The currency of every amount (only policies in it are declared).
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Where it is.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<DeclarationStatus> {
        Ok(status_of(&ctx.state().db, &self.0).await?)
    }
    /// Its policies (those the caller may read), by number.
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Direct<Policy>>> {
        let p = ctx.principal()?;
        let items = declaration_item::Entity::find()
            .select_only()
            .column(declaration_item::Column::PolicyId)
            .filter(declaration_item::Column::BatchId.eq(self.0.id))
            .into_query();
        let query = scope::policies(p).filter(policy::Column::Id.in_subquery(items));
        let query = sea_orm::QueryOrder::order_by_asc(query, policy::Column::Number);
        Ok(paginate_fast(&ctx.state().db, query, PageArgs::new(first, after, last, before).counted(ctx), |row| Direct(Policy(row))).await?)
    }
    /// How many policies it declares.
    async fn item_count(&self) -> i32 {
        self.0.item_count
    }
    /// The sum of their premiums when declared, exact.
    async fn total_premium(&self) -> Decimal {
        self.amount(self.0.total_premium_minor)
    }
    /// The sum of their commissions when declared, exact (each rounded half-even first).
    async fn total_commission(&self) -> Decimal {
        self.amount(self.0.total_commission_minor)
    }
    /// The document its job made (null until the job has succeeded).
    async fn document(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Document>> {
        Ok(super::service::document_of(&ctx.state().db, &self.0).await?.map(Document))
    }
    /// The job rendering its document.
    async fn job(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Job>> {
        let Some(job_id) = self.0.job_id else { return Ok(None) };
        let p = ctx.principal()?;
        let found = scope::jobs(p).filter(crate::entities::job::Column::Id.eq(job_id)).one(&ctx.state().db).await.map_err(crate::error::AppError::from)?;
        Ok(found.map(Job))
    }
    /// How it was sent, oldest first: its mail (EMAIL, as the message stands) and each attempt to
    /// deliver it to the insurer's integration (WEBHOOK), with the HTTP status or the error.
    async fn deliveries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeclarationDelivery>> {
        let db = &ctx.state().db;
        let mut list = Vec::new();
        let message = match self.0.message_id {
            Some(message_id) => outbox::Entity::find_by_id(message_id).one(db).await.map_err(crate::error::AppError::from)?,
            None => None,
        };
        if let Some(message) = message {
            let status = match message.status.as_str() {
                "SENT" => DeliveryStatus::Delivered,
                "FAILED" => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            };
            list.push(DeclarationDelivery {
                id: message.id,
                channel: DeliveryChannel::Email,
                attempt: message.attempts,
                status,
                http_status: None,
                error: message.last_error.clone(),
                at: message.sent_at.unwrap_or(message.created_at),
            });
        }
        let attempts = integrations::service::attempts_for(db, &[self.0.id]).await?;
        list.extend(attempts.get(&self.0.id).into_iter().flatten().cloned().map(DeclarationDelivery::from));
        // A delivery still waiting for its first attempt shows as PENDING.
        let deliveries = integrations::service::deliveries_for(db, &[self.0.id]).await?;
        for delivery in deliveries.get(&self.0.id).into_iter().flatten().filter(|delivery| delivery.attempts == 0) {
            list.push(DeclarationDelivery {
                id: delivery.id,
                channel: DeliveryChannel::Webhook,
                attempt: 0,
                status: DeliveryStatus::Pending,
                http_status: None,
                error: None,
                at: delivery.created_at,
            });
        }
        list.sort_by_key(|delivery| delivery.at);
        Ok(list)
    }
    /// When it was (last) sent.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    /// Who made it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Makes a bordereau.
#[derive(InputObject)]
pub struct CreateDeclarationBatchInput {
    /// The insurer.
    pub company_id: ID,
    /// The first day of the period (policies by effective date).
    pub period_start: Date,
    /// The last day of the period (at most a year after the first).
    pub period_end: Date,
    /// The REPORT template its document is rendered with; it also sees `declaration` and each
    /// policy's `commission`.
    pub template_id: ID,
    /// The currency of the policies declared (default `XAF`): amounts of different currencies
    /// are never added up.
    pub currency: Option<String>,
}

/// Which bordereaux to list.
#[derive(InputObject, Default)]
pub struct DeclarationBatchFilter {
    /// One insurer's.
    pub company_id: Option<ID>,
    /// In this status.
    pub status: Option<DeclarationStatus>,
}
