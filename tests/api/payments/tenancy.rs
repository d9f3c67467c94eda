//! Who may read and write money: an AGENT on their own clients' policies, MANAGER and ADMIN on the
//! organization's; another organization's objects are `NOT_FOUND`. A page of policies loads its
//! money in a few statements, whatever its size.

use serde_json::json;

use super::{PLAN, RECORD, REVERSE, desk, pay, policy_of};
use crate::helpers::{spawn_app, spawn_app_with};

const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Payment { amount policy { id } } ... on Instalment { amount } } }";

#[tokio::test]
async fn agents_pay_their_own_clients_policies_and_other_organizations_see_nothing() {
    let app = spawn_app().await;
    let acme = desk(&app, "acme").await;
    let globex = app.org("globex").await;
    let policy = policy_of(&acme.org.agent, &acme, "ACME-1", "100000", "XAF").await;
    let payment = pay(&acme.org.manager, &policy, "1000").await["data"]["recordPayment"]["id"].as_str().unwrap().to_string();
    let plan = json!({"i": {"policyId": policy, "instalments": [{"dueDate": "2027-01-01", "amount": "100000"}]}});
    let record = json!({"i": {"policyId": policy, "amount": "10", "method": "CASH"}});

    for (who, what) in [(&acme.org.agent2, "an agent of another client"), (&globex.admin, "another organization's admin")] {
        assert_eq!(who.err(RECORD, record.clone()).await, "NOT_FOUND", "{what} records");
        assert_eq!(who.err(PLAN, plan.clone()).await, "NOT_FOUND", "{what} plans");
        assert_eq!(who.err(REVERSE, json!({"id": payment})).await, "NOT_FOUND", "{what} reverses");
        assert_eq!(who.err(NODE, json!({"id": payment})).await, "NOT_FOUND", "{what} reads the payment");
    }
    let instalment = acme.org.agent.ok("query($id: ID!) { policy(id: $id) { instalments { id } } }", json!({"id": policy})).await;
    let instalment = instalment["policy"]["instalments"][0]["id"].clone();
    assert_eq!(globex.admin.err(NODE, json!({"id": instalment})).await, "NOT_FOUND");
    assert_eq!(acme.org.agent2.err(NODE, json!({"id": instalment})).await, "NOT_FOUND");

    let d = acme.org.agent.ok(NODE, json!({"id": payment})).await;
    assert_eq!(d["node"]["amount"], "1000");
    assert_eq!(d["node"]["policy"]["id"], policy.as_str());
    assert_eq!(acme.org.agent.ok(NODE, json!({"id": instalment})).await["node"]["amount"], "100000");
    acme.org.agent.ok(PLAN, plan).await;
    acme.org.admin.ok(RECORD, record).await;
    acme.org.agent.ok(REVERSE, json!({"id": payment})).await;
}

#[tokio::test]
async fn a_page_of_policies_loads_its_money_in_a_few_statements() {
    let app = spawn_app_with(&[("SESSION_CACHE_SECS", "600")]).await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    for i in 0..30 {
        let policy = policy_of(manager, &desk, &format!("ACME-{i:02}"), "90000", "XAF").await;
        if i % 3 == 0 {
            let list = json!([{"dueDate": "2027-01-01", "amount": "30000"}, {"dueDate": "2027-02-01", "amount": "60000"}]);
            manager.ok(PLAN, json!({"i": {"policyId": policy, "instalments": list}})).await;
        }
        if i % 2 == 0 {
            pay(manager, &policy, "40000").await;
        }
    }
    let query = "{ policies(first: 100) { nodes { number paid balance instalments { amount paid status } \
        payments(first: 5) { totalCount nodes { amount createdBy { id } } } } } }";
    manager.ok("{ me { id } }", json!({})).await; // warms the session check
    let before = app.statements().await;
    let d = manager.ok(query, json!({})).await;
    let used = app.statements().await - before;
    let nodes = d["policies"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 30);
    let paid: i64 = nodes.iter().map(|n| n["paid"].as_str().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(paid, 15 * 40_000);
    let listed: usize = nodes.iter().map(|n| n["payments"]["nodes"].as_array().unwrap().len()).sum();
    assert_eq!(listed, 15);
    assert!(used <= 6, "the page, the instalments, the payments, their counts and their users: at most 6, saw {used}");
}
