//! Generation jobs (a durable queue: status, progress, lease, heartbeat), their items, and documents.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(pk_uuid(Jobs::Id))
                    .col(uuid(Jobs::OrganizationId))
                    .col(string_len(Jobs::Kind, 16))
                    .col(string_len(Jobs::Status, 16))
                    .col(uuid(Jobs::TemplateId))
                    .col(uuid(Jobs::TemplateVersionId))
                    .col(string_len(Jobs::Format, 8))
                    .col(json_binary(Jobs::Params))
                    .col(integer(Jobs::Total))
                    .col(integer(Jobs::Done))
                    .col(integer(Jobs::Failed))
                    .col(text_null(Jobs::Error))
                    .col(integer(Jobs::Attempts))
                    .col(string_len_null(Jobs::IdempotencyKey, 200))
                    .col(string_len_null(Jobs::LeaseOwner, 100))
                    .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                    .col(timestamp_with_time_zone_null(Jobs::HeartbeatAt))
                    .col(timestamp_with_time_zone(Jobs::TurnAt))
                    .col(boolean(Jobs::CancelRequested).default(false))
                    .col(uuid_null(Jobs::CreatedBy))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_organization_id")
                            .from(Jobs::Table, Jobs::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_jobs_created_by")
                            .from(Jobs::Table, Jobs::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, unique, cols) in [
            ("ux_jobs_org_idempotency_key", true, vec![Jobs::OrganizationId, Jobs::IdempotencyKey]),
            ("idx_jobs_status_turn_at", false, vec![Jobs::Status, Jobs::TurnAt]),
            ("idx_jobs_org_created_at", false, vec![Jobs::OrganizationId, Jobs::CreatedAt]),
            ("idx_jobs_created_by", false, vec![Jobs::CreatedBy]),
            ("idx_jobs_org_updated_at", false, vec![Jobs::OrganizationId, Jobs::UpdatedAt]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Jobs::Table);
            if unique {
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(JobItems::Table)
                    .if_not_exists()
                    .col(pk_uuid(JobItems::Id))
                    .col(uuid(JobItems::JobId))
                    .col(integer(JobItems::Seq))
                    .col(uuid_null(JobItems::PolicyId))
                    .col(uuid_null(JobItems::ClientId))
                    .col(string_len(JobItems::Status, 16))
                    .col(text_null(JobItems::Error))
                    .col(integer(JobItems::Attempts))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_job_items_job_id")
                            .from(JobItems::Table, JobItems::JobId)
                            .to(Jobs::Table, Jobs::Id)
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
                    .name("ux_job_items_job_seq")
                    .table(JobItems::Table)
                    .col(JobItems::JobId)
                    .col(JobItems::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_job_items_job_status")
                    .table(JobItems::Table)
                    .col(JobItems::JobId)
                    .col(JobItems::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .if_not_exists()
                    .col(pk_uuid(Documents::Id))
                    .col(uuid(Documents::OrganizationId))
                    .col(uuid_null(Documents::JobId))
                    .col(uuid_null(Documents::JobItemId))
                    .col(uuid_null(Documents::TemplateId))
                    .col(uuid_null(Documents::TemplateVersionId))
                    .col(uuid_null(Documents::PolicyId))
                    .col(uuid_null(Documents::ClientId))
                    .col(string(Documents::FileName))
                    .col(string_len(Documents::Format, 8))
                    .col(string_len(Documents::MimeType, 100))
                    .col(big_integer(Documents::SizeBytes))
                    .col(string_len(Documents::Sha256, 64))
                    .col(string(Documents::StorageKey))
                    .col(big_integer(Documents::StoredBytes))
                    .col(boolean(Documents::Compressed))
                    .col(boolean(Documents::Encrypted))
                    .col(string_len_null(Documents::Kid, 64))
                    .col(uuid_null(Documents::CreatedBy))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_organization_id")
                            .from(Documents::Table, Documents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_job_id")
                            .from(Documents::Table, Documents::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_policy_id")
                            .from(Documents::Table, Documents::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_client_id")
                            .from(Documents::Table, Documents::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, unique, cols) in [
            ("ux_documents_job_item_id", true, vec![Documents::JobItemId]),
            ("idx_documents_org_created_at", false, vec![Documents::OrganizationId, Documents::CreatedAt]),
            ("idx_documents_policy_id", false, vec![Documents::PolicyId]),
            ("idx_documents_client_id", false, vec![Documents::ClientId]),
            ("idx_documents_job_id", false, vec![Documents::JobId]),
            ("idx_documents_storage_key", false, vec![Documents::StorageKey]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Documents::Table);
            if unique {
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Documents::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(JobItems::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Jobs::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Jobs {
    Table,
    Id,
    OrganizationId,
    Kind,
    Status,
    TemplateId,
    TemplateVersionId,
    Format,
    Params,
    Total,
    Done,
    Failed,
    Error,
    Attempts,
    IdempotencyKey,
    LeaseOwner,
    LeaseExpiresAt,
    HeartbeatAt,
    TurnAt,
    CancelRequested,
    CreatedBy,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobItems {
    Table,
    Id,
    JobId,
    Seq,
    PolicyId,
    ClientId,
    Status,
    Error,
    Attempts,
}

#[derive(DeriveIden, Clone, Copy)]
enum Documents {
    Table,
    Id,
    OrganizationId,
    JobId,
    JobItemId,
    TemplateId,
    TemplateVersionId,
    PolicyId,
    ClientId,
    FileName,
    Format,
    MimeType,
    SizeBytes,
    Sha256,
    StorageKey,
    StoredBytes,
    Compressed,
    Encrypted,
    Kid,
    CreatedBy,
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

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
}
