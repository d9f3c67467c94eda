//! Times the XLSX writer alone over N synthetic report rows, typed as `generateReport` feeds it
//! (or as JSON with `json`): `cargo run --release --example xlsx_rows -- 100000 bench/bordereau.json [json]`.
//! Prints the seconds, the workbook's size and the process's peak RSS (VmHWM).

use std::{sync::Arc, time::Instant};

use chrono::NaiveDate;
use monassurance::{
    render::xlsx::{SheetSpec, render_rows},
    templates::report_row::{ReportPolicy, ReportRow},
};
use serde_json::json;
use uuid::Uuid;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let spec_path = args.next().unwrap_or_else(|| "bench/bordereau.json".into());
    let as_json = args.next().as_deref() == Some("json");
    let spec = SheetSpec::parse(&std::fs::read_to_string(&spec_path).expect("the spec file")).expect("a valid spec");
    let clients: Vec<_> = (0..2000).map(|i| Arc::new(json!({"displayName": format!("Client {i}"), "lastName": "Mbarga"}))).collect();
    let company = Arc::new(json!({"name": "Assureur SA", "code": "ASA"}));
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a day");
    let rows = (0..n).map(|i| {
        let policy = ReportPolicy {
            id: Uuid::nil(),
            client_id: Uuid::nil(),
            company_id: Uuid::nil(),
            number: format!("POL-{i:07}"),
            product_name: "Auto Tous Risques".into(),
            product_type: "AUTO".into(),
            status: "ACTIVE".into(),
            premium_minor: ((1000 + i % 5000) * 100 + i % 100) as i64,
            net_premium_minor: 0,
            fees_minor: 0,
            taxes_minor: 0,
            currency: "EUR".into(),
            effective_date: start,
            expiry_date: start + chrono::Duration::days(364),
            coverage: json!({}),
        };
        ReportRow::new(policy, Some(clients[i % clients.len()].clone()), Some(company.clone()))
    });
    let before = peak_rss_kb();
    let started = Instant::now();
    let bytes = if as_json {
        render_rows(&spec, rows.map(|row| row.to_json()))
    } else {
        render_rows(&spec, rows)
    }
    .expect("rendered");
    let took = started.elapsed();
    println!(
        "{n} {} rows: {:.3} s, {} bytes, VmHWM {} kB -> {} kB",
        if as_json { "JSON" } else { "typed" },
        took.as_secs_f64(),
        bytes.len(),
        before,
        peak_rss_kb()
    );
}
