//! Bordereaux through GraphQL: a batch per insurer and period with exact totals, each policy in one
//! batch only (even when two are made at once), its XLSX read back, deleted while a draft, sent by
//! mail (and, see `declarations/webhooks.rs`, to the insurer's integration).

mod webhooks;

use calamine::{Data, DataType, Reader, Xlsx};
use serde_json::{Value, json};

use crate::{
    documents::{create_template, get, id, run_jobs},
    helpers::{Org, TestApp, User, assert_bad_input, spawn_app},
    money::commissions::{SET_RATE, policy_on},
};

pub const CREATE_BATCH: &str = "mutation($i: CreateDeclarationBatchInput!) { createDeclarationBatch(input: $i) { \
    id status periodStart periodEnd currency itemCount totalPremium totalCommission job { id } document { id } \
    company { id } policies(first: 100) { totalCount nodes { number } } } }";
pub const BATCH: &str = "query($id: ID!) { node(id: $id) { ... on DeclarationBatch { id status itemCount totalPremium \
    totalCommission sentAt document { id fileName downloadUrl } policies(first: 100) { totalCount nodes { number } } } } }";
pub const SEND: &str = "mutation($id: ID!) { sendDeclarationBatch(id: $id) { id status sentAt } }";
const DELETE: &str = "mutation($id: ID!) { deleteDeclarationBatch(id: $id) }";
const LIST: &str = "query($f: DeclarationBatchFilter) { declarationBatches(filter: $f) { totalCount nodes { id status } } }";

/// The columns the bordereau template shows, its commission included, with a totals row.
pub const SHEET: &str = r#"{"sheets":[{"name":"Bordereau","columns":[{"header":"Police","field":"policy.number","format":"text"},{"header":"Assuré","field":"client.lastName","format":"text"},{"header":"Prime","field":"policy.premium","format":"money"},{"header":"Commission","field":"policy.commission","format":"money"}],"totals":true}]}"#;

/// An insurer with a contact e-mail and a commission rate, a client, and a bordereau template.
pub struct Book {
    pub company: String,
    pub client: String,
    pub template: String,
}

pub async fn book(app: &TestApp, org: &Org) -> Book {
    let d = org
        .manager
        .ok("mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }", json!({"i": {"name": "Activa Assurances", "code": "ACTIVA", "contactEmail": "production@activa.test"}}))
        .await;
    let company = d["createCompany"]["id"].as_str().unwrap().to_string();
    org.manager.ok(SET_RATE, json!({"i": {"companyId": company, "rate": "12.5", "validFrom": "2026-01-01"}})).await;
    let client = app.create_client(&org.manager, "Ngono").await;
    let template = id(&create_template(&org.manager, "Bordereau Activa", "XLSX", "REPORT", SHEET).await);
    Book { company, client, template }
}

pub async fn declared(who: &User, number: &str, book: &Book, status: &str, effective: &str, premium: &str) -> String {
    policy_on(who, &book.client, &book.company, number, json!({"status": status, "effectiveDate": effective, "expiryDate": "2027-12-31", "premium": premium})).await
}

pub fn batch_input(book: &Book, start: &str, end: &str) -> Value {
    json!({"i": {"companyId": book.company, "periodStart": start, "periodEnd": end, "templateId": book.template}})
}

fn numbers(batch: &Value) -> Vec<String> {
    let mut list: Vec<String> = batch["policies"]["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_string()).collect();
    list.sort();
    list
}

/// The rows of the workbook's first sheet, as text.
fn rows(xlsx: &[u8]) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).expect("the bordereau opens as a workbook");
    let sheet = workbook.worksheet_range("Bordereau").expect("a sheet named Bordereau");
    sheet.rows().map(|row| row.to_vec()).collect()
}

#[tokio::test]
async fn a_bordereau_declares_each_policy_once_with_exact_totals_and_reads_back_as_xlsx() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    // Declared: ACTIVE and EXPIRED in the period. Not: a DRAFT, a CANCELLED, out of the period, another currency.
    declared(&org.manager, "D-1", &book, "ACTIVE", "2026-01-05", "100001").await;
    declared(&org.manager, "D-2", &book, "ACTIVE", "2026-01-31", "33333").await;
    let expired = declared(&org.manager, "D-3", &book, "ACTIVE", "2026-01-15", "250000").await;
    org.manager.ok("mutation($id: ID!) { setPolicyStatus(id: $id, status: EXPIRED) { id } }", json!({"id": expired})).await;
    declared(&org.manager, "N-1", &book, "DRAFT", "2026-01-10", "5000").await;
    let cancelled = declared(&org.manager, "N-2", &book, "ACTIVE", "2026-01-10", "5000").await;
    org.manager.ok("mutation($id: ID!) { setPolicyStatus(id: $id, status: CANCELLED) { id } }", json!({"id": cancelled})).await;
    declared(&org.manager, "N-3", &book, "ACTIVE", "2026-02-01", "5000").await;
    policy_on(&org.manager, &book.client, &book.company, "N-4", json!({"status": "ACTIVE", "effectiveDate": "2026-01-10", "premium": "50", "currency": "EUR"})).await;

    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"].clone();
    assert_eq!(made["status"], "DRAFT");
    assert_eq!(numbers(&made), ["D-1", "D-2", "D-3"], "{made:#}");
    assert_eq!(made["itemCount"], 3);
    // 12.5 %, half-even per policy: 12500.125 → 12500, 4166.625 → 4167, 31250.
    assert_eq!((&made["totalPremium"], &made["totalCommission"], &made["currency"]), (&json!("383334"), &json!("47917"), &json!("XAF")));
    assert!(made["document"].is_null(), "the document is rendered by its job");
    assert!(!made["job"]["id"].is_null(), "{made:#}");

    // A declared policy keeps the currency it was declared in.
    let d1 = made["policies"]["nodes"][0]["number"].as_str().unwrap().to_string();
    let d1_id = org.manager.ok("query($n: String!) { policyByNumber(number: $n) { id } }", json!({"n": d1})).await["policyByNumber"]["id"].clone();
    let refusal = org.manager.err("mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { id } }", json!({"i": {"id": d1_id, "currency": "EUR"}})).await;
    assert_eq!((refusal.code(), refusal.field()), ("CONFLICT", "input.currency"));

    // The same period again holds nothing already declared.
    let again = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-02-28")).await["createDeclarationBatch"].clone();
    assert_eq!(numbers(&again), ["N-3"], "only what no batch holds yet: {again:#}");

    run_jobs(&app).await;
    let batch = org.manager.ok(BATCH, json!({"id": made["id"]})).await["node"].clone();
    let url = batch["document"]["downloadUrl"].as_str().unwrap_or_else(|| panic!("no document: {batch:#}"));
    let body = get(&app, url).await.bytes().await.expect("the workbook downloads");
    let sheet = rows(&body);
    assert_eq!(sheet[0], [Data::String("Police".into()), Data::String("Assuré".into()), Data::String("Prime".into()), Data::String("Commission".into())]);
    let mut lines: Vec<(String, f64, f64)> = sheet[1..4]
        .iter()
        .map(|row| (row[0].to_string(), row[2].as_f64().expect("a money cell"), row[3].as_f64().expect("a money cell")))
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(lines, [("D-1".into(), 100001.0, 12500.0), ("D-2".into(), 33333.0, 4167.0), ("D-3".into(), 250000.0, 31250.0)]);
    assert_eq!(sheet.len(), 5, "three policies and the totals row: {sheet:?}");

    // A draft is deleted and its policies are free again; its job, if still queued, is cancelled.
    assert_eq!(org.manager.ok(DELETE, json!({"id": again["id"]})).await["deleteDeclarationBatch"], true);
    let freed = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-02-01", "2026-02-28")).await["createDeclarationBatch"].clone();
    assert_eq!(numbers(&freed), ["N-3"]);
    assert_eq!(org.manager.ok(DELETE, json!({"id": freed["id"]})).await["deleteDeclarationBatch"], true);
    let job = crate::documents::job(&org.manager, freed["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "CANCELLED", "{job:#}");
    let freed = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-02-01", "2026-02-28")).await["createDeclarationBatch"].clone();
    assert_eq!(numbers(&freed), ["N-3"]);
    let listed = org.manager.ok(LIST, json!({"f": {"companyId": book.company, "status": "DRAFT"}})).await;
    assert_eq!(listed["declarationBatches"]["totalCount"], 2, "{listed:#}");

    let refusals = [
        (batch_input(&book, "2026-02-01", "2026-01-01"), "input.periodEnd", "a period backwards"),
        (batch_input(&book, "2026-01-01", "2027-06-01"), "input.periodEnd", "more than a year"),
        (json!({"i": {"companyId": book.company, "periodStart": "2026-01-01", "periodEnd": "2026-01-31", "templateId": book.template, "currency": "ZZZ"}}), "input.currency", "no such currency"),
    ];
    for (input, field, what) in refusals {
        assert_bad_input(&org.manager.err(CREATE_BATCH, input).await, field, what);
    }
    let certificate = id(&create_template(&org.manager, "Attestation", "HTML", "POLICY", "<p>{{ policy.number }}</p>").await);
    let wrong = json!({"i": {"companyId": book.company, "periodStart": "2026-01-01", "periodEnd": "2026-01-31", "templateId": certificate}});
    assert_bad_input(&org.manager.err(CREATE_BATCH, wrong).await, "input.templateId", "not a REPORT template");
    run_jobs(&app).await;
}

#[tokio::test]
async fn a_bordereau_is_mailed_to_the_insurer_with_its_document_once() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    declared(&org.manager, "D-1", &book, "ACTIVE", "2026-01-05", "100000").await;
    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"].clone();
    let batch_id = made["id"].clone();

    assert_eq!(org.manager.err(SEND, json!({"id": batch_id})).await.code(), "CONFLICT", "its document is not made yet");
    run_jobs(&app).await;
    let sent = org.manager.ok(SEND, json!({"id": batch_id})).await["sendDeclarationBatch"].clone();
    assert_eq!(sent["status"], "SENT");
    assert!(sent["sentAt"].is_string());
    assert_eq!(org.manager.err(SEND, json!({"id": batch_id})).await.code(), "CONFLICT", "sent once");
    assert_bad_input(&org.manager.err(DELETE, json!({"id": batch_id})).await, "id", "a sent batch stays");

    let mail = org.admin.ok("{ messages(filter: {kind: DECLARATION}) { totalCount nodes { recipient subject status document { id fileName } } } }", json!({})).await;
    assert_eq!(mail["messages"]["totalCount"], 1, "{mail:#}");
    let message = &mail["messages"]["nodes"][0];
    assert_eq!(message["recipient"], "production@activa.test");
    let batch = org.manager.ok(BATCH, json!({"id": batch_id})).await["node"].clone();
    assert_eq!(message["document"]["id"], batch["document"]["id"], "the bordereau is attached");
    assert!(message["subject"].as_str().unwrap().contains("2026-01-01"), "{message:#}");

    // An insurer without a contact e-mail (and no integration) cannot be sent to.
    let bare = app.create_company(&org.manager, "BARE").await;
    let bare_book = Book { company: bare, client: book.client.clone(), template: book.template.clone() };
    declared(&org.manager, "B-1", &bare_book, "ACTIVE", "2026-01-05", "1000").await;
    let bare_batch = org.manager.ok(CREATE_BATCH, batch_input(&bare_book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"]["id"].clone();
    run_jobs(&app).await;
    assert_bad_input(&org.manager.err(SEND, json!({"id": bare_batch})).await, "id", "no contact e-mail");
}

#[tokio::test]
async fn bordereaux_are_manager_work_and_stay_in_their_organization() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.org("other").await;
    let book = book(&app, &org).await;
    declared(&org.manager, "D-1", &book, "ACTIVE", "2026-01-05", "1000").await;
    assert_eq!(org.agent.err(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await.code(), "FORBIDDEN");
    assert_eq!(other.manager.err(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await.code(), "NOT_FOUND");
    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"].clone();
    assert_eq!(org.agent.err(LIST, json!({})).await.code(), "FORBIDDEN");
    assert_eq!(org.agent.err(BATCH, json!({"id": made["id"]})).await.code(), "NOT_FOUND");
    for who in [&other.admin, &other.manager] {
        assert_eq!(who.err(BATCH, json!({"id": made["id"]})).await.code(), "NOT_FOUND");
        assert_eq!(who.err(SEND, json!({"id": made["id"]})).await.code(), "NOT_FOUND");
        assert_eq!(who.err(DELETE, json!({"id": made["id"]})).await.code(), "NOT_FOUND");
    }
    assert_eq!(other.admin.ok(LIST, json!({})).await["declarationBatches"]["totalCount"], 0);
    let audit = org.admin.ok("{ auditLogs(first: 5, filter: {action: \"declaration.create\"}) { totalCount } }", json!({})).await;
    assert_eq!(audit["auditLogs"]["totalCount"], 1);
    run_jobs(&app).await;
}

#[tokio::test]
async fn a_bordereau_holds_at_most_declaration_max_policies_and_a_refused_one_holds_none() {
    let app = crate::helpers::spawn_app_with(&[("DECLARATION_MAX_POLICIES", "2")]).await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    for (n, day) in ["2026-01-05", "2026-01-06", "2026-01-20"].into_iter().enumerate() {
        declared(&org.manager, &format!("L-{n}"), &book, "ACTIVE", day, "1000").await;
    }
    let refusal = org.manager.err(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await;
    assert_bad_input(&refusal, "input.periodEnd", "three policies, at most two");
    let d = org.manager.ok(LIST, json!({})).await;
    assert_eq!(d["declarationBatches"]["totalCount"], 0, "nothing was written");
    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-15")).await["createDeclarationBatch"].clone();
    assert_eq!(numbers(&made), ["L-0", "L-1"], "a shorter period");
    run_jobs(&app).await;
}

#[tokio::test]
async fn two_bordereaux_made_at_once_never_hold_the_same_policy() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    for n in 0..40 {
        declared(&org.manager, &format!("C-{n:02}"), &book, "ACTIVE", "2026-03-10", "1000").await;
    }
    let attempts = (0..4).map(|_| org.manager.run(CREATE_BATCH, batch_input(&book, "2026-03-01", "2026-03-31")));
    let answers = futures_util::future::join_all(attempts).await;
    let mut held: Vec<String> = Vec::new();
    for answer in &answers {
        match answer["data"]["createDeclarationBatch"].as_object() {
            Some(_) => held.extend(numbers(&answer["data"]["createDeclarationBatch"])),
            None => assert_eq!(answer["errors"][0]["extensions"]["code"], "CONFLICT", "{answer:#}"),
        }
    }
    held.sort();
    let expected: Vec<String> = (0..40).map(|n| format!("C-{n:02}")).collect();
    assert_eq!(held, expected, "every policy in exactly one batch");
    run_jobs(&app).await;
}
