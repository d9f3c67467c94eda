//! Commission rates: set by MANAGERs and up, per insurer and product type from a date; the rate in
//! force on each policy's effective date, and its commission, loaded for a page at once.

use serde_json::{Value, json};

use crate::helpers::{assert_bad_input, policy_input, spawn_app};

pub const SET_RATE: &str = "mutation($i: SetCommissionRateInput!) { setCommissionRate(input: $i) { id productType rate validFrom company { id } } }";
const RATES: &str = "query($c: ID!) { commissionRates(companyId: $c) { totalCount nodes { productType rate validFrom } } }";
const POLICY: &str = "query($id: ID!) { policy(id: $id) { number netPremium commission commissionRate { rate productType validFrom } } }";

pub async fn policy_on(who: &crate::helpers::User, client: &str, company: &str, number: &str, patch: Value) -> String {
    let mut input = policy_input(number, client, company);
    for (key, value) in patch.as_object().unwrap() {
        input[key] = value.clone();
    }
    let d = who.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    d["createPolicy"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_rate_in_force_on_the_effective_date_gives_each_policy_its_commission() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let axa = app.create_company(&org.manager, "AXA").await;
    let saham = app.create_company(&org.manager, "SAHAM").await;
    let client = app.create_client(&org.agent, "Ngono").await;

    let set = |company: &str, kind: Value, rate: &str, from: &str| json!({"i": {"companyId": company, "productType": kind, "rate": rate, "validFrom": from}});
    let every = org.manager.ok(SET_RATE, set(&axa, Value::Null, "10", "2026-01-01")).await;
    assert_eq!(every["setCommissionRate"]["productType"], Value::Null);
    assert_eq!(every["setCommissionRate"]["rate"], "10");
    org.manager.ok(SET_RATE, set(&axa, json!("AUTO"), "12.5", "2026-06-01")).await;
    org.admin.ok(SET_RATE, set(&axa, json!("AUTO"), "15", "2027-01-01")).await;
    // Setting the same insurer, product type and date again replaces the rate.
    let replaced = org.manager.ok(SET_RATE, set(&axa, json!("AUTO"), "14.25", "2027-01-01")).await;
    assert_eq!(replaced["setCommissionRate"]["rate"], "14.25");
    let listed = org.agent.ok(RATES, json!({"c": axa})).await;
    assert_eq!(listed["commissionRates"]["totalCount"], 3, "{listed}");
    assert_eq!(listed["commissionRates"]["nodes"][0]["rate"], "14.25", "the latest start first");

    let cases = [
        // (effective date, product, net premium, currency, expected rate, expected commission)
        ("2026-03-01", "AUTO", "100000", "XAF", Some("10"), Some("10000")),
        ("2026-06-01", "AUTO", "100000", "XAF", Some("12.5"), Some("12500")),
        ("2026-06-01", "HOME", "100000", "XAF", Some("10"), Some("10000")),
        ("2027-02-01", "AUTO", "100001", "XAF", Some("14.25"), Some("14250")),
        ("2026-07-01", "AUTO", "100.04", "EUR", Some("12.5"), Some("12.50")),
        ("2026-07-01", "AUTO", "100.20", "EUR", Some("12.5"), Some("12.52")),
        ("2025-12-31", "AUTO", "100000", "XAF", None, None),
    ];
    for (n, (effective, kind, net, code, rate, commission)) in cases.into_iter().enumerate() {
        let id = policy_on(&org.agent, &client, &axa, &format!("C-{n}"), json!({"effectiveDate": effective, "expiryDate": "2028-01-01",
            "productType": kind, "premium": net, "currency": code})).await;
        let d = org.agent.ok(POLICY, json!({"id": id})).await;
        assert_eq!(d["policy"]["commissionRate"]["rate"].as_str(), rate, "{effective} {kind}: {d}");
        assert_eq!(d["policy"]["commission"].as_str(), commission, "{effective} {kind} {net}: {d}");
    }
    // 12.5 % of 100.04 EUR is 12.505: half-even gives 12.50; of 100.20, 12.525 gives 12.52.

    // Another insurer without rates: none.
    let bare = policy_on(&org.agent, &client, &saham, "S-1", json!({})).await;
    assert_eq!(org.agent.ok(POLICY, json!({"id": bare})).await["policy"]["commission"], Value::Null);
}

#[tokio::test]
async fn rates_are_set_by_managers_checked_and_kept_to_their_organization() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.org("other").await;
    let axa = app.create_company(&org.manager, "AXA").await;
    let theirs = app.create_company(&other.manager, "THEIRS").await;
    let input = |company: &str, rate: &str| json!({"i": {"companyId": company, "rate": rate, "validFrom": "2026-01-01"}});

    assert_eq!(org.agent.err(SET_RATE, input(&axa, "10")).await.code(), "FORBIDDEN");
    assert_eq!(org.manager.err(SET_RATE, input(&theirs, "10")).await.code(), "NOT_FOUND");
    assert_eq!(org.agent.err(RATES, json!({"c": theirs})).await.code(), "NOT_FOUND");
    for (rate, what) in [("100.5", "above 100"), ("-1", "negative"), ("12.34567", "five decimals")] {
        assert_bad_input(&org.manager.err(SET_RATE, input(&axa, rate)).await, "input.rate", what);
    }
    let set = org.manager.ok(SET_RATE, input(&axa, "0")).await;
    let id = set["setCommissionRate"]["id"].as_str().unwrap().to_string();
    let node = "query($id: ID!) { node(id: $id) { ... on CommissionRate { rate } } }";
    assert_eq!(org.agent.ok(node, json!({"id": id})).await["node"]["rate"], "0");
    assert_eq!(other.admin.err(node, json!({"id": id})).await.code(), "NOT_FOUND");
    let audit = org.admin.ok("{ auditLogs(first: 5, filter: {action: \"commission_rate.set\"}) { totalCount } }", json!({})).await;
    assert_eq!(audit["auditLogs"]["totalCount"], 1, "{audit}");
}

#[tokio::test]
async fn a_page_of_policies_with_their_commissions_costs_three_statements() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let client = app.create_client(&org.manager, "Ngono").await;
    let mut companies = Vec::new();
    for code in ["AXA", "SAHAM", "ALLIANZ"] {
        let company = app.create_company(&org.manager, code).await;
        org.manager.ok(SET_RATE, json!({"i": {"companyId": company, "rate": "10", "validFrom": "2020-01-01"}})).await;
        companies.push(company);
    }
    for n in 0..100 {
        policy_on(&org.manager, &client, &companies[n % 3], &format!("P-{n:03}"), json!({"premium": "1000"})).await;
    }
    let page = "{ policies(first: 100) { totalCount nodes { number commission commissionRate { rate } } } }";
    org.manager.ok("{ me { id } }", json!({})).await;
    let before = app.statements().await;
    let d = org.manager.ok(page, json!({})).await;
    let used = app.statements().await - before;
    let nodes = d["policies"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 100);
    assert!(nodes.iter().all(|node| node["commission"] == "100"), "{d}");
    assert!(used <= 3, "the page, its count and the rates of its insurers: at most 3, saw {used}");
}
