//! A typed report row makes the same workbook as its JSON, whatever the columns ask of it.

use std::io::Read;

use super::*;
use crate::render::xlsx::{SheetSpec, render_rows};

const PATHS: &[&str] = &[
    "policy", "policy.number", "policy.productName", "policy.productType", "policy.status", "policy.currency",
    "policy.premium", "policy.netPremium", "policy.fees", "policy.taxes", "policy.commission", "policy.effectiveDate",
    "policy.expiryDate", "policy.coverage", "policy.coverage.amount", "policy.coverage.limits.max", "policy.coverage.list.0",
    "policy.coverage.flag", "policy.number.0", "policy.unknown", "client", "client.displayName", "client.lastName",
    "client.companyName", "client.externalRef", "client.nothing", "company", "company.name", "company.code", "other",
    "other.x",
];

/// Every path above in every format, with totals.
fn spec() -> SheetSpec {
    let mut columns = Vec::new();
    for path in PATHS {
        for format in ["text", "number", "money", "date", "percent"] {
            columns.push(json!({"header": format!("{path} {format}"), "field": path, "format": format}));
        }
    }
    SheetSpec::from_value(&json!({"sheets": [{"name": "Rows", "columns": columns, "totals": true}]})).expect("a valid spec")
}

fn policy(number: &str, currency: &str, premium_minor: i64, day: NaiveDate, coverage: Value) -> ReportPolicy {
    ReportPolicy {
        id: Uuid::now_v7(),
        client_id: Uuid::now_v7(),
        company_id: Uuid::now_v7(),
        number: number.into(),
        product_name: "Auto tous risques".into(),
        product_type: "AUTO".into(),
        status: "ACTIVE".into(),
        premium_minor,
        net_premium_minor: premium_minor - 1_000,
        fees_minor: 600,
        taxes_minor: 400,
        currency: currency.into(),
        effective_date: day,
        expiry_date: day + chrono::Duration::days(364),
        coverage,
    }
}

fn rows() -> Vec<ReportRow> {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a day");
    let client = Arc::new(json!({"kind": "PERSON", "firstName": "Paul", "lastName": "Mbarga", "companyName": null,
        "displayName": "Paul Mbarga", "email": "paul@example.com", "phone": "+237 6 99", "address": null, "externalRef": "42"}));
    let company = Arc::new(json!({"name": "AXA Cameroun", "code": "AXA", "contactEmail": null, "phone": null, "address": null, "apiMode": "NONE"}));
    let rich = json!({"amount": "1500.25", "currency": "EUR", "limits": {"max": 10, "currency": "USD"}, "list": ["2026-02-03"], "flag": true});
    let mut rows = vec![
        ReportRow::new(policy("AUTO-2026-000001", "XAF", 12_500_050, day(2026, 1, 15), json!({})), Some(client.clone()), Some(company.clone())),
        ReportRow::new(policy("12345", "EUR", 99_999, day(2025, 12, 31), rich.clone()), Some(client.clone()), None),
        ReportRow::new(policy("2026-03-04", "KWD", 1_234_567, day(2026, 3, 4), rich), None, Some(company.clone())),
        ReportRow::new(policy("HOME-2026-000004", "xaf", -5, day(10_000, 1, 1), Value::Null), None, None),
        ReportRow::new(policy("LIFE-2026-000005", "XOF", 150_000, day(1999, 2, 28), json!([1, 2])), Some(client), Some(company)),
    ];
    rows[0].declared = Some(Declared { premium_minor: 13_000_000, commission_minor: 1_950_000, currency: "XAF".into() });
    rows[2].declared = Some(Declared { premium_minor: 7, commission_minor: 1, currency: "EUR".into() });
    rows
}

/// The workbook's parts, but its properties (they hold the time it was made).
fn parts(xlsx: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("a zip archive");
    let mut parts = Vec::new();
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).expect("a part");
        let name = part.name().expect("a part's name").into_owned();
        if name == "docProps/core.xml" {
            continue;
        }
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).expect("readable");
        parts.push((name, bytes));
    }
    parts
}

#[test]
fn a_typed_report_row_makes_the_workbook_its_json_makes() {
    let spec = spec();
    let typed = render_rows(&spec, rows().into_iter()).expect("typed rows render");
    let json = render_rows(&spec, rows().iter().map(ReportRow::to_json)).expect("JSON rows render");
    let (typed, json) = (parts(&typed), parts(&json));
    assert_eq!(typed.len(), json.len());
    for ((name, typed), (_, json)) in typed.iter().zip(&json) {
        assert!(typed == json, "{name} differs:\n{}\n---\n{}", String::from_utf8_lossy(typed), String::from_utf8_lossy(json));
    }
}

#[test]
fn a_declared_row_shows_the_declared_premium_commission_and_currency() {
    let row = &rows()[0];
    let json = row.to_json();
    assert_eq!(json["policy"]["premium"], "13000000", "XAF has no decimals");
    assert_eq!(json["policy"]["commission"], "1950000");
    assert_eq!(json["policy"]["netPremium"], "12499050", "the policy's own amounts are kept");
    assert_eq!(json["policy"]["currency"], "XAF");
    let other = rows()[2].to_json();
    assert_eq!(other["policy"]["premium"], "0.07", "in the batch's currency");
    assert_eq!(other["policy"]["taxes"], "0.400", "in the policy's currency (KWD, three decimals)");
    assert_eq!(other["policy"]["currency"], "EUR");
    assert_eq!(json["client"]["lastName"], "Mbarga");
    let undeclared = rows()[1].to_json();
    assert!(undeclared["policy"].get("commission").is_none(), "{undeclared}");
    assert!(undeclared["company"].is_null());
}
