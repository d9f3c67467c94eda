//! `Policy.claims`, `Client.claims`, `Policy.documents`, `Client.documents`: newest first, paged,
//! scoped, and batched per page of parents.

use serde_json::{Value, json};

use super::{claim_input, create_claim, desk, policy_for, CREATE};
use crate::{
    documents::{GENERATE_DOCUMENTS, create_template, id, run_jobs},
    helpers::{User, spawn_app_with},
};

const HTML_CERTIFICATE: &str = "<h1>Certificat</h1><p>{{ policy.number }}</p>";

fn numbers(list: &Value) -> Vec<String> {
    list["nodes"].as_array().unwrap_or_else(|| panic!("no nodes in {list:#}")).iter().map(|n| n["number"].as_str().unwrap().to_string()).collect()
}

/// Makes one HTML document for each of `policies`.
async fn documents_for(app: &crate::helpers::TestApp, manager: &User, template: &str, policies: &[String]) {
    manager.ok(GENERATE_DOCUMENTS, json!({"i": {"templateId": template, "policyIds": policies}})).await;
    run_jobs(app).await;
}

#[tokio::test]
async fn policies_and_clients_list_their_claims_and_documents_newest_first_in_pages() {
    let app = spawn_app_with(&[]).await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    let second_policy = policy_for(&desk.org.agent, &desk.client, &desk.company, "ACME-AUTO-2").await;
    let mut made = Vec::new();
    for policy in [&desk.policy, &desk.policy, &second_policy, &desk.policy] {
        made.push(create_claim(&desk.org.agent, policy).await["number"].as_str().unwrap().to_string());
    }
    let template = id(&create_template(manager, "Attestation", "HTML", "POLICY", HTML_CERTIFICATE).await);
    documents_for(&app, manager, &template, &[desk.policy.clone(), second_policy.clone()]).await;
    documents_for(&app, manager, &template, &[desk.policy.clone()]).await;

    let query = "query($p: ID!, $c: ID!, $after: String) { \
        policy(id: $p) { claims { totalCount nodes { number } } documents { totalCount nodes { fileName policy { id } } } } \
        client(id: $c) { claims(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { number } } \
                         documents(first: 10) { totalCount nodes { fileName } } } }";
    let d = desk.org.agent.ok(query, json!({"p": desk.policy, "c": desk.client})).await;
    assert_eq!(numbers(&d["policy"]["claims"]), [made[3].clone(), made[1].clone(), made[0].clone()], "the policy's own, newest first");
    assert_eq!(d["policy"]["claims"]["totalCount"], 3);
    assert_eq!(d["policy"]["documents"]["totalCount"], 2);
    for doc in d["policy"]["documents"]["nodes"].as_array().unwrap() {
        assert_eq!(doc["policy"]["id"], desk.policy.as_str());
    }
    assert_eq!(d["client"]["documents"]["totalCount"], 3, "both policies' documents are the client's");
    let claims = &d["client"]["claims"];
    assert_eq!(claims["totalCount"], 4);
    assert_eq!(numbers(claims), [made[3].clone(), made[2].clone()]);
    assert_eq!(claims["pageInfo"]["hasNextPage"], true);
    let after = claims["pageInfo"]["endCursor"].clone();
    let d = desk.org.agent.ok(query, json!({"p": desk.policy, "c": desk.client, "after": after})).await;
    assert_eq!(numbers(&d["client"]["claims"]), [made[1].clone(), made[0].clone()], "the next page");
    assert_eq!(d["client"]["claims"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn a_page_of_parents_loads_each_nested_list_in_one_statement() {
    // A long session cache, so a slow machine does not see the session check expire mid-test.
    let app = spawn_app_with(&[("SESSION_CACHE_SECS", "600")]).await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    let mut policies = vec![desk.policy.clone()];
    for i in 2..=100 {
        policies.push(policy_for(manager, &desk.client, &desk.company, &format!("ACME-P{i:03}")).await);
    }
    let other_client = app.create_client(manager, "Biya").await;
    let other_policy = policy_for(manager, &other_client, &desk.company, "ACME-BIYA").await;
    // The newest 100 of the 101 policies: all but the first.
    for policy in [&policies[99], &policies[99], &policies[50], &other_policy] {
        manager.ok(CREATE, json!({"i": claim_input(policy)})).await;
    }
    let template = id(&create_template(manager, "Attestation", "HTML", "POLICY", HTML_CERTIFICATE).await);
    documents_for(&app, manager, &template, &policies[97..]).await;
    documents_for(&app, manager, &template, &[other_policy.clone()]).await;

    let counted = "{ policies(first: 100) { edges { node { number \
        claims(first: 5) { totalCount nodes { number } } documents(first: 5) { totalCount nodes { fileName } } } } } }";
    manager.ok("{ me { id } }", json!({})).await; // warms the session check
    let before = app.statements().await;
    let d = manager.ok(counted, json!({})).await;
    let used = app.statements().await - before;
    let edges = d["policies"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    let claims: i64 = edges.iter().map(|e| e["node"]["claims"]["totalCount"].as_i64().unwrap()).sum();
    let documents: i64 = edges.iter().map(|e| e["node"]["documents"]["totalCount"].as_i64().unwrap()).sum();
    let listed: usize = edges.iter().map(|e| e["node"]["documents"]["nodes"].as_array().unwrap().len()).sum();
    assert_eq!((claims, documents, listed), (4, 4, 4), "the page's own");
    assert!(used <= 5, "the page, then each nested list and its counts in one statement: at most 5, saw {used}");

    let plain = "{ policies(first: 100) { nodes { number claims(first: 5) { nodes { number } } documents(first: 5) { nodes { fileName } } } } }";
    let before = app.statements().await;
    manager.ok(plain, json!({})).await;
    let used = app.statements().await - before;
    assert!(used <= 3, "the page and one statement per nested list: at most 3, saw {used}");

    let clients = "{ clients(first: 100) { nodes { lastName policies(first: 5) { nodes { number } } \
        claims(first: 5) { nodes { number } } documents(first: 5) { nodes { fileName } } } } }";
    let before = app.statements().await;
    let d = manager.ok(clients, json!({})).await;
    let used = app.statements().await - before;
    let nodes = d["clients"]["nodes"].as_array().unwrap();
    let claims: usize = nodes.iter().map(|n| n["claims"]["nodes"].as_array().unwrap().len()).sum();
    assert_eq!(claims, 4);
    assert!(used <= 4, "the page and one statement per nested list: at most 4, saw {used}");
}
