//! The scheduler and instalments, with a test clock: instalments past due and not fully paid
//! become OVERDUE (the implicit one of a policy without a plan too) and raise INSTALMENT_OVERDUE,
//! instalments falling due raise INSTALMENT_DUE at the tightest threshold, each once; and
//! `PolicyFilter.overdue`.

use chrono::Duration;
use serde_json::{Value, json};

use super::{PLAN, desk, money, pay};
use crate::alerts::{ALERTS, day_from, noon, tick, unpaid_policy as policy};
use crate::helpers::spawn_app;

fn numbers(d: &Value) -> Vec<String> {
    let mut list: Vec<String> = d["policies"]["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_string()).collect();
    list.sort();
    list
}

/// `(policy number, kind, dueDate, daysBefore)` of the instalment alerts.
fn instalment_alerts(d: &Value) -> Vec<(String, String, String, i64)> {
    let mut list: Vec<_> = d["alerts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"].as_str().unwrap().starts_with("INSTALMENT"))
        .map(|n| {
            (
                n["policy"]["number"].as_str().unwrap().to_string(),
                n["kind"].as_str().unwrap().to_string(),
                n["dueDate"].as_str().unwrap().to_string(),
                n["daysBefore"].as_i64().unwrap(),
            )
        })
        .collect();
    list.sort();
    list
}

#[tokio::test]
async fn the_tick_marks_overdue_instalments_and_alerts_due_and_overdue_ones_once() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let now = noon();
    // Each from a year ago to 200 days ahead (no expiry alert), 125,000 XAF.
    let planned = policy(agent, &desk.client, &desk.company, "PLANNED", "ACTIVE", now, 200).await;
    let unplanned = policy(agent, &desk.client, &desk.company, "UNPLANNED", "ACTIVE", now, 200).await;
    let settled = policy(agent, &desk.client, &desk.company, "SETTLED", "ACTIVE", now, 200).await;
    let draft = policy(agent, &desk.client, &desk.company, "DRAFT", "DRAFT", now, 200).await;
    let list = json!([
        {"dueDate": day_from(now, -3), "amount": "50000"},
        {"dueDate": day_from(now, 5), "amount": "40000"},
        {"dueDate": day_from(now, 20), "amount": "35000"},
    ]);
    agent.ok(PLAN, json!({"i": {"policyId": planned, "instalments": list}})).await;
    assert!(pay(agent, &settled, "125000").await.get("errors").is_none());

    let report = tick(&app, now).await;
    assert_eq!(report.overdue, 1, "the implicit instalment of UNPLANNED (PLANNED's was OVERDUE from its plan): {report:?}");
    assert_eq!(report.alerts_raised, 3, "{report:?}");
    let statuses = |m: &Value| -> Vec<String> { m["instalments"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_string()).collect() };
    assert_eq!(statuses(&money(agent, &planned).await), ["OVERDUE", "DUE", "DUE"]);
    assert_eq!(statuses(&money(agent, &unplanned).await), ["OVERDUE"]);
    assert_eq!(statuses(&money(agent, &settled).await), ["PAID"]);
    assert_eq!(statuses(&money(agent, &draft).await), ["DUE"], "a DRAFT is not followed");
    let d = agent.ok(ALERTS, json!({})).await;
    let row = |n: &str, k: &str, due: String, days: i64| (n.to_string(), k.to_string(), due, days);
    assert_eq!(
        instalment_alerts(&d),
        [
            row("PLANNED", "INSTALMENT_DUE", day_from(now, 5), 7),
            row("PLANNED", "INSTALMENT_OVERDUE", day_from(now, -3), 0),
            row("UNPLANNED", "INSTALMENT_OVERDUE", day_from(now, -365), 0),
        ]
    );
    let message = d["alerts"]["nodes"].as_array().unwrap().iter().find(|n| n["kind"] == "INSTALMENT_OVERDUE").unwrap()["message"].as_str().unwrap().to_string();
    assert!(message.contains("impayée"), "{message}");

    let (a, b) = tokio::join!(tick(&app, now), tick(&app, now + Duration::minutes(1)));
    assert_eq!((a.alerts_raised + b.alerts_raised, a.overdue + b.overdue), (0, 0), "nothing twice: {a:?} {b:?}");

    let overdue = "query($o: Boolean) { policies(first: 10, filter: {overdue: $o}) { nodes { number } } }";
    assert_eq!(numbers(&agent.ok(overdue, json!({"o": true})).await), ["PLANNED", "UNPLANNED"]);
    assert_eq!(numbers(&agent.ok(overdue, json!({"o": false})).await), ["DRAFT", "SETTLED"]);
    assert_eq!(numbers(&desk.org.agent2.ok(overdue, json!({"o": true})).await), Vec::<String>::new(), "scoped like every list");

    // UNPLANNED paid in full is no longer overdue; PLANNED's first instalment part paid still is.
    pay(agent, &unplanned, "125000").await;
    pay(agent, &planned, "20000").await;
    assert_eq!(statuses(&money(agent, &planned).await), ["OVERDUE", "DUE", "DUE"]);
    assert_eq!(numbers(&agent.ok(overdue, json!({"o": true})).await), ["PLANNED"]);

    // Sixteen days on: the second instalment is past due, the third 4 days away.
    let later = now + Duration::days(16);
    let report = tick(&app, later).await;
    assert_eq!((report.overdue, report.alerts_raised), (1, 2), "{report:?}");
    let d = agent.ok(ALERTS, json!({"f": {"policyId": planned}})).await;
    assert_eq!(
        instalment_alerts(&d),
        [
            row("PLANNED", "INSTALMENT_DUE", day_from(now, 5), 7),
            row("PLANNED", "INSTALMENT_DUE", day_from(now, 20), 7),
            row("PLANNED", "INSTALMENT_OVERDUE", day_from(now, -3), 0),
            row("PLANNED", "INSTALMENT_OVERDUE", day_from(now, 5), 0),
        ]
    );
}

#[tokio::test]
async fn instalments_due_before_payments_were_tracked_are_never_called_overdue() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let now = noon();
    // As an organization that existed when payments began to be recorded (migration 000012).
    let since = day_from(now, -10);
    app.state.db.execute_unprepared(&format!("UPDATE organizations SET payments_tracked_from = '{since}'")).await.unwrap();
    let old = policy(agent, &desk.client, &desk.company, "OLD", "ACTIVE", now, 200).await;
    let planned = policy(agent, &desk.client, &desk.company, "PLANNED", "ACTIVE", now, 200).await;
    let list = json!([
        {"dueDate": day_from(now, -20), "amount": "60000"},
        {"dueDate": day_from(now, -3), "amount": "65000"},
    ]);
    agent.ok(PLAN, json!({"i": {"policyId": planned, "instalments": list}})).await;

    let report = tick(&app, now).await;
    let d = agent.ok(ALERTS, json!({})).await;
    let row = |n: &str, k: &str, due: String, days: i64| (n.to_string(), k.to_string(), due, days);
    assert_eq!(instalment_alerts(&d), [row("PLANNED", "INSTALMENT_OVERDUE", day_from(now, -3), 0)], "{report:?}");
    let statuses = |m: &Value| -> Vec<String> { m["instalments"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_string()).collect() };
    assert_eq!(statuses(&money(agent, &old).await), ["DUE"], "collected before the organization recorded payments here");
    let overdue = "query($o: Boolean) { policies(first: 10, filter: {overdue: $o}) { nodes { number } } }";
    assert_eq!(numbers(&agent.ok(overdue, json!({"o": true})).await), ["PLANNED"]);
    // Part of that old premium recorded now: part paid, still not overdue.
    assert!(pay(agent, &old, "1000").await.get("errors").is_none());
    assert_eq!(statuses(&money(agent, &old).await), ["PARTIAL"]);
    assert_eq!(numbers(&agent.ok(overdue, json!({"o": true})).await), ["PLANNED"]);
}
