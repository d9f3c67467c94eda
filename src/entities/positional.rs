//! The rows the list pages read most (policies, clients, companies), decoded by position on
//! PostgreSQL.
//!
//! sea-orm's derived `FromQueryResult` finds every column by its name: a hashed look-up in the
//! row's column map for each column of each row, and a formatted error message for each NULL it
//! meets (which `Option` then throws away). On a 100-policy page that was about a fifth of the
//! server's instructions. [`Fast`] reads the same model from the row's columns in the entity's
//! column order, which is the order `Entity::find()` selects them in (`Column as usize`); on any
//! other backend, or under a prefix, it falls back to the by-name decoder. The two are checked
//! against each other on both databases (`tests/api/http.rs`,
//! `rows_read_by_position_are_the_rows_read_by_name`).

use sea_orm::{DbErr, FromQueryResult, QueryResult, RuntimeErr, sqlx::{self, Row, postgres::PgRow}};

use super::{client, company, policy};

/// A model that can be read from the first columns of a PostgreSQL row, in its entity's order.
pub trait Positional: FromQueryResult + Sized {
    /// The model from the row's first columns.
    fn from_pg(row: &PgRow) -> Result<Self, sqlx::Error> {
        Self::from_pg_at(row, 0)
    }

    /// The model from the row's columns from `base` on (a joined table's, after the page's own).
    fn from_pg_at(row: &PgRow, base: usize) -> Result<Self, sqlx::Error>;
}

/// `M`, read by position on PostgreSQL and by name elsewhere.
pub struct Fast<M>(pub M);

impl<M: Positional> FromQueryResult for Fast<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        match res.try_as_pg_row() {
            Some(row) if pre.is_empty() => M::from_pg(row).map(Fast).map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into()))),
            _ => M::from_query_result(res, pre).map(Fast),
        }
    }
}

/// A row type that gives the model it was read as (the model itself, or [`Fast`]).
pub trait IntoModel<M> {
    fn into_model(self) -> M;
}

impl<M> IntoModel<M> for M {
    fn into_model(self) -> M {
        self
    }
}

impl<M> IntoModel<M> for Fast<M> {
    fn into_model(self) -> M {
        self.0
    }
}

/// `Positional` for an entity's model: each field with its column, read at the column's index.
/// Unchecked: sqlx does not compare each column's type with the field's on every row (about a
/// tenth of a page's instructions); the columns are the entity's own, and the test above reads
/// every column of every type both ways.
macro_rules! positional {
    ($entity:ident { $($field:ident: $column:ident),* $(,)? }) => {
        impl Positional for $entity::Model {
            fn from_pg_at(row: &PgRow, base: usize) -> Result<Self, sqlx::Error> {
                Ok($entity::Model { $($field: row.try_get_unchecked(base + $entity::Column::$column as usize)?),* })
            }
        }
    };
}

positional!(policy {
    id: Id,
    organization_id: OrganizationId,
    number: Number,
    client_id: ClientId,
    company_id: CompanyId,
    product_name: ProductName,
    product_type: ProductType,
    status: Status,
    premium_minor: PremiumMinor,
    net_premium_minor: NetPremiumMinor,
    fees_minor: FeesMinor,
    taxes_minor: TaxesMinor,
    currency: Currency,
    effective_date: EffectiveDate,
    expiry_date: ExpiryDate,
    coverage: Coverage,
    created_by: CreatedBy,
    previous_policy_id: PreviousPolicyId,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});

positional!(client {
    id: Id,
    organization_id: OrganizationId,
    owner_id: OwnerId,
    kind: Kind,
    first_name: FirstName,
    last_name: LastName,
    company_name: CompanyName,
    email: Email,
    phone: Phone,
    address: Address,
    external_ref: ExternalRef,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});

positional!(company {
    id: Id,
    organization_id: OrganizationId,
    name: Name,
    code: Code,
    contact_email: ContactEmail,
    phone: Phone,
    address: Address,
    api_mode: ApiMode,
    api_endpoint: ApiEndpoint,
    created_at: CreatedAt,
    updated_at: UpdatedAt,
});
