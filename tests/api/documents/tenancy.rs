//! Another organization's jobs, documents and templates answer `NOT_FOUND` (reads, `node`,
//! mutations, generation), and idempotency keys are per organization.

use super::*;

#[tokio::test]
async fn another_organization_cannot_read_or_touch_a_job_or_its_documents() {
    let app = spawn_app().await;
    let made = made_certificate(&app, "acme").await;
    let document = id(&made.document);
    let other = app.register("globex", "admin@globex.test").await;

    refused(&other.run(JOB, json!({"id": made.job})).await, "NOT_FOUND");
    refused(&other.run("query($id: ID!) { document(id: $id) { id fileName } }", json!({"id": document})).await, "NOT_FOUND");
    refused(&other.run(NODE, json!({"id": made.job})).await, "NOT_FOUND");
    refused(&other.run(NODE, json!({"id": document})).await, "NOT_FOUND");
    let lists = other.ok("{ jobs { totalCount } documents { totalCount } }", json!({})).await;
    assert_eq!((lists["jobs"]["totalCount"].as_i64(), lists["documents"]["totalCount"].as_i64()), (Some(0), Some(0)), "{lists:#}");
    refused(&other.run("mutation($id: ID!) { cancelJob(id: $id) { id status } }", json!({"id": made.job})).await, "NOT_FOUND");
    refused(&other.run("mutation($id: ID!) { deleteDocument(id: $id) }", json!({"id": document})).await, "NOT_FOUND");

    // Its owner still reads both, unchanged.
    let j = job(&made.book.org.manager, &made.job).await;
    assert_eq!((j["status"].as_str(), j["documents"]["totalCount"].as_i64()), (Some("SUCCEEDED"), Some(1)), "{j:#}");
}

#[tokio::test]
async fn another_organization_cannot_generate_with_a_foreign_template_or_policy() {
    let app = spawn_app().await;
    let acme = book(&app, "acme", 1).await;
    let acme_template = id(&create_template(&acme.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let acme_report = id(&create_template(&acme.org.manager, "Bordereau", "XLSX", "REPORT", BORDEREAU).await);
    let globex = book(&app, "globex", 1).await;
    let intruder = &globex.org.manager;

    let with_own_policy = json!({"i": {"templateId": acme_template, "policyId": globex.policies[0]}});
    refused(&intruder.run(GENERATE_DOCUMENT, with_own_policy).await, "NOT_FOUND");
    let batch = json!({"i": {"templateId": acme_template, "policyIds": globex.policies}});
    refused(&intruder.run(GENERATE_DOCUMENTS, batch).await, "NOT_FOUND");
    let report = json!({"i": {"templateId": acme_report, "filter": {}}});
    refused(&intruder.run(GENERATE_REPORT, report).await, "NOT_FOUND");

    // Its own template with the other organization's policy is no better.
    let globex_template = id(&create_template(intruder, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let foreign_policy = json!({"i": {"templateId": globex_template, "policyId": acme.policies[0]}});
    refused(&intruder.run(GENERATE_DOCUMENT, foreign_policy).await, "NOT_FOUND");
    let foreign_batch = json!({"i": {"templateId": globex_template, "policyIds": acme.policies}});
    refused(&intruder.run(GENERATE_DOCUMENTS, foreign_batch).await, "NOT_FOUND");

    for manager in [&acme.org.manager, intruder] {
        assert_eq!(manager.ok("{ jobs { totalCount } }", json!({})).await["jobs"]["totalCount"], 0);
    }
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_organization() {
    let app = spawn_app().await;
    let acme = book(&app, "acme", 1).await;
    let globex = book(&app, "globex", 1).await;
    let mut jobs = Vec::new();
    for side in [&acme, &globex] {
        let template = id(&create_template(&side.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
        let input = json!({"i": {"templateId": template, "policyId": side.policies[0], "idempotencyKey": "same-key"}});
        jobs.push(id(&side.org.manager.ok(GENERATE_DOCUMENT, input).await["generateDocument"]));
    }
    assert_ne!(jobs[0], jobs[1], "the same key in another organization must start its own job");
    job(&globex.org.manager, &jobs[1]).await;
    refused(&globex.org.manager.run(JOB, json!({"id": jobs[0]})).await, "NOT_FOUND");
    cancel(&acme.org.manager, &jobs[0]).await;
    cancel(&globex.org.manager, &jobs[1]).await;
}
