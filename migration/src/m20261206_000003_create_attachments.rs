//! Attachments: files a user uploads to a client, a policy or a claim (photos, reports,
//! invoices), stored by content address like documents. `client_id` is always set (the owner's
//! client: it scopes an AGENT's reads and makes deleting the client a `CONFLICT`); `policy_id` is
//! set for a policy's or a claim's attachment; `claim_id` for a claim's. `claim_id` has no foreign
//! key here: the claims table comes with its own migration.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Attachments::Id))
                    .col(uuid(Attachments::OrganizationId))
                    .col(string_len(Attachments::OwnerKind, 16))
                    .col(uuid(Attachments::ClientId))
                    .col(uuid_null(Attachments::PolicyId))
                    .col(uuid_null(Attachments::ClaimId))
                    .col(string_len(Attachments::FileName, 255))
                    .col(string_len(Attachments::MimeType, 100))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(string_len(Attachments::Sha256, 64))
                    .col(string_len_null(Attachments::Label, 200))
                    .col(string(Attachments::StorageKey))
                    .col(big_integer(Attachments::StoredBytes))
                    .col(boolean(Attachments::Compressed))
                    .col(boolean(Attachments::Encrypted))
                    .col(string_len_null(Attachments::Kid, 64))
                    .col(uuid_null(Attachments::CreatedBy))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_organization_id")
                            .from(Attachments::Table, Attachments::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_client_id")
                            .from(Attachments::Table, Attachments::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_policy_id")
                            .from(Attachments::Table, Attachments::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // The nested pages read one owner's attachments newest first.
        for (name, cols) in [
            ("idx_attachments_client_created_at", vec![Attachments::ClientId, Attachments::CreatedAt]),
            ("idx_attachments_policy_created_at", vec![Attachments::PolicyId, Attachments::CreatedAt]),
            ("idx_attachments_claim_created_at", vec![Attachments::ClaimId, Attachments::CreatedAt]),
            ("idx_attachments_org_created_at", vec![Attachments::OrganizationId, Attachments::CreatedAt]),
            ("idx_attachments_storage_key", vec![Attachments::StorageKey]),
        ] {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Attachments::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Attachments::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    OrganizationId,
    OwnerKind,
    ClientId,
    PolicyId,
    ClaimId,
    FileName,
    MimeType,
    SizeBytes,
    Sha256,
    Label,
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
enum Clients {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
}
