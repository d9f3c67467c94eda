//! The money migration on a book written before it: premiums in hundredths become the currency's
//! minor unit (XAF rounded half-even to the franc, KWD in mils), the whole premium becomes the net
//! premium, and organizations that existed then track payments from that day.

use sea_orm::{ConnectionTrait, Database, Statement, Value};
use migration::MigratorTrait;

use crate::helpers::database_url;

/// The migrations before money (2026-11-22's thirteen and 2026-12-06's first seven).
const BEFORE_MONEY: u32 = 20;

#[tokio::test]
async fn existing_premiums_move_to_minor_units_exactly_and_become_net_premiums() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path()).await;
    let db = Database::connect(&url).await.unwrap();
    migration::Migrator::up(&db, Some(BEFORE_MONEY)).await.unwrap();
    let backend = db.get_database_backend();
    let sql = |text: &str| if backend == sea_orm::DatabaseBackend::Sqlite { text.replace('$', "?") } else { text.to_string() };
    let run = |text: &str, values: Vec<Value>| Statement::from_sql_and_values(backend, sql(text), values);
    let now = chrono::Utc::now();
    let (org, user, company, client) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    db.execute_raw(run("INSERT INTO organizations (id, name, slug, created_at) VALUES ($1, 'Acme', 'acme', $2)", vec![org.into(), now.into()])).await.unwrap();
    db.execute_raw(run(
        "INSERT INTO users (id, organization_id, email, password_hash, full_name, role, is_active, created_at, updated_at) \
         VALUES ($1, $2, 'a@acme.test', 'x', 'A', 'ADMIN', true, $3, $3)",
        vec![user.into(), org.into(), now.into()],
    ))
    .await
    .unwrap();
    db.execute_raw(run(
        "INSERT INTO companies (id, organization_id, name, code, created_at, updated_at) VALUES ($1, $2, 'AXA', 'AXA', $3, $3)",
        vec![company.into(), org.into(), now.into()],
    ))
    .await
    .unwrap();
    db.execute_raw(run(
        "INSERT INTO clients (id, organization_id, owner_id, kind, last_name, created_at, updated_at) VALUES ($1, $2, $3, 'PERSON', 'Ngono', $4, $4)",
        vec![client.into(), org.into(), user.into(), now.into()],
    ))
    .await
    .unwrap();
    // (number, hundredths, currency) → the premium expected after, as the API answers it.
    let cases = [
        ("XAF-1", 12_500_050i64, "XAF", "125000"),
        ("XAF-2", 12_500_150, "XAF", "125002"),
        ("XAF-3", 12_500_051, "XAF", "125001"),
        ("XAF-4", 12_500_000, "XAF", "125000"),
        ("EUR-1", 12_500_050, "EUR", "125000.50"),
        ("KWD-1", 1_234, "KWD", "12.340"),
    ];
    for (number, cents, code, _) in cases {
        db.execute_raw(run(
            "INSERT INTO policies (id, organization_id, number, client_id, company_id, product_name, product_type, status, premium_cents, \
             currency, effective_date, expiry_date, coverage, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'Auto', 'AUTO', 'ACTIVE', $6, $7, $8, $9, $10, $11, $11)",
            vec![
                uuid::Uuid::now_v7().into(), org.into(), number.into(), client.into(), company.into(), cents.into(), code.into(),
                chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().into(), chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap().into(),
                serde_json::json!({}).into(), now.into(),
            ],
        ))
        .await
        .unwrap();
    }

    migration::Migrator::up(&db, None).await.unwrap();
    for (number, _, code, expected) in cases {
        let row = db
            .query_one_raw(run("SELECT premium_minor, net_premium_minor, fees_minor, taxes_minor FROM policies WHERE number = $1", vec![number.into()]))
            .await
            .unwrap()
            .unwrap();
        let amounts: (i64, i64, i64, i64) = (
            row.try_get("", "premium_minor").unwrap(),
            row.try_get("", "net_premium_minor").unwrap(),
            row.try_get("", "fees_minor").unwrap(),
            row.try_get("", "taxes_minor").unwrap(),
        );
        assert_eq!(monassurance::currency::Money::to_decimal(amounts.0, code).to_string(), expected, "{number}");
        assert_eq!((amounts.1, amounts.2, amounts.3), (amounts.0, 0, 0), "{number}: the whole premium is net");
    }
    let tracked = db.query_one_raw(run("SELECT payments_tracked_from FROM organizations", vec![])).await.unwrap().unwrap();
    assert!(tracked.try_get::<Option<chrono::NaiveDate>>("", "payments_tracked_from").unwrap().is_some(), "an existing organization tracks payments from the upgrade");

    // The commission in SQL is the commission in Rust, half-even, and never overflows a BIGINT,
    // even on amounts beyond what the API takes (rows written before the limit).
    let cases = [(100_000i64, 125_000i64), (1, 500_000), (3, 500_000), (10_000, 333_333), (100_001, 125_000), (33_333, 125_000),
        (999_999_999_999, 1_000_000), (1_000_000_000_000_000, 999_999), (9_000_000_000_000_000, 1_000_000), (1_500_000, 1)];
    for (net, rate) in cases {
        // BIGINT, as the columns it runs over (a bare literal is an INTEGER on PostgreSQL).
        let (net_sql, rate_sql) = (format!("CAST({net} AS BIGINT)"), format!("CAST({rate} AS BIGINT)"));
        let expression = monassurance::commissions::rules::commission_sql(&net_sql, &rate_sql);
        let row = db.query_one_raw(run(&format!("SELECT {expression} AS c"), vec![])).await.unwrap().unwrap();
        let in_sql: i64 = row.try_get("", "c").unwrap();
        assert_eq!(in_sql, monassurance::commissions::rules::commission(net, rate), "{net} at {rate} ppm");
    }
    db.close().await.ok();
}
