//! `previewTemplate`: renders without storing; problems are diagnostics with `ok: false`, not errors.

use base64::{Engine, engine::general_purpose::STANDARD};

use super::*;

const PREVIEW: &str = "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok pdfBase64 pngPages html diagnostics { message line column hint } } }";

async fn preview(actor: &User, input: Value) -> Value {
    let d = bounded("previewTemplate", actor.ok(PREVIEW, json!({"i": input}))).await;
    d["previewTemplate"].clone()
}

fn decode(b64: &Value) -> Vec<u8> {
    STANDARD.decode(b64.as_str().unwrap_or_else(|| panic!("not base64 text: {b64}"))).expect("valid base64")
}

#[tokio::test]
async fn a_pdf_preview_returns_the_pdf_and_its_pages_as_png() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let p = preview(&admin, json!({"content": CERTIFICATE, "format": "PDF"})).await;
    assert_eq!(p["ok"], true, "{p:#}");
    assert_eq!(p["diagnostics"], json!([]));
    let pdf = decode(&p["pdfBase64"]);
    assert!(pdf.starts_with(b"%PDF"), "not a PDF: {:?}", &pdf[..pdf.len().min(16)]);
    let pages = p["pngPages"].as_array().expect("pngPages");
    assert!(!pages.is_empty(), "no PNG pages: {p:#}");
    for page in pages {
        assert!(decode(page).starts_with(b"\x89PNG\r\n\x1a\n"), "a page is not a PNG");
    }
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("AUTO-2026-0001"), "the built-in sample policy is not in the preview: {text}");
    }
}

#[tokio::test]
async fn a_preview_with_a_policy_renders_that_policys_data() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let input = json!({"content": CERTIFICATE, "format": "PDF", "policyId": book.policies[0]});
    let p = preview(&book.org.manager, input).await;
    assert_eq!(p["ok"], true, "{p:#}");
    let pdf = decode(&p["pdfBase64"]);
    assert!(pdf.starts_with(b"%PDF"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains(&book.numbers[0]), "policy number not in the preview: {text}");
        assert!(text.contains(CLIENT_LAST_NAME), "client not in the preview: {text}");
    }
    let documents = book.org.manager.ok("{ documents { totalCount } }", json!({})).await;
    assert_eq!(documents["documents"]["totalCount"], 0, "a preview stores nothing");
}

#[tokio::test]
async fn a_broken_preview_answers_ok_false_with_diagnostics() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let body = bounded(
        "previewTemplate",
        admin.run(PREVIEW, json!({"i": {"content": "#let data = json(\"/data.json\")\n#let x = ", "format": "PDF"}})),
    )
    .await;
    assert!(body.get("errors").is_none(), "a broken template is not an error: {body:#}");
    let p = &body["data"]["previewTemplate"];
    assert_eq!(p["ok"], false, "{p:#}");
    assert!(p["pdfBase64"].is_null(), "{p:#}");
    assert_eq!(p["pngPages"], json!([]));
    let diags = p["diagnostics"].as_array().expect("diagnostics");
    assert!(!diags.is_empty(), "{p:#}");
    assert!(diags.iter().all(|d| d["message"].as_str().is_some_and(|m| !m.is_empty())), "{p:#}");
    assert!(diags.iter().any(|d| d["line"].as_u64().is_some()), "no line in {p:#}");
}

#[tokio::test]
async fn an_html_preview_escapes_the_sample_data() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let input = json!({
        "content": "<h1>Certificat</h1><p>{{ client.lastName }}</p>",
        "format": "HTML",
        "sampleData": {"client": {"lastName": "<script>alert(1)</script>"}, "policy": {"number": "P-1"}},
    });
    let p = preview(&admin, input).await;
    assert_eq!(p["ok"], true, "{p:#}");
    let html = p["html"].as_str().expect("html");
    assert!(html.contains("<h1>Certificat</h1>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "the data is not escaped: {html}");
    assert!(!html.contains("<script"), "a script tag came through: {html}");
}
