//! GraphQL types of clients.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::graphql::direct::{Direct, Enum, Plain, PlainValue, ready};
use crate::{
    attachments::{service::OwnerKind, types::{Attachment, AttachmentsOf}},
    claims::types::{Claim, ClaimParent, ClaimsOf},
    documents::types::{Document, DocumentParent, DocumentsOf},
    graphql::{context::ContextExt, ids, loaders::loader_error, pagination::{OrderDirection, Page, PageArgs}, per_parent},
    entities::client,
    policies::{self, types::{Policy, PolicyFilter, PolicyOrder}},
    users::types::User,
};

/// Whether a client is a person or a business.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ClientKind {
    /// A natural person; `lastName` is required.
    #[default]
    Person,
    /// A company or other organization; `companyName` is required.
    Business,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Person => "PERSON",
            ClientKind::Business => "BUSINESS",
        }
    }
    pub fn parse(text: &str) -> ClientKind {
        match text {
            "BUSINESS" => ClientKind::Business,
            _ => ClientKind::Person,
        }
    }
}

/// A policy holder: a person or a business, owned by one user of the organization.
pub struct Client(pub client::Model);

impl Plain for Client {
    fn plain(&self, ctx: &Context<'_>) -> Option<async_graphql::Value> {
        Some(match ctx.item.node.name.node.as_str() {
            "id" => ready(self.id(ctx))?.into_value(),
            "kind" => Enum(ready(self.kind(ctx))?).into_value(),
            "firstName" => ready(self.first_name(ctx))?.into_value(),
            "lastName" => ready(self.last_name(ctx))?.into_value(),
            "companyName" => ready(self.company_name(ctx))?.into_value(),
            "displayName" => ready(self.display_name(ctx))?.into_value(),
            "email" => ready(self.email(ctx))?.into_value(),
            "phone" => ready(self.phone(ctx))?.into_value(),
            "address" => ready(self.address(ctx))?.into_value(),
            "externalRef" => ready(self.external_ref(ctx))?.into_value(),
            "createdAt" => ready(self.created_at(ctx))?.into_value(),
            "updatedAt" => ready(self.updated_at(ctx))?.into_value(),
            _ => return None,
        })
    }
}

#[Object]
impl Client {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Client", self.0.id)
    }
    /// Whether the client is a person or a business.
    async fn kind(&self) -> ClientKind {
        ClientKind::parse(&self.0.kind)
    }
    /// First name (of the person, or of the business's contact).
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// Last name (of the person, or of the business's contact).
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// The business's name.
    async fn company_name(&self) -> Option<&str> {
        self.0.company_name.as_deref()
    }
    /// The name to show: the company name for a business, "First Last" for a person.
    async fn display_name(&self) -> String {
        display_name_of(&self.0)
    }
    /// Contact e-mail address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Contact phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Postal address.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The client's reference in another system.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
    /// The user who owns (manages) this client.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let owner = ctx.loaders()?.users.load_one(self.0.owner_id).await.map_err(loader_error)?;
        Ok(owner.map(User::new))
    }
    /// When the client was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the client was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The client's policies that the caller may read.
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
        let parent = (policies::connection::Parent::Client, self.0.id);
        policies::connection::connection(ctx, Some(parent), first, after, last, before, filter, order_by).await
    }
    /// Files attached to the client itself (a policy's are on the policy): photos, reports, invoices; newest first.
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
        per_parent::connection::<AttachmentsOf, _>(ctx, OwnerKind::Client, self.0.id, args, Attachment).await
    }
    /// The claims of this client that the caller may read, newest first.
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
        per_parent::connection::<ClaimsOf, _>(ctx, ClaimParent::Client, self.0.id, args, Claim).await
    }
    /// The documents made for this client that the caller may read, newest first.
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
        per_parent::connection::<DocumentsOf, _>(ctx, DocumentParent::Client, self.0.id, args, Document).await
    }
}

/// Loads the nested lists (`policies`, `claims`, `documents`, `attachments`) the current page of
/// clients selects, for all of `clients` at once.
pub async fn prefetch_nested(ctx: &Context<'_>, clients: &[uuid::Uuid]) -> async_graphql::Result<()> {
    use policies::connection::{Parent, PoliciesOf};
    let policies = per_parent::prefetch::<PoliciesOf>(ctx, "policies", Parent::Client, clients);
    let claims = per_parent::prefetch::<ClaimsOf>(ctx, "claims", ClaimParent::Client, clients);
    let documents = per_parent::prefetch::<DocumentsOf>(ctx, "documents", DocumentParent::Client, clients);
    let attachments = per_parent::prefetch::<AttachmentsOf>(ctx, "attachments", OwnerKind::Client, clients);
    let (policies, claims, documents, attachments) = futures_util::join!(policies, claims, documents, attachments);
    policies.and(claims).and(documents).and(attachments)
}

/// The company name for a business, "First Last" for a person (each falling back on the other).
pub fn display_name_of(client_row: &client::Model) -> String {
    let person = [client_row.first_name.as_deref(), client_row.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let company = client_row.company_name.as_deref().filter(|s| !s.is_empty());
    match (ClientKind::parse(&client_row.kind), company) {
        (ClientKind::Business, Some(c)) => c.to_string(),
        (ClientKind::Person, Some(c)) if person.is_empty() => c.to_string(),
        _ => person,
    }
}

/// Creates a client. A PERSON needs `lastName`, a BUSINESS `companyName`.
/// `ownerId` defaults to the caller; an AGENT may only name themselves.
#[derive(InputObject)]
pub struct CreateClientInput {
    #[graphql(default)]
    pub kind: ClientKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub external_ref: Option<String>,
    pub owner_id: Option<ID>,
}

/// Changes a client: the fields given are set (blank clears), the others kept.
/// Only MANAGER and up may change the owner.
#[derive(InputObject)]
pub struct UpdateClientInput {
    pub id: ID,
    pub kind: Option<ClientKind>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub external_ref: Option<String>,
    pub owner_id: Option<ID>,
}

/// Narrows the list of clients.
#[derive(InputObject, Default)]
pub struct ClientFilter {
    /// Case-insensitive text in the names, company name, e-mail or external reference.
    pub search: Option<String>,
    pub kind: Option<ClientKind>,
    /// Only the clients of this user.
    pub owner_id: Option<ID>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

/// What clients can be sorted by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientOrderField {
    LastName,
    FirstName,
    CompanyName,
    Email,
    CreatedAt,
}

/// One sort key for clients.
#[derive(InputObject)]
pub struct ClientOrder {
    pub field: ClientOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}
