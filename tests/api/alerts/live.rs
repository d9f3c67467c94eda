//! `alertRaised`: each alert the subscriber may read, as the tick raises it.

use serde_json::json;

use super::{noon, policy, tick};
use crate::{
    documents::subscriptions::{recv, send, signed_in},
    helpers::spawn_app,
};

const RAISED: &str = "subscription { alertRaised { kind daysBefore policy { number } } }";

#[tokio::test]
async fn alert_raised_reaches_the_subscribers_who_may_read_the_alert() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let company = app.create_company(&acme.manager, "AXA").await;
    let mine = app.create_client(&acme.agent, "Ngono").await;
    let theirs = app.create_client(&acme.agent2, "Biya").await;
    let now = noon();
    policy(&acme.agent2, &theirs, &company, "THEIRS", "ACTIVE", now, 2).await;
    policy(&acme.agent, &mine, &company, "MINE", "ACTIVE", now, 3).await;

    let topics_before = app.state.events.live_topics();
    let mut agent = signed_in(&app, &acme.agent).await;
    let mut manager = signed_in(&app, &acme.manager).await;
    let mut outsider = signed_in(&app, &globex.admin).await;
    for ws in [&mut agent, &mut manager, &mut outsider] {
        send(ws, json!({"id": "a", "type": "subscribe", "payload": {"query": RAISED}})).await;
    }
    // Both organizations' topics are live before the tick publishes.
    crate::documents::bounded("the subscriptions start", async {
        while app.state.events.live_topics() < topics_before + 2 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(tick(&app, now).await.alerts_raised, 2);

    let event = recv(&mut agent).await;
    assert_eq!(event["type"], "next", "{event:#}");
    assert_eq!(event["payload"]["data"]["alertRaised"], json!({"kind": "POLICY_EXPIRING", "daysBefore": 7, "policy": {"number": "MINE"}}));
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = recv(&mut manager).await;
        seen.push(event["payload"]["data"]["alertRaised"]["policy"]["number"].as_str().unwrap().to_string());
    }
    seen.sort();
    assert_eq!(seen, ["MINE", "THEIRS"]);
    // Nothing else arrives: the agent's next message and the outsider's first are the answers to a ping.
    for ws in [&mut agent, &mut outsider] {
        send(ws, json!({"type": "ping"})).await;
        assert_eq!(recv(ws).await["type"], "pong");
    }
}
