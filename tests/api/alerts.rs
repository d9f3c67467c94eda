//! The scheduler's tick, driven by a test clock (`scheduler::tick(state, now)`): expiry (audited,
//! no actor), alerts at the tightest threshold, never twice, in each organization's time zone; alert
//! settings, the list, acknowledging, and `alertRaised`.

mod live;
mod mailing;
mod schedules;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, assert_bad_input, policy_input, spawn_app};

pub const ALERTS: &str = "query($f: AlertFilter) { alerts(first: 100, filter: $f) { totalCount nodes { \
    id kind status dueDate daysBefore message policy { number } client { id } acknowledgedAt acknowledgedBy { id } } } }";
const SETTINGS: &str = "{ alertSettings { expiryDaysBefore instalmentDaysBefore emailOwner emailClient } }";
const UPDATE_SETTINGS: &str = "mutation($i: UpdateAlertSettingsInput!) { updateAlertSettings(input: $i) { expiryDaysBefore emailClient } }";
const STATUS: &str = "query($id: ID!) { policy(id: $id) { status } }";

pub fn day_from(now: DateTime<Utc>, days: i64) -> String {
    (now.date_naive() + Duration::days(days)).to_string()
}

/// A policy of `client` from a year before `now` to `expires_in` days after it, its premium paid
/// (so that its instalment, due a year ago, raises nothing: these tests are about its own dates;
/// `payments::calendar` covers instalments).
pub async fn policy(who: &User, client: &str, company: &str, number: &str, status: &str, now: DateTime<Utc>, expires_in: i64) -> String {
    let id = unpaid_policy(who, client, company, number, status, now, expires_in).await;
    let paid = json!({"i": {"policyId": id, "amount": "125000", "method": "TRANSFER"}});
    who.ok("mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { id } }", paid).await;
    id
}

/// A policy of `client` from a year before `now` to `expires_in` days after it, nothing paid.
pub async fn unpaid_policy(who: &User, client: &str, company: &str, number: &str, status: &str, now: DateTime<Utc>, expires_in: i64) -> String {
    let mut input = policy_input(number, client, company);
    assert_eq!(input["premium"], "125000", "the premium paid by `policy`");
    input["status"] = json!(status);
    input["effectiveDate"] = json!(day_from(now, -365));
    input["expiryDate"] = json!(day_from(now, expires_in));
    let d = who.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    d["createPolicy"]["id"].as_str().unwrap().to_string()
}

pub async fn tick(app: &TestApp, now: DateTime<Utc>) -> monassurance::scheduler::TickReport {
    monassurance::scheduler::tick(&app.state, now).await.expect("the tick runs")
}

/// Noon UTC today: "today" is the same date from UTC-11 to UTC+11.
pub fn noon() -> DateTime<Utc> {
    Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn alerts_of(d: &Value) -> Vec<(String, String, i64)> {
    let mut list: Vec<(String, String, i64)> = d["alerts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["policy"]["number"].as_str().unwrap().to_string(), n["kind"].as_str().unwrap().to_string(), n["daysBefore"].as_i64().unwrap()))
        .collect();
    list.sort();
    list
}

#[tokio::test]
async fn a_tick_expires_policies_past_their_date_audits_it_and_alerts_once() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let now = noon();
    let active = policy(&org.agent, &client, &company, "PAST-ACTIVE", "ACTIVE", now, -1).await;
    let suspended = policy(&org.agent, &client, &company, "PAST-SUSPENDED", "ACTIVE", now, -3).await;
    org.agent.ok("mutation($id: ID!) { setPolicyStatus(id: $id, status: SUSPENDED) { status } }", json!({"id": suspended})).await;
    let draft = policy(&org.agent, &client, &company, "PAST-DRAFT", "DRAFT", now, -1).await;
    let today = policy(&org.agent, &client, &company, "ENDS-TODAY", "ACTIVE", now, 0).await;

    let report = tick(&app, now).await;
    assert_eq!(report.expired, 2, "{report:?}");
    for (id, status) in [(&active, "EXPIRED"), (&suspended, "EXPIRED"), (&draft, "DRAFT"), (&today, "ACTIVE")] {
        assert_eq!(org.agent.ok(STATUS, json!({"id": id})).await["policy"]["status"], status);
    }
    let d = org.agent.ok(ALERTS, json!({"f": {"kind": "POLICY_EXPIRED"}})).await;
    assert_eq!(d["alerts"]["totalCount"], 2);
    let message = d["alerts"]["nodes"][0]["message"].as_str().unwrap();
    assert!(message.contains("a expiré"), "in French by default: {message}");
    // The policy ending today is covered today: it is expiring (the tightest threshold), not expired.
    let d = org.agent.ok(ALERTS, json!({"f": {"kind": "POLICY_EXPIRING"}})).await;
    assert_eq!(alerts_of(&d), [("ENDS-TODAY".to_string(), "POLICY_EXPIRING".to_string(), 7)]);

    let logs = org.admin.ok(
        "{ auditLogs(first: 10, filter: {action: \"policy.expire\"}) { totalCount nodes { actor { id } objectType } } }",
        json!({}),
    ).await;
    assert_eq!(logs["auditLogs"]["totalCount"], 2, "{logs:#}");
    assert_eq!(logs["auditLogs"]["nodes"][0]["actor"], Value::Null, "the scheduler has no actor");

    // Ticks again, at once and later: nothing twice.
    let (a, b) = tokio::join!(tick(&app, now), tick(&app, now + Duration::minutes(1)));
    assert_eq!((a.expired + b.expired, a.alerts_raised + b.alerts_raised), (0, 0), "{a:?} {b:?}");
    assert_eq!(org.agent.ok(ALERTS, json!({})).await["alerts"]["totalCount"], 3);
}

#[tokio::test]
async fn expiring_policies_are_alerted_at_the_tightest_threshold_reached_each_once() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let now = noon();
    for (number, days) in [("IN-20", 20), ("IN-5", 5), ("IN-45", 45), ("IN-30", 30), ("IN-31", 31)] {
        policy(&org.agent, &client, &company, number, "ACTIVE", now, days).await;
    }
    assert_eq!(tick(&app, now).await.alerts_raised, 3);
    let expected = |rows: &[(&str, i64)]| -> Vec<(String, String, i64)> {
        rows.iter().map(|(n, d)| (n.to_string(), "POLICY_EXPIRING".to_string(), *d)).collect()
    };
    let d = org.agent.ok(ALERTS, json!({})).await;
    assert_eq!(alerts_of(&d), expected(&[("IN-20", 30), ("IN-30", 30), ("IN-5", 7)]), "IN-5 reached both: only 7");
    assert_eq!(tick(&app, now + Duration::hours(1)).await.alerts_raised, 0, "the same day raises nothing new");

    // Fifteen days on: IN-20 is 5 days away (7 reached), IN-30 15 (30 already raised), IN-31 16,
    // IN-45 30, and IN-5 has expired.
    assert_eq!(tick(&app, now + Duration::days(15)).await.alerts_raised, 4);
    let d = org.agent.ok(ALERTS, json!({})).await;
    let all = alerts_of(&d);
    assert_eq!(
        all,
        expected(&[("IN-20", 7), ("IN-20", 30), ("IN-30", 30), ("IN-31", 30), ("IN-45", 30), ("IN-5", 7)])
            .into_iter()
            .chain([("IN-5".to_string(), "POLICY_EXPIRED".to_string(), 0)])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn today_is_the_organizations_own() {
    let app = spawn_app().await;
    let east = app.org("east").await;
    let west = app.org("west").await;
    let refusal = east.admin.err("mutation { updateOrganization(input: {timezone: \"Mars/Olympus\"}) { timezone } }", json!({})).await;
    assert_bad_input(&refusal, "input.timezone", "an unknown zone");
    let d = east.admin.ok("mutation { updateOrganization(input: {timezone: \"Pacific/Kiritimati\"}) { timezone } }", json!({})).await;
    assert_eq!(d["updateOrganization"]["timezone"], "Pacific/Kiritimati");
    assert_eq!(east.manager.err("mutation { updateOrganization(input: {name: \"x\"}) { name } }", json!({})).await, "FORBIDDEN");
    // 12:00 UTC is 02:00 tomorrow in Kiritimati (UTC+14) and 13:00 today in Douala.
    let now = noon();
    let mut ids = Vec::new();
    for org in [&east, &west] {
        let company = app.create_company(&org.manager, "AXA").await;
        let client = app.create_client(&org.manager, "Ngono").await;
        ids.push(policy(&org.manager, &client, &company, "ENDS-TODAY-UTC", "ACTIVE", now, 0).await);
    }
    assert_eq!(tick(&app, now).await.expired, 1);
    assert_eq!(east.manager.ok(STATUS, json!({"id": ids[0]})).await["policy"]["status"], "EXPIRED", "past its date in Kiritimati");
    assert_eq!(west.manager.ok(STATUS, json!({"id": ids[1]})).await["policy"]["status"], "ACTIVE", "its last day in Douala");
}

#[tokio::test]
async fn alert_settings_default_to_the_contract_and_admins_change_them() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let d = org.agent.ok(SETTINGS, json!({})).await;
    assert_eq!(d["alertSettings"], json!({"expiryDaysBefore": [30, 7], "instalmentDaysBefore": [7], "emailOwner": true, "emailClient": false}));
    assert_eq!(org.manager.err(UPDATE_SETTINGS, json!({"i": {"emailClient": true}})).await, "FORBIDDEN");
    for (bad, what) in [(json!([]), "none"), (json!([-1]), "negative"), (json!([400]), "too far"), (json!([1,2,3,4,5,6,7,8,9,10,11]), "too many")] {
        let refusal = org.admin.err(UPDATE_SETTINGS, json!({"i": {"expiryDaysBefore": bad}})).await;
        assert_bad_input(&refusal, "input.expiryDaysBefore", what);
    }
    let d = org.admin.ok(UPDATE_SETTINGS, json!({"i": {"expiryDaysBefore": [10, 60, 10], "emailClient": true}})).await;
    assert_eq!(d["updateAlertSettings"], json!({"expiryDaysBefore": [60, 10], "emailClient": true}));
    assert_eq!(org.agent.ok(SETTINGS, json!({})).await["alertSettings"]["emailOwner"], true, "what was not given is kept");

    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let now = noon();
    policy(&org.agent, &client, &company, "IN-9", "ACTIVE", now, 9).await;
    policy(&org.agent, &client, &company, "IN-50", "ACTIVE", now, 50).await;
    tick(&app, now).await;
    let d = org.agent.ok(ALERTS, json!({})).await;
    let want: Vec<(String, String, i64)> =
        vec![("IN-50".into(), "POLICY_EXPIRING".into(), 60), ("IN-9".into(), "POLICY_EXPIRING".into(), 10)];
    assert_eq!(alerts_of(&d), want);
}

#[tokio::test]
async fn alerts_are_scoped_like_their_clients_and_acknowledged_once() {
    let app = spawn_app().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let company = app.create_company(&acme.manager, "AXA").await;
    let mine = app.create_client(&acme.agent, "Ngono").await;
    let theirs = app.create_client(&acme.agent2, "Biya").await;
    let now = noon();
    let my_policy = policy(&acme.agent, &mine, &company, "MINE", "ACTIVE", now, 3).await;
    policy(&acme.agent2, &theirs, &company, "THEIRS", "ACTIVE", now, 3).await;
    tick(&app, now).await;

    assert_eq!(acme.manager.ok(ALERTS, json!({})).await["alerts"]["totalCount"], 2);
    assert_eq!(globex.admin.ok(ALERTS, json!({})).await["alerts"]["totalCount"], 0);
    let d = acme.agent.ok(ALERTS, json!({})).await;
    assert_eq!(d["alerts"]["totalCount"], 1, "an agent sees only their clients' alerts");
    let alert = d["alerts"]["nodes"][0].clone();
    assert_eq!(alert["status"], "OPEN");
    assert_eq!(alert["dueDate"], day_from(now, 3));
    let id = alert["id"].as_str().unwrap();
    assert_eq!(acme.agent2.err("mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }", json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(globex.admin.err("mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }", json!({"id": id})).await, "NOT_FOUND");

    let ack = "mutation($id: ID!) { acknowledgeAlert(id: $id) { status acknowledgedAt acknowledgedBy { id } } }";
    let first = acme.agent.ok(ack, json!({"id": id})).await["acknowledgeAlert"].clone();
    assert_eq!(first["status"], "ACKNOWLEDGED");
    assert_eq!(first["acknowledgedBy"]["id"], acme.agent.id.as_str());
    let again = acme.manager.ok(ack, json!({"id": id})).await["acknowledgeAlert"].clone();
    assert_eq!(again, first, "acknowledging again changes nothing");

    for (filter, count) in [
        (json!({"status": "OPEN"}), 1),
        (json!({"status": "ACKNOWLEDGED"}), 1),
        (json!({"policyId": my_policy}), 1),
        (json!({"clientId": theirs}), 1),
        (json!({"kind": "POLICY_EXPIRED"}), 0),
        (json!({"from": day_from(now, 4)}), 0),
        (json!({"to": day_from(now, 3)}), 2),
    ] {
        let d = acme.manager.ok(ALERTS, json!({"f": filter.clone()})).await;
        assert_eq!(d["alerts"]["totalCount"], count, "{filter}");
    }
}

/// The first tick over a large book (a book imported before the scheduler ran) raises tens of
/// thousands of alerts at once, more than a statement may bind values (SQLite: 32,766; PostgreSQL:
/// 65,535): the tick and its mail read what they need in bounded statements and succeed.
#[tokio::test]
async fn a_first_tick_over_a_large_book_raises_and_mails_every_alert() {
    use monassurance::entities::{alert, organization, outbox, policy as policy_entity};
    use sea_orm::{EntityTrait, PaginatorTrait, sea_query::Expr};

    // More policies than PostgreSQL binds values in one statement.
    const BOOK: usize = 66_000;
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let now = noon();
    policy(&org.agent, &client, &company, "BIG-0", "ACTIVE", now, 3).await;
    // The rest of the book is imported as copies of that policy, each with its own id and number.
    let db = &app.state.db;
    let model = policy_entity::Entity::find().one(db).await.unwrap().expect("the policy");
    let copies: Vec<policy_entity::ActiveModel> = (1..BOOK)
        .map(|n| policy_entity::Model { id: uuid::Uuid::now_v7(), number: format!("BIG-{n}"), ..model.clone() }.into())
        .collect();
    for chunk in copies.chunks(1_000) {
        policy_entity::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await.unwrap();
    }
    // Payments are tracked from today: the copies' implicit instalments, due a year ago, were
    // collected before, so the tick raises one alert a policy.
    organization::Entity::update_many()
        .col_expr(organization::Column::PaymentsTrackedFrom, Expr::value(now.date_naive()))
        .exec(db)
        .await
        .unwrap();

    let report = tick(&app, now).await;
    // Each policy expires in 3 days: POLICY_EXPIRING at 7, mailed to the client's owner.
    assert_eq!((report.alerts_raised, report.messages_queued), (BOOK, BOOK), "{report:?}");
    assert_eq!(alert::Entity::find().count(db).await.unwrap() as usize, BOOK);
    assert_eq!(outbox::Entity::find().count(db).await.unwrap() as usize, BOOK);
    assert_eq!(org.agent.ok(ALERTS, json!({})).await["alerts"]["totalCount"], BOOK);
    assert_eq!(tick(&app, now + Duration::minutes(5)).await.alerts_raised, 0, "raised once");
}

/// `db::all_in` reads a set of ids larger than any backend binds in one statement.
#[tokio::test]
async fn reading_by_more_ids_than_a_statement_binds_is_chunked() {
    use monassurance::entities::client as client_entity;
    use sea_orm::EntityTrait;

    let app = spawn_app().await;
    let org = app.org("acme").await;
    app.create_client(&org.agent, "Ngono").await;
    let client = client_entity::Entity::find().one(&app.state.db).await.unwrap().expect("the client").id;
    let mut ids: Vec<uuid::Uuid> = (0..70_000).map(|_| uuid::Uuid::now_v7()).collect();
    ids.extend([client, client]);
    let found = monassurance::db::all_in(&app.state.db, client_entity::Entity::find(), client_entity::Column::Id, ids).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [client], "found once, among 70,001 ids");
}
