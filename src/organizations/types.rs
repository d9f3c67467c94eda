//! GraphQL types of organizations.

use async_graphql::{ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::{
    entities::organization,
    graphql::ids,
};

/// A brokerage: the tenant that owns users, companies, clients and policies.
#[derive(Clone)]
pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Organization", self.0.id)
    }
    /// The brokerage's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A short, URL-safe, unique name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// IANA time zone name: what "today" is for the organization's alerts and schedules.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// When the organization was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Changes the caller's organization (ADMIN): the fields given are set.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// A new name (at most 200 characters).
    pub name: Option<String>,
    /// An IANA time zone name, e.g. `Africa/Douala`, `Europe/Paris`.
    pub timezone: Option<String>,
}
