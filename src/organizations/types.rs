//! GraphQL types of organizations.

use async_graphql::{ID, Object};
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
    /// When the organization was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
