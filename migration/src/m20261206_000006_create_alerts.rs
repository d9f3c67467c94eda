//! The calendar: each organization's time zone ("today" for its alerts), its alert settings, the
//! alerts themselves (one per policy, kind, due date and threshold: a unique key, so no tick and no
//! process can raise one twice), and the lease that lets one scheduler run per tick.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(string_len(Organizations::Timezone, 64).default("Africa/Douala"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AlertSettings::Table)
                    .if_not_exists()
                    .col(pk_uuid(AlertSettings::OrganizationId))
                    // JSON arrays of whole days, e.g. [30, 7].
                    .col(json_binary(AlertSettings::ExpiryDaysBefore))
                    .col(json_binary(AlertSettings::InstalmentDaysBefore))
                    .col(boolean(AlertSettings::EmailOwner))
                    .col(boolean(AlertSettings::EmailClient))
                    .col(timestamp_with_time_zone(AlertSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alert_settings_organization_id")
                            .from(AlertSettings::Table, AlertSettings::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .if_not_exists()
                    .col(pk_uuid(Alerts::Id))
                    .col(uuid(Alerts::OrganizationId))
                    .col(string_len(Alerts::Kind, 32))
                    .col(string_len(Alerts::Status, 16))
                    .col(uuid(Alerts::PolicyId))
                    .col(uuid(Alerts::ClientId))
                    .col(date(Alerts::DueDate))
                    .col(integer(Alerts::DaysBefore))
                    .col(text(Alerts::Message))
                    .col(timestamp_with_time_zone(Alerts::CreatedAt))
                    .col(timestamp_with_time_zone_null(Alerts::AcknowledgedAt))
                    .col(uuid_null(Alerts::AcknowledgedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_organization_id")
                            .from(Alerts::Table, Alerts::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_policy_id")
                            .from(Alerts::Table, Alerts::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_acknowledged_by")
                            .from(Alerts::Table, Alerts::AcknowledgedBy)
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
                    .name("ux_alerts_policy_kind_due_threshold")
                    .table(Alerts::Table)
                    .col(Alerts::PolicyId)
                    .col(Alerts::Kind)
                    .col(Alerts::DueDate)
                    .col(Alerts::DaysBefore)
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_alerts_org_created_at", [Alerts::OrganizationId, Alerts::CreatedAt]),
            ("idx_alerts_client_id", [Alerts::ClientId, Alerts::CreatedAt]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Alerts::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(SchedulerLeases::Table)
                    .if_not_exists()
                    .col(string_len(SchedulerLeases::Name, 64).primary_key())
                    .col(string(SchedulerLeases::Holder))
                    .col(timestamp_with_time_zone(SchedulerLeases::LeasedUntil))
                    .col(timestamp_with_time_zone_null(SchedulerLeases::LastRunAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SchedulerLeases::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Alerts::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(AlertSettings::Table).if_exists().to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::Timezone).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Timezone,
}

#[derive(DeriveIden)]
enum AlertSettings {
    Table,
    OrganizationId,
    ExpiryDaysBefore,
    InstalmentDaysBefore,
    EmailOwner,
    EmailClient,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Alerts {
    Table,
    Id,
    OrganizationId,
    Kind,
    Status,
    PolicyId,
    ClientId,
    DueDate,
    DaysBefore,
    Message,
    CreatedAt,
    AcknowledgedAt,
    AcknowledgedBy,
}

#[derive(DeriveIden)]
enum SchedulerLeases {
    Table,
    Name,
    Holder,
    LeasedUntil,
    LastRunAt,
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
