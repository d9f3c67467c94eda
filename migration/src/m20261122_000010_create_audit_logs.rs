//! The audit trail: who did what to which object, from where, in the same transaction as the change.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .if_not_exists()
                    .col(pk_uuid(AuditLogs::Id))
                    .col(uuid_null(AuditLogs::OrganizationId))
                    .col(uuid_null(AuditLogs::ActorId))
                    .col(uuid_null(AuditLogs::ApiKeyId))
                    .col(string_len(AuditLogs::Action, 64))
                    .col(string_len_null(AuditLogs::ObjectType, 64))
                    .col(uuid_null(AuditLogs::ObjectId))
                    .col(string_len_null(AuditLogs::Ip, 64))
                    .col(string_len_null(AuditLogs::UserAgent, 500))
                    .col(string_len_null(AuditLogs::RequestId, 128))
                    .col(json_binary(AuditLogs::Metadata))
                    .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_logs_organization_id")
                            .from(AuditLogs::Table, AuditLogs::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_logs_actor_id")
                            .from(AuditLogs::Table, AuditLogs::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_logs_org_created_at", vec![AuditLogs::OrganizationId, AuditLogs::CreatedAt]),
            ("idx_audit_logs_org_action", vec![AuditLogs::OrganizationId, AuditLogs::Action]),
            ("idx_audit_logs_org_object", vec![AuditLogs::OrganizationId, AuditLogs::ObjectType, AuditLogs::ObjectId]),
            ("idx_audit_logs_actor_id", vec![AuditLogs::ActorId]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(AuditLogs::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLogs::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLogs {
    Table,
    Id,
    OrganizationId,
    ActorId,
    ApiKeyId,
    Action,
    ObjectType,
    ObjectId,
    Ip,
    UserAgent,
    RequestId,
    Metadata,
    CreatedAt,
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
