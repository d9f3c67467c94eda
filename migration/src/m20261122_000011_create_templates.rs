//! Document templates, their immutable numbered versions, and the companies a template is bound to.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Templates::Table)
                    .if_not_exists()
                    .col(pk_uuid(Templates::Id))
                    .col(uuid(Templates::OrganizationId))
                    .col(string(Templates::Name))
                    .col(text_null(Templates::Description))
                    .col(string_len(Templates::Format, 8))
                    .col(string_len(Templates::Scope, 8))
                    .col(boolean(Templates::IsActive).default(true))
                    .col(integer(Templates::CurrentVersion))
                    .col(uuid_null(Templates::CreatedBy))
                    .col(timestamp_with_time_zone(Templates::CreatedAt))
                    .col(timestamp_with_time_zone(Templates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_templates_organization_id")
                            .from(Templates::Table, Templates::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_templates_created_by")
                            .from(Templates::Table, Templates::CreatedBy)
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
                    .name("ux_templates_org_name")
                    .table(Templates::Table)
                    .col(Templates::OrganizationId)
                    .col(Templates::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TemplateVersions::Table)
                    .if_not_exists()
                    .col(pk_uuid(TemplateVersions::Id))
                    .col(uuid(TemplateVersions::TemplateId))
                    .col(integer(TemplateVersions::Version))
                    .col(text(TemplateVersions::Content))
                    .col(string_len(TemplateVersions::Checksum, 64))
                    .col(text_null(TemplateVersions::Changelog))
                    .col(uuid_null(TemplateVersions::CreatedBy))
                    .col(timestamp_with_time_zone(TemplateVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_versions_template_id")
                            .from(TemplateVersions::Table, TemplateVersions::TemplateId)
                            .to(Templates::Table, Templates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_versions_created_by")
                            .from(TemplateVersions::Table, TemplateVersions::CreatedBy)
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
                    .name("ux_template_versions_template_version")
                    .table(TemplateVersions::Table)
                    .col(TemplateVersions::TemplateId)
                    .col(TemplateVersions::Version)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TemplateCompanies::Table)
                    .if_not_exists()
                    .col(uuid(TemplateCompanies::TemplateId))
                    .col(uuid(TemplateCompanies::CompanyId))
                    .primary_key(Index::create().col(TemplateCompanies::TemplateId).col(TemplateCompanies::CompanyId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_companies_template_id")
                            .from(TemplateCompanies::Table, TemplateCompanies::TemplateId)
                            .to(Templates::Table, Templates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_template_companies_company_id")
                            .from(TemplateCompanies::Table, TemplateCompanies::CompanyId)
                            .to(Companies::Table, Companies::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_template_companies_company_id")
                    .table(TemplateCompanies::Table)
                    .col(TemplateCompanies::CompanyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TemplateCompanies::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(TemplateVersions::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Templates::Table).if_exists().to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    Format,
    Scope,
    IsActive,
    CurrentVersion,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TemplateVersions {
    Table,
    Id,
    TemplateId,
    Version,
    Content,
    Checksum,
    Changelog,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TemplateCompanies {
    Table,
    TemplateId,
    CompanyId,
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
enum Companies {
    Table,
    Id,
}
