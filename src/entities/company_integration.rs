//! `company_integrations`: an insurer's signed-webhook endpoint, one per company. The secret is
//! kept encrypted (`integrations::secret`): `secret_encrypted` is base64 of `nonce || ciphertext
//! || tag`, `secret_kid` the id of the key that sealed it. `Debug` never prints the ciphertext.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "company_integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub company_id: Uuid,
    pub organization_id: Uuid,
    /// The URL deliveries are POSTed to.
    pub endpoint: String,
    #[sea_orm(column_type = "Text")]
    pub secret_encrypted: String,
    pub secret_kid: String,
    /// When a delivery last succeeded (a 2xx).
    pub last_delivery_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("company_integration::Model")
            .field("company_id", &self.company_id)
            .field("organization_id", &self.organization_id)
            .field("endpoint", &self.endpoint)
            .field("secret_kid", &self.secret_kid)
            .field("last_delivery_at", &self.last_delivery_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
