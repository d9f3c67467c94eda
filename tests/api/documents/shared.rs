//! `jobEvents` shared by the subscribers who see the same thing (`graphql::shared`): one
//! execution a group, each event's answer the same text on every member's socket, byte for byte
//! what a subscription of its own answers; groups by audience (an AGENT sees only their own
//! jobs); each member counted against the user's limit; a group goes with its last member.
//! Observed through the sockets and `/metrics` (`graphql_subscription_groups`, `event_bus_topics`).

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use super::abuse::{metric, until_metric};
use super::subscriptions::{Ws, recv, send, signed_in};
use super::*;

const EVENTS: &str = "subscription { jobEvents { status done total job { id status createdBy { fullName email } } } }";
/// The same selection, not shared: a `since` in the future replays nothing, so only live events
/// come, as for the shared one.
const EVENTS_SINCE: &str =
    "subscription($since: DateTime) { jobEvents(since: $since) { status done total job { id status createdBy { fullName email } } } }";

fn events(id: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS}})
}

fn events_own(id: &str) -> Value {
    json!({"id": id, "type": "subscribe", "payload": {"query": EVENTS_SINCE, "variables": {"since": "2099-01-01T00:00:00Z"}}})
}

/// The next text message, exactly as it came.
async fn raw(ws: &mut Ws) -> String {
    bounded("a message", async {
        loop {
            match ws.next().await.expect("the socket is open").expect("no WebSocket error") {
                Message::Text(text) => return text.as_str().to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    })
    .await
}

/// The next message as text, which must be a `next` of `id` without errors.
async fn next_text(ws: &mut Ws, id: &str) -> String {
    let text = raw(ws).await;
    let message: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("next"), Some(id)), "{message:#}");
    assert!(message["payload"].get("errors").is_none(), "{message:#}");
    text
}

/// The payload of a `next` message's text.
fn payload(text: &str) -> Value {
    serde_json::from_str::<Value>(text).expect("JSON")["payload"].clone()
}

/// Nothing is waiting on the socket: a `ping` is answered by the very next message.
async fn nothing_pending(ws: &mut Ws) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    send(ws, json!({"type": "ping"})).await;
    let message = recv(ws).await;
    assert_eq!(message["type"], "pong", "a message was waiting: {message:#}");
}

#[tokio::test]
async fn subscribers_who_see_the_same_thing_share_one_execution_and_get_the_same_text() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let (manager, admin, agent) = (&book.org.manager, &book.org.admin, &book.org.agent);
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);

    // Two sockets of the manager, one of the admin, one of an agent: three audiences.
    let mut first = signed_in(&app, manager).await;
    send(&mut first, events("a")).await;
    let mut second = signed_in(&app, manager).await;
    send(&mut second, events("b")).await;
    let mut third = signed_in(&app, admin).await;
    send(&mut third, events("c")).await;
    let mut agents = signed_in(&app, agent).await;
    send(&mut agents, events("d")).await;
    // And one that is not shared: its own execution, the same selection.
    let mut own = signed_in(&app, manager).await;
    send(&mut own, events_own("e")).await;
    until_metric(&app, "graphql_subscriptions_active", "five subscriptions", |n| n == 5).await;
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 3, "the manager's, the admin's, the agent's");

    let job_id = id(&generate(manager, &template, &book.policies[0]).await);
    let (a, b, c, e) = (next_text(&mut first, "a").await, next_text(&mut second, "b").await, next_text(&mut third, "c").await, next_text(&mut own, "e").await);
    let queued = payload(&a);
    assert_eq!(queued["data"]["jobEvents"]["job"]["id"], job_id.as_str(), "{queued:#}");
    assert_eq!(queued["data"]["jobEvents"]["status"], "QUEUED", "{queued:#}");
    assert_eq!(queued["data"]["jobEvents"]["job"]["createdBy"]["email"], manager.email.as_str(), "{queued:#}");
    // The same group: the same text. Another group, or a subscription of its own: the same answer,
    // byte for byte (the selection's order, the same serialisation).
    assert_eq!(a.replacen("\"id\":\"a\"", "\"id\":\"b\"", 1), b);
    assert_eq!(a.replacen("\"id\":\"a\"", "\"id\":\"c\"", 1), c);
    assert_eq!(a.replacen("\"id\":\"a\"", "\"id\":\"e\"", 1), e);

    cancel(manager, &job_id).await;
    for (ws, sub) in [(&mut first, "a"), (&mut second, "b"), (&mut third, "c"), (&mut own, "e")] {
        let event = payload(&next_text(ws, sub).await);
        assert_eq!(event["data"]["jobEvents"]["status"], "CANCELLED", "{event:#}");
        assert_eq!(event["data"]["jobEvents"]["job"]["id"], job_id.as_str(), "{event:#}");
    }
    // The agent's group runs too, and keeps what is not theirs from them.
    nothing_pending(&mut agents).await;

    // A member that leaves leaves its group to the others; the last one takes it away.
    drop(first);
    until_metric(&app, "graphql_subscriptions_active", "the first socket's subscription to end", |n| n == 4).await;
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 3);
    let again = id(&generate(manager, &template, &book.policies[0]).await);
    let event = payload(&next_text(&mut second, "b").await);
    assert_eq!(event["data"]["jobEvents"]["job"]["id"], again.as_str(), "{event:#}");
    send(&mut second, json!({"id": "b", "type": "complete"})).await;
    until_metric(&app, "graphql_subscription_groups", "the manager's group to go with its last member", |n| n == 2).await;
    drop((second, third, agents, own));
    until_metric(&app, "graphql_subscription_groups", "every group to go", |n| n == 0).await;
    until_metric(&app, "event_bus_topics", "the organization's topic to go", |n| n == 0).await;
    cancel(manager, &again).await;
}

#[tokio::test]
async fn a_shared_subscription_shows_an_agent_only_their_own_jobs() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let (manager, agent, agent2) = (&book.org.manager, &book.org.agent, &book.org.agent2);
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let job_id = id(&generate(manager, &template, &book.policies[0]).await);

    let mut mine = signed_in(&app, agent).await;
    send(&mut mine, events("1")).await;
    let mut theirs = signed_in(&app, agent2).await;
    send(&mut theirs, events("1")).await;
    let mut managers = signed_in(&app, manager).await;
    send(&mut managers, events("1")).await;
    until_metric(&app, "graphql_subscriptions_active", "three subscriptions", |n| n == 3).await;
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 3, "each agent is an audience of their own");

    cancel(manager, &job_id).await;
    let event = payload(&next_text(&mut managers, "1").await);
    assert_eq!(event["data"]["jobEvents"]["status"], "CANCELLED", "{event:#}");
    nothing_pending(&mut mine).await;
    nothing_pending(&mut theirs).await;
}

#[tokio::test]
async fn every_member_of_a_shared_subscription_counts_against_the_users_limit() {
    let app = spawn_app_with(&[("MAX_SUBSCRIPTIONS_PER_USER", "2")]).await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let mut first = signed_in(&app, manager).await;
    send(&mut first, events("1")).await;
    send(&mut first, events("2")).await;
    until_metric(&app, "graphql_subscriptions_active", "two subscriptions", |n| n == 2).await;
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 1);

    // The third is refused as a subscription of its own is: `next` with RATE_LIMITED, `complete`.
    let mut second = signed_in(&app, manager).await;
    send(&mut second, events("3")).await;
    let message = recv(&mut second).await;
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("next"), Some("3")), "{message:#}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{message:#}");
    assert_eq!(message["payload"]["errors"][0]["path"], json!(["jobEvents"]), "{message:#}");
    let end = recv(&mut second).await;
    assert_eq!((end["type"].as_str(), end["id"].as_str()), (Some("complete"), Some("3")), "{end:#}");

    // Ending one gives its place back.
    send(&mut first, json!({"id": "1", "type": "complete"})).await;
    until_metric(&app, "graphql_subscriptions_active", "the first to end", |n| n == 1).await;
    send(&mut second, events("4")).await;
    until_metric(&app, "graphql_subscriptions_active", "the place taken again", |n| n == 2).await;
    nothing_pending(&mut second).await;
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 1);
}

#[tokio::test]
async fn a_shared_subscription_that_fails_validation_is_a_request_error() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 0).await;
    let mut ws = signed_in(&app, &book.org.manager).await;
    let bad = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { jobEvents { nope } }"}});
    send(&mut ws, bad.clone()).await;
    let message = recv(&mut ws).await;
    assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("error"), Some("1")), "{message:#}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{message:#}");
    // Twice: no group was left behind for the same text to join.
    send(&mut ws, bad).await;
    assert_eq!(recv(&mut ws).await["type"], "error");
    assert_eq!(metric(&app, "graphql_subscription_groups").await, 0);
    until_metric(&app, "graphql_subscriptions_active", "no subscription left", |n| n == 0).await;
}

#[tokio::test]
async fn a_subscribe_message_larger_than_the_sockets_read_buffer_arrives_whole() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let mut ws = signed_in(&app, manager).await;
    // 1 KiB is read at once: this message takes several reads.
    let query = format!("subscription {{{} jobEvents {{ status job {{ id }} }} }}", " ".repeat(20_000));
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": query}})).await;
    until_metric(&app, "graphql_subscriptions_active", "the subscription", |n| n == 1).await;
    let job_id = id(&generate(manager, &template, &book.policies[0]).await);
    let event = payload(&next_text(&mut ws, "1").await);
    assert_eq!(event["data"]["jobEvents"]["job"]["id"], job_id.as_str(), "{event:#}");
    cancel(manager, &job_id).await;
}
