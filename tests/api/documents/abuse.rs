//! What one caller can take from everyone else: live subscriptions (to jobs that exist or not,
//! and how many at once), the `jobEvents` replay, previews, and the render pool's slots.
//! Observed through the API and `/metrics` (`event_bus_topics`, `render_slots_in_use`,
//! `render_waiting`), never through timing.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::subscriptions::{Ws, recv, send, signed_in, subscribe, queued_job};
use super::*;

const EVENTS: &str = "subscription($since: DateTime) { jobEvents(since: $since) { job { id } status } }";
const PREVIEW: &str = "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok diagnostics { message } } }";
/// 10^10 iterations: only the render time budget stops it.
const LOOPING: &str = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";

/// The value of a gauge or counter of `/metrics` (a line `name value`).
pub(super) async fn metric(app: &TestApp, name: &str) -> i64 {
    let text = bounded("GET /metrics", async { app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap() }).await;
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Reads `/metrics` until `holds` is true of `name` (the server acts on a message after it is
/// sent); fails after [`LONG`].
pub(super) async fn until_metric(app: &TestApp, name: &str, what: &str, holds: impl Fn(i64) -> bool) {
    bounded(what, async {
        while !holds(metric(app, name).await) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// The `extensions.code` of a refused subscription (an `error` message, or a `next` with errors).
fn refusal_code(message: &Value) -> String {
    let errors = match message["type"].as_str() {
        Some("error") => &message["payload"],
        Some("next") => &message["payload"]["errors"],
        _ => panic!("expected a refusal: {message:#}"),
    };
    errors[0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no code: {message:#}")).to_string()
}

/// The code of subscription `id`'s refusal, read to its end (a `next` with errors is followed by `complete`).
async fn refusal(ws: &mut Ws, id: &str) -> String {
    let message = recv(ws).await;
    assert_eq!(message["id"], id, "{message:#}");
    let code = refusal_code(&message);
    if message["type"] == "next" {
        let end = recv(ws).await;
        assert_eq!((end["type"].as_str(), end["id"].as_str()), (Some("complete"), Some(id)), "{end:#}");
    }
    code
}

/// The next message, which must be a `next` of subscription `id`.
async fn next_of(ws: &mut Ws, id: &str) -> Value {
    let message = recv(ws).await;
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("next"), Some(id)), "{message:#}");
    assert!(message["payload"].get("errors").is_none(), "{message:#}");
    message["payload"]["data"].clone()
}

fn stop(id: &str) -> Value {
    json!({"id": id, "type": "complete"})
}

fn events_since(id: &str, since: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS, "variables": {"since": since}}})
}

#[tokio::test]
async fn subscribing_to_a_made_up_job_answers_not_found_and_keeps_no_topic() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let mut ws = signed_in(&app, &admin).await;
    for n in 0..5 {
        let made_up = URL_SAFE_NO_PAD.encode(format!("Job:{}", uuid::Uuid::new_v4()));
        send(&mut ws, subscribe(&n.to_string(), &made_up)).await;
        assert_eq!(refusal(&mut ws, &n.to_string()).await, "NOT_FOUND");
    }
    // Answered before anything was subscribed: no channel is kept for any of them.
    assert_eq!(metric(&app, "event_bus_topics").await, 0);
}

#[tokio::test]
async fn a_jobs_topic_goes_away_when_its_last_subscriber_leaves() {
    let app = spawn_app().await;
    let (book, job_id) = queued_job(&app).await;
    let manager = &book.org.manager;

    // Ended by the client (`complete`).
    let mut ws = signed_in(&app, manager).await;
    send(&mut ws, subscribe("1", &job_id)).await;
    assert_eq!(next_of(&mut ws, "1").await["jobProgress"]["status"], "QUEUED");
    assert_eq!(metric(&app, "event_bus_topics").await, 1);
    send(&mut ws, stop("1")).await;
    until_metric(&app, "event_bus_topics", "the topic to go after `complete`", |n| n == 0).await;

    // Ended by the socket closing.
    let mut other = signed_in(&app, manager).await;
    send(&mut other, subscribe("2", &job_id)).await;
    next_of(&mut other, "2").await;
    assert_eq!(metric(&app, "event_bus_topics").await, 1);
    drop(other);
    until_metric(&app, "event_bus_topics", "the topic to go after the socket closed", |n| n == 0).await;

    cancel(manager, &job_id).await;
}

#[tokio::test]
async fn a_user_cannot_hold_more_live_subscriptions_than_the_limit() {
    let app = spawn_app_with(&[("MAX_SUBSCRIPTIONS_PER_USER", "2")]).await;
    let (book, job_id) = queued_job(&app).await;
    let manager = &book.org.manager;
    let mut first = signed_in(&app, manager).await;
    send(&mut first, subscribe("1", &job_id)).await;
    next_of(&mut first, "1").await;
    send(&mut first, subscribe("2", &job_id)).await;
    next_of(&mut first, "2").await;

    // The limit is the user's, whatever the socket, and counts `jobEvents` too.
    let mut second = signed_in(&app, manager).await;
    send(&mut second, subscribe("3", &job_id)).await;
    assert_eq!(refusal(&mut second, "3").await, "RATE_LIMITED");
    send(&mut second, events_since("4", "2026-01-01T00:00:00Z")).await;
    assert_eq!(refusal(&mut second, "4").await, "RATE_LIMITED");

    // Another user of the organization is not affected.
    let mut admin = signed_in(&app, &book.org.admin).await;
    send(&mut admin, subscribe("1", &job_id)).await;
    next_of(&mut admin, "1").await;

    // Ending one gives its place back.
    send(&mut first, stop("1")).await;
    bounded("a place to come back", async {
        for attempt in 0.. {
            let id = format!("retry-{attempt}");
            send(&mut second, subscribe(&id, &job_id)).await;
            let message = recv(&mut second).await;
            assert_eq!(message["id"], id.as_str(), "{message:#}");
            if message["type"] == "next" && message["payload"].get("errors").is_none() {
                break;
            }
            assert_eq!(refusal_code(&message), "RATE_LIMITED");
            if message["type"] == "next" {
                assert_eq!(recv(&mut second).await["type"], "complete");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    cancel(manager, &job_id).await;
}

#[tokio::test]
async fn job_events_replays_only_the_most_recently_changed_jobs() {
    let app = spawn_app_with(&[("JOB_EVENTS_REPLAY_MAX", "2")]).await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(id(&generate(manager, &template, &book.policies[0]).await));
    }

    let mut ws = signed_in(&app, manager).await;
    send(&mut ws, events_since("1", "2026-01-01T00:00:00Z")).await;
    // The two most recently changed, oldest first…
    for expected in &jobs[1..] {
        let event = next_of(&mut ws, "1").await;
        assert_eq!(event["jobEvents"]["job"]["id"], expected.as_str(), "{event:#}");
        assert_eq!(event["jobEvents"]["status"], "QUEUED", "{event:#}");
    }
    // …and then live events, not the third.
    cancel(manager, &jobs[0]).await;
    let event = next_of(&mut ws, "1").await;
    assert_eq!(event["jobEvents"]["job"]["id"], jobs[0].as_str(), "{event:#}");
    assert_eq!(event["jobEvents"]["status"], "CANCELLED", "{event:#}");
    for job_id in &jobs[1..] {
        cancel(manager, job_id).await;
    }
}

#[tokio::test]
async fn job_events_does_not_replay_jobs_changed_more_than_a_day_ago() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let old = id(&generate(manager, &template, &book.policies[0]).await);
    // Nothing in the API is old: the job is made so (the same text for SQLite and PostgreSQL).
    app.sql_strings("UPDATE jobs SET updated_at = '2020-01-01 00:00:00+00:00'").await;
    let recent = id(&generate(manager, &template, &book.policies[0]).await);

    let mut ws = signed_in(&app, manager).await;
    send(&mut ws, events_since("1", "2019-01-01T00:00:00Z")).await;
    let event = next_of(&mut ws, "1").await;
    assert_eq!(event["jobEvents"]["job"]["id"], recent.as_str(), "the old job was replayed: {event:#}");
    // The old job's next change comes live.
    cancel(manager, &old).await;
    let event = next_of(&mut ws, "1").await;
    assert_eq!(event["jobEvents"]["job"]["id"], old.as_str(), "{event:#}");
    assert_eq!(event["jobEvents"]["status"], "CANCELLED", "{event:#}");
    cancel(manager, &recent).await;
}

#[tokio::test]
async fn an_agent_cannot_preview_a_template() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let input = json!({"i": {"content": CERTIFICATE, "format": "PDF"}});
    assert_eq!(org.agent.err(PREVIEW, input.clone()).await, "FORBIDDEN");
    let d = bounded("previewTemplate", org.manager.ok(PREVIEW, input)).await;
    assert_eq!(d["previewTemplate"]["ok"], true, "{d:#}");
}

#[tokio::test]
async fn one_organizations_looping_previews_leave_render_slots_for_another() {
    // Two render slots, so an organization holds one at most. Renders and operations may run for
    // ten minutes: the loops hold their slot until the test ends (its runtime drops them).
    let long = [("RENDER_WORKERS", "2"), ("RENDER_TIMEOUT_SECS", "600"), ("JOB_LEASE_SECS", "600"), ("REQUEST_TIMEOUT_SECS", "600")];
    let app = spawn_app_with(&long).await;
    let alpha = app.org("alpha").await;
    let beta = book(&app, "beta", 1).await;
    // Saving a template renders it too: done before the loops start.
    let template = id(&create_template(&beta.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);

    let loops: Vec<_> = (0..2)
        .map(|_| {
            let manager = alpha.manager.clone();
            tokio::spawn(async move { manager.run(PREVIEW, json!({"i": {"content": LOOPING, "format": "PDF"}})).await })
        })
        .collect();
    // Both loops reached the pool (rendering or waiting) before beta asks.
    bounded("alpha's loops to reach the pool", async {
        while metric(&app, "render_slots_in_use").await + metric(&app, "render_waiting").await < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    let preview = bounded("beta's preview", beta.org.manager.ok(PREVIEW, json!({"i": {"content": CERTIFICATE, "format": "PDF"}}))).await;
    assert_eq!(preview["previewTemplate"]["ok"], true, "{preview:#}");
    let job_id = id(&generate(&beta.org.manager, &template, &beta.policies[0]).await);
    run_jobs(&app).await;
    assert_eq!(job(&beta.org.manager, &job_id).await["status"], "SUCCEEDED");

    // Meanwhile alpha's loops were still going: one in its slot, the other waiting for its turn.
    assert!(loops.iter().all(|l| !l.is_finished()), "an alpha loop ended before beta's renders");
    assert_eq!((metric(&app, "render_slots_in_use").await, metric(&app, "render_waiting").await), (1, 1));
    for l in loops {
        l.abort();
    }
}
