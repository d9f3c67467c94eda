//! Documents: templates and their checks, previews, generation jobs, signed downloads, the render
//! sandbox, XLSX reports, tenancy, and job progress over WebSocket. Shared fixtures live here; the
//! tests are in `documents/`, one file per area.

mod abuse;
mod batches;
mod downloads;
mod encryption;
mod generation;
mod hardening;
mod previews;
mod reports;
mod retries;
mod sandbox;
pub mod subscriptions;
mod shared;
mod templates;
mod tenancy;

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// A POLICY certificate: the data file, a title, the policy number and the client's last name.
pub const CERTIFICATE: &str = "#let data = json(\"/data.json\")\n= Certificat d'assurance\nPolice: #data.policy.number\n\nClient: #data.client.lastName\n";

/// The last name `book` gives its client (the certificate prints it).
pub const CLIENT_LAST_NAME: &str = "Ndiaye";

/// A REPORT sheet spec (`src/render/xlsx/spec.rs`): one row per policy, with a totals row.
pub const BORDEREAU: &str = r#"{"sheets":[{"name":"Bordereau","columns":[{"header":"Police","field":"policy.number","format":"text"},{"header":"Prime","field":"policy.premium","format":"money"},{"header":"Effet","field":"policy.effectiveDate","format":"date"}],"totals":true}]}"#;

pub const CREATE_TEMPLATE: &str = "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id name format scope isActive currentVersion { id version checksum content } } }";
pub const GENERATE_DOCUMENT: &str =
    "mutation($i: GenerateDocumentInput!) { generateDocument(input: $i) { id kind status total done failed progress } }";
pub const GENERATE_DOCUMENTS: &str =
    "mutation($i: GenerateDocumentsInput!) { generateDocuments(input: $i) { id kind status total done failed progress } }";
pub const GENERATE_REPORT: &str =
    "mutation($i: GenerateReportInput!) { generateReport(input: $i) { id kind status total done failed progress } }";
pub const JOB: &str = "query($id: ID!) { job(id: $id) { id kind status progress total done failed error \
    documents(first: 50) { totalCount nodes { id fileName format mimeType sizeBytes sha256 policy { id number } downloadUrl(ttlSeconds: 60) } } } }";
pub const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

/// The longest any single step may take (a render child may still be warming up on the first render).
pub const LONG: Duration = Duration::from_secs(120);

/// Awaits `f`, failing the test if it takes longer than [`LONG`].
pub async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(LONG, f).await.unwrap_or_else(|_| panic!("{what} did not finish within {LONG:?}"))
}

/// Drives the job worker until no job is left, within [`LONG`].
pub async fn run_jobs(app: &TestApp) {
    bounded("run_pending_jobs", app.run_pending_jobs()).await;
}

/// The `id` field of an object.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v:#}")).to_string()
}

pub fn template_input(name: &str, format: &str, scope: &str, content: &str) -> Value {
    json!({"name": name, "format": format, "scope": scope, "content": content, "changelog": "first version"})
}

/// Creates a template that must be accepted; returns the `createTemplate` object.
pub async fn create_template(actor: &User, name: &str, format: &str, scope: &str, content: &str) -> Value {
    let vars = json!({"i": template_input(name, format, scope, content)});
    let data = bounded("createTemplate", actor.ok(CREATE_TEMPLATE, vars)).await;
    data["createTemplate"].clone()
}

/// Tries to create a template; returns the whole answer.
pub async fn try_create_template(actor: &User, name: &str, format: &str, scope: &str, content: &str) -> Value {
    let vars = json!({"i": template_input(name, format, scope, content)});
    bounded("createTemplate", actor.run(CREATE_TEMPLATE, vars)).await
}

/// Starts `generateDocument` for one policy; returns the job.
pub async fn generate(actor: &User, template: &str, policy: &str) -> Value {
    let vars = json!({"i": {"templateId": template, "policyId": policy}});
    actor.ok(GENERATE_DOCUMENT, vars).await["generateDocument"].clone()
}

/// Reads a job the actor may read.
pub async fn job(actor: &User, job_id: &str) -> Value {
    let j = actor.ok(JOB, json!({"id": job_id})).await["job"].clone();
    assert!(!j.is_null(), "job {job_id} answered null");
    j
}

/// Cancels a job that waits, so the test leaves none unfinished (see `TestApp`'s drop).
pub async fn cancel(user: &User, job_id: &str) {
    let d = user.ok("mutation($id: ID!) { cancelJob(id: $id) { status } }", json!({"id": job_id})).await;
    assert_eq!(d["cancelJob"]["status"], "CANCELLED", "{d:#}");
}

/// An organization (`app.org(name)`) whose manager has a company, a client and `policies` policies.
#[allow(dead_code)] // every field is some test's fixture
pub struct Book {
    pub org: Org,
    pub company: String,
    pub client: String,
    pub policies: Vec<String>,
    /// The policies' numbers, in the order of `policies`.
    pub numbers: Vec<String>,
}

pub async fn book(app: &TestApp, name: &str, policies: usize) -> Book {
    let org = app.org(name).await;
    let company = app.create_company(&org.manager, &format!("{}-CO", name.to_uppercase())).await;
    let client = app.create_client(&org.manager, CLIENT_LAST_NAME).await;
    let mut ids = Vec::with_capacity(policies);
    let mut numbers = Vec::with_capacity(policies);
    for i in 1..=policies {
        let number = format!("{}-{i:04}", name.to_uppercase());
        ids.push(app.create_policy(&org.manager, &number, &client, &company).await);
        numbers.push(number);
    }
    Book { org, company, client, policies: ids, numbers }
}

/// A certificate generated and made for the first policy of a one-policy book.
#[allow(dead_code)] // every field is some test's fixture
pub struct Made {
    pub book: Book,
    pub template: String,
    pub job: String,
    /// One node of `JOB`'s documents (with a 60 s `downloadUrl`).
    pub document: Value,
}

pub async fn made_certificate(app: &TestApp, name: &str) -> Made {
    let book = book(app, name, 1).await;
    let template = id(&create_template(&book.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let job_id = id(&generate(&book.org.manager, &template, &book.policies[0]).await);
    run_jobs(app).await;
    let j = job(&book.org.manager, &job_id).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    let document = j["documents"]["nodes"][0].clone();
    assert!(document.is_object(), "no document: {j:#}");
    Made { book, template, job: job_id, document }
}

/// A download link as a URL the client can GET (`downloadUrl` is a path without `PUBLIC_BASE_URL`).
pub fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with('/') { app.url(url) } else { url.to_string() }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Asserts the first error of `body` has code `expected` and no root field returned data.
pub fn refused(body: &Value, expected: &str) {
    assert_eq!(code(body), expected, "{body:#}");
    if let Some(data) = body.get("data").and_then(Value::as_object) {
        assert!(data.values().all(Value::is_null), "refused with {expected} but data came back: {body:#}");
    }
}

/// Asserts `body` is a refused template (`BAD_USER_INPUT` with `extensions.diagnostics`, each with a
/// message) and returns the diagnostics.
pub fn diagnostics(body: &Value) -> Vec<Value> {
    refused(body, "BAD_USER_INPUT");
    let list = body["errors"][0]["extensions"]["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no extensions.diagnostics: {body:#}"))
        .clone();
    assert!(!list.is_empty(), "empty diagnostics: {body:#}");
    for d in &list {
        assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "a diagnostic without a message: {d:#}");
    }
    list
}

/// Every diagnostic's message and hint, lower-cased, for `contains` checks.
pub fn diagnostic_text(diagnostics: &[Value]) -> String {
    let parts = diagnostics.iter().flat_map(|d| [d["message"].as_str(), d["hint"].as_str()]).flatten();
    parts.collect::<Vec<_>>().join(" | ").to_lowercase()
}

/// The text of a PDF through `pdftotext`, or `None` when it is not installed outside CI (see [`tool`]).
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let exe = tool("pdftotext")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).expect("PDF written");
    let out = std::process::Command::new(exe).arg(&path).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    // Typst may set hyphens as U+2010 and wrap lines: compare without either.
    let text = String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2011}', '\u{2013}'], "-");
    Some(text)
}

/// Every part of an XLSX workbook (a zip archive) through `unzip -p`, concatenated, or `None` when
/// `unzip` is not installed outside CI (see [`tool`]).
pub fn xlsx_text(xlsx: &[u8]) -> Option<String> {
    let exe = tool("unzip")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.xlsx");
    std::fs::write(&path, xlsx).expect("workbook written");
    let out = std::process::Command::new(exe).arg("-p").arg(&path).output().expect("unzip runs");
    assert!(out.status.success(), "unzip failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// GETs a path or URL without credentials.
pub async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    bounded("GET", app.client.get(absolute(app, url)).send()).await.expect("request sent")
}

pub fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}
