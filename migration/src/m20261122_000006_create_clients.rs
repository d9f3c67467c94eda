//! Clients: the insured people and businesses, each owned by one user (agent) of the organization.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .if_not_exists()
                    .col(pk_uuid(Clients::Id))
                    .col(uuid(Clients::OrganizationId))
                    .col(uuid(Clients::OwnerId))
                    // PERSON | BUSINESS
                    .col(string_len(Clients::Kind, 16))
                    .col(string_null(Clients::FirstName))
                    .col(string_null(Clients::LastName))
                    .col(string_null(Clients::CompanyName))
                    .col(string_null(Clients::Email))
                    .col(string_null(Clients::Phone))
                    .col(text_null(Clients::Address))
                    .col(string_null(Clients::ExternalRef))
                    .col(timestamp_with_time_zone(Clients::CreatedAt))
                    .col(timestamp_with_time_zone(Clients::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clients_organization_id")
                            .from(Clients::Table, Clients::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clients_owner_id")
                            .from(Clients::Table, Clients::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;

        let indexes: [(&str, &[Clients]); 5] = [
            ("idx_clients_organization_id", &[Clients::OrganizationId]),
            ("idx_clients_owner_id", &[Clients::OwnerId]),
            (
                "idx_clients_org_last_name",
                &[Clients::OrganizationId, Clients::LastName],
            ),
            (
                "idx_clients_org_email",
                &[Clients::OrganizationId, Clients::Email],
            ),
            (
                "idx_clients_org_created_at",
                &[Clients::OrganizationId, Clients::CreatedAt],
            ),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Clients::Table);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its indexes and foreign keys on both backends.
        manager
            .drop_table(Table::drop().table(Clients::Table).if_exists().to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Clients {
    Table,
    Id,
    OrganizationId,
    OwnerId,
    Kind,
    FirstName,
    LastName,
    CompanyName,
    Email,
    Phone,
    Address,
    ExternalRef,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
