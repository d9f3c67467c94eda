//! The portfolio: exact totals over the policies the caller may read in the period and currency,
//! by insurer, product type and status.

use serde_json::{Value, json};

use super::commissions::{SET_RATE, policy_on};
use crate::helpers::{assert_bad_input, spawn_app};

pub const PORTFOLIO: &str = "query($from: Date!, $to: Date!, $currency: String) { portfolio(from: $from, to: $to, currency: $currency) { \
    currency policyCount premium commission paid balance \
    byCompany { company { name } policyCount premium commission } \
    byProductType { productType policyCount premium commission } byStatus { status policyCount } } }";

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|row| row[key] == value || row[key]["name"] == value).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn the_portfolio_adds_up_exactly_within_the_callers_scope() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let other = app.org("other").await;
    let axa = app.create_company(&org.manager, "AXA").await;
    let saham = app.create_company(&org.manager, "SAHAM").await;
    org.manager.ok(SET_RATE, json!({"i": {"companyId": axa, "rate": "12.5", "validFrom": "2026-01-01"}})).await;
    org.manager.ok(SET_RATE, json!({"i": {"companyId": saham, "productType": "HOME", "rate": "7.3333", "validFrom": "2026-01-01"}})).await;
    let mine = app.create_client(&org.agent, "Ngono").await;
    let theirs = app.create_client(&org.agent2, "Biya").await;

    // (client, company, product, status, effective, premium, currency)
    let policies = [
        (&mine, &axa, "AUTO", "ACTIVE", "2026-02-01", "100001", "XAF"),
        (&mine, &axa, "AUTO", "DRAFT", "2026-03-15", "33333", "XAF"),
        (&mine, &saham, "HOME", "ACTIVE", "2026-04-01", "250000", "XAF"),
        (&theirs, &saham, "HOME", "ACTIVE", "2026-05-01", "99999", "XAF"),
        (&theirs, &axa, "HEALTH", "ACTIVE", "2026-06-30", "1", "XAF"),
        (&mine, &axa, "AUTO", "ACTIVE", "2026-02-01", "100.10", "EUR"),
        (&mine, &axa, "AUTO", "ACTIVE", "2025-12-31", "500000", "XAF"),
        (&mine, &axa, "AUTO", "ACTIVE", "2026-07-01", "700000", "XAF"),
    ];
    let mut ids = Vec::new();
    for (n, (client, company, kind, status, effective, premium, code)) in policies.into_iter().enumerate() {
        ids.push(policy_on(&org.manager, client, company, &format!("PF-{n}"), json!({"productType": kind, "status": status,
            "effectiveDate": effective, "expiryDate": "2027-12-31", "premium": premium, "currency": code})).await);
    }
    // Payments: 40000 and 1 on the first, 250000 on the third; one of 5000 reversed.
    let pay = "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { id } }";
    for (policy, amount) in [(&ids[0], "40000"), (&ids[0], "1"), (&ids[2], "250000")] {
        org.manager.ok(pay, json!({"i": {"policyId": policy, "amount": amount, "method": "CASH"}})).await;
    }
    let reversed = org.manager.ok(pay, json!({"i": {"policyId": ids[1], "amount": "5000", "method": "CHEQUE"}})).await;
    org.manager.ok("mutation($id: ID!) { reversePayment(id: $id) { id } }", json!({"id": reversed["recordPayment"]["id"]})).await;
    let other_company = app.create_company(&other.manager, "AXA").await;
    let other_client = app.create_client(&other.manager, "Eto'o").await;
    policy_on(&other.manager, &other_client, &other_company, "X-1", json!({"effectiveDate": "2026-03-01", "premium": "1000000"})).await;

    let period = json!({"from": "2026-01-01", "to": "2026-06-30"});
    let d = org.manager.ok(PORTFOLIO, period.clone()).await["portfolio"].clone();
    // Commissions, half-even per policy: 12.5 % of 100001 = 12500.125 → 12500; of 33333 = 4166.625 → 4167;
    // 7.3333 % of 250000 = 18333.25 → 18333; of 99999 = 7333.22667 → 7333; 12.5 % of 1 = 0.125 → 0.
    assert_eq!(d["currency"], "XAF");
    assert_eq!(d["policyCount"], 5, "{d:#}");
    assert_eq!(d["premium"], "483334");
    assert_eq!(d["commission"], "42333");
    assert_eq!(d["paid"], "290001", "reversed payments do not count");
    assert_eq!(d["balance"], "193333");
    let axa_share = find(&d["byCompany"], "company", "Insurer AXA");
    assert_eq!((&axa_share["policyCount"], &axa_share["premium"], &axa_share["commission"]), (&json!(3), &json!("133335"), &json!("16667")));
    let saham_share = find(&d["byCompany"], "company", "Insurer SAHAM");
    assert_eq!((&saham_share["policyCount"], &saham_share["premium"], &saham_share["commission"]), (&json!(2), &json!("349999"), &json!("25666")));
    assert_eq!(d["byCompany"][0]["company"]["name"], "Insurer SAHAM", "the largest premium first");
    let home = find(&d["byProductType"], "productType", "HOME");
    assert_eq!((&home["policyCount"], &home["premium"]), (&json!(2), &json!("349999")));
    assert_eq!(find(&d["byStatus"], "status", "ACTIVE")["policyCount"], 4);
    assert_eq!(find(&d["byStatus"], "status", "DRAFT")["policyCount"], 1);

    // Another currency is its own portfolio.
    let eur = org.manager.ok(PORTFOLIO, json!({"from": "2026-01-01", "to": "2026-06-30", "currency": "eur"})).await["portfolio"].clone();
    assert_eq!((&eur["currency"], &eur["policyCount"], &eur["premium"], &eur["commission"]), (&json!("EUR"), &json!(1), &json!("100.10"), &json!("12.51")));

    // An AGENT's portfolio is their own clients' policies.
    let agent = org.agent.ok(PORTFOLIO, period.clone()).await["portfolio"].clone();
    assert_eq!((&agent["policyCount"], &agent["premium"], &agent["commission"]), (&json!(3), &json!("383334"), &json!("35000")));
    assert_eq!((&agent["paid"], &agent["balance"]), (&json!("290001"), &json!("93333")));
    // Nothing of another organization is ever counted.
    let theirs = other.admin.ok(PORTFOLIO, period.clone()).await["portfolio"].clone();
    assert_eq!((&theirs["policyCount"], &theirs["premium"]), (&json!(1), &json!("1000000")));

    let empty = org.manager.ok(PORTFOLIO, json!({"from": "2030-01-01", "to": "2030-12-31"})).await["portfolio"].clone();
    assert_eq!((&empty["policyCount"], &empty["premium"], &empty["byCompany"]), (&json!(0), &json!("0"), &json!([])));
    assert_bad_input(&org.manager.err(PORTFOLIO, json!({"from": "2026-12-31", "to": "2026-01-01"})).await, "to", "a period backwards");
    assert_bad_input(&org.manager.err(PORTFOLIO, json!({"from": "2026-01-01", "to": "2026-12-31", "currency": "ZZZ"})).await, "currency", "no such currency");
}
