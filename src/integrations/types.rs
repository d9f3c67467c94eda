//! GraphQL types of insurer integrations: `CompanyIntegration` (what `Company.integration`
//! shows; never the secret), `SetCompanyIntegrationInput`, and `DeclarationDelivery`, one line of
//! a declaration batch's delivery history (a webhook attempt here, a mail message for the lead's
//! EMAIL entries), built from a plain struct.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, dataloader::Loader};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter};
use uuid::Uuid;

use crate::{
    entities::{company_integration, delivery_attempt},
    error::AppError,
    graphql::{
        context::ContextExt,
        ids,
        loaders::{RequestLoader, loader_error},
    },
    principal::Principal,
    scope,
};

/// An insurer's signed-webhook integration. The secret is never shown: `secretSet` says one is kept.
pub struct CompanyIntegration(pub company_integration::Model);

impl CompanyIntegration {
    /// The integration of the company `company_id` (one the caller may read), through this
    /// request's loader: a page of companies asks in one statement.
    pub async fn of(ctx: &Context<'_>, company_id: Uuid) -> async_graphql::Result<Option<CompanyIntegration>> {
        let found = ctx.loaders()?.get::<IntegrationsOfCompanies>().load_one(company_id).await.map_err(loader_error)?;
        Ok(found.map(CompanyIntegration))
    }
}

/// An insurer's signed-webhook integration. The secret is never shown: `secretSet` says one is kept.
#[Object]
impl CompanyIntegration {
    /// The URL deliveries are POSTed to. Below ADMIN, without its query string (where a token
    /// for the insurer may be).
    async fn endpoint(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let admin = ctx.principal()?.role >= crate::principal::Role::Admin;
        Ok(if admin { self.0.endpoint.clone() } else { super::endpoint::without_query(&self.0.endpoint) })
    }
    /// Whether a signing secret is kept (always true: an integration cannot exist without one).
    async fn secret_set(&self) -> bool {
        !self.0.secret_encrypted.is_empty()
    }
    /// When a delivery last succeeded (the endpoint answered a 2xx); null before the first.
    async fn last_delivery_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_delivery_at
    }
}

/// The integrations of a page of companies in one statement, within the caller's organization.
pub struct IntegrationsOfCompanies {
    db: DatabaseConnection,
    principal: Principal,
}

impl RequestLoader for IntegrationsOfCompanies {
    fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        IntegrationsOfCompanies { db: db.clone(), principal: principal.clone() }
    }
}

impl Loader<Uuid> for IntegrationsOfCompanies {
    type Value = company_integration::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = scope::company_integrations(&self.principal)
            .filter(company_integration::Column::CompanyId.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(rows.into_iter().map(|row| (row.company_id, row)).collect())
    }
}

/// Sets, changes or removes an insurer's webhook integration.
#[derive(InputObject)]
pub struct SetCompanyIntegrationInput {
    /// The insurer.
    pub company_id: ID,
    /// The URL to POST deliveries to: `https://` in production; it must not resolve to a
    /// loopback, private or link-local address. Null removes the integration (and its queued
    /// deliveries fail).
    pub endpoint: Option<String>,
    /// The shared secret deliveries are signed with (16 to 256 characters). Required for a new
    /// integration; null keeps the current one. Never shown again.
    pub secret: Option<String>,
}

/// How a declaration reached the insurer.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryChannel {
    /// Mailed to the insurer's contact address.
    Email,
    /// POSTed to the insurer's integration endpoint.
    Webhook,
}

/// Where a delivery (or one attempt at it) stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not made yet, or failed and to be retried.
    Pending,
    /// Accepted: the SMTP server took the message, or the endpoint answered a 2xx.
    Delivered,
    /// Failed: for a webhook attempt, this attempt failed (a retry may follow while the delivery
    /// has attempts left).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Failed => "FAILED",
        }
    }
    pub fn parse(text: &str) -> DeliveryStatus {
        match text {
            "DELIVERED" => DeliveryStatus::Delivered,
            "FAILED" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One line of a declaration batch's delivery history: a webhook attempt, or a mail message.
/// Build it from the plain fields (EMAIL entries) or `From<delivery_attempt::Model>` (WEBHOOK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclarationDelivery {
    /// The attempt's id (WEBHOOK) or the message's (EMAIL).
    pub id: Uuid,
    pub channel: DeliveryChannel,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub status: DeliveryStatus,
    /// The HTTP status the endpoint answered (WEBHOOK), if it answered.
    pub http_status: Option<i32>,
    /// Why it failed, truncated.
    pub error: Option<String>,
    /// When the attempt was made (or the message queued).
    pub at: DateTime<Utc>,
}

impl From<delivery_attempt::Model> for DeclarationDelivery {
    fn from(row: delivery_attempt::Model) -> Self {
        DeclarationDelivery {
            id: row.id,
            channel: DeliveryChannel::Webhook,
            attempt: row.attempt,
            status: DeliveryStatus::parse(&row.status),
            http_status: row.http_status,
            error: row.error,
            at: row.at,
        }
    }
}

/// One line of a declaration batch's delivery history: a webhook attempt, or a mail message.
#[Object]
impl DeclarationDelivery {
    /// Opaque ID of this line.
    async fn id(&self) -> ID {
        ids::encode("DeclarationDelivery", self.id)
    }
    /// Mail or webhook.
    async fn channel(&self) -> DeliveryChannel {
        self.channel
    }
    /// Which attempt this is, from 1.
    async fn attempt(&self) -> i32 {
        self.attempt
    }
    /// What came of it.
    async fn status(&self) -> DeliveryStatus {
        self.status
    }
    /// The HTTP status the endpoint answered (webhooks), null when no answer came.
    async fn http_status(&self) -> Option<i32> {
        self.http_status
    }
    /// Why it failed (truncated), null when it did not.
    async fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// When it was made.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
}
