//! Policies through GraphQL: the round trip with every field, defaults, exact premiums, validation
//! naming the field at fault, conflicts (taken numbers, clients and companies in use), the status
//! life cycle and lookup by number. Lists (pagination, filters, ordering, the statement budget of a
//! page) are in `policies/lists.rs`.

mod lists;
mod renewals;

use serde_json::{Value, json};

use crate::clients::{DELETE_CLIENT, READ_CLIENT};
use crate::companies::{DELETE_COMPANY, READ_COMPANY};
use crate::helpers::*;

macro_rules! policy_fields {
    () => {
        "id number productName productType status premium currency effectiveDate expiryDate coverage \
         client { id lastName } company { id code } createdAt updatedAt"
    };
}

const CREATE_POLICY: &str =
    concat!("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { ", policy_fields!(), " } }");
const UPDATE_POLICY: &str =
    concat!("mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { ", policy_fields!(), " } }");
const READ_POLICY: &str = concat!("query($id: ID!) { policy(id: $id) { ", policy_fields!(), " } }");
const POLICY_BY_NUMBER: &str =
    concat!("query($n: String!) { policyByNumber(number: $n) { ", policy_fields!(), " } }");
const DELETE_POLICY: &str = "mutation($id: ID!) { deletePolicy(id: $id) }";
const SET_STATUS: &str = "mutation($id: ID!, $s: PolicyStatus!) { setPolicyStatus(id: $id, status: $s) { status } }";

/// `base` with the keys of `patch` replaced.
fn patched(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().expect("patch is an object") {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn a_policy_round_trips_with_every_field() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let axa = app.create_company(&admin, "AXA").await;
    let saham = app.create_company(&admin, "SAHAM").await;
    let ngono = app.create_client(&admin, "Ngono").await;
    let biya = app.create_client(&admin, "Biya").await;

    let coverage = json!({
        "thirdParty": true,
        "limits": {"bodily": 50000000, "material": "illimité"},
        "deductibles": [100, 250.5],
        "options": {"glass": false, "assistance": {"km": 50}}
    });
    let input = json!({
        "number": "AUTO/2026/0042", "clientId": ngono, "companyId": axa, "productName": "Tous risques",
        "productType": "AUTO", "premium": "125000", "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31",
        "coverage": coverage
    });
    let created = admin.ok(CREATE_POLICY, json!({"i": input})).await["createPolicy"].clone();
    assert_eq!(created["number"], "AUTO/2026/0042");
    assert_eq!(created["productName"], "Tous risques");
    assert_eq!(created["productType"], "AUTO");
    assert_eq!(created["status"], "DRAFT", "status defaults to DRAFT");
    assert_eq!(created["premium"], "125000", "the premium comes back exactly, in whole francs");
    assert_eq!(created["currency"], "XAF", "currency defaults to XAF");
    assert_eq!(created["effectiveDate"], "2026-01-01");
    assert_eq!(created["expiryDate"], "2026-12-31");
    assert_eq!(created["coverage"], coverage);
    assert_eq!(created["client"]["id"], ngono);
    assert_eq!(created["client"]["lastName"], "Ngono");
    assert_eq!(created["company"]["id"], axa);
    assert_eq!(created["company"]["code"], "AXA");
    let id = id_of(&created);

    let read = admin.ok(READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(without_times(&read), without_times(&created));
    let by_number = admin.ok(POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await["policyByNumber"].clone();
    assert_eq!(without_times(&by_number), without_times(&created));

    let changes = json!({
        "id": id, "number": "HOME/2026/0007", "clientId": biya, "companyId": saham,
        "productName": "Multirisque habitation", "productType": "HOME", "status": "ACTIVE", "premium": "99.9",
        "currency": "EUR", "effectiveDate": "2026-02-01", "expiryDate": "2027-01-31", "coverage": {"fire": 1000000}
    });
    let updated = admin.ok(UPDATE_POLICY, json!({"i": changes})).await["updatePolicy"].clone();
    assert_eq!(updated["id"], id);
    assert_eq!(updated["number"], "HOME/2026/0007");
    assert_eq!(updated["productName"], "Multirisque habitation");
    assert_eq!(updated["productType"], "HOME");
    assert_eq!(updated["status"], "ACTIVE");
    assert_eq!(updated["premium"], "99.90", "EUR premiums read back to the cent");
    assert_eq!(updated["currency"], "EUR");
    assert_eq!(updated["effectiveDate"], "2026-02-01");
    assert_eq!(updated["expiryDate"], "2027-01-31");
    assert_eq!(updated["coverage"], json!({"fire": 1000000}), "coverage is replaced whole");
    assert_eq!(updated["client"]["id"], biya);
    assert_eq!(updated["company"]["id"], saham);
    let read = admin.ok(READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    assert_eq!(admin.err(POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await, "NOT_FOUND", "the old number is gone");

    // Only the fields given change.
    let partial = admin.ok(UPDATE_POLICY, json!({"i": {"id": id, "premium": "7"}})).await["updatePolicy"].clone();
    assert_eq!(partial["premium"], "7.00", "in the policy's currency, EUR");
    assert_eq!(partial["number"], "HOME/2026/0007");
    assert_eq!(partial["coverage"], json!({"fire": 1000000}));
    assert_eq!(partial["status"], "ACTIVE");

    let d = admin.ok(DELETE_POLICY, json!({"id": id})).await;
    assert_eq!(d["deletePolicy"], true);
    assert_eq!(admin.err(READ_POLICY, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(admin.err(DELETE_POLICY, json!({"id": id})).await, "NOT_FOUND");
}

#[tokio::test]
async fn a_policy_without_optional_fields_gets_the_documented_defaults() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;

    let mut input = policy_input("MIN-1", &client, &company);
    let o = input.as_object_mut().unwrap();
    o.remove("productType");
    o.remove("coverage");
    let p = admin.ok(CREATE_POLICY, json!({"i": input})).await["createPolicy"].clone();
    assert_eq!(p["productType"], "OTHER");
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(p["currency"], "XAF");
    assert_eq!(p["coverage"], json!({}));

    let active = app
        .ok(&admin, CREATE_POLICY, json!({"i": patched(policy_input("MIN-2", &client, &company), json!({"status": "ACTIVE"}))}))
        .await;
    assert_eq!(active["createPolicy"]["status"], "ACTIVE", "a policy may start ACTIVE");
}

#[tokio::test]
async fn premiums_come_back_exactly_in_the_currencys_minor_unit() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;

    // Rounded half-even to the minor unit: cents in EUR, whole francs in XAF, mils in KWD.
    let cases = [
        ("EUR", "125000.50", "125000.50"),
        ("EUR", "125000.5", "125000.50"),
        ("EUR", "0.01", "0.01"),
        ("EUR", "7", "7.00"),
        ("EUR", "1.500", "1.50"),
        ("EUR", "1.005", "1.00"),
        ("EUR", "1.015", "1.02"),
        ("EUR", "9999999999.99", "9999999999.99"),
        ("XAF", "125000", "125000"),
        ("XAF", "125000.50", "125000"),
        ("XAF", "125001.50", "125002"),
        ("XAF", "0.6", "1"),
        ("KWD", "1.2345", "1.234"),
        ("JPY", "1999.5", "2000"),
    ];
    for (n, (code, given, expected)) in cases.into_iter().enumerate() {
        let input = patched(policy_input(&format!("PREM-{n}"), &client, &company), json!({"premium": given, "currency": code}));
        let d = admin.ok(CREATE_POLICY, json!({"i": input})).await;
        assert_eq!(d["createPolicy"]["premium"], expected, "{given} {code}");
        let read = admin.ok(READ_POLICY, json!({"id": id_of(&d["createPolicy"])})).await;
        assert_eq!(read["policy"]["premium"], expected, "{given} {code} read back");
    }
}

#[tokio::test]
async fn invalid_policy_input_is_bad_user_input_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;

    let cases = [
        ("zero premium", json!({"premium": "0"}), "input.premium"),
        ("zero premium with decimals", json!({"premium": "0.00"}), "input.premium"),
        ("negative premium", json!({"premium": "-1"}), "input.premium"),
        ("a premium that rounds to nothing", json!({"premium": "0.4"}), "input.premium"),
        ("a premium that rounds to nothing in cents", json!({"premium": "0.004", "currency": "EUR"}), "input.premium"),
        ("unknown currency", json!({"currency": "ABC"}), "input.currency"),
        ("blank currency", json!({"currency": ""}), "input.currency"),
        ("expiry before effective", json!({"effectiveDate": "2026-06-01", "expiryDate": "2026-01-01"}), "input.expiryDate"),
        ("expiry on the effective day", json!({"effectiveDate": "2026-06-01", "expiryDate": "2026-06-01"}), "input.expiryDate"),
        ("empty number", json!({"number": ""}), "input.number"),
        ("blank number", json!({"number": "   "}), "input.number"),
        ("number with a space", json!({"number": "POL 1"}), "input.number"),
        ("empty product name", json!({"productName": ""}), "input.productName"),
        ("a final initial status", json!({"status": "CANCELLED"}), "input.status"),
        ("a malformed client id", json!({"clientId": "not-an-id"}), "input.clientId"),
        ("a malformed company id", json!({"companyId": "not-an-id"}), "input.companyId"),
        ("coverage that is not an object", json!({"coverage": [1, 2]}), "input.coverage"),
    ];
    for (n, (what, patch, expected)) in cases.into_iter().enumerate() {
        let input = patched(policy_input(&format!("V-{n}"), &client, &company), patch);
        assert_bad_input(&admin.err(CREATE_POLICY, json!({"i": input})).await, expected, what);
    }
    let d = admin.ok("{ policies { totalCount } }", json!({})).await;
    assert_eq!(d["policies"]["totalCount"], 0, "nothing invalid was written");

    // Updates are checked the same way, and a refused update changes nothing.
    let id = app.create_policy(&admin, "OK-1", &client, &company).await;
    let cases = [
        ("zero premium", json!({"premium": "0"}), "input.premium"),
        ("a premium that rounds to nothing", json!({"premium": "0.2"}), "input.premium"),
        ("unknown currency", json!({"currency": "ABC"}), "input.currency"),
        ("expiry before the kept effective date", json!({"expiryDate": "2025-01-01"}), "input.expiryDate"),
        ("effective after the kept expiry date", json!({"effectiveDate": "2030-01-01"}), "input.effectiveDate"),
        ("empty number", json!({"number": ""}), "input.number"),
    ];
    for (what, patch, expected) in cases {
        let refusal = admin.err(UPDATE_POLICY, json!({"i": patched(json!({"id": id}), patch)})).await;
        assert_bad_input(&refusal, expected, what);
    }
    let p = admin.ok(READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(p["number"], "OK-1");
    assert_eq!(p["premium"], "125000");
    assert_eq!(p["currency"], "XAF");
    assert_eq!(p["effectiveDate"], "2026-01-01");
    assert_eq!(p["expiryDate"], "2027-01-01");
}

#[tokio::test]
async fn taken_numbers_and_clients_and_companies_in_use_are_conflicts() {
    // Company codes taken: `companies::company_codes_are_unique_per_organization`.
    let app = spawn_app().await;
    let acme = app.register("acme", "admin@acme.test").await;
    let globex = app.register("globex", "admin@globex.test").await;
    let axa = app.create_company(&acme, "AXA").await;
    let globex_axa = app.create_company(&globex, "AXA").await;
    let saham = app.create_company(&acme, "SAHAM").await;

    // Policy numbers are unique per organization.
    let client = app.create_client(&acme, "Ngono").await;
    let first = app.create_policy(&acme, "POL-1", &client, &axa).await;
    assert_eq!(acme.err(CREATE_POLICY, json!({"i": policy_input("POL-1", &client, &saham)})).await, "CONFLICT");
    let globex_client = app.create_client(&globex, "Biya").await;
    app.create_policy(&globex, "POL-1", &globex_client, &globex_axa).await;
    let second = app.create_policy(&acme, "POL-2", &client, &axa).await;
    let refusal = acme.err(UPDATE_POLICY, json!({"i": {"id": second, "number": "POL-1"}})).await;
    assert_eq!(refusal, "CONFLICT", "renaming onto a taken number");

    // A client or a company with policies cannot go.
    assert_eq!(acme.err(DELETE_CLIENT, json!({"id": client})).await, "CONFLICT");
    assert_eq!(acme.err(DELETE_COMPANY, json!({"id": axa})).await, "CONFLICT");
    acme.ok(READ_CLIENT, json!({"id": client})).await;
    acme.ok(READ_COMPANY, json!({"id": axa})).await;

    // Once the policies are gone, they can.
    for id in [&first, &second] {
        assert_eq!(acme.ok(DELETE_POLICY, json!({"id": id})).await["deletePolicy"], true);
    }
    assert_eq!(acme.ok(DELETE_CLIENT, json!({"id": client})).await["deleteClient"], true);
    assert_eq!(acme.ok(DELETE_COMPANY, json!({"id": axa})).await["deleteCompany"], true);

    // And a freed number or code can be used again.
    let client = app.create_client(&acme, "Ngono").await;
    app.create_policy(&acme, "POL-1", &client, &saham).await;
    app.create_company(&acme, "AXA").await;
}

#[tokio::test]
async fn policy_status_follows_the_life_cycle() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;
    let status_of = |body: Value| body["setPolicyStatus"]["status"].as_str().unwrap_or_default().to_string();

    // DRAFT → ACTIVE → SUSPENDED → ACTIVE → CANCELLED.
    let p = app.create_policy(&admin, "LC-1", &client, &company).await;
    for to in ["ACTIVE", "SUSPENDED", "ACTIVE", "CANCELLED"] {
        assert_eq!(status_of(admin.ok(SET_STATUS, json!({"id": p, "s": to})).await), to);
    }
    // CANCELLED is final.
    for to in ["ACTIVE", "SUSPENDED", "EXPIRED", "DRAFT"] {
        assert_bad_input(&admin.err(SET_STATUS, json!({"id": p, "s": to})).await, "status", &format!("CANCELLED → {to}"));
    }
    let refusal = admin.err(UPDATE_POLICY, json!({"i": {"id": p, "status": "ACTIVE"}})).await;
    assert_bad_input(&refusal, "input.status", "CANCELLED → ACTIVE through updatePolicy");
    assert_eq!(admin.ok(READ_POLICY, json!({"id": p})).await["policy"]["status"], "CANCELLED");
    // The same status changes nothing.
    assert_eq!(status_of(admin.ok(SET_STATUS, json!({"id": p, "s": "CANCELLED"})).await), "CANCELLED");

    // EXPIRED is final.
    let q = app.create_policy(&admin, "LC-2", &client, &company).await;
    for to in ["ACTIVE", "EXPIRED"] {
        assert_eq!(status_of(admin.ok(SET_STATUS, json!({"id": q, "s": to})).await), to);
    }
    for to in ["ACTIVE", "SUSPENDED", "CANCELLED", "DRAFT"] {
        assert_bad_input(&admin.err(SET_STATUS, json!({"id": q, "s": to})).await, "status", &format!("EXPIRED → {to}"));
    }
    assert_eq!(admin.ok(READ_POLICY, json!({"id": q})).await["policy"]["status"], "EXPIRED");

    // A draft can be activated or cancelled, nothing else.
    let r = app.create_policy(&admin, "LC-3", &client, &company).await;
    for to in ["SUSPENDED", "EXPIRED"] {
        assert_bad_input(&admin.err(SET_STATUS, json!({"id": r, "s": to})).await, "status", &format!("DRAFT → {to}"));
    }
    assert_eq!(admin.ok(READ_POLICY, json!({"id": r})).await["policy"]["status"], "DRAFT");
    assert_eq!(status_of(admin.ok(SET_STATUS, json!({"id": r, "s": "CANCELLED"})).await), "CANCELLED");

    // SUSPENDED may expire; updatePolicy may make an allowed move.
    let s = app.create_policy(&admin, "LC-4", &client, &company).await;
    let d = admin.ok(UPDATE_POLICY, json!({"i": {"id": s, "status": "ACTIVE"}})).await;
    assert_eq!(d["updatePolicy"]["status"], "ACTIVE");
    for to in ["SUSPENDED", "EXPIRED"] {
        assert_eq!(status_of(admin.ok(SET_STATUS, json!({"id": s, "s": to})).await), to);
    }
}

#[tokio::test]
async fn policy_by_number_finds_the_policy_and_an_unknown_number_is_not_found() {
    let app = spawn_app().await;
    let acme = app.register("acme", "admin@acme.test").await;
    let globex = app.register("globex", "admin@globex.test").await;
    let company = app.create_company(&acme, "AXA").await;
    let client = app.create_client(&acme, "Ngono").await;
    let id = app.create_policy(&acme, "AUTO/2026/0042", &client, &company).await;

    let d = acme.ok(POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await;
    assert_eq!(d["policyByNumber"]["id"], id);
    assert_eq!(d["policyByNumber"]["number"], "AUTO/2026/0042");

    assert_eq!(acme.err(POLICY_BY_NUMBER, json!({"n": "AUTO/2026/9999"})).await, "NOT_FOUND");
    assert_eq!(globex.err(POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await, "NOT_FOUND", "another organization's number");
}
