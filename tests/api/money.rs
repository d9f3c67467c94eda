//! Money through GraphQL: the premium's breakdown (exact, per currency), commission rates and the
//! rate in force on each policy, and the portfolio.

pub mod commissions;
pub mod portfolio;
mod upgrade;

use serde_json::json;

use crate::helpers::{assert_bad_input, id_of, policy_input, spawn_app};

const CREATE: &str = "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id premium netPremium fees taxes currency } }";
const UPDATE: &str = "mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { id premium netPremium fees taxes currency } }";

fn amounts(policy: &serde_json::Value) -> (String, String, String, String) {
    let text = |field: &str| policy[field].as_str().unwrap_or_default().to_string();
    (text("premium"), text("netPremium"), text("fees"), text("taxes"))
}

fn four(premium: &str, net: &str, fees: &str, taxes: &str) -> (String, String, String, String) {
    (premium.into(), net.into(), fees.into(), taxes.into())
}

#[tokio::test]
async fn a_premium_is_the_exact_sum_of_its_breakdown_in_each_currencys_minor_unit() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;
    let create = |number: &str, patch: serde_json::Value| {
        let mut input = policy_input(number, &client, &company);
        for (key, value) in patch.as_object().unwrap() {
            input[key] = value.clone();
        }
        json!({"i": input})
    };

    // Without a breakdown the whole premium is net.
    let d = admin.ok(CREATE, create("M-1", json!({"premium": "125000"}))).await;
    assert_eq!(amounts(&d["createPolicy"]), four("125000", "125000", "0", "0"), "XAF has no minor unit");

    // A breakdown alone makes the premium; thirds of a euro stay exact.
    let d = admin.ok(CREATE, create("M-2", json!({"currency": "EUR", "premium": "100.00", "netPremium": "33.33", "fees": "33.33", "taxes": "33.34"}))).await;
    assert_eq!(amounts(&d["createPolicy"]), four("100.00", "33.33", "33.33", "33.34"));

    // Fees and taxes given with the premium: the net premium is the rest.
    let d = admin.ok(CREATE, create("M-3", json!({"currency": "EUR", "premium": "1000", "fees": "25.50", "taxes": "192.555"}))).await;
    assert_eq!(amounts(&d["createPolicy"]), four("1000.00", "781.94", "25.50", "192.56"), "192.555 rounds half-even to 192.56");

    // XAF amounts round half-even to the franc, each of them.
    let d = admin.ok(CREATE, create("M-4", json!({"premium": "150000.5", "netPremium": "125000.5", "fees": "5000", "taxes": "20000.5"}))).await;
    assert_eq!(amounts(&d["createPolicy"]), four("150000", "125000", "5000", "20000"), "{d}");

    // A large premium, to the cent.
    let d = admin.ok(CREATE, create("M-5", json!({"currency": "EUR", "premium": "9999999999.99", "fees": "0.01"}))).await;
    assert_eq!(amounts(&d["createPolicy"]), four("9999999999.99", "9999999999.98", "0.01", "0.00"));

    let refusals = [
        ("a premium that is not the sum", json!({"premium": "100", "netPremium": "90", "fees": "5"}), "input.premium"),
        ("fees and taxes above the premium", json!({"premium": "100", "fees": "60", "taxes": "40"}), "input.premium"),
        ("negative fees", json!({"fees": "-1"}), "input.fees"),
        ("negative taxes", json!({"taxes": "-0.5", "currency": "EUR"}), "input.taxes"),
        ("a zero net premium", json!({"premium": "10", "netPremium": "0", "fees": "10"}), "input.netPremium"),
        ("more than the largest premium", json!({"premium": "10000000000000"}), "input.premium"),
    ];
    for (n, (what, patch, field)) in refusals.into_iter().enumerate() {
        assert_bad_input(&admin.err(CREATE, create(&format!("BAD-{n}"), patch)).await, field, what);
    }

    // Updates: fees change and the net premium is kept; a new premium keeps fees and taxes.
    let id = id_of(&admin.ok(CREATE, create("U-1", json!({"currency": "EUR", "premium": "1200", "fees": "100", "taxes": "100"}))).await["createPolicy"]);
    let d = admin.ok(UPDATE, json!({"i": {"id": id, "fees": "150"}})).await;
    assert_eq!(amounts(&d["updatePolicy"]), four("1250.00", "1000.00", "150.00", "100.00"));
    let d = admin.ok(UPDATE, json!({"i": {"id": id, "premium": "2000"}})).await;
    assert_eq!(amounts(&d["updatePolicy"]), four("2000.00", "1750.00", "150.00", "100.00"));
    // A change of currency keeps the values, rounded to the new minor unit.
    let d = admin.ok(UPDATE, json!({"i": {"id": id, "currency": "XAF", "taxes": "100.5"}})).await;
    assert_eq!(amounts(&d["updatePolicy"]), four("2000", "1750", "150", "100"), "{d}");
    assert_eq!(d["updatePolicy"]["currency"], "XAF");
}
