//! GraphQL types of alerts and alert settings.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    clients::types::Client,
    entities::alert,
    error::{AppError, AppResult},
    graphql::{context::ContextExt, ids, loaders::loader_error, scalars::Date},
    policies::types::Policy,
    users::types::User,
};

/// What an alert is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// An ACTIVE policy expires within one of the organization's thresholds (`expiryDaysBefore`).
    PolicyExpiring,
    /// A policy passed its expiry date and became EXPIRED.
    PolicyExpired,
    /// An instalment falls due within `instalmentDaysBefore`.
    InstalmentDue,
    /// An instalment is past due and not fully paid.
    InstalmentOverdue,
}

impl AlertKind {
    /// The stored (and GraphQL) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PolicyExpiring => "POLICY_EXPIRING",
            AlertKind::PolicyExpired => "POLICY_EXPIRED",
            AlertKind::InstalmentDue => "INSTALMENT_DUE",
            AlertKind::InstalmentOverdue => "INSTALMENT_OVERDUE",
        }
    }

    pub fn parse(text: &str) -> AppResult<AlertKind> {
        Ok(match text {
            "POLICY_EXPIRING" => AlertKind::PolicyExpiring,
            "POLICY_EXPIRED" => AlertKind::PolicyExpired,
            "INSTALMENT_DUE" => AlertKind::InstalmentDue,
            "INSTALMENT_OVERDUE" => AlertKind::InstalmentOverdue,
            other => return Err(AppError::Internal(anyhow::anyhow!("unknown alert kind {other:?}"))),
        })
    }
}

/// Whether someone has dealt with an alert.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlertStatus {
    /// Not yet acknowledged.
    Open,
    /// Acknowledged (`acknowledgedAt`, `acknowledgedBy`).
    Acknowledged,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "OPEN",
            AlertStatus::Acknowledged => "ACKNOWLEDGED",
        }
    }
}

/// Something about a policy that needs a broker's attention, on a date.
pub struct Alert(pub alert::Model);

#[Object]
impl Alert {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Alert", self.0.id)
    }
    /// What it is about.
    async fn kind(&self) -> async_graphql::Result<AlertKind> {
        Ok(AlertKind::parse(&self.0.kind)?)
    }
    /// Open until acknowledged.
    async fn status(&self) -> AlertStatus {
        if self.0.acknowledged_at.is_some() { AlertStatus::Acknowledged } else { AlertStatus::Open }
    }
    /// The policy concerned.
    async fn policy(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Policy>> {
        Ok(ctx.loaders()?.policies.load_one(self.0.policy_id).await.map_err(loader_error)?.map(Policy))
    }
    /// The policy's holder.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Client>> {
        Ok(ctx.loaders()?.clients.load_one(self.0.client_id).await.map_err(loader_error)?.map(Client))
    }
    /// The date it is about: the policy's `expiryDate` (an instalment's due date for instalment alerts).
    async fn due_date(&self) -> Date {
        Date(self.0.due_date)
    }
    /// The threshold reached, in days before `dueDate` (0 once the date has passed).
    async fn days_before(&self) -> i32 {
        self.0.days_before
    }
    /// A sentence saying what happens, in the organization's language.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// When it was raised.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was acknowledged.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    /// Who acknowledged it.
    async fn acknowledged_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.acknowledged_by else { return Ok(None) };
        Ok(ctx.loaders()?.users.load_one(id).await.map_err(loader_error)?.map(User::new))
    }
}

/// An organization's alert settings.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    /// Days before a policy's expiry when `POLICY_EXPIRING` is raised (default `[30, 7]`).
    pub expiry_days_before: Vec<i32>,
    /// Days before an instalment's due date when `INSTALMENT_DUE` is raised (default `[7]`).
    pub instalment_days_before: Vec<i32>,
    /// Mail each alert to the client's owner (the ADMINs when the client has none). Default true.
    pub email_owner: bool,
    /// Also mail the client, when it has an e-mail address. Default false.
    pub email_client: bool,
}

/// Changes the organization's alert settings (ADMIN): the fields given are set.
#[derive(InputObject)]
pub struct UpdateAlertSettingsInput {
    /// 1 to 10 thresholds, each 0 to 366 days.
    pub expiry_days_before: Option<Vec<i32>>,
    /// 1 to 10 thresholds, each 0 to 366 days.
    pub instalment_days_before: Option<Vec<i32>>,
    pub email_owner: Option<bool>,
    pub email_client: Option<bool>,
}

/// Narrows the list of alerts. All the criteria given must hold.
#[derive(InputObject, Default)]
pub struct AlertFilter {
    pub kind: Option<AlertKind>,
    pub status: Option<AlertStatus>,
    pub policy_id: Option<ID>,
    pub client_id: Option<ID>,
    /// Only alerts due on or after this day.
    pub from: Option<Date>,
    /// Only alerts due on or before this day.
    pub to: Option<Date>,
}
