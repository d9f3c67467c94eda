//! Mail delivery: the `outbox` becomes a queue the workers drain over SMTP. Each message gets its
//! organization (null for rows queued before), a status (`PENDING`/`SENT`/`FAILED`), attempts, the
//! time of its next attempt and its last error, an optional attached document, an HTML body beside
//! the text one, a lease (`lease_owner`, `leased_until`) so that one worker sends it, and the
//! locale it was written in. Rows queued before this (no SMTP existed) are marked `FAILED`: their
//! reset codes have long expired and nobody should receive them now.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DUE_INDEX: &str = "idx_outbox_status_next_attempt_at";
const ORG_INDEX: &str = "idx_outbox_org_created_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            uuid_null(Outbox::OrganizationId),
            string_len(Outbox::Status, 16).default("PENDING").to_owned(),
            integer(Outbox::Attempts).default(0).to_owned(),
            timestamp_with_time_zone_null(Outbox::NextAttemptAt),
            text_null(Outbox::LastError),
            uuid_null(Outbox::DocumentId),
            text_null(Outbox::HtmlBody),
            string_len_null(Outbox::LeaseOwner, 200),
            timestamp_with_time_zone_null(Outbox::LeasedUntil),
            string_len(Outbox::Locale, 8).default("fr").to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Outbox::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(Outbox::Table)
                    .value(Outbox::Status, "FAILED")
                    .value(Outbox::LastError, "queued before mail delivery existed; not sent")
                    .and_where(Expr::col(Outbox::SentAt).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Outbox::Table)
                    .value(Outbox::Kind, "PASSWORD_RESET")
                    .and_where(Expr::col(Outbox::Kind).eq("password_reset"))
                    .to_owned(),
            )
            .await?;
        // The claim: due PENDING messages, the soonest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(DUE_INDEX)
                    .table(Outbox::Table)
                    .col(Outbox::Status)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // `messages`: an organization's, newest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(ORG_INDEX)
                    .table(Outbox::Table)
                    .col(Outbox::OrganizationId)
                    .col(Outbox::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(ORG_INDEX).table(Outbox::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(DUE_INDEX).table(Outbox::Table).to_owned()).await?;
        for column in [
            Outbox::Locale,
            Outbox::LeasedUntil,
            Outbox::LeaseOwner,
            Outbox::HtmlBody,
            Outbox::DocumentId,
            Outbox::LastError,
            Outbox::NextAttemptAt,
            Outbox::Attempts,
            Outbox::Status,
            Outbox::OrganizationId,
        ] {
            manager.alter_table(Table::alter().table(Outbox::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Kind,
    SentAt,
    CreatedAt,
    OrganizationId,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    DocumentId,
    HtmlBody,
    LeaseOwner,
    LeasedUntil,
    Locale,
}
