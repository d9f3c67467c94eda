//! Policies: a client's contract with a company; `number` is unique per organization.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Policies::Table)
                    .if_not_exists()
                    .col(pk_uuid(Policies::Id))
                    .col(uuid(Policies::OrganizationId))
                    .col(string(Policies::Number))
                    .col(uuid(Policies::ClientId))
                    .col(uuid(Policies::CompanyId))
                    .col(string(Policies::ProductName))
                    .col(string_len(Policies::ProductType, 16))
                    .col(string_len(Policies::Status, 16))
                    // The premium in hundredths of the currency unit: exact, never a float.
                    .col(big_integer(Policies::PremiumCents))
                    // ISO 4217 code.
                    .col(string_len(Policies::Currency, 3))
                    .col(date(Policies::EffectiveDate))
                    .col(date(Policies::ExpiryDate))
                    // jsonb on PostgreSQL, text on SQLite.
                    .col(json_binary(Policies::Coverage))
                    .col(uuid_null(Policies::CreatedBy))
                    .col(timestamp_with_time_zone(Policies::CreatedAt))
                    .col(timestamp_with_time_zone(Policies::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policies_organization_id")
                            .from(Policies::Table, Policies::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policies_client_id")
                            .from(Policies::Table, Policies::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policies_company_id")
                            .from(Policies::Table, Policies::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policies_created_by")
                            .from(Policies::Table, Policies::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .unique()
                    .name("ux_policies_org_number")
                    .table(Policies::Table)
                    .col(Policies::OrganizationId)
                    .col(Policies::Number)
                    .to_owned(),
            )
            .await?;

        let indexes: [(&str, &[Policies]); 8] = [
            ("idx_policies_client_id", &[Policies::ClientId]),
            ("idx_policies_company_id", &[Policies::CompanyId]),
            ("idx_policies_created_by", &[Policies::CreatedBy]),
            (
                "idx_policies_org_status",
                &[Policies::OrganizationId, Policies::Status],
            ),
            (
                "idx_policies_org_product_type",
                &[Policies::OrganizationId, Policies::ProductType],
            ),
            (
                "idx_policies_org_effective_date",
                &[Policies::OrganizationId, Policies::EffectiveDate],
            ),
            (
                "idx_policies_org_expiry_date",
                &[Policies::OrganizationId, Policies::ExpiryDate],
            ),
            (
                "idx_policies_org_created_at",
                &[Policies::OrganizationId, Policies::CreatedAt],
            ),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Policies::Table);
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
            .drop_table(Table::drop().table(Policies::Table).if_exists().to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Policies {
    Table,
    Id,
    OrganizationId,
    Number,
    ClientId,
    CompanyId,
    ProductName,
    ProductType,
    Status,
    PremiumCents,
    Currency,
    EffectiveDate,
    ExpiryDate,
    Coverage,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
