//! Claims on policies, their status history, and the per-organization, per-year counter that
//! numbers them (`CLM-<year>-<5 digits>`) without gaps or duplicates.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClaimCounters::Table)
                    .if_not_exists()
                    .col(uuid(ClaimCounters::OrganizationId))
                    .col(integer(ClaimCounters::Year))
                    // The last number given in that organization and year.
                    .col(integer(ClaimCounters::Last))
                    .primary_key(Index::create().col(ClaimCounters::OrganizationId).col(ClaimCounters::Year))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_counters_organization_id")
                            .from(ClaimCounters::Table, ClaimCounters::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Claims::Table)
                    .if_not_exists()
                    .col(pk_uuid(Claims::Id))
                    .col(uuid(Claims::OrganizationId))
                    .col(string_len(Claims::Number, 32))
                    .col(uuid(Claims::PolicyId))
                    .col(uuid(Claims::ClientId))
                    .col(string_len(Claims::Status, 16))
                    .col(date(Claims::IncidentDate))
                    .col(timestamp_with_time_zone(Claims::ReportedAt))
                    .col(text(Claims::Description))
                    .col(string_null(Claims::InsurerReference))
                    // Amounts in hundredths of the policy's currency unit.
                    .col(big_integer(Claims::AmountClaimedCents))
                    .col(big_integer_null(Claims::AmountSettledCents))
                    .col(string_len(Claims::Currency, 3))
                    .col(uuid_null(Claims::CreatedBy))
                    .col(timestamp_with_time_zone(Claims::CreatedAt))
                    .col(timestamp_with_time_zone(Claims::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_organization_id")
                            .from(Claims::Table, Claims::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_policy_id")
                            .from(Claims::Table, Claims::PolicyId)
                            .to(Policies::Table, Policies::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_client_id")
                            .from(Claims::Table, Claims::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_created_by")
                            .from(Claims::Table, Claims::CreatedBy)
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
                    .name("ux_claims_org_number")
                    .table(Claims::Table)
                    .col(Claims::OrganizationId)
                    .col(Claims::Number)
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &[Claims]); 5] = [
            ("idx_claims_policy_id", &[Claims::PolicyId, Claims::CreatedAt]),
            ("idx_claims_client_id", &[Claims::ClientId, Claims::CreatedAt]),
            ("idx_claims_org_status", &[Claims::OrganizationId, Claims::Status]),
            ("idx_claims_org_incident_date", &[Claims::OrganizationId, Claims::IncidentDate]),
            ("idx_claims_org_created_at", &[Claims::OrganizationId, Claims::CreatedAt]),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Claims::Table);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ClaimEvents::Table)
                    .if_not_exists()
                    .col(pk_uuid(ClaimEvents::Id))
                    .col(uuid(ClaimEvents::ClaimId))
                    // 1, 2, 3… per claim: the order of its history.
                    .col(integer(ClaimEvents::Seq))
                    .col(string_len(ClaimEvents::Status, 16))
                    .col(text_null(ClaimEvents::Note))
                    .col(uuid_null(ClaimEvents::ActorId))
                    .col(timestamp_with_time_zone(ClaimEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_events_claim_id")
                            .from(ClaimEvents::Table, ClaimEvents::ClaimId)
                            .to(Claims::Table, Claims::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_events_actor_id")
                            .from(ClaimEvents::Table, ClaimEvents::ActorId)
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
                    .name("ux_claim_events_claim_seq")
                    .table(ClaimEvents::Table)
                    .col(ClaimEvents::ClaimId)
                    .col(ClaimEvents::Seq)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ClaimEvents::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Claims::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(ClaimCounters::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ClaimCounters {
    Table,
    OrganizationId,
    Year,
    Last,
}

#[derive(DeriveIden, Clone, Copy)]
enum Claims {
    Table,
    Id,
    OrganizationId,
    Number,
    PolicyId,
    ClientId,
    Status,
    IncidentDate,
    ReportedAt,
    Description,
    InsurerReference,
    AmountClaimedCents,
    AmountSettledCents,
    Currency,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClaimEvents {
    Table,
    Id,
    ClaimId,
    Seq,
    Status,
    Note,
    ActorId,
    At,
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
enum Clients {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
