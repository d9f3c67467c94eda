//! Claims: numbering, the status machine and its history, filters, tenancy, and the nested lists
//! of policies and clients (`claims`, `documents`).

mod files;
mod lists;

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Org, TestApp, User, assert_bad_input, spawn_app};

pub const CREATE: &str = "mutation($i: CreateClaimInput!) { createClaim(input: $i) { \
    id number status currency amountClaimed amountSettled incidentDate description insurerReference \
    policy { id } client { id } createdBy { id } events { status note actor { id } at } } }";
pub const SET_STATUS: &str = "mutation($id: ID!, $s: ClaimStatus!, $note: String, $amount: Decimal) { \
    setClaimStatus(id: $id, status: $s, note: $note, amountSettled: $amount) { \
    id status amountSettled events { status note actor { id } at } } }";
pub const UPDATE: &str = "mutation($i: UpdateClaimInput!) { updateClaim(input: $i) { id description insurerReference amountClaimed } }";
pub const CLAIM: &str = "query($id: ID!) { claim(id: $id) { id number status events { status } } }";
pub const CLAIMS: &str = "query($f: ClaimFilter) { claims(first: 100, filter: $f) { totalCount nodes { number } } }";

/// A day `days` from today, as the API writes dates.
pub fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

/// A policy in force from a year ago to two months ahead, for a client `who` may write.
pub async fn policy_for(who: &User, client: &str, company: &str, number: &str) -> String {
    let mut input = crate::helpers::policy_input(number, client, company);
    input["effectiveDate"] = json!(day(-365));
    input["expiryDate"] = json!(day(60));
    let d = who.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    d["createPolicy"]["id"].as_str().unwrap().to_string()
}

pub fn claim_input(policy: &str) -> Value {
    json!({"policyId": policy, "incidentDate": day(-3), "description": "Rear-ended at a red light", "amountClaimed": "850000.50"})
}

pub async fn create_claim(who: &User, policy: &str) -> Value {
    who.ok(CREATE, json!({"i": claim_input(policy)})).await["createClaim"].clone()
}

pub async fn set_status(who: &User, claim: &str, status: &str, note: Option<&str>, amount: Option<&str>) -> Value {
    who.run(SET_STATUS, json!({"id": claim, "s": status, "note": note, "amount": amount})).await
}

/// An organization with a company, a client of its first agent and a policy of that client.
pub struct Desk {
    pub org: Org,
    pub company: String,
    pub client: String,
    pub policy: String,
}

pub async fn desk(app: &TestApp, name: &str) -> Desk {
    let org = app.org(name).await;
    let company = app.create_company(&org.manager, &format!("{}-CO", name.to_uppercase())).await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let policy = policy_for(&org.agent, &client, &company, &format!("{}-AUTO-1", name.to_uppercase())).await;
    Desk { org, company, client, policy }
}

fn year() -> String {
    Utc::now().format("%Y").to_string()
}

#[tokio::test]
async fn a_claim_is_numbered_reported_and_followed_to_closed_with_its_history_in_order() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let claim = create_claim(agent, &desk.policy).await;
    assert_eq!(claim["number"], format!("CLM-{}-00001", year()), "{claim:#}");
    assert_eq!(claim["status"], "REPORTED");
    assert_eq!(claim["currency"], "XAF");
    assert_eq!(claim["amountClaimed"], "850000", "XAF has no minor unit: 850000.50 rounds half-even to 850000");
    assert_eq!(claim["amountSettled"], Value::Null);
    assert_eq!(claim["policy"]["id"], desk.policy.as_str());
    assert_eq!(claim["client"]["id"], desk.client.as_str());
    assert_eq!(claim["createdBy"]["id"], agent.id.as_str());
    assert_eq!(claim["events"], json!([{"status": "REPORTED", "note": null, "actor": {"id": agent.id}, "at": claim["events"][0]["at"]}]));
    let id = claim["id"].as_str().unwrap();

    let d = agent.ok(UPDATE, json!({"i": {"id": id, "insurerReference": "AXA-998877", "amountClaimed": "900000"}})).await;
    assert_eq!(d["updateClaim"]["insurerReference"], "AXA-998877");
    assert_eq!(d["updateClaim"]["amountClaimed"], "900000");

    let manager = &desk.org.manager;
    for (who, status, note) in [
        (agent, "SUBMITTED", Some("sent to AXA")),
        (manager, "UNDER_REVIEW", None),
        (manager, "APPROVED", Some("expert report received")),
    ] {
        let body = set_status(who, id, status, note, None).await;
        assert!(body.get("errors").is_none(), "{status}: {body:#}");
        assert_eq!(body["data"]["setClaimStatus"]["status"], status);
    }
    let body = set_status(manager, id, "SETTLED", Some("paid by transfer"), Some("750000.25")).await;
    assert_eq!(body["data"]["setClaimStatus"]["amountSettled"], "750000", "XAF rounds to the franc: {body:#}");
    let body = set_status(agent, id, "CLOSED", None, None).await;
    let events = body["data"]["setClaimStatus"]["events"].as_array().expect("events").clone();
    let seen: Vec<(&str, Option<&str>, &str)> = events
        .iter()
        .map(|e| (e["status"].as_str().unwrap(), e["note"].as_str(), e["actor"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("REPORTED", None, agent.id.as_str()),
            ("SUBMITTED", Some("sent to AXA"), agent.id.as_str()),
            ("UNDER_REVIEW", None, manager.id.as_str()),
            ("APPROVED", Some("expert report received"), manager.id.as_str()),
            ("SETTLED", Some("paid by transfer"), manager.id.as_str()),
            ("CLOSED", None, agent.id.as_str()),
        ]
    );
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "events in time order: {times:?}");

    // A closed claim is final, for its details too.
    let refusal = agent.err(UPDATE, json!({"i": {"id": id, "description": "more"}})).await;
    assert_bad_input(&refusal, "input.id", "a closed claim");

    // Every change left an audit row.
    let logs = desk.org.admin.ok(
        "{ auditLogs(first: 50, filter: {objectType: \"Claim\"}) { nodes { action } } }",
        json!({}),
    );
    let logs = logs.await;
    let actions: Vec<&str> = logs["auditLogs"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "claim.create").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "claim.update").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "claim.set_status").count(), 5, "{actions:?}");
}

/// Moves a new claim to `status` along the machine.
async fn claim_in(who: &User, policy: &str, status: &str) -> String {
    let id = create_claim(who, policy).await["id"].as_str().unwrap().to_string();
    let path: &[&str] = match status {
        "REPORTED" => &[],
        "SUBMITTED" => &["SUBMITTED"],
        "UNDER_REVIEW" => &["SUBMITTED", "UNDER_REVIEW"],
        "APPROVED" => &["SUBMITTED", "UNDER_REVIEW", "APPROVED"],
        "REJECTED" => &["SUBMITTED", "UNDER_REVIEW", "REJECTED"],
        "SETTLED" => &["SUBMITTED", "UNDER_REVIEW", "APPROVED", "SETTLED"],
        "CLOSED" => &["SUBMITTED", "UNDER_REVIEW", "REJECTED", "CLOSED"],
        other => panic!("no path to {other}"),
    };
    for step in path {
        let amount = (*step == "SETTLED").then_some("1000");
        let body = set_status(who, &id, step, None, amount).await;
        assert!(body.get("errors").is_none(), "{step}: {body:#}");
    }
    id
}

#[tokio::test]
async fn every_move_outside_the_status_machine_is_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    const ALL: [&str; 7] = ["REPORTED", "SUBMITTED", "UNDER_REVIEW", "APPROVED", "REJECTED", "SETTLED", "CLOSED"];
    let allowed = [
        ("REPORTED", "SUBMITTED"),
        ("SUBMITTED", "UNDER_REVIEW"),
        ("UNDER_REVIEW", "APPROVED"),
        ("UNDER_REVIEW", "REJECTED"),
        ("APPROVED", "SETTLED"),
        ("SETTLED", "CLOSED"),
        ("REJECTED", "CLOSED"),
    ];
    for from in ALL {
        let id = claim_in(manager, &desk.policy, from).await;
        for to in ALL {
            if allowed.contains(&(from, to)) {
                continue;
            }
            let amount = (to == "SETTLED").then_some("10");
            let body = set_status(manager, &id, to, None, amount).await;
            assert_eq!(crate::helpers::code(&body), "BAD_USER_INPUT", "{from} -> {to}: {body:#}");
            assert_eq!(body["errors"][0]["extensions"]["field"], "status", "{from} -> {to}: {body:#}");
        }
        let d = manager.ok(CLAIM, json!({"id": id})).await;
        assert_eq!(d["claim"]["status"], from, "refused moves changed nothing");
    }

    // SETTLED needs its amount; no other move takes one.
    let approved = claim_in(manager, &desk.policy, "APPROVED").await;
    let body = set_status(manager, &approved, "SETTLED", None, None).await;
    assert_eq!(crate::helpers::code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "amountSettled");
    let body = set_status(manager, &approved, "SETTLED", None, Some("-5")).await;
    assert_eq!(crate::helpers::code(&body), "BAD_USER_INPUT");
    let reported = claim_in(manager, &desk.policy, "REPORTED").await;
    let body = set_status(manager, &reported, "SUBMITTED", None, Some("10")).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "amountSettled", "{body:#}");
}

#[tokio::test]
async fn an_incident_outside_the_policys_dates_or_in_the_future_is_bad_input() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    for (incident, what) in [(day(-400), "outside the policy"), (day(2), "in the future")] {
        let mut input = claim_input(&desk.policy);
        input["incidentDate"] = json!(incident);
        let refusal = agent.err(CREATE, json!({"i": input})).await;
        assert_bad_input(&refusal, "input.incidentDate", what);
    }
    let mut input = claim_input(&desk.policy);
    input["amountClaimed"] = json!("0");
    assert_bad_input(&agent.err(CREATE, json!({"i": input})).await, "input.amountClaimed", "positive");
    let mut input = claim_input(&desk.policy);
    input["description"] = json!("   ");
    assert_eq!(agent.err(CREATE, json!({"i": input})).await.field(), "input.description");
    assert_eq!(agent.ok(CLAIMS, json!({})).await["claims"]["totalCount"], 0, "nothing was made");
}

#[tokio::test]
async fn claims_made_at_once_get_distinct_consecutive_numbers() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let other = desk_numbers_of_other_org(&app).await;
    let n = 12;
    let made = futures_util::future::join_all((0..n).map(|_| create_claim(&desk.org.manager, &desk.policy))).await;
    let mut numbers: Vec<String> = made.iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=n).map(|i| format!("CLM-{}-{i:05}", year())).collect();
    assert_eq!(numbers, expected, "no gap, no duplicate");
    // Another organization counts on its own.
    assert_eq!(other, format!("CLM-{}-00001", year()));
}

async fn desk_numbers_of_other_org(app: &TestApp) -> String {
    let desk = desk(app, "globex").await;
    create_claim(&desk.org.agent, &desk.policy).await["number"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn claims_are_scoped_like_their_clients() {
    let app = spawn_app().await;
    let acme = desk(&app, "acme").await;
    let globex = desk(&app, "globex").await;
    let claim = create_claim(&acme.org.agent, &acme.policy).await;
    let id = claim["id"].as_str().unwrap();

    // Another agent of the organization, and anyone of another organization: NOT_FOUND.
    for outsider in [&acme.org.agent2, &globex.org.admin, &globex.org.agent] {
        assert_eq!(outsider.err(CLAIM, json!({"id": id})).await, "NOT_FOUND");
        assert_eq!(outsider.err(SET_STATUS, json!({"id": id, "s": "SUBMITTED"})).await, "NOT_FOUND");
        assert_eq!(outsider.err(UPDATE, json!({"i": {"id": id, "description": "x"}})).await, "NOT_FOUND");
        assert_eq!(outsider.err(CREATE, json!({"i": claim_input(&acme.policy)})).await, "NOT_FOUND");
        assert_eq!(outsider.ok(CLAIMS, json!({})).await["claims"]["totalCount"], 0, "{} lists none", outsider.email);
        let node = outsider.run("query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(crate::helpers::code(&node), "NOT_FOUND", "{node:#}");
    }
    // The organization's manager reads it, and through `node`.
    let d = acme.org.manager.ok("query($id: ID!) { node(id: $id) { ... on Claim { number } } }", json!({"id": id})).await;
    assert_eq!(d["node"]["number"], claim["number"]);
}

#[tokio::test]
async fn claims_filter_by_status_policy_client_dates_and_search() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    let other_client = app.create_client(manager, "Eto'o").await;
    let other_policy = policy_for(manager, &other_client, &desk.company, "ACME-HOME-2").await;

    let first = create_claim(manager, &desk.policy).await;
    let mut input = claim_input(&other_policy);
    input["incidentDate"] = json!(day(-30));
    let second = manager.ok(CREATE, json!({"i": input})).await["createClaim"].clone();
    let second_id = second["id"].as_str().unwrap();
    manager.ok(UPDATE, json!({"i": {"id": second_id, "insurerReference": "SAHAM-77"}})).await;
    set_status(manager, second_id, "SUBMITTED", None, None).await;
    let (n1, n2) = (first["number"].as_str().unwrap(), second["number"].as_str().unwrap());

    let numbers = |d: Value| -> Vec<String> {
        d["claims"]["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_string()).collect()
    };
    let list = |f: Value| async move { numbers(manager.ok(CLAIMS, json!({"f": f})).await) };
    assert_eq!(list(json!({})).await, [n2, n1], "newest first");
    assert_eq!(list(json!({"status": "SUBMITTED"})).await, [n2]);
    assert_eq!(list(json!({"status": "REPORTED"})).await, [n1]);
    assert_eq!(list(json!({"policyId": desk.policy})).await, [n1]);
    assert_eq!(list(json!({"clientId": other_client})).await, [n2]);
    assert_eq!(list(json!({"from": day(-10)})).await, [n1]);
    assert_eq!(list(json!({"to": day(-10)})).await, [n2]);
    assert_eq!(list(json!({"search": n1.to_lowercase()})).await, [n1], "by number, any case");
    assert_eq!(list(json!({"search": "saham-7"})).await, [n2], "by insurer reference");
    assert_eq!(list(json!({"search": "eto'"})).await, [n2], "by client name");
    assert_eq!(list(json!({"search": "ngono"})).await, [n1], "by client name");
    assert!(list(json!({"search": "%"})).await.is_empty(), "wildcards are plain text");
    let refusal = manager.err(CLAIMS, json!({"f": {"policyId": desk.client}})).await;
    assert_eq!(refusal.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_policy_with_claims_cannot_be_deleted() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    create_claim(&desk.org.agent, &desk.policy).await;
    let refusal = desk.org.agent.err("mutation($id: ID!) { deletePolicy(id: $id) }", json!({"id": desk.policy})).await;
    assert_eq!(refusal, "CONFLICT");
    let message = refusal.body["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("claims"), "{message}");
}
