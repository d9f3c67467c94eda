//! Renewals: the contract's defaults, once per policy (even at once), the links both ways, and
//! the `renewalDueWithinDays` filter.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{User, assert_bad_input, policy_input, spawn_app};

const RENEW: &str = "mutation($i: RenewPolicyInput!) { renewPolicy(input: $i) { id number status premium currency \
    effectiveDate expiryDate productName client { id } company { id } previousPolicy { id } renewal { id } } }";
const LINKS: &str = "query($id: ID!) { policy(id: $id) { number previousPolicy { number } renewal { number } } }";
const DUE: &str = "query($days: Int) { policies(first: 100, filter: {renewalDueWithinDays: $days}) { nodes { number } } }";

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

async fn policy(who: &User, client: &str, company: &str, number: &str, status: &str, effective: &str, expiry: &str) -> String {
    let mut input = policy_input(number, client, company);
    input["status"] = json!(status);
    input["effectiveDate"] = json!(effective);
    input["expiryDate"] = json!(expiry);
    let d = who.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    d["createPolicy"]["id"].as_str().unwrap().to_string()
}

fn numbers(d: &Value) -> Vec<String> {
    let mut list: Vec<String> =
        d["policies"]["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_string()).collect();
    list.sort();
    list
}

#[tokio::test]
async fn a_renewal_takes_the_contracts_defaults_and_links_both_ways() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let old = policy(&org.agent, &client, &company, "AUTO-2026-1", "ACTIVE", "2026-01-01", "2027-01-01").await;

    let d = org.agent.ok(RENEW, json!({"i": {"policyId": old, "number": "AUTO-2027-1"}})).await;
    let renewal = &d["renewPolicy"];
    assert_eq!(renewal["status"], "DRAFT");
    assert_eq!(renewal["effectiveDate"], "2027-01-02", "the day after the old expiry");
    assert_eq!(renewal["expiryDate"], "2028-01-02", "as many days (365) as the old policy");
    assert_eq!(renewal["premium"], "125000");
    assert_eq!(renewal["currency"], "XAF");
    assert_eq!(renewal["productName"], "Auto Tous Risques");
    assert_eq!(renewal["client"]["id"], client.as_str());
    assert_eq!(renewal["company"]["id"], company.as_str());
    assert_eq!(renewal["previousPolicy"]["id"], old.as_str());
    assert_eq!(renewal["renewal"], Value::Null);
    let d = org.manager.ok(LINKS, json!({"id": old})).await;
    assert_eq!(d["policy"]["renewal"]["number"], "AUTO-2027-1");
    assert_eq!(d["policy"]["previousPolicy"], Value::Null);

    // Once only.
    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": old, "number": "AUTO-2027-2"}})).await;
    assert_eq!(refusal, "CONFLICT");
    assert_eq!(refusal.field(), "input.policyId");

    // Audited.
    let logs = org.admin.ok("{ auditLogs(first: 10, filter: {action: \"policy.renew\"}) { totalCount } }", json!({})).await;
    assert_eq!(logs["auditLogs"]["totalCount"], 1);

    // Deleting the old policy leaves the renewal without a previous one.
    org.manager.ok("mutation($id: ID!) { deletePolicy(id: $id) }", json!({"id": old})).await;
    let d = org.manager.ok(LINKS, json!({"id": renewal["id"]})).await;
    assert_eq!(d["policy"]["previousPolicy"], Value::Null);
}

#[tokio::test]
async fn a_renewal_takes_what_it_is_given_and_refuses_what_cannot_be() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let axa = app.create_company(&org.manager, "AXA").await;
    let saham = app.create_company(&org.manager, "SAHAM").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let old = policy(&org.agent, &client, &axa, "HOME-1", "ACTIVE", "2026-01-01", "2027-01-01").await;
    let draft = policy(&org.agent, &client, &axa, "HOME-2", "DRAFT", "2026-01-01", "2027-01-01").await;

    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": draft, "number": "HOME-2-R"}})).await;
    assert_bad_input(&refusal, "input.policyId", "a DRAFT policy is not renewed");
    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": old, "number": "HOME-1-R", "expiryDate": "2026-12-01"}})).await;
    assert_bad_input(&refusal, "input.expiryDate", "an expiry before the start");
    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": old, "number": "HOME-1-R", "status": "CANCELLED"}})).await;
    assert_bad_input(&refusal, "input.status", "a renewal starts DRAFT or ACTIVE");
    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": old, "number": "HOME-2"}})).await;
    assert_eq!(refusal, "CONFLICT");
    assert_eq!(refusal.field(), "input.number", "a taken number");
    assert_eq!(org.agent2.err(RENEW, json!({"i": {"policyId": old, "number": "HOME-1-R"}})).await, "NOT_FOUND");
    let other = app.org("globex").await;
    let foreign = app.create_company(&other.manager, "ALLIANZ").await;
    let refusal = org.agent.err(RENEW, json!({"i": {"policyId": old, "number": "HOME-1-R", "companyId": foreign}})).await;
    assert_eq!(refusal, "NOT_FOUND");

    let given = json!({"i": {"policyId": old, "number": "HOME-1-R", "effectiveDate": "2027-02-01", "expiryDate": "2027-08-01",
        "premium": "99000", "companyId": saham, "status": "ACTIVE"}});
    let d = org.agent.ok(RENEW, given).await;
    let renewal = &d["renewPolicy"];
    assert_eq!(
        (&renewal["effectiveDate"], &renewal["expiryDate"], &renewal["premium"], &renewal["company"]["id"], &renewal["status"]),
        (&json!("2027-02-01"), &json!("2027-08-01"), &json!("99000"), &json!(saham), &json!("ACTIVE"))
    );
}

#[tokio::test]
async fn renewals_of_one_policy_at_once_make_exactly_one() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.manager, "Ngono").await;
    let old = policy(&org.manager, &client, &company, "LIFE-1", "ACTIVE", "2026-01-01", "2027-01-01").await;
    let tries = (0..8).map(|i| org.manager.run(RENEW, json!({"i": {"policyId": old, "number": format!("LIFE-1-R{i}")}})));
    let answers = futures_util::future::join_all(tries).await;
    let made = answers.iter().filter(|a| a.get("errors").is_none()).count();
    assert_eq!(made, 1, "{answers:#?}");
    for answer in answers.iter().filter(|a| a.get("errors").is_some()) {
        assert_eq!(crate::helpers::code(answer), "CONFLICT", "{answer:#}");
    }
}

#[tokio::test]
async fn renewal_due_lists_active_policies_expiring_soon_that_are_not_renewed() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let start = day(-300);
    for (number, status, expiry) in [
        ("SOON", "ACTIVE", day(10)),
        ("TODAY", "ACTIVE", day(0)),
        ("LATER", "ACTIVE", day(40)),
        ("PAST", "ACTIVE", day(-1)),
        ("SUSPENDED-SOON", "ACTIVE", day(5)),
        ("DRAFT-SOON", "DRAFT", day(10)),
        ("RENEWED-SOON", "ACTIVE", day(12)),
    ] {
        let id = policy(&org.agent, &client, &company, number, status, &start, &expiry).await;
        if number == "SUSPENDED-SOON" {
            org.agent.ok("mutation($id: ID!) { setPolicyStatus(id: $id, status: SUSPENDED) { status } }", json!({"id": id})).await;
        }
        if number == "RENEWED-SOON" {
            org.agent.ok(RENEW, json!({"i": {"policyId": id, "number": "RENEWED-SOON-2"}})).await;
        }
    }
    assert_eq!(numbers(&org.agent.ok(DUE, json!({"days": 30})).await), ["SOON", "TODAY"]);
    assert_eq!(numbers(&org.agent.ok(DUE, json!({"days": 60})).await), ["LATER", "SOON", "TODAY"]);
    assert_eq!(numbers(&org.agent.ok(DUE, json!({"days": 0})).await), ["TODAY"]);
    assert!(numbers(&org.agent2.ok(DUE, json!({"days": 60})).await).is_empty(), "another agent's clients are not listed");
    let refusal = org.agent.err(DUE, json!({"days": -1})).await;
    assert_bad_input(&refusal, "filter.renewalDueWithinDays", "a negative window");
}
