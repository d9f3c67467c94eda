//! GraphQL types of companies.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::graphql::direct::{Direct, Enum, Plain, PlainValue, ready};
use crate::{
    entities::company,
    graphql::{ids, pagination::{Page, OrderDirection}},
    integrations::types::CompanyIntegration,
    policies::{self, types::{Policy, PolicyFilter, PolicyOrder}},
};

/// How the brokerage talks to the insurer's systems.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ApiMode {
    /// No integration: documents and exchanges are manual.
    #[default]
    None,
    /// A simulated integration, for testing.
    Mock,
    /// The insurer's REST API at `apiEndpoint`.
    Rest,
}

impl ApiMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiMode::None => "NONE",
            ApiMode::Mock => "MOCK",
            ApiMode::Rest => "REST",
        }
    }
    pub fn parse(text: &str) -> ApiMode {
        match text {
            "MOCK" => ApiMode::Mock,
            "REST" => ApiMode::Rest,
            _ => ApiMode::None,
        }
    }
}

/// An insurer the brokerage places policies with.
pub struct Company(pub company::Model);

impl Plain for Company {
    fn plain(&self, ctx: &Context<'_>) -> Option<async_graphql::Value> {
        Some(match ctx.item.node.name.node.as_str() {
            "id" => ready(self.id(ctx))?.into_value(),
            "name" => ready(self.name(ctx))?.into_value(),
            "code" => ready(self.code(ctx))?.into_value(),
            "contactEmail" => ready(self.contact_email(ctx))?.into_value(),
            "phone" => ready(self.phone(ctx))?.into_value(),
            "address" => ready(self.address(ctx))?.into_value(),
            "apiMode" => Enum(ready(self.api_mode(ctx))?).into_value(),
            "apiEndpoint" => ready(self.api_endpoint(ctx))?.into_value(),
            "createdAt" => ready(self.created_at(ctx))?.into_value(),
            "updatedAt" => ready(self.updated_at(ctx))?.into_value(),
            _ => return None,
        })
    }
}

#[Object]
impl Company {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Company", self.0.id)
    }
    /// The insurer's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Short code, unique in the organization (e.g. `AXA`).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Where to write to the insurer.
    async fn contact_email(&self) -> Option<&str> {
        self.0.contact_email.as_deref()
    }
    /// The insurer's phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Postal address.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// How the brokerage talks to the insurer's systems.
    async fn api_mode(&self) -> ApiMode {
        ApiMode::parse(&self.0.api_mode)
    }
    /// The insurer's API base URL, when `apiMode` is `REST`.
    async fn api_endpoint(&self) -> Option<&str> {
        self.0.api_endpoint.as_deref()
    }
    /// The insurer's signed-webhook integration, null when none (`setCompanyIntegration`).
    async fn integration(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CompanyIntegration>> {
        CompanyIntegration::of(ctx, self.0.id).await
    }
    /// When the company was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the company was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The policies placed with this insurer that the caller may read.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::pagination::cost(first, last, child_complexity)")]
    async fn policies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PolicyFilter>,
        order_by: Option<Vec<PolicyOrder>>,
    ) -> async_graphql::Result<Page<Direct<Policy>>> {
        let parent = (policies::connection::Parent::Company, self.0.id);
        policies::connection::connection(ctx, Some(parent), first, after, last, before, filter, order_by).await
    }
}

/// Creates a company. `name` and `code` are required.
#[derive(InputObject)]
pub struct CreateCompanyInput {
    pub name: String,
    pub code: String,
    pub contact_email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    #[graphql(default)]
    pub api_mode: ApiMode,
    pub api_endpoint: Option<String>,
}

/// Changes a company: the fields given are set, the others kept.
#[derive(InputObject)]
pub struct UpdateCompanyInput {
    pub id: ID,
    pub name: Option<String>,
    pub code: Option<String>,
    pub contact_email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub api_mode: Option<ApiMode>,
    pub api_endpoint: Option<String>,
}

/// Narrows the list of companies.
#[derive(InputObject, Default)]
pub struct CompanyFilter {
    /// Case-insensitive text in the name, code or contact e-mail.
    pub search: Option<String>,
    pub api_mode: Option<ApiMode>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// What companies can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CompanyOrderField {
    Name,
    Code,
    CreatedAt,
}

/// One sort key for companies.
#[derive(InputObject)]
pub struct CompanyOrder {
    pub field: CompanyOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}
