//! `organizations.payments_tracked_from`: the first due date whose instalments the scheduler marks
//! OVERDUE and alerts about. Organizations that existed before payments could be recorded get the
//! day of this migration (their older premiums were collected outside MonAssurance: without it,
//! the first tick would call every one of them overdue and mail about each); new ones get none.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Organizations::Table).add_column(date_null(Organizations::PaymentsTrackedFrom)).to_owned())
            .await?;
        manager.get_connection().execute_unprepared("UPDATE organizations SET payments_tracked_from = CURRENT_DATE").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::PaymentsTrackedFrom).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    PaymentsTrackedFrom,
}
