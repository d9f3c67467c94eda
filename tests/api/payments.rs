//! Instalments and payments: exact money on awkward amounts, allocation to the oldest instalment
//! first, reversal, refusals that write nothing, the premium locked by live payments, and (in the
//! submodules) concurrency, the scheduler's overdue instalments, tenancy and batching.

mod calendar;
mod concurrency;
mod tenancy;

use serde_json::{Value, json};

use crate::helpers::{TestApp, User, assert_bad_input, policy_input, spawn_app};

pub const PLAN: &str = "mutation($i: SetInstalmentPlanInput!) { setInstalmentPlan(input: $i) { \
    id premium paid balance instalments { id dueDate amount paid status } } }";
pub const RECORD: &str = "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { \
    id amount currency method reference paidAt reversedAt createdBy { id } policy { id } } }";
pub const REVERSE: &str = "mutation($id: ID!) { reversePayment(id: $id) { id amount reversedAt } }";
pub const MONEY: &str = "query($id: ID!) { policy(id: $id) { premium paid balance \
    instalments { id dueDate amount paid status } payments(first: 10) { totalCount nodes { id amount method reversedAt } } } }";

/// An organization with a company and a client of its first agent.
pub struct Desk {
    pub org: crate::helpers::Org,
    pub company: String,
    pub client: String,
}

pub async fn desk(app: &TestApp, name: &str) -> Desk {
    let org = app.org(name).await;
    let company = app.create_company(&org.manager, &format!("{}-CO", name.to_uppercase())).await;
    let client = app.create_client(&org.agent, "Ngono").await;
    Desk { org, company, client }
}

/// A policy of `desk`'s client with this premium and currency, created by `who`.
pub async fn policy_of(who: &User, desk: &Desk, number: &str, premium: &str, currency: &str) -> String {
    let mut input = policy_input(number, &desk.client, &desk.company);
    input["premium"] = json!(premium);
    input["currency"] = json!(currency);
    let d = who.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    d["createPolicy"]["id"].as_str().unwrap().to_string()
}

pub async fn pay(who: &User, policy: &str, amount: &str) -> Value {
    who.run(RECORD, json!({"i": {"policyId": policy, "amount": amount, "method": "MOBILE_MONEY", "reference": "MOMO-1"}})).await
}

pub async fn money(who: &User, policy: &str) -> Value {
    who.ok(MONEY, json!({"id": policy})).await["policy"].clone()
}

/// `(amount, paid, status)` of each instalment.
pub fn instalments(policy: &Value) -> Vec<(String, String, String)> {
    policy["instalments"]
        .as_array()
        .unwrap_or_else(|| panic!("no instalments in {policy:#}"))
        .iter()
        .map(|i| (i["amount"].as_str().unwrap().into(), i["paid"].as_str().unwrap().into(), i["status"].as_str().unwrap().into()))
        .collect()
}

fn rows(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected.iter().map(|(a, p, s)| (a.to_string(), p.to_string(), s.to_string())).collect()
}

#[tokio::test]
async fn thirds_of_a_euro_premium_are_exact_and_payments_fill_the_oldest_instalment_first() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let policy = policy_of(agent, &desk, "EUR-THIRDS", "100", "EUR").await;
    let plan = [("2027-03-01", "33.34"), ("2027-01-01", "33.33"), ("2027-02-01", "33.33")];
    let instalments_in: Vec<Value> = plan.iter().map(|(d, a)| json!({"dueDate": d, "amount": a})).collect();
    let d = agent.ok(PLAN, json!({"i": {"policyId": policy, "instalments": instalments_in}})).await["setInstalmentPlan"].clone();
    assert_eq!((d["premium"].as_str(), d["paid"].as_str(), d["balance"].as_str()), (Some("100.00"), Some("0.00"), Some("100.00")));
    let dates: Vec<&str> = d["instalments"].as_array().unwrap().iter().map(|i| i["dueDate"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2027-01-01", "2027-02-01", "2027-03-01"], "by due date");
    assert_eq!(instalments(&d), rows(&[("33.33", "0.00", "DUE"), ("33.33", "0.00", "DUE"), ("33.34", "0.00", "DUE")]));

    let first = pay(agent, &policy, "50").await;
    assert!(first.get("errors").is_none(), "{first:#}");
    let first = &first["data"]["recordPayment"];
    assert_eq!((first["amount"].as_str(), first["currency"].as_str(), first["method"].as_str()), (Some("50.00"), Some("EUR"), Some("MOBILE_MONEY")));
    assert_eq!(first["createdBy"]["id"], agent.id.as_str());
    assert_eq!(first["policy"]["id"], policy.as_str());
    assert_eq!(first["reversedAt"], Value::Null);
    let m = money(agent, &policy).await;
    assert_eq!(instalments(&m), rows(&[("33.33", "33.33", "PAID"), ("33.33", "16.67", "PARTIAL"), ("33.34", "0.00", "DUE")]));
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("50.00"), Some("50.00")));

    // One cent more than the balance: refused on input.amount, and nothing is written.
    let refusal = crate::helpers::Refusal { body: pay(agent, &policy, "50.01").await };
    assert_bad_input(&refusal, "input.amount", "more than the balance");
    assert_eq!(money(agent, &policy).await, m, "a refused payment writes nothing");

    let second = pay(agent, &policy, "50").await["data"]["recordPayment"].clone();
    let m = money(agent, &policy).await;
    assert_eq!(instalments(&m), rows(&[("33.33", "33.33", "PAID"), ("33.33", "33.33", "PAID"), ("33.34", "33.34", "PAID")]));
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("100.00"), Some("0.00")));
    assert_eq!(m["payments"]["totalCount"], 2);
    assert_eq!(m["payments"]["nodes"][0]["id"], second["id"], "newest first");
    let refusal = crate::helpers::Refusal { body: pay(agent, &policy, "0.01").await };
    assert_bad_input(&refusal, "input.amount", "nothing left to pay");

    // Reversing the first payment gives its money back to the instalments, oldest first.
    let id = first["id"].as_str().unwrap();
    let reversed = agent.ok(REVERSE, json!({"id": id})).await["reversePayment"].clone();
    assert!(reversed["reversedAt"].is_string(), "{reversed:#}");
    let m = money(agent, &policy).await;
    assert_eq!(instalments(&m), rows(&[("33.33", "33.33", "PAID"), ("33.33", "16.67", "PARTIAL"), ("33.34", "0.00", "DUE")]));
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("50.00"), Some("50.00")));
    assert_eq!(m["payments"]["totalCount"], 2, "a reversed payment stays listed");
    assert_eq!(agent.err(REVERSE, json!({"id": id})).await, "CONFLICT", "a payment is reversed once");

    let trail = desk.org.admin.ok("{ auditLogs(first: 20) { nodes { action } } }", json!({})).await;
    let actions: Vec<&str> = trail["auditLogs"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
    for action in ["policy.set_instalment_plan", "payment.record", "payment.reverse"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "payment.record").count(), 2, "refusals write no audit row");
}

#[tokio::test]
async fn a_plan_must_sum_to_the_premium_on_distinct_days_or_nothing_changes() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let policy = policy_of(agent, &desk, "XAF-PLAN", "125000", "XAF").await;
    let before = money(agent, &policy).await;
    assert_eq!(instalments(&before), rows(&[("125000", "0", "DUE")]), "without a plan, the whole premium");
    assert_eq!(before["instalments"][0]["dueDate"], "2026-01-01", "on the effective date");

    let plan = |items: &[(&str, &str)]| -> Value {
        let list: Vec<Value> = items.iter().map(|(d, a)| json!({"dueDate": d, "amount": a})).collect();
        json!({"i": {"policyId": policy, "instalments": list}})
    };
    for (items, what) in [
        (vec![("2026-01-01", "60000"), ("2026-06-01", "60000")], "short of the premium"),
        (vec![("2026-01-01", "60000"), ("2026-06-01", "70000")], "over the premium"),
        (vec![("2026-01-01", "62500"), ("2026-01-01", "62500")], "the same day twice"),
        (vec![], "no instalment"),
    ] {
        assert_bad_input(&agent.err(PLAN, plan(&items)).await, "input.instalments", what);
    }
    assert_bad_input(&agent.err(PLAN, plan(&[("2026-01-01", "0"), ("2026-02-01", "125000")])).await, "input.instalments.0.amount", "zero");
    let many: Vec<(String, &str)> = (0..121).map(|i| ((chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(i)).to_string(), "1")).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(d, a)| (d.as_str(), *a)).collect();
    assert_bad_input(&agent.err(PLAN, plan(&many)).await, "input.instalments", "too many");
    assert_eq!(money(agent, &policy).await, before, "refused plans change nothing");
    let later = json!({"i": {"policyId": policy, "amount": "1000", "method": "CASH", "paidAt": "2999-01-01T00:00:00Z"}});
    assert_bad_input(&agent.err(RECORD, later).await, "input.paidAt", "in the future");
    assert_eq!(money(agent, &policy).await, before, "a refused payment changes nothing");

    // XAF has no decimals: thirds of 1,000,000 are whole francs, and a half franc rounds to even.
    let big = policy_of(agent, &desk, "XAF-THIRDS", "1000000", "XAF").await;
    let list = json!([{"dueDate": "2027-02-01", "amount": "333333"}, {"dueDate": "2027-03-01", "amount": "333333"}, {"dueDate": "2027-04-01", "amount": "333334"}]);
    agent.ok(PLAN, json!({"i": {"policyId": big, "instalments": list}})).await;
    let paid = pay(agent, &big, "333333.5").await;
    assert_eq!(paid["data"]["recordPayment"]["amount"], "333334", "half-even to the franc: {paid:#}");
    let m = money(agent, &big).await;
    assert_eq!(instalments(&m), rows(&[("333333", "333333", "PAID"), ("333333", "1", "PARTIAL"), ("333334", "0", "DUE")]));
    assert_eq!(m["balance"], "666666");
}

#[tokio::test]
async fn a_large_euro_premium_stays_exact_to_the_cent() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let manager = &desk.org.manager;
    let policy = policy_of(manager, &desk, "EUR-LARGE", "9999999999.99", "EUR").await;
    let first = pay(manager, &policy, "9999999999.98").await;
    assert!(first.get("errors").is_none(), "{first:#}");
    let m = money(manager, &policy).await;
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("9999999999.98"), Some("0.01")));
    assert_eq!(instalments(&m), rows(&[("9999999999.99", "9999999999.98", "OVERDUE")]), "due on 2026-01-01 and not fully paid");
    let default_id = m["instalments"][0]["id"].clone();
    pay(manager, &policy, "0.01").await;
    let m = money(manager, &policy).await;
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("9999999999.99"), Some("0.00")));
    assert_eq!(instalments(&m), rows(&[("9999999999.99", "9999999999.99", "PAID")]));
    let node = manager.ok("query($id: ID!) { node(id: $id) { ... on Instalment { amount status } } }", json!({"id": default_id})).await;
    assert_eq!(node["node"], json!({"amount": "9999999999.99", "status": "PAID"}), "the implicit instalment keeps its id once written");
}

#[tokio::test]
async fn a_premium_with_live_payments_cannot_change_and_a_new_premium_drops_the_plan() {
    let app = spawn_app().await;
    let desk = desk(&app, "acme").await;
    let agent = &desk.org.agent;
    let policy = policy_of(agent, &desk, "XAF-CHANGE", "100000", "XAF").await;
    let list = json!([{"dueDate": "2027-01-01", "amount": "40000"}, {"dueDate": "2027-02-01", "amount": "60000"}]);
    agent.ok(PLAN, json!({"i": {"policyId": policy, "instalments": list}})).await;
    let payment = pay(agent, &policy, "10000").await["data"]["recordPayment"]["id"].as_str().unwrap().to_string();
    let update = "mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { premium } }";
    let refusal = agent.err(update, json!({"i": {"id": policy, "premium": "120000"}})).await;
    assert_eq!(refusal, "CONFLICT");
    assert!(refusal.body["errors"][0]["message"].as_str().unwrap().contains("reverse its payments first"), "{refusal:?}");
    assert_eq!(agent.err(update, json!({"i": {"id": policy, "currency": "EUR"}})).await, "CONFLICT");
    agent.ok(update, json!({"i": {"id": policy, "productName": "Tous risques"}})).await;
    assert_eq!(money(agent, &policy).await["instalments"].as_array().unwrap().len(), 2, "other changes keep the plan");

    agent.ok(REVERSE, json!({"id": payment})).await;
    let d = agent.ok(update, json!({"i": {"id": policy, "premium": "120000"}})).await;
    assert_eq!(d["updatePolicy"]["premium"], "120000");
    let m = money(agent, &policy).await;
    assert_eq!(instalments(&m), rows(&[("120000", "0", "DUE")]), "back to the one instalment of the new premium");
    assert_eq!((m["paid"].as_str(), m["balance"].as_str()), (Some("0"), Some("120000")));

    // The implicit instalment, once written, moves with the effective date.
    pay(agent, &policy, "10000").await;
    assert_eq!(instalments(&money(agent, &policy).await), rows(&[("120000", "10000", "OVERDUE")]), "due on 2026-01-01");
    let dates = json!({"i": {"id": policy, "effectiveDate": "2027-01-01", "expiryDate": "2028-01-01"}});
    agent.ok("mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { id } }", dates).await;
    let m = money(agent, &policy).await;
    assert_eq!(instalments(&m), rows(&[("120000", "10000", "PARTIAL")]));
    assert_eq!(m["instalments"][0]["dueDate"], "2027-01-01");

    // Payments are a record of money received: their policy is kept, reversed ones included.
    let delete = "mutation($id: ID!) { deletePolicy(id: $id) }";
    assert_eq!(desk.org.manager.err(delete, json!({"id": policy})).await, "CONFLICT");
}
