//! Bordereaux: declaration batches per insurer and period, and their items. `policy_id` is unique
//! across every batch, so no policy is ever declared twice, whatever runs concurrently.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeclarationBatches::Table)
                    .if_not_exists()
                    .col(pk_uuid(DeclarationBatches::Id))
                    .col(uuid(DeclarationBatches::OrganizationId))
                    .col(uuid(DeclarationBatches::CompanyId))
                    .col(date(DeclarationBatches::PeriodStart))
                    .col(date(DeclarationBatches::PeriodEnd))
                    .col(string_len(DeclarationBatches::Currency, 3))
                    // DRAFT or SENT; FAILED is read from its deliveries.
                    .col(string_len(DeclarationBatches::Status, 16))
                    .col(integer(DeclarationBatches::ItemCount))
                    .col(big_integer(DeclarationBatches::TotalPremiumMinor))
                    .col(big_integer(DeclarationBatches::TotalCommissionMinor))
                    .col(uuid(DeclarationBatches::TemplateId))
                    .col(uuid_null(DeclarationBatches::JobId))
                    .col(uuid_null(DeclarationBatches::MessageId))
                    .col(uuid_null(DeclarationBatches::DeliveryId))
                    .col(timestamp_with_time_zone_null(DeclarationBatches::SentAt))
                    .col(uuid_null(DeclarationBatches::CreatedBy))
                    .col(timestamp_with_time_zone(DeclarationBatches::CreatedAt))
                    .col(timestamp_with_time_zone(DeclarationBatches::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_declaration_batches_organization_id")
                            .from(DeclarationBatches::Table, DeclarationBatches::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_declaration_batches_company_id")
                            .from(DeclarationBatches::Table, DeclarationBatches::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_declaration_batches_company_period")
                    .table(DeclarationBatches::Table)
                    .col(DeclarationBatches::CompanyId)
                    .col(DeclarationBatches::PeriodStart)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeclarationItems::Table)
                    .if_not_exists()
                    .col(uuid(DeclarationItems::BatchId))
                    .col(uuid(DeclarationItems::OrganizationId))
                    .col(uuid(DeclarationItems::PolicyId))
                    // The policy's premium and commission when it was declared.
                    .col(big_integer(DeclarationItems::PremiumMinor))
                    .col(big_integer(DeclarationItems::CommissionMinor))
                    .primary_key(Index::create().col(DeclarationItems::BatchId).col(DeclarationItems::PolicyId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_declaration_items_batch_id")
                            .from(DeclarationItems::Table, DeclarationItems::BatchId)
                            .to(DeclarationBatches::Table, DeclarationBatches::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_declaration_items_policy_id")
                            .from(DeclarationItems::Table, DeclarationItems::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .unique()
                    .name("ux_declaration_items_policy_id")
                    .table(DeclarationItems::Table)
                    .col(DeclarationItems::PolicyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DeclarationItems::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DeclarationBatches::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum DeclarationBatches {
    Table,
    Id,
    OrganizationId,
    CompanyId,
    PeriodStart,
    PeriodEnd,
    Currency,
    Status,
    ItemCount,
    TotalPremiumMinor,
    TotalCommissionMinor,
    TemplateId,
    JobId,
    MessageId,
    DeliveryId,
    SentAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeclarationItems {
    Table,
    BatchId,
    OrganizationId,
    PolicyId,
    PremiumMinor,
    CommissionMinor,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
}
