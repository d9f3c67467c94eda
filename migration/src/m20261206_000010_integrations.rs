//! Insurer integrations: a company's signed-webhook endpoint and its secret (kept encrypted with
//! AES-256-GCM, never in clear: `secret_encrypted` is `nonce || ciphertext || tag` in base64 and
//! `secret_kid` names the key), the deliveries queued for it (one row per delivery, claimed by
//! the workers with a lease like the mail `outbox`; its id is the `X-MonAssurance-Delivery` header,
//! the same across retries) and every attempt made at them.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DUE_INDEX: &str = "idx_webhook_deliveries_status_next_attempt_at";
const SUBJECT_INDEX: &str = "idx_delivery_attempts_subject_id";
const DELIVERY_INDEX: &str = "idx_delivery_attempts_delivery_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CompanyIntegrations::Table)
                    .if_not_exists()
                    .col(pk_uuid(CompanyIntegrations::CompanyId))
                    .col(uuid(CompanyIntegrations::OrganizationId))
                    .col(string_len(CompanyIntegrations::Endpoint, 2000))
                    .col(text(CompanyIntegrations::SecretEncrypted))
                    .col(string_len(CompanyIntegrations::SecretKid, 64))
                    .col(timestamp_with_time_zone_null(CompanyIntegrations::LastDeliveryAt))
                    .col(timestamp_with_time_zone(CompanyIntegrations::CreatedAt))
                    .col(timestamp_with_time_zone(CompanyIntegrations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_company_integrations_company_id")
                            .from(CompanyIntegrations::Table, CompanyIntegrations::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_company_integrations_organization_id")
                            .from(CompanyIntegrations::Table, CompanyIntegrations::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::OrganizationId))
                    .col(uuid(WebhookDeliveries::CompanyId))
                    .col(string_len(WebhookDeliveries::Event, 64))
                    .col(uuid(WebhookDeliveries::SubjectId))
                    .col(text(WebhookDeliveries::Body))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::NextAttemptAt))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(string_len_null(WebhookDeliveries::LeaseOwner, 200))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeasedUntil))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_organization_id")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_company_id")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The claim: due PENDING deliveries, the soonest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(DUE_INDEX)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeliveryAttempts::Table)
                    .if_not_exists()
                    .col(pk_uuid(DeliveryAttempts::Id))
                    .col(uuid(DeliveryAttempts::DeliveryId))
                    .col(uuid(DeliveryAttempts::OrganizationId))
                    .col(uuid(DeliveryAttempts::SubjectId))
                    .col(integer(DeliveryAttempts::Attempt))
                    .col(string_len(DeliveryAttempts::Status, 16))
                    .col(integer_null(DeliveryAttempts::HttpStatus))
                    .col(text_null(DeliveryAttempts::Error))
                    .col(integer(DeliveryAttempts::DurationMs))
                    .col(timestamp_with_time_zone(DeliveryAttempts::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_attempts_delivery_id")
                            .from(DeliveryAttempts::Table, DeliveryAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // `attempts_for`: a declaration batch's attempts.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(SUBJECT_INDEX)
                    .table(DeliveryAttempts::Table)
                    .col(DeliveryAttempts::SubjectId)
                    .col(DeliveryAttempts::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(DELIVERY_INDEX)
                    .table(DeliveryAttempts::Table)
                    .col(DeliveryAttempts::DeliveryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DeliveryAttempts::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(CompanyIntegrations::Table).if_exists().to_owned()).await
    }
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
enum CompanyIntegrations {
    Table,
    CompanyId,
    OrganizationId,
    Endpoint,
    SecretEncrypted,
    SecretKid,
    LastDeliveryAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    CompanyId,
    Event,
    SubjectId,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    LeaseOwner,
    LeasedUntil,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    DeliveryId,
    OrganizationId,
    SubjectId,
    Attempt,
    Status,
    HttpStatus,
    Error,
    DurationMs,
    At,
}
