//! Times the XLSX writer alone over N synthetic report rows (the shape `generateReport` feeds it):
//! `cargo run --release --example xlsx_rows -- 100000 bench/bordereau.json`.
//! Prints the seconds, the workbook's size and the process's peak RSS (VmHWM).

use std::time::Instant;

use monassurance::render::xlsx::{SheetSpec, render_rows};
use serde_json::json;

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
    let spec = SheetSpec::parse(&std::fs::read_to_string(&spec_path).expect("the spec file")).expect("a valid spec");
    let rows = (0..n).map(|i| {
        json!({
            "policy": {"number": format!("POL-{i:07}"), "productName": "Auto Tous Risques", "productType": "AUTO",
                       "status": "ACTIVE", "premium": format!("{}.{:02}", 1000 + i % 5000, i % 100), "currency": "XAF",
                       "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31", "coverage": {}},
            "client": {"displayName": format!("Client {}", i % 2000), "lastName": "Mbarga"},
            "company": {"name": "Assureur SA", "code": "ASA"}
        })
    });
    let before = peak_rss_kb();
    let started = Instant::now();
    let bytes = render_rows(&spec, rows).expect("rendered");
    let took = started.elapsed();
    println!(
        "{n} rows: {:.3} s, {} bytes, VmHWM {} kB -> {} kB",
        took.as_secs_f64(),
        bytes.len(),
        before,
        peak_rss_kb()
    );
}
