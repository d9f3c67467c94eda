//! Template assets: the images a template version references (`image("logo.png")`), uploaded with
//! the version and kept with it (small files, so in the database, beside the version's text).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TemplateAssets::Table)
                    .if_not_exists()
                    .col(pk_uuid(TemplateAssets::Id))
                    .col(uuid(TemplateAssets::TemplateVersionId))
                    .col(string_len(TemplateAssets::Name, 100))
                    .col(string_len(TemplateAssets::ContentType, 100))
                    .col(big_integer(TemplateAssets::SizeBytes))
                    .col(string_len(TemplateAssets::Sha256, 64))
                    .col(blob(TemplateAssets::Content))
                    .col(timestamp_with_time_zone(TemplateAssets::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_assets_version")
                            .from(TemplateAssets::Table, TemplateAssets::TemplateVersionId)
                            .to(TemplateVersions::Table, TemplateVersions::Id)
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
                    .name("ux_template_assets_version_name")
                    .table(TemplateAssets::Table)
                    .col(TemplateAssets::TemplateVersionId)
                    .col(TemplateAssets::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TemplateAssets::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TemplateAssets {
    Table,
    Id,
    TemplateVersionId,
    Name,
    ContentType,
    SizeBytes,
    Sha256,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TemplateVersions {
    Table,
    Id,
}
