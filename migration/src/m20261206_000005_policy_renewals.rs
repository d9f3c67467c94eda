//! Renewals: `policies.previous_policy_id` links a renewal to the policy it renews. A unique index
//! on it makes "a policy is renewed once" hold in the database, whatever runs concurrently.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_policies_previous_policy_id";
const FOREIGN_KEY: &str = "fk_policies_previous_policy_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Policies::Table).add_column(uuid_null(Policies::PreviousPolicyId)).to_owned())
            .await?;
        // SQLite cannot add a constraint to an existing table; there the service clears the link
        // before a renewed policy is deleted (it does so on both backends).
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name(FOREIGN_KEY)
                        .from(Policies::Table, Policies::PreviousPolicyId)
                        .to(Policies::Table, Policies::Id)
                        .on_delete(ForeignKeyAction::SetNull)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .unique()
                    .name(INDEX)
                    .table(Policies::Table)
                    .col(Policies::PreviousPolicyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Policies::Table).to_owned()).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .drop_foreign_key(ForeignKey::drop().name(FOREIGN_KEY).table(Policies::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(Table::alter().table(Policies::Table).drop_column(Policies::PreviousPolicyId).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
    PreviousPolicyId,
}
