//! Jobs take turns by organization: a worker picks the organization whose last turn (its latest
//! job heartbeat) is oldest, which an index on `(organization_id, heartbeat_at)` answers per
//! organization without a scan. `jobs.attempts` now counts the turns taken over from a worker that
//! stopped, since the last recorded item (it counted every turn): unfinished jobs start from none.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_jobs_org_heartbeat_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(INDEX)
                    .table(Jobs::Table)
                    .col(Jobs::OrganizationId)
                    .col(Jobs::HeartbeatAt)
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Jobs::Table)
                    .value(Jobs::Attempts, 0)
                    .and_where(Expr::col(Jobs::Status).is_in(["QUEUED", "RUNNING"]))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Jobs::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    OrganizationId,
    HeartbeatAt,
    Attempts,
    Status,
}
