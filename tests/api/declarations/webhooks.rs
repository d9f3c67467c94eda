//! A bordereau sent to an insurer with an integration: the signed `declaration.sent` delivery
//! reaches a receiver started here (which fails once, then accepts), every attempt listed in
//! `deliveries`; a receiver that never answers leaves the batch FAILED, and it can be sent again.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{BATCH, CREATE_BATCH, SEND, batch_input, book, declared};
use crate::{
    documents::run_jobs,
    helpers::{TestApp, User, spawn_app_with},
    integrations::{SECRET, SET, input, receiver::{Behaviour, Receiver}},
};

const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on DeclarationBatch { status \
    deliveries { id channel attempt status httpStatus error at } } } }";

async fn webhook_app() -> TestApp {
    spawn_app_with(&[
        ("INTEGRATIONS_ALLOW_PRIVATE", "true"),
        ("INTEGRATION_MAX_ATTEMPTS", "3"),
        ("INTEGRATION_RETRY_BASE_SECS", "0.05"),
        ("INTEGRATION_TIMEOUT_SECS", "1"),
    ])
    .await
}

/// Drives the delivery workers until the batch has no webhook delivery PENDING; returns its deliveries.
async fn settled(app: &TestApp, who: &User, batch: &Value) -> Value {
    let started = Instant::now();
    loop {
        let d = who.ok(DELIVERIES, json!({"id": batch})).await["node"].clone();
        let webhooks: Vec<&Value> = d["deliveries"].as_array().unwrap().iter().filter(|line| line["channel"] == "WEBHOOK").collect();
        let waiting = webhooks.is_empty() || webhooks.iter().any(|line| line["status"] == "PENDING")
            || webhooks.iter().all(|line| line["status"] == "FAILED") && d["status"] != "FAILED";
        if !waiting {
            return d;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the delivery did not settle: {d:#}");
        if !monassurance::integrations::worker::try_deliver_next(&app.state).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn verify(timestamp: &str, body: &[u8], signature: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, expected, "the signature is the HMAC-SHA256 of timestamp.body with the secret");
}

#[tokio::test]
async fn a_sent_bordereau_is_delivered_signed_to_the_insurers_integration_after_a_failure() {
    let app = webhook_app().await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    let receiver = Receiver::start(&[Behaviour::Status(500), Behaviour::Status(204)]).await;
    org.admin.ok(SET, input(&book.company, Some(&receiver.url), Some(SECRET))).await;
    declared(&org.manager, "W-1", &book, "ACTIVE", "2026-01-05", "100001").await;
    declared(&org.manager, "W-2", &book, "ACTIVE", "2026-01-06", "33333").await;
    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"].clone();
    run_jobs(&app).await;
    let sent = org.manager.ok(SEND, json!({"id": made["id"]})).await["sendDeclarationBatch"].clone();
    assert_eq!(sent["status"], "SENT");

    let d = settled(&app, &org.manager, &made["id"]).await;
    let lines = d["deliveries"].as_array().unwrap();
    let email: Vec<&Value> = lines.iter().filter(|line| line["channel"] == "EMAIL").collect();
    assert_eq!(email.len(), 1, "the mail to the contact address: {d:#}");
    let webhooks: Vec<(i64, &str, i64)> = lines
        .iter()
        .filter(|line| line["channel"] == "WEBHOOK")
        .map(|line| (line["attempt"].as_i64().unwrap(), line["status"].as_str().unwrap(), line["httpStatus"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(webhooks, [(1, "FAILED", 500), (2, "DELIVERED", 204)], "{d:#}");
    assert_eq!(d["status"], "SENT");

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].header("x-monassurance-delivery"), received[1].header("x-monassurance-delivery"), "one delivery, retried");
    assert_eq!(received[1].header("x-monassurance-event"), "declaration.sent");
    for request in &received {
        verify(&request.header("x-monassurance-timestamp"), &request.body, &request.header("x-monassurance-signature"));
    }
    let body: Value = serde_json::from_slice(&received[1].body).expect("a JSON body");
    assert_eq!(body["event"], "declaration.sent");
    assert_eq!(body["batch"]["id"], made["id"]);
    assert_eq!((&body["batch"]["itemCount"], &body["batch"]["totalPremium"], &body["batch"]["totalCommission"]), (&json!(2), &json!("133334"), &json!("16667")));
    let mut policies: Vec<(String, String, String)> = body["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_str().unwrap().into(), p["premium"].as_str().unwrap().into(), p["commission"].as_str().unwrap().into()))
        .collect();
    policies.sort();
    assert_eq!(policies, [("W-1".into(), "100001".into(), "12500".into()), ("W-2".into(), "33333".into(), "4167".into())]);
    let company = org.manager.ok("query($id: ID!) { company(id: $id) { integration { lastDeliveryAt } } }", json!({"id": book.company})).await;
    assert!(company["company"]["integration"]["lastDeliveryAt"].is_string(), "{company:#}");
}

#[tokio::test]
async fn a_bordereau_whose_delivery_never_gets_an_answer_fails_and_can_be_sent_again() {
    let app = webhook_app().await;
    let org = app.org("acme").await;
    let book = book(&app, &org).await;
    // No mail this time: the insurer is reached by its integration only.
    org.manager
        .ok("mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { id } }", json!({"i": {"id": book.company, "contactEmail": ""}}))
        .await;
    let silent = Receiver::start(&[Behaviour::Silent]).await;
    org.admin.ok(SET, input(&book.company, Some(&silent.url), Some(SECRET))).await;
    declared(&org.manager, "S-1", &book, "ACTIVE", "2026-01-05", "1000").await;
    let made = org.manager.ok(CREATE_BATCH, batch_input(&book, "2026-01-01", "2026-01-31")).await["createDeclarationBatch"].clone();
    run_jobs(&app).await;
    org.manager.ok(SEND, json!({"id": made["id"]})).await;

    let d = settled(&app, &org.manager, &made["id"]).await;
    assert_eq!(d["status"], "FAILED", "{d:#}");
    let lines = d["deliveries"].as_array().unwrap();
    assert!(lines.iter().all(|line| line["channel"] == "WEBHOOK"), "no mail without a contact address: {d:#}");
    assert_eq!(lines.len(), 3, "every attempt recorded: {d:#}");
    assert!(lines.iter().all(|line| line["status"] == "FAILED" && line["error"].as_str().is_some_and(|e| !e.is_empty())), "{d:#}");
    let failed = org.manager.ok("{ declarationBatches(filter: {status: FAILED}) { totalCount } }", json!({})).await;
    assert_eq!(failed["declarationBatches"]["totalCount"], 1);

    // The insurer fixes its endpoint; the batch is sent again and delivered.
    let fixed = Receiver::start(&[Behaviour::Status(200)]).await;
    org.admin.ok(SET, input(&book.company, Some(&fixed.url), None)).await;
    let again = org.manager.ok(SEND, json!({"id": made["id"]})).await["sendDeclarationBatch"].clone();
    assert_eq!(again["status"], "SENT");
    let d = settled(&app, &org.manager, &made["id"]).await;
    assert_eq!(d["status"], "SENT", "{d:#}");
    assert_eq!(fixed.received().len(), 1);
    let batch = org.manager.ok(BATCH, json!({"id": made["id"]})).await;
    assert_eq!(batch["node"]["itemCount"], 1);
}
