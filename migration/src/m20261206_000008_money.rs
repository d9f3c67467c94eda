//! Money: amounts move from hundredths to the currency's own minor unit (XAF and the other
//! currencies without decimals are divided by 100, rounded half-even; the three-decimal ones
//! multiplied by 10), a policy's premium gets its breakdown (`net_premium + fees + taxes`, the
//! existing premium becoming the net premium), and commission rates per insurer and product type.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// ISO 4217 exponent 0 and 3, as the code had them when this migration was written.
const NO_DECIMALS: &str = "'BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','VND','VUV','XAF','XOF','XPF'";
const THREE_DECIMALS: &str = "'BHD','IQD','JOD','KWD','LYD','OMR','TND'";

/// `column` (hundredths, never negative) in the minor unit of `currency`, rounded half-even.
fn to_minor(column: &str) -> String {
    format!(
        "CASE WHEN currency IN ({NO_DECIMALS}) THEN {column} / 100 + \
           CASE WHEN {column} % 100 > 50 OR ({column} % 100 = 50 AND ({column} / 100) % 2 = 1) THEN 1 ELSE 0 END \
         WHEN currency IN ({THREE_DECIMALS}) THEN {column} * 10 ELSE {column} END"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("UPDATE policies SET premium_cents = {}", to_minor("premium_cents"))).await?;
        db.execute_unprepared(&format!(
            "UPDATE claims SET amount_claimed_cents = {}, amount_settled_cents = {}",
            to_minor("amount_claimed_cents"),
            to_minor("amount_settled_cents")
        ))
        .await?;
        for (from, to) in [(Policies::PremiumCents, Policies::PremiumMinor)] {
            manager.alter_table(Table::alter().table(Policies::Table).rename_column(from, to).to_owned()).await?;
        }
        for (from, to) in [
            (Claims::AmountClaimedCents, Claims::AmountClaimedMinor),
            (Claims::AmountSettledCents, Claims::AmountSettledMinor),
        ] {
            manager.alter_table(Table::alter().table(Claims::Table).rename_column(from, to).to_owned()).await?;
        }
        for column in [Policies::NetPremiumMinor, Policies::FeesMinor, Policies::TaxesMinor] {
            manager
                .alter_table(Table::alter().table(Policies::Table).add_column(big_integer(column).default(0)).to_owned())
                .await?;
        }
        db.execute_unprepared("UPDATE policies SET net_premium_minor = premium_minor").await?;

        manager
            .create_table(
                Table::create()
                    .table(CommissionRates::Table)
                    .if_not_exists()
                    .col(pk_uuid(CommissionRates::Id))
                    .col(uuid(CommissionRates::OrganizationId))
                    .col(uuid(CommissionRates::CompanyId))
                    // A product type, or '*' for every product (so the unique key sees it).
                    .col(string_len(CommissionRates::ProductType, 16))
                    // The rate in parts per million (12.5 % is 125000): exact, up to 4 decimals of a percent.
                    .col(big_integer(CommissionRates::RatePpm))
                    .col(date(CommissionRates::ValidFrom))
                    .col(uuid_null(CommissionRates::CreatedBy))
                    .col(timestamp_with_time_zone(CommissionRates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commission_rates_organization_id")
                            .from(CommissionRates::Table, CommissionRates::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commission_rates_company_id")
                            .from(CommissionRates::Table, CommissionRates::CompanyId)
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
                    .unique()
                    .name("ux_commission_rates_company_product_valid_from")
                    .table(CommissionRates::Table)
                    .col(CommissionRates::CompanyId)
                    .col(CommissionRates::ProductType)
                    .col(CommissionRates::ValidFrom)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CommissionRates::Table).to_owned()).await?;
        for column in [Policies::NetPremiumMinor, Policies::FeesMinor, Policies::TaxesMinor] {
            manager.alter_table(Table::alter().table(Policies::Table).drop_column(column).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(Policies::Table).rename_column(Policies::PremiumMinor, Policies::PremiumCents).to_owned())
            .await?;
        for (from, to) in [
            (Claims::AmountClaimedMinor, Claims::AmountClaimedCents),
            (Claims::AmountSettledMinor, Claims::AmountSettledCents),
        ] {
            manager.alter_table(Table::alter().table(Claims::Table).rename_column(from, to).to_owned()).await?;
        }
        // Back to hundredths (exact: minor units of 0 or 2 decimals scale up; 3 decimals round down).
        let db = manager.get_connection();
        let back = |column: &str| {
            format!(
                "CASE WHEN currency IN ({NO_DECIMALS}) THEN {column} * 100 WHEN currency IN ({THREE_DECIMALS}) THEN {column} / 10 ELSE {column} END"
            )
        };
        db.execute_unprepared(&format!("UPDATE policies SET premium_cents = {}", back("premium_cents"))).await?;
        db.execute_unprepared(&format!(
            "UPDATE claims SET amount_claimed_cents = {}, amount_settled_cents = {}",
            back("amount_claimed_cents"),
            back("amount_settled_cents")
        ))
        .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    PremiumCents,
    PremiumMinor,
    NetPremiumMinor,
    FeesMinor,
    TaxesMinor,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    AmountClaimedCents,
    AmountSettledCents,
    AmountClaimedMinor,
    AmountSettledMinor,
}

#[derive(DeriveIden)]
enum CommissionRates {
    Table,
    Id,
    OrganizationId,
    CompanyId,
    ProductType,
    RatePpm,
    ValidFrom,
    CreatedBy,
    CreatedAt,
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
