//! Instalments and payments: a policy's premium split into instalments (one of the whole premium
//! on its effective date until a plan is set), and the payments recorded against it, allocated to
//! the oldest instalment first. Amounts are in the currency's minor unit, like the premium.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Instalments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Instalments::Id))
                    .col(uuid(Instalments::OrganizationId))
                    .col(uuid(Instalments::PolicyId))
                    .col(date(Instalments::DueDate))
                    .col(big_integer(Instalments::AmountMinor))
                    .col(big_integer(Instalments::PaidMinor).default(0))
                    // DUE, PARTIAL, PAID or OVERDUE.
                    .col(string_len(Instalments::Status, 16))
                    // False for the default single instalment (the whole premium on the effective date).
                    .col(boolean(Instalments::Planned))
                    .col(timestamp_with_time_zone(Instalments::CreatedAt))
                    .col(timestamp_with_time_zone(Instalments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_instalments_organization_id")
                            .from(Instalments::Table, Instalments::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_instalments_policy_id")
                            .from(Instalments::Table, Instalments::PolicyId)
                            .to(Policies::Table, Policies::Id)
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
                    .name("ux_instalments_policy_due_date")
                    .table(Instalments::Table)
                    .col(Instalments::PolicyId)
                    .col(Instalments::DueDate)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_instalments_org_status_due_date")
                    .table(Instalments::Table)
                    .col(Instalments::OrganizationId)
                    .col(Instalments::Status)
                    .col(Instalments::DueDate)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::OrganizationId))
                    .col(uuid(Payments::PolicyId))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::Method, 16))
                    .col(string_len_null(Payments::Reference, 100))
                    .col(timestamp_with_time_zone(Payments::PaidAt))
                    .col(timestamp_with_time_zone_null(Payments::ReversedAt))
                    .col(uuid_null(Payments::ReversedBy))
                    .col(uuid_null(Payments::CreatedBy))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_organization_id")
                            .from(Payments::Table, Payments::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_policy_id")
                            .from(Payments::Table, Payments::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_created_by")
                            .from(Payments::Table, Payments::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payments_reversed_by")
                            .from(Payments::Table, Payments::ReversedBy)
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
                    .name("idx_payments_policy_created_at")
                    .table(Payments::Table)
                    .col(Payments::PolicyId)
                    .col(Payments::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Payments::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Instalments::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Instalments {
    Table,
    Id,
    OrganizationId,
    PolicyId,
    DueDate,
    AmountMinor,
    PaidMinor,
    Status,
    Planned,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrganizationId,
    PolicyId,
    AmountMinor,
    Currency,
    Method,
    Reference,
    PaidAt,
    ReversedAt,
    ReversedBy,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
