//! `generateDocument` end to end: a queued job, run by the worker, makes one PDF document.

use super::*;

#[tokio::test]
async fn generate_document_queues_a_job_that_makes_one_pdf() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);

    let queued = generate(manager, &template, &book.policies[0]).await;
    assert_eq!(queued["kind"], "DOCUMENT", "{queued:#}");
    assert_eq!(queued["status"], "QUEUED", "{queued:#}");
    assert_eq!((queued["total"].as_i64(), queued["done"].as_i64()), (Some(1), Some(0)), "{queued:#}");
    assert_eq!(queued["progress"].as_f64(), Some(0.0), "{queued:#}");

    run_jobs(&app).await;
    let j = job(manager, &id(&queued)).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    assert_eq!((j["done"].as_i64(), j["failed"].as_i64(), j["total"].as_i64()), (Some(1), Some(0), Some(1)), "{j:#}");
    assert_eq!(j["progress"].as_f64(), Some(1.0), "{j:#}");
    assert!(j["error"].is_null(), "{j:#}");
    assert_eq!(j["documents"]["totalCount"], 1, "{j:#}");

    let doc = &j["documents"]["nodes"][0];
    let file_name = doc["fileName"].as_str().expect("fileName");
    assert!(file_name.ends_with(".pdf"), "{file_name}");
    assert_eq!(doc["format"], "PDF");
    assert_eq!(doc["mimeType"], "application/pdf");
    assert!(doc["sizeBytes"].as_i64().is_some_and(|n| n > 0), "{doc:#}");
    assert!(doc["sha256"].as_str().is_some_and(is_sha256_hex), "{doc:#}");
    assert_eq!(doc["policy"]["id"], book.policies[0].as_str());
    assert_eq!(doc["policy"]["number"], book.numbers[0].as_str());

    // The document is also reachable on its own and through the policy's list.
    let d = manager.ok("query($id: ID!) { document(id: $id) { id job { id } template { id } } }", json!({"id": id(doc)})).await;
    assert_eq!(d["document"]["job"]["id"], id(&j).as_str());
    assert_eq!(d["document"]["template"]["id"], template.as_str());
    let listed = manager.ok("query($p: ID!) { documents(filter: {policyId: $p}) { totalCount } }", json!({"p": book.policies[0]})).await;
    assert_eq!(listed["documents"]["totalCount"], 1);
}

#[tokio::test]
async fn generate_document_for_a_policy_template_needs_a_policy() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let body = manager.run(GENERATE_DOCUMENT, json!({"i": {"templateId": template}})).await;
    refused(&body, "BAD_USER_INPUT");
    let body = manager.run(GENERATE_DOCUMENT, json!({"i": {"templateId": template, "policyId": book.policies[0], "format": "XLSX"}})).await;
    refused(&body, "BAD_USER_INPUT");
    assert_eq!(manager.ok("{ jobs { totalCount } }", json!({})).await["jobs"]["totalCount"], 0);
}
