//! GraphQL types of API keys.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    entities::api_key,
    graphql::ids,
};

/// What an API key may do.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// Queries only.
    Read,
    /// Queries and mutations.
    Write,
}

/// A credential for an integration: send it as `Authorization: ApiKey <secret>`. It acts with
/// MANAGER rights in its organization, limited by its scopes.
pub struct ApiKey(pub api_key::Model);

#[Object]
impl ApiKey {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode("ApiKey", self.0.id)
    }
    /// What the key is for.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The visible start of the secret, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// What the key may do.
    async fn scopes(&self) -> Vec<ApiKeyScope> {
        let mut out = vec![ApiKeyScope::Read];
        if self.0.scopes.split(',').any(|s| s == "write") {
            out.push(ApiKeyScope::Write);
        }
        out
    }
    /// When the key was last used (updated at most once a minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// When the key was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the key was revoked; a revoked key no longer works.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// Creates an API key (ADMIN).
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. "Accounting export".
    pub name: String,
    /// `READ` (default) or `READ` and `WRITE`.
    #[graphql(default_with = "vec![ApiKeyScope::Read]")]
    pub scopes: Vec<ApiKeyScope>,
}

/// A new API key and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKey,
    /// The secret: store it now, it cannot be shown again.
    pub secret: String,
}
