//! Webhook deliveries, queued through `integrations::service::enqueue` (the lead's
//! `sendDeclarationBatch` calls it) and made by the worker the test drives, against a receiver
//! on a free port (so `INTEGRATIONS_ALLOW_PRIVATE=true`): a failure retried with the same delivery
//! id and a signature checked here from the raw body, an endpoint that never answers failing
//! after the last attempt, a redirect not followed, an endless answer read no further than the cap,
//! and the connection pinned to the addresses checked (DNS rebinding gets nowhere).

use std::time::{Duration, Instant};

use async_graphql::ID;
use hmac::{Hmac, Mac};
use monassurance::{
    entities::{company, webhook_delivery},
    graphql::ids,
    integrations::{
        service,
        types::{DeclarationDelivery, DeliveryChannel, DeliveryStatus},
        worker,
    },
};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use super::{
    SECRET, SET, input,
    receiver::{Behaviour, CHUNK, ENDLESS_CHUNKS, Receiver},
};
use crate::helpers::*;

/// The longest a delivery may take to settle here (timeouts of 1 s, retries after ~50 ms, doubling).
const PATIENCE: Duration = Duration::from_secs(30);

async fn webhook_app() -> TestApp {
    spawn_app_with(&[
        ("INTEGRATIONS_ALLOW_PRIVATE", "true"),
        ("INTEGRATION_MAX_ATTEMPTS", "3"),
        ("INTEGRATION_RETRY_BASE_SECS", "0.05"),
        ("INTEGRATION_TIMEOUT_SECS", "1"),
    ])
    .await
}

/// An organization whose insurer AXA sends deliveries to `endpoint`: (its admin, the company's
/// global id, the organization's and the company's keys).
async fn integrated(app: &TestApp, endpoint: &str) -> (Org, String, Uuid, Uuid) {
    let org = app.org("acme").await;
    let company = app.create_company(&org.admin, "AXA").await;
    org.admin.ok(SET, input(&company, Some(endpoint), Some(SECRET))).await;
    let company_id = ids::decode(&ID(company.clone()), "Company").unwrap();
    let row = company::Entity::find_by_id(company_id).one(&app.state.db).await.unwrap().expect("the company");
    (org, company, row.organization_id, company_id)
}

fn payload(subject: Uuid) -> Value {
    json!({"event": "declaration.sent", "batch": {"id": subject.to_string(), "itemCount": 2}, "policies": [{"number": "P-1"}, {"number": "P-2"}]})
}

/// Queues a `declaration.sent` delivery about `subject`, as `sendDeclarationBatch` would.
async fn enqueue(app: &TestApp, organization_id: Uuid, company_id: Uuid, subject: Uuid) -> Uuid {
    let id = service::enqueue(&app.state.db, organization_id, company_id, "declaration.sent", subject, payload(subject)).await.unwrap();
    service::queued(&app.state);
    id.expect("the company has an integration")
}

/// Drives the worker until the delivery is no longer PENDING; returns its row.
async fn settle(app: &TestApp, delivery: Uuid) -> webhook_delivery::Model {
    let started = Instant::now();
    loop {
        let row = webhook_delivery::Entity::find_by_id(delivery).one(&app.state.db).await.unwrap().expect("the delivery");
        if row.status != "PENDING" {
            return row;
        }
        assert!(started.elapsed() < PATIENCE, "the delivery did not settle within {PATIENCE:?}: {row:?}");
        if !worker::try_deliver_next(&app.state).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The webhook attempts made about `subject`, as `DeclarationBatch.deliveries` lists them.
async fn attempts(app: &TestApp, subject: Uuid) -> Vec<DeclarationDelivery> {
    let mut found = service::attempts_for(&app.state.db, &[subject]).await.unwrap();
    found.remove(&subject).unwrap_or_default().into_iter().map(DeclarationDelivery::from).collect()
}

#[tokio::test]
async fn a_delivery_refused_once_is_retried_with_the_same_id_and_a_signature_the_receiver_can_check() {
    let receiver = Receiver::start(&[Behaviour::Status(500), Behaviour::Status(204)]).await;
    let app = webhook_app().await;
    let (org, company, organization_id, company_id) = integrated(&app, &receiver.url).await;
    let subject = Uuid::now_v7();
    let delivery = enqueue(&app, organization_id, company_id, subject).await;

    let row = settle(&app, delivery).await;
    assert_eq!((row.status.as_str(), row.attempts), ("DELIVERED", 2), "{row:?}");
    let queued = service::deliveries_for(&app.state.db, &[subject]).await.unwrap();
    assert_eq!(queued[&subject].iter().map(|d| d.id).collect::<Vec<_>>(), [delivery]);
    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:#?}");
    for request in &received {
        assert_eq!(request.path, "/hooks/monassurance");
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("x-monassurance-event"), "declaration.sent");
        assert_eq!(request.header("x-monassurance-delivery"), delivery.to_string(), "the same id on every attempt");
        // The receiver's check: HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret.
        let timestamp = request.header("x-monassurance-timestamp");
        let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().expect("unix seconds");
        assert!((0..60).contains(&age), "a fresh timestamp: {timestamp}");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(&request.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(request.header("x-monassurance-signature"), expected);
        let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
        assert_eq!(body, payload(subject));
    }

    let made = attempts(&app, subject).await;
    assert_eq!(made.len(), 2, "{made:#?}");
    assert_eq!((made[0].attempt, made[0].status, made[0].http_status), (1, DeliveryStatus::Failed, Some(500)));
    assert!(made[0].error.as_deref().is_some_and(|e| e.contains("500")), "{made:#?}");
    assert_eq!((made[1].attempt, made[1].status, made[1].http_status, made[1].error.as_deref()), (2, DeliveryStatus::Delivered, Some(204), None));
    assert!(made.iter().all(|m| m.channel == DeliveryChannel::Webhook));
    let read = org.agent.ok("query($id: ID!) { company(id: $id) { integration { lastDeliveryAt } } }", json!({"id": company})).await;
    assert!(read["company"]["integration"]["lastDeliveryAt"].is_string(), "{read:#}");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_and_fails_after_the_last_attempt() {
    let receiver = Receiver::start(&[Behaviour::Silent]).await;
    let app = webhook_app().await;
    let (_, _, organization_id, company_id) = integrated(&app, &receiver.url).await;
    let subject = Uuid::now_v7();
    let delivery = enqueue(&app, organization_id, company_id, subject).await;

    let row = settle(&app, delivery).await;
    assert_eq!((row.status.as_str(), row.attempts), ("FAILED", 3), "{row:?}");
    let made = attempts(&app, subject).await;
    assert_eq!(made.iter().map(|m| m.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    for attempt in &made {
        assert_eq!((attempt.status, attempt.http_status), (DeliveryStatus::Failed, None), "{made:#?}");
        assert!(attempt.error.as_deref().is_some_and(|e| e.contains("no answer within 1 s")), "{made:#?}");
    }
    let received = receiver.received();
    assert_eq!(received.len(), 3, "each attempt reached the receiver");
    assert!(received.iter().all(|r| r.header("x-monassurance-delivery") == delivery.to_string()));
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let receiver = Receiver::start(&[Behaviour::Redirect]).await;
    let app = webhook_app().await;
    let (_, _, organization_id, company_id) = integrated(&app, &receiver.url).await;
    let subject = Uuid::now_v7();
    let row = settle(&app, enqueue(&app, organization_id, company_id, subject).await).await;
    assert_eq!((row.status.as_str(), row.attempts), ("FAILED", 3), "{row:?}");
    let made = attempts(&app, subject).await;
    assert!(made.iter().all(|m| m.http_status == Some(302) && m.status == DeliveryStatus::Failed), "{made:#?}");
    assert!(made[0].error.as_deref().is_some_and(|e| e.contains("redirect")), "{made:#?}");
    let paths: Vec<String> = receiver.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/hooks/monassurance"; 3], "the Location was never asked for");
}

#[tokio::test]
async fn an_endless_answer_is_read_no_further_than_the_cap() {
    let receiver = Receiver::start(&[Behaviour::Endless]).await;
    let app = webhook_app().await;
    let (_, _, organization_id, company_id) = integrated(&app, &receiver.url).await;
    let subject = Uuid::now_v7();
    let started = Instant::now();
    let row = settle(&app, enqueue(&app, organization_id, company_id, subject).await).await;
    assert_eq!((row.status.as_str(), row.attempts), ("DELIVERED", 1), "{row:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered without reading the whole body");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The connection was dropped after 64 KiB: the receiver made a few buffers' worth, not 1 GiB.
    let made = receiver.chunks_made();
    assert!(made * CHUNK < 64 * 1024 * 1024 && made < ENDLESS_CHUNKS, "{made} chunks of 64 KiB were made");
}

#[tokio::test]
async fn a_company_without_integration_gets_no_delivery_and_a_removed_one_fails_what_was_queued() {
    let receiver = Receiver::start(&[Behaviour::Status(200)]).await;
    let app = webhook_app().await;
    let (org, company, organization_id, company_id) = integrated(&app, &receiver.url).await;
    let other = app.create_company(&org.admin, "MAAF").await;
    let other_id = ids::decode(&ID(other), "Company").unwrap();
    let none = service::enqueue(&app.state.db, organization_id, other_id, "declaration.sent", Uuid::now_v7(), json!({})).await.unwrap();
    assert_eq!(none, None);
    // Another organization's key never reaches this company's integration.
    let stranger = service::enqueue(&app.state.db, Uuid::now_v7(), company_id, "declaration.sent", Uuid::now_v7(), json!({})).await.unwrap();
    assert_eq!(stranger, None);

    let subject = Uuid::now_v7();
    let delivery = enqueue(&app, organization_id, company_id, subject).await;
    org.admin.ok(SET, input(&company, None, None)).await;
    let row = settle(&app, delivery).await;
    assert_eq!((row.status.as_str(), row.attempts), ("FAILED", 1), "{row:?}");
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("removed")), "{row:?}");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn the_worker_loop_delivers_what_is_queued_once_woken_to_a_host_name_pinned_to_its_checked_address() {
    let receiver = Receiver::start(&[Behaviour::Status(202)]).await;
    let app = webhook_app().await;
    // A name, not an address: resolved and checked, then the connection pinned to what was checked.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let (_, _, organization_id, company_id) = integrated(&app, &by_name).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker::run(app.state.clone(), "test-webhooks".into(), stopped));
    let delivery = enqueue(&app, organization_id, company_id, Uuid::now_v7()).await;
    let started = Instant::now();
    loop {
        let row = webhook_delivery::Entity::find_by_id(delivery).one(&app.state.db).await.unwrap().unwrap();
        if row.status == "DELIVERED" {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running).await.expect("the loop stops").unwrap();
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn an_attempt_connects_to_the_addresses_checked_and_never_asks_the_name_again() {
    use monassurance::integrations::{
        endpoint::Checked,
        secret::WebhookSecret,
        sender::{self, Outcome, Outgoing},
    };
    let receiver = Receiver::start(&[Behaviour::Status(200)]).await;
    let port = url::Url::parse(&receiver.url).unwrap().port().unwrap();
    // `.invalid` never resolves: the request reaches the receiver only through the pinned address.
    let checked = Checked {
        url: url::Url::parse(&format!("http://insurer.invalid:{port}/hooks/monassurance")).unwrap(),
        domain: Some("insurer.invalid".into()),
        addrs: vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))],
    };
    let secret = WebhookSecret::new(SECRET);
    let outgoing = Outgoing { delivery_id: Uuid::now_v7(), event: "declaration.sent", body: "{}", secret: &secret };
    let outcome = sender::post(&checked, Duration::from_secs(2), outgoing).await;
    assert_eq!(outcome, Outcome::Delivered { http_status: 200 });
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("host"), format!("insurer.invalid:{port}"));
}
