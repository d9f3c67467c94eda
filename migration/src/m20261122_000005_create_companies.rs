//! Companies: the insurers an organization places policies with; `code` is unique per organization.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Companies::Table)
                    .if_not_exists()
                    .col(pk_uuid(Companies::Id))
                    .col(uuid(Companies::OrganizationId))
                    .col(string(Companies::Name))
                    .col(string(Companies::Code))
                    .col(string_null(Companies::ContactEmail))
                    .col(string_null(Companies::Phone))
                    .col(text_null(Companies::Address))
                    .col(string_len(Companies::ApiMode, 16).default("NONE"))
                    .col(string_null(Companies::ApiEndpoint))
                    .col(timestamp_with_time_zone(Companies::CreatedAt))
                    .col(timestamp_with_time_zone(Companies::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_companies_organization_id")
                            .from(Companies::Table, Companies::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .unique()
                    .name("ux_companies_org_code")
                    .table(Companies::Table)
                    .col(Companies::OrganizationId)
                    .col(Companies::Code)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_companies_org_name")
                    .table(Companies::Table)
                    .col(Companies::OrganizationId)
                    .col(Companies::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its indexes and foreign keys on both backends.
        manager
            .drop_table(Table::drop().table(Companies::Table).if_exists().to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
    OrganizationId,
    Name,
    Code,
    ContactEmail,
    Phone,
    Address,
    ApiMode,
    ApiEndpoint,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}
