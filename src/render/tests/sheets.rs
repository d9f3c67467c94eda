//! XLSX reports and policy sheets.

use std::process::Command;

use serde_json::{Value, json};

use super::{have_tool, rand_suffix};
use crate::render::xlsx::{self, SheetSpec};

const REPORT_SPEC: &str = r#"{"sheets": [{"name": "Polices", "totals": true, "columns": [
    {"header": "Numéro", "field": "policy.number", "width": 18},
    {"header": "Client", "field": "client.lastName"},
    {"header": "Prime", "field": "policy.premium", "format": "money"},
    {"header": "Effet", "field": "policy.effectiveDate", "format": "date"},
    {"header": "Taux", "field": "policy.rate", "format": "percent"},
    {"header": "Créée", "field": "policy.createdAt", "format": "date"}
]}]}"#;

pub(crate) fn report_row(i: usize) -> Value {
    json!({
        "policy": {"number": format!("POL-{i:06}"), "premium": format!("{}.50", 1000 + i), "currency": "XAF",
                   "effectiveDate": "2026-01-15", "rate": 0.125, "createdAt": "2026-11-22T10:30:00Z"},
        "client": {"lastName": format!("Client {i}")},
        "company": {"name": "ADL"}
    })
}

fn unzip(xlsx: &[u8], member: &str) -> Option<String> {
    let path = std::env::temp_dir().join(format!(
        "render-test-{}-{}.xlsx",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::write(&path, xlsx).ok()?;
    let out = Command::new("unzip")
        .arg("-p")
        .arg(&path)
        .arg(member)
        .output()
        .ok();
    let _ = std::fs::remove_file(&path);
    let out = out?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_three_row_report_has_typed_cells() {
    let spec = SheetSpec::parse(REPORT_SPEC).unwrap();
    let xlsx = xlsx::render_rows(&spec, (1..=3).map(report_row)).unwrap();
    assert!(xlsx.starts_with(b"PK"));
    if !have_tool("unzip", "unzip") {
        return;
    }
    let sheet = unzip(&xlsx, "xl/worksheets/sheet1.xml").expect("the sheet's XML");
    let styles = unzip(&xlsx, "xl/styles.xml").expect("the styles' XML");
    // Premium "1001.50" is a number cell; the date is a serial number with a date style.
    assert!(sheet.contains(r#"<c r="C2" s="#), "{sheet}");
    assert!(sheet.contains("<v>1001.5</v>"), "{sheet}");
    assert!(
        sheet.contains("<v>46037</v>"),
        "2026-01-15 as an Excel serial: {sheet}"
    );
    assert!(styles.contains("yyyy-mm-dd"), "{styles}");
    assert!(styles.contains(r#"#,##0.00 &quot;XAF&quot;"#), "{styles}");
    assert!(
        sheet.contains(r#"<pane ySplit="1""#),
        "frozen header: {sheet}"
    );
    assert!(sheet.contains(r#"<autoFilter ref="A1:F4"/>"#), "{sheet}");
    assert!(
        sheet.contains("<f>SUM(C2:C4)</f><v>3007.5</v>"),
        "totals: {sheet}"
    );
    assert!(sheet.contains("POL-000002"), "{sheet}");
}

#[test]
fn policy_scope_xlsx_has_one_row_per_field() {
    let spec = SheetSpec::parse(REPORT_SPEC).unwrap();
    let xlsx = xlsx::render_fields(&spec, &report_row(7)).unwrap();
    if !have_tool("unzip", "unzip") {
        return;
    }
    let sheet = unzip(&xlsx, "xl/worksheets/sheet1.xml").expect("the sheet's XML");
    assert!(sheet.contains("<v>1007.5</v>"), "{sheet}");
    let strings = unzip(&xlsx, "xl/sharedStrings.xml").expect("the shared strings' XML");
    assert!(
        strings.contains("Numéro") && strings.contains("Field"),
        "{strings}"
    );
}

#[test]
fn a_bad_sheet_spec_says_what_is_wrong() {
    let error =
        SheetSpec::parse(r#"{"sheets": [{"name": "a/b", "columns": [], "totals": ["x"]}]}"#)
            .unwrap_err();
    let messages: Vec<String> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let error = SheetSpec::parse(r#"{"sheets": [{"name": "A", "columns": [{"header": "h", "field": "f", "format": "money!"}]}]}"#)
        .unwrap_err();
    assert!(error.diagnostics()[0].message.contains("money!"), "{error}");
    assert!(error.diagnostics()[0].line.is_some());
}
