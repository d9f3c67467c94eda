//! Idempotency keys, `generateDocuments` (one job, a document per policy, each made once), and
//! cancelling a queued job.

use std::collections::BTreeSet;

use super::*;

const CANCEL: &str = "mutation($id: ID!) { cancelJob(id: $id) { id status done } }";
const JOB_COUNT: &str = "{ jobs { totalCount } }";
const DOCUMENT_COUNT: &str = "query($f: DocumentFilter) { documents(filter: $f) { totalCount } }";

async fn documents(actor: &User, filter: Value) -> i64 {
    let d = actor.ok(DOCUMENT_COUNT, json!({"f": filter})).await;
    d["documents"]["totalCount"].as_i64().expect("totalCount")
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_job() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let input = json!({"i": {"templateId": template, "policyId": book.policies[0], "idempotencyKey": "certificate-acme-0001"}});

    let first = manager.ok(GENERATE_DOCUMENT, input.clone()).await["generateDocument"].clone();
    let second = manager.ok(GENERATE_DOCUMENT, input.clone()).await["generateDocument"].clone();
    assert_eq!(id(&first), id(&second), "a retried request starts no second job");
    assert_eq!(manager.ok(JOB_COUNT, json!({})).await["jobs"]["totalCount"], 1);

    run_jobs(&app).await;
    let third = manager.ok(GENERATE_DOCUMENT, input).await["generateDocument"].clone();
    assert_eq!(id(&third), id(&first), "the key still names the first job once it ran");
    assert_eq!(third["status"], "SUCCEEDED", "{third:#}");
    run_jobs(&app).await;
    assert_eq!(documents(manager, json!({})).await, 1);

    // Another key is another job.
    let other = json!({"i": {"templateId": template, "policyId": book.policies[0], "idempotencyKey": "certificate-acme-0001-bis"}});
    let fourth = manager.ok(GENERATE_DOCUMENT, other).await["generateDocument"].clone();
    assert_ne!(id(&fourth), id(&first));
    cancel(manager, &id(&fourth)).await;
}

#[tokio::test]
async fn generate_documents_makes_one_document_per_policy_exactly_once() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 5).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);

    let input = json!({"i": {"templateId": template, "policyIds": book.policies}});
    let queued = manager.ok(GENERATE_DOCUMENTS, input).await["generateDocuments"].clone();
    assert_eq!(queued["kind"], "DOCUMENTS", "{queued:#}");
    assert_eq!(queued["status"], "QUEUED", "{queued:#}");
    assert_eq!(queued["total"], 5, "{queued:#}");
    assert_eq!(manager.ok(JOB_COUNT, json!({})).await["jobs"]["totalCount"], 1, "one job for all five");

    run_jobs(&app).await;
    let j = job(manager, &id(&queued)).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    assert_eq!((j["done"].as_i64(), j["failed"].as_i64()), (Some(5), Some(0)), "{j:#}");
    assert_eq!(j["progress"].as_f64(), Some(1.0));
    assert_eq!(j["documents"]["totalCount"], 5, "{j:#}");
    let nodes = j["documents"]["nodes"].as_array().expect("nodes");
    let policies: BTreeSet<String> = nodes.iter().map(|d| d["policy"]["id"].as_str().expect("a policy").to_string()).collect();
    assert_eq!(policies, book.policies.iter().cloned().collect::<BTreeSet<_>>(), "one document per policy");
    for doc in nodes {
        assert!(doc["fileName"].as_str().is_some_and(|f| f.ends_with(".pdf")), "{doc:#}");
        assert!(doc["sizeBytes"].as_i64().is_some_and(|n| n > 0), "{doc:#}");
    }
    let names: BTreeSet<&str> = nodes.iter().filter_map(|d| d["fileName"].as_str()).collect();
    assert_eq!(names.len(), 5, "each document has its own file name: {names:?}");

    // Running the worker again makes nothing more.
    run_jobs(&app).await;
    assert_eq!(job(manager, &id(&queued)).await["documents"]["totalCount"], 5);
    assert_eq!(documents(manager, json!({"jobId": id(&queued)})).await, 5);
    assert_eq!(documents(manager, json!({})).await, 5);
}

#[tokio::test]
async fn a_cancelled_queued_job_makes_no_documents() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 2).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let input = json!({"i": {"templateId": template, "policyIds": book.policies}});
    let queued = manager.ok(GENERATE_DOCUMENTS, input).await["generateDocuments"].clone();
    assert_eq!(queued["status"], "QUEUED");

    let d = manager.ok(CANCEL, json!({"id": id(&queued)})).await;
    assert_eq!(d["cancelJob"]["status"], "CANCELLED", "{d:#}");

    run_jobs(&app).await;
    let j = job(manager, &id(&queued)).await;
    assert_eq!(j["status"], "CANCELLED", "{j:#}");
    assert_eq!(j["done"], 0, "{j:#}");
    assert_eq!(j["documents"]["totalCount"], 0, "{j:#}");
    assert_eq!(documents(manager, json!({})).await, 0);

    // Cancelling a finished job changes nothing.
    let d = manager.ok(CANCEL, json!({"id": id(&queued)})).await;
    assert_eq!(d["cancelJob"]["status"], "CANCELLED");
}

#[tokio::test]
async fn a_worker_that_dies_mid_job_is_taken_over_after_its_lease_and_no_item_is_made_twice() {
    let app = spawn_app_with(&[("JOB_LEASE_SECS", "1"), ("RENDER_TIMEOUT_SECS", "1")]).await;
    let book = book(&app, "acme", 12).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let started = manager.ok(GENERATE_DOCUMENTS, json!({"i": {"templateId": template, "policyIds": book.policies}})).await
        ["generateDocuments"]
        .clone();
    let job_id = id(&started);

    // A worker claims the job and dies mid-slice: its future is dropped, its lease is never released.
    let doomed = monassurance::jobs::worker::try_execute_next(&app.state, "doomed-worker");
    let _ = tokio::time::timeout(std::time::Duration::from_millis(40), doomed).await;
    let mid = job(manager, &job_id).await;
    // RUNNING once the doomed worker claimed it (QUEUED only if a loaded machine never let it start).
    assert!(matches!(mid["status"].as_str(), Some("RUNNING" | "QUEUED")), "{mid:#}");
    let done_before = mid["done"].as_i64().unwrap();
    assert!(done_before < 12, "the doomed worker must not have finished: {mid:#}");

    // While the lease lives nobody takes the job; once it expires another worker does.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    run_jobs(&app).await;
    let end = job(manager, &job_id).await;
    assert_eq!(end["status"], "SUCCEEDED", "{end:#}");
    assert_eq!(end["done"], 12, "{end:#}");
    assert_eq!(end["failed"], 0, "{end:#}");
    let made = documents(manager, json!({"jobId": job_id})).await;
    assert_eq!(made, 12, "exactly one document per item");
}
