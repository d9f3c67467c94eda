//! Report schedules: a REPORT template run by cron in a time zone as its creator, its document
//! mailed to the recipients. `next_run_at` is stored, so a tick finds the due ones by an index.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReportSchedules::Table)
                    .if_not_exists()
                    .col(pk_uuid(ReportSchedules::Id))
                    .col(uuid(ReportSchedules::OrganizationId))
                    .col(string(ReportSchedules::Name))
                    .col(uuid(ReportSchedules::TemplateId))
                    // A PolicyFilter, as JSON (null: every policy the creator may read).
                    .col(json_binary_null(ReportSchedules::Filter))
                    .col(string_len(ReportSchedules::Cron, 200))
                    .col(string_len(ReportSchedules::Timezone, 64))
                    // A JSON array of e-mail addresses.
                    .col(json_binary(ReportSchedules::Recipients))
                    .col(boolean(ReportSchedules::IsActive))
                    .col(timestamp_with_time_zone_null(ReportSchedules::LastRunAt))
                    .col(timestamp_with_time_zone_null(ReportSchedules::NextRunAt))
                    .col(uuid_null(ReportSchedules::LastJobId))
                    .col(text_null(ReportSchedules::LastError))
                    .col(uuid_null(ReportSchedules::CreatedBy))
                    .col(timestamp_with_time_zone(ReportSchedules::CreatedAt))
                    .col(timestamp_with_time_zone(ReportSchedules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_report_schedules_organization_id")
                            .from(ReportSchedules::Table, ReportSchedules::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_report_schedules_template_id")
                            .from(ReportSchedules::Table, ReportSchedules::TemplateId)
                            .to(Templates::Table, Templates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_report_schedules_created_by")
                            .from(ReportSchedules::Table, ReportSchedules::CreatedBy)
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
                    .name("idx_report_schedules_due")
                    .table(ReportSchedules::Table)
                    .col(ReportSchedules::IsActive)
                    .col(ReportSchedules::NextRunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_report_schedules_org")
                    .table(ReportSchedules::Table)
                    .col(ReportSchedules::OrganizationId)
                    .col(ReportSchedules::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReportSchedules::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ReportSchedules {
    Table,
    Id,
    OrganizationId,
    Name,
    TemplateId,
    Filter,
    Cron,
    Timezone,
    Recipients,
    IsActive,
    LastRunAt,
    NextRunAt,
    LastJobId,
    LastError,
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
enum Templates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
