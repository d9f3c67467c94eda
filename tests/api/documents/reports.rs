//! `generateReport`: one XLSX workbook over the policies a filter selects, and templates used only
//! by the mutation of their scope.

use super::*;

#[tokio::test]
async fn a_report_over_three_policies_is_one_xlsx_workbook() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 3).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Bordereau", "XLSX", "REPORT", BORDEREAU).await);

    let queued = manager.ok(GENERATE_REPORT, json!({"i": {"templateId": template, "filter": {}}})).await["generateReport"].clone();
    assert_eq!(queued["kind"], "REPORT", "{queued:#}");
    assert_eq!(queued["status"], "QUEUED", "{queued:#}");
    assert_eq!(queued["total"], 1, "one document over all policies: {queued:#}");

    run_jobs(&app).await;
    let j = job(manager, &id(&queued)).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    assert_eq!(j["documents"]["totalCount"], 1, "{j:#}");
    let doc = &j["documents"]["nodes"][0];
    assert_eq!(doc["format"], "XLSX");
    assert!(doc["mimeType"].as_str().is_some_and(|m| m.contains("spreadsheetml")), "{doc:#}");
    assert!(doc["fileName"].as_str().is_some_and(|f| f.ends_with(".xlsx")), "{doc:#}");
    assert!(doc["policy"].is_null(), "a report is about no single policy: {doc:#}");

    let resp = get(&app, doc["downloadUrl"].as_str().expect("downloadUrl")).await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").contains("spreadsheetml"), "{}", header(&resp, "content-type"));
    let body = resp.bytes().await.expect("body");
    assert!(body.starts_with(b"PK"), "an XLSX file is a zip archive");
    assert!(body.len() > 1024, "a workbook of {} bytes is too small", body.len());
    assert_eq!(sha256_hex(&body), doc["sha256"].as_str().unwrap());
    if let Some(xml) = xlsx_text(&body) {
        assert!(xml.contains("Bordereau"), "the sheet is not named after the spec");
        for number in &book.numbers {
            assert!(xml.contains(number.as_str()), "policy {number} is not in the workbook");
        }
    }
}

#[tokio::test]
async fn a_template_is_used_only_by_the_mutation_of_its_scope() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let report = id(&create_template(manager, "Bordereau", "XLSX", "REPORT", BORDEREAU).await);
    let certificate = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);

    let body = manager.run(GENERATE_DOCUMENT, json!({"i": {"templateId": report, "policyId": book.policies[0]}})).await;
    refused(&body, "BAD_USER_INPUT");
    let body = manager.run(GENERATE_DOCUMENTS, json!({"i": {"templateId": report, "policyIds": book.policies}})).await;
    refused(&body, "BAD_USER_INPUT");
    let body = manager.run(GENERATE_REPORT, json!({"i": {"templateId": certificate, "filter": {}}})).await;
    refused(&body, "BAD_USER_INPUT");
    assert_eq!(manager.ok("{ jobs { totalCount } }", json!({})).await["jobs"]["totalCount"], 0);
}

/// A PDF REPORT template that lists its policies' numbers (its text shows which rows it got).
const ROSTER: &str = "#let data = json(\"/data.json\")\n= Bordereau\nPolices: #data.policies.map(row => row.policy.number).join(\", \")\n";

/// Generates a report as `actor` over `filter`, runs it, and returns the PDF's bytes.
async fn report_pdf(app: &TestApp, actor: &User, template: &str, filter: Value) -> Vec<u8> {
    let queued = actor.ok(GENERATE_REPORT, json!({"i": {"templateId": template, "filter": filter}})).await["generateReport"].clone();
    run_jobs(app).await;
    let j = job(actor, &id(&queued)).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    let resp = get(app, j["documents"]["nodes"][0]["downloadUrl"].as_str().expect("a document")).await;
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.expect("body").to_vec();
    assert!(body.starts_with(b"%PDF"));
    body
}

#[tokio::test]
async fn a_report_covers_only_the_policies_its_filter_selects() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 3).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Liste", "PDF", "REPORT", ROSTER).await);
    let pdf = report_pdf(&app, manager, &template, json!({"search": book.numbers[1]})).await;
    match pdf_text(&pdf) {
        Some(text) => {
            assert!(text.contains(&book.numbers[1]), "the selected policy is missing: {text}");
            assert!(!text.contains(&book.numbers[0]) && !text.contains(&book.numbers[2]), "the filter was ignored: {text}");
        }
        None => eprintln!("note: skipped checking the report's rows"),
    }
}

#[tokio::test]
async fn an_agents_report_covers_only_what_the_agent_may_read() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let template = id(&create_template(&book.org.manager, "Liste", "PDF", "REPORT", ROSTER).await);
    let agent = &book.org.agent;
    let own_client = app.create_client(agent, "Mbarga").await;
    app.create_policy(agent, "AGENT-0001", &own_client, &book.company).await;

    let pdf = report_pdf(&app, agent, &template, json!({})).await;
    match pdf_text(&pdf) {
        Some(text) => {
            assert!(text.contains("AGENT-0001"), "the agent's own policy is missing: {text}");
            assert!(!text.contains(&book.numbers[0]), "the report shows a policy the agent may not read: {text}");
        }
        None => eprintln!("note: skipped checking the report's rows"),
    }
}
