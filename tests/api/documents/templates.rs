//! Templates: numbered, checksummed versions; who may write them; content checked before it is
//! saved (Typst and XLSX sheet specs); company bindings; archiving; unique names; tenancy.

use super::*;

const TEMPLATE: &str = "query($id: ID!) { template(id: $id) { id isActive \
    currentVersion { version checksum } versions { totalCount nodes { version checksum changelog } } companies { id } } }";
const NEW_VERSION: &str = "mutation($t: ID!, $c: String!, $l: String) { createTemplateVersion(templateId: $t, content: $c, changelog: $l) { id version checksum changelog } }";
const SET_COMPANIES: &str =
    "mutation($t: ID!, $c: [ID!]!) { setTemplateCompanies(templateId: $t, companyIds: $c) { id companies { id } } }";
const ARCHIVE: &str = "mutation($id: ID!) { archiveTemplate(id: $id) { id isActive } }";
const COUNT: &str = "query($f: TemplateFilter) { templates(filter: $f) { totalCount nodes { id } } }";

async fn read_template(actor: &User, template: &str) -> Value {
    let t = actor.ok(TEMPLATE, json!({"id": template})).await["template"].clone();
    assert!(t.is_object(), "template {template} answered null");
    t
}

async fn count(actor: &User, filter: Value) -> i64 {
    let d = actor.ok(COUNT, json!({"f": filter})).await;
    d["templates"]["totalCount"].as_i64().expect("totalCount")
}

#[tokio::test]
async fn a_manager_creates_a_pdf_template_whose_versions_are_numbered_and_checksummed() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let t = create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await;
    assert_eq!((t["name"].as_str(), t["format"].as_str(), t["scope"].as_str()), (Some("Certificat"), Some("PDF"), Some("POLICY")));
    assert_eq!(t["isActive"], true);
    assert_eq!(t["currentVersion"]["version"], 1);
    assert_eq!(t["currentVersion"]["content"], CERTIFICATE);
    let checksum = t["currentVersion"]["checksum"].as_str().expect("checksum");
    assert!(is_sha256_hex(checksum), "not a SHA-256 in hex: {checksum}");
    assert_eq!(checksum, sha256_hex(CERTIFICATE.as_bytes()));

    let second = format!("{CERTIFICATE}Produit: #data.policy.productName\n");
    let vars = json!({"t": id(&t), "c": second, "l": "adds the product"});
    let v = bounded("createTemplateVersion", org.manager.ok(NEW_VERSION, vars)).await["createTemplateVersion"].clone();
    assert_eq!(v["version"], 2);
    assert_eq!(v["checksum"], sha256_hex(second.as_bytes()));
    assert_eq!(v["changelog"], "adds the product");

    let read = read_template(&org.manager, &id(&t)).await;
    assert_eq!(read["currentVersion"]["version"], 2);
    assert_eq!(read["versions"]["totalCount"], 2);
    let versions: Vec<i64> = read["versions"]["nodes"].as_array().unwrap().iter().map(|n| n["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![2, 1], "versions are listed newest first");
}

#[tokio::test]
async fn an_agent_cannot_create_a_template() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let body = try_create_template(&org.agent, "Certificat", "PDF", "POLICY", CERTIFICATE).await;
    refused(&body, "FORBIDDEN");
    assert_eq!(count(&org.manager, json!({})).await, 0);
}

#[tokio::test]
async fn a_template_that_does_not_compile_is_refused_with_diagnostics() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    for content in ["#let data = json(\"/data.json\")\n#let x = ", "#let data = json(\"/data.json\")\n#data.nope("] {
        let body = try_create_template(&org.manager, "Broken", "PDF", "POLICY", content).await;
        let diags = diagnostics(&body);
        assert!(diags.iter().any(|d| d["line"].as_u64().is_some_and(|l| l >= 1)), "no line in {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.content", "{body:#}");
    }
    assert_eq!(count(&org.manager, json!({})).await, 0, "a refused template is not saved");
}

#[tokio::test]
async fn a_new_version_that_does_not_compile_leaves_the_current_one() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let t = id(&create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let body = bounded("createTemplateVersion", org.manager.run(NEW_VERSION, json!({"t": t, "c": "#let x = "}))).await;
    diagnostics(&body);
    let read = read_template(&org.manager, &t).await;
    assert_eq!(read["currentVersion"]["version"], 1);
    assert_eq!(read["versions"]["totalCount"], 1);
}

#[tokio::test]
async fn an_xlsx_report_template_takes_a_sheet_spec_and_refuses_an_invalid_one() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let t = create_template(&org.manager, "Bordereau", "XLSX", "REPORT", BORDEREAU).await;
    assert_eq!((t["format"].as_str(), t["scope"].as_str()), (Some("XLSX"), Some("REPORT")));
    assert_eq!(t["currentVersion"]["version"], 1);

    let invalid = [
        r#"{"sheets": []}"#,
        r#"{"sheets": [{"name": "Bordereau", "columns": [{"header": "Police", "field": "policy.number", "format": "euros"}]}]}"#,
        r#"{"sheets": [{"name": "Bordereau", "columns": [{"header": "Police", "field": "policy..number"}]}]}"#,
        "this is not JSON",
    ];
    for (i, spec) in invalid.into_iter().enumerate() {
        let body = try_create_template(&org.manager, &format!("Invalid {i}"), "XLSX", "REPORT", spec).await;
        let diags = diagnostics(&body);
        assert!(diagnostic_text(&diags).contains("sheet spec"), "spec {spec}: {body:#}");
    }
    assert_eq!(count(&org.manager, json!({"format": "XLSX"})).await, 1);
}

#[tokio::test]
async fn set_template_companies_offers_a_template_only_for_those_companies() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let axa = app.create_company(&org.manager, "AXA").await;
    let allianz = app.create_company(&org.manager, "ALLIANZ").await;
    let client = app.create_client(&org.manager, CLIENT_LAST_NAME).await;
    let at_allianz = app.create_policy(&org.manager, "ALZ-1", &client, &allianz).await;
    let t = id(&create_template(&org.manager, "Certificat AXA", "PDF", "POLICY", CERTIFICATE).await);

    let d = org.manager.ok(SET_COMPANIES, json!({"t": t, "c": [axa]})).await;
    assert_eq!(d["setTemplateCompanies"]["companies"], json!([{"id": axa}]));
    assert_eq!(read_template(&org.manager, &t).await["companies"], json!([{"id": axa}]));
    assert_eq!(count(&org.manager, json!({"companyId": axa})).await, 1);
    assert_eq!(count(&org.manager, json!({"companyId": allianz})).await, 0);

    let body = org.manager.run(GENERATE_DOCUMENT, json!({"i": {"templateId": t, "policyId": at_allianz}})).await;
    refused(&body, "BAD_USER_INPUT");

    // An empty list offers it for every company again.
    let d = org.manager.ok(SET_COMPANIES, json!({"t": t, "c": []})).await;
    assert_eq!(d["setTemplateCompanies"]["companies"], json!([]));
    let queued = generate(&org.manager, &t, &at_allianz).await;
    assert_eq!(queued["status"], "QUEUED");
    cancel(&org.manager, &id(&queued)).await;
}

#[tokio::test]
async fn an_archived_template_stays_readable_but_generates_nothing() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let t = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let d = manager.ok(ARCHIVE, json!({"id": t})).await;
    assert_eq!(d["archiveTemplate"]["isActive"], false);
    assert_eq!(read_template(manager, &t).await["isActive"], false);
    assert_eq!(count(manager, json!({})).await, 0, "archived templates are not listed by default");
    assert_eq!(count(manager, json!({"isActive": false})).await, 1);

    let body = manager.run(GENERATE_DOCUMENT, json!({"i": {"templateId": t, "policyId": book.policies[0]}})).await;
    refused(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.templateId", "{body:#}");
    let jobs = manager.ok("{ jobs { totalCount } }", json!({})).await;
    assert_eq!(jobs["jobs"]["totalCount"], 0);
}

#[tokio::test]
async fn a_duplicate_template_name_is_a_conflict() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await;
    let body = try_create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await;
    refused(&body, "CONFLICT");
    assert_eq!(count(&org.manager, json!({})).await, 1);
}

#[tokio::test]
async fn another_organization_reads_and_changes_none_of_a_template() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let t = create_template(&org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await;
    let (template, version) = (id(&t), id(&t["currentVersion"]));
    let company = app.create_company(&org.manager, "AXA").await;
    let other = app.register("globex", "admin@globex.test").await;

    refused(&other.run(TEMPLATE, json!({"id": template})).await, "NOT_FOUND");
    refused(&other.run(NODE, json!({"id": template})).await, "NOT_FOUND");
    refused(&other.run(NODE, json!({"id": version})).await, "NOT_FOUND");
    assert_eq!(count(&other, json!({})).await, 0);
    assert_eq!(count(&other, json!({"isActive": false})).await, 0);
    let body = other.run(NEW_VERSION, json!({"t": template, "c": CERTIFICATE})).await;
    refused(&body, "NOT_FOUND");
    refused(&other.run(ARCHIVE, json!({"id": template})).await, "NOT_FOUND");
    refused(&other.run(SET_COMPANIES, json!({"t": template, "c": []})).await, "NOT_FOUND");

    // Nothing changed for its owner, and another organization's company cannot be bound either.
    let read = read_template(&org.manager, &template).await;
    assert_eq!((read["isActive"].as_bool(), read["versions"]["totalCount"].as_i64()), (Some(true), Some(1)));
    let globex_company = app.create_company(&other, "AXA").await;
    let body = org.manager.run(SET_COMPANIES, json!({"t": template, "c": [globex_company]})).await;
    refused(&body, "NOT_FOUND");
    let d = org.manager.ok(SET_COMPANIES, json!({"t": template, "c": [company]})).await;
    assert_eq!(d["setTemplateCompanies"]["companies"], json!([{"id": company}]));
}
