//! Companies, clients and policies through GraphQL: round trips with every field, validation
//! with the field at fault, conflicts, the status life cycle, Relay pagination, filters, ordering
//! and the SQL statement budget of a list page.

use serde_json::{Value, json};

use crate::helpers::*;

macro_rules! company_fields {
    () => {
        "id name code contactEmail phone address apiMode apiEndpoint createdAt updatedAt"
    };
}
macro_rules! client_fields {
    () => {
        "id kind firstName lastName companyName displayName email phone address externalRef owner { id } createdAt updatedAt"
    };
}
macro_rules! policy_fields {
    () => {
        "id number productName productType status premium currency effectiveDate expiryDate coverage \
         client { id lastName } company { id code } createdAt updatedAt"
    };
}

const CREATE_COMPANY: &str =
    concat!("mutation($i: CreateCompanyInput!) { createCompany(input: $i) { ", company_fields!(), " } }");
const UPDATE_COMPANY: &str =
    concat!("mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { ", company_fields!(), " } }");
const READ_COMPANY: &str = concat!("query($id: ID!) { company(id: $id) { ", company_fields!(), " } }");
const DELETE_COMPANY: &str = "mutation($id: ID!) { deleteCompany(id: $id) }";

const CREATE_CLIENT: &str =
    concat!("mutation($i: CreateClientInput!) { createClient(input: $i) { ", client_fields!(), " } }");
const UPDATE_CLIENT: &str =
    concat!("mutation($i: UpdateClientInput!) { updateClient(input: $i) { ", client_fields!(), " } }");
const READ_CLIENT: &str = concat!("query($id: ID!) { client(id: $id) { ", client_fields!(), " } }");
const DELETE_CLIENT: &str = "mutation($id: ID!) { deleteClient(id: $id) }";

const CREATE_POLICY: &str =
    concat!("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { ", policy_fields!(), " } }");
const UPDATE_POLICY: &str =
    concat!("mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { ", policy_fields!(), " } }");
const READ_POLICY: &str = concat!("query($id: ID!) { policy(id: $id) { ", policy_fields!(), " } }");
const POLICY_BY_NUMBER: &str =
    concat!("query($n: String!) { policyByNumber(number: $n) { ", policy_fields!(), " } }");
const DELETE_POLICY: &str = "mutation($id: ID!) { deletePolicy(id: $id) }";
const SET_STATUS: &str = "mutation($id: ID!, $s: PolicyStatus!) { setPolicyStatus(id: $id, status: $s) { status } }";

const POLICY_PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: PolicyFilter, $order: [PolicyOrder!]) {
  policies(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { number } }
  }
}";

/// The `extensions.field` of the first error.
fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"].as_str().unwrap_or_else(|| panic!("no error field in {body:#}"))
}

fn assert_bad_input(body: &Value, expected_field: &str, what: &str) {
    assert_eq!(code(body), "BAD_USER_INPUT", "{what}: {body:#}");
    assert_eq!(field(body), expected_field, "{what}: {body:#}");
}

/// The object without its timestamps, to compare what was written with what is read.
fn without_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("createdAt");
        o.remove("updatedAt");
    }
    v
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v:#}")).to_string()
}

/// `base` with the keys of `patch` replaced.
fn patched(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().expect("patch is an object") {
        base[k] = v.clone();
    }
    base
}

/// The policy numbers of a connection, in order.
fn numbers(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {conn:#}"))
        .iter()
        .map(|e| e["node"]["number"].as_str().expect("a number").to_string())
        .collect()
}

async fn page(app: &TestApp, actor: &Actor, vars: Value) -> Value {
    app.ok(actor, POLICY_PAGE, vars).await["policies"].clone()
}

/// The numbers of the policies matching `filter`, by number.
async fn matching(app: &TestApp, actor: &Actor, filter: Value) -> Vec<String> {
    numbers(&page(app, actor, json!({"first": 100, "filter": filter, "order": [{"field": "NUMBER"}]})).await)
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_company_round_trips_through_create_read_update_and_delete() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let input = json!({
        "name": "AXA Cameroun", "code": "AXA", "contactEmail": "contact@axa.cm", "phone": "+237 699 00 00 00",
        "address": "Rue Joss, Douala", "apiMode": "REST", "apiEndpoint": "https://api.axa.cm/v1"
    });
    let created = app.ok(&admin, CREATE_COMPANY, json!({"i": input})).await["createCompany"].clone();
    for key in ["name", "code", "contactEmail", "phone", "address", "apiMode", "apiEndpoint"] {
        assert_eq!(created[key], input[key], "{key}");
    }
    assert!(created["createdAt"].is_string() && created["updatedAt"].is_string(), "{created:#}");
    let id = id_of(&created);

    let read = app.ok(&admin, READ_COMPANY, json!({"id": id})).await["company"].clone();
    assert_eq!(without_times(&read), without_times(&created));

    let changes = json!({
        "id": id, "name": "AXA Assurances", "code": "AXA-CM", "contactEmail": "claims@axa.cm",
        "phone": "+237 233 00 00 00", "address": "Avenue Kennedy, Yaoundé", "apiMode": "MOCK", "apiEndpoint": ""
    });
    let updated = app.ok(&admin, UPDATE_COMPANY, json!({"i": changes})).await["updateCompany"].clone();
    for key in ["name", "code", "contactEmail", "phone", "address", "apiMode"] {
        assert_eq!(updated[key], changes[key], "{key}");
    }
    assert_eq!(updated["apiEndpoint"], Value::Null, "a blank endpoint clears it");
    assert_eq!(updated["id"], id);
    let read = app.ok(&admin, READ_COMPANY, json!({"id": id})).await["company"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    // Only the fields given change.
    let partial = app.ok(&admin, UPDATE_COMPANY, json!({"i": {"id": id, "phone": "+237 222 11 11 11"}})).await;
    assert_eq!(partial["updateCompany"]["phone"], "+237 222 11 11 11");
    assert_eq!(partial["updateCompany"]["name"], "AXA Assurances");
    assert_eq!(partial["updateCompany"]["code"], "AXA-CM");

    let d = app.ok(&admin, DELETE_COMPANY, json!({"id": id})).await;
    assert_eq!(d["deleteCompany"], true);
    let body = app.as_(&admin, READ_COMPANY, json!({"id": id})).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app.as_(&admin, DELETE_COMPANY, json!({"id": id})).await;
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn a_client_round_trips_through_create_read_update_and_delete() {
    let app = spawn_app().await;
    let org = app.org("acme").await;

    let input = json!({
        "kind": "PERSON", "firstName": "Ann", "lastName": "Ngono", "email": "ann.ngono@example.cm",
        "phone": "+237 677 11 22 33", "address": "Bastos, Yaoundé", "externalRef": "CRM-0042", "ownerId": org.agent.id
    });
    let created = app.ok(&org.admin, CREATE_CLIENT, json!({"i": input})).await["createClient"].clone();
    for key in ["kind", "firstName", "lastName", "email", "phone", "address", "externalRef"] {
        assert_eq!(created[key], input[key], "{key}");
    }
    assert_eq!(created["companyName"], Value::Null);
    assert_eq!(created["displayName"], "Ann Ngono");
    assert_eq!(created["owner"]["id"], org.agent.id);
    let id = id_of(&created);

    let read = app.ok(&org.admin, READ_CLIENT, json!({"id": id})).await["client"].clone();
    assert_eq!(without_times(&read), without_times(&created));

    // Without `ownerId`, the caller owns the client.
    let mine = app.ok(&org.manager, CREATE_CLIENT, json!({"i": {"lastName": "Biya"}})).await["createClient"].clone();
    assert_eq!(mine["owner"]["id"], org.manager.id);
    assert_eq!(mine["kind"], "PERSON", "kind defaults to PERSON");

    let changes = json!({
        "id": id, "kind": "BUSINESS", "companyName": "Ngono & Fils SARL", "email": "contact@ngono.cm",
        "phone": "", "address": "Akwa, Douala", "externalRef": "CRM-0043", "ownerId": org.manager.id
    });
    let updated = app.ok(&org.admin, UPDATE_CLIENT, json!({"i": changes})).await["updateClient"].clone();
    for key in ["kind", "companyName", "email", "address", "externalRef"] {
        assert_eq!(updated[key], changes[key], "{key}");
    }
    assert_eq!(updated["phone"], Value::Null, "a blank phone clears it");
    assert_eq!(updated["firstName"], "Ann", "fields not given are kept");
    assert_eq!(updated["lastName"], "Ngono");
    assert_eq!(updated["displayName"], "Ngono & Fils SARL");
    assert_eq!(updated["owner"]["id"], org.manager.id);
    let read = app.ok(&org.admin, READ_CLIENT, json!({"id": id})).await["client"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    let d = app.ok(&org.admin, DELETE_CLIENT, json!({"id": id})).await;
    assert_eq!(d["deleteClient"], true);
    let body = app.as_(&org.admin, READ_CLIENT, json!({"id": id})).await;
    assert_eq!(code(&body), "NOT_FOUND");
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
        "productType": "AUTO", "premium": "125000.50", "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31",
        "coverage": coverage
    });
    let created = app.ok(&admin, CREATE_POLICY, json!({"i": input})).await["createPolicy"].clone();
    assert_eq!(created["number"], "AUTO/2026/0042");
    assert_eq!(created["productName"], "Tous risques");
    assert_eq!(created["productType"], "AUTO");
    assert_eq!(created["status"], "DRAFT", "status defaults to DRAFT");
    assert_eq!(created["premium"], "125000.50", "the premium comes back exactly");
    assert_eq!(created["currency"], "XAF", "currency defaults to XAF");
    assert_eq!(created["effectiveDate"], "2026-01-01");
    assert_eq!(created["expiryDate"], "2026-12-31");
    assert_eq!(created["coverage"], coverage);
    assert_eq!(created["client"]["id"], ngono);
    assert_eq!(created["client"]["lastName"], "Ngono");
    assert_eq!(created["company"]["id"], axa);
    assert_eq!(created["company"]["code"], "AXA");
    let id = id_of(&created);

    let read = app.ok(&admin, READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(without_times(&read), without_times(&created));
    let by_number = app.ok(&admin, POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await["policyByNumber"].clone();
    assert_eq!(without_times(&by_number), without_times(&created));

    let changes = json!({
        "id": id, "number": "HOME/2026/0007", "clientId": biya, "companyId": saham,
        "productName": "Multirisque habitation", "productType": "HOME", "status": "ACTIVE", "premium": "99.9",
        "currency": "EUR", "effectiveDate": "2026-02-01", "expiryDate": "2027-01-31", "coverage": {"fire": 1000000}
    });
    let updated = app.ok(&admin, UPDATE_POLICY, json!({"i": changes})).await["updatePolicy"].clone();
    assert_eq!(updated["id"], id);
    assert_eq!(updated["number"], "HOME/2026/0007");
    assert_eq!(updated["productName"], "Multirisque habitation");
    assert_eq!(updated["productType"], "HOME");
    assert_eq!(updated["status"], "ACTIVE");
    assert_eq!(updated["premium"], "99.90", "premiums read back to the hundredth");
    assert_eq!(updated["currency"], "EUR");
    assert_eq!(updated["effectiveDate"], "2026-02-01");
    assert_eq!(updated["expiryDate"], "2027-01-31");
    assert_eq!(updated["coverage"], json!({"fire": 1000000}), "coverage is replaced whole");
    assert_eq!(updated["client"]["id"], biya);
    assert_eq!(updated["company"]["id"], saham);
    let read = app.ok(&admin, READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    let body = app.as_(&admin, POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await;
    assert_eq!(code(&body), "NOT_FOUND", "the old number is gone");

    // Only the fields given change.
    let partial = app.ok(&admin, UPDATE_POLICY, json!({"i": {"id": id, "premium": "7"}})).await["updatePolicy"].clone();
    assert_eq!(partial["premium"], "7.00");
    assert_eq!(partial["number"], "HOME/2026/0007");
    assert_eq!(partial["coverage"], json!({"fire": 1000000}));
    assert_eq!(partial["status"], "ACTIVE");

    let d = app.ok(&admin, DELETE_POLICY, json!({"id": id})).await;
    assert_eq!(d["deletePolicy"], true);
    let body = app.as_(&admin, READ_POLICY, json!({"id": id})).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app.as_(&admin, DELETE_POLICY, json!({"id": id})).await;
    assert_eq!(code(&body), "NOT_FOUND");
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
    let p = app.ok(&admin, CREATE_POLICY, json!({"i": input})).await["createPolicy"].clone();
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
async fn premiums_come_back_exactly_to_the_hundredth() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;

    let cases = [
        ("125000.50", "125000.50"),
        ("125000.5", "125000.50"),
        ("0.01", "0.01"),
        ("7", "7.00"),
        ("19.99", "19.99"),
        ("1.500", "1.50"),
        ("9999999999.99", "9999999999.99"),
    ];
    for (n, (given, expected)) in cases.into_iter().enumerate() {
        let input = patched(policy_input(&format!("PREM-{n}"), &client, &company), json!({"premium": given}));
        let d = app.ok(&admin, CREATE_POLICY, json!({"i": input})).await;
        assert_eq!(d["createPolicy"]["premium"], expected, "{given}");
        let read = app.ok(&admin, READ_POLICY, json!({"id": id_of(&d["createPolicy"])})).await;
        assert_eq!(read["policy"]["premium"], expected, "{given} read back");
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

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
        ("three decimal places", json!({"premium": "1.005"}), "input.premium"),
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
        let body = app.as_(&admin, CREATE_POLICY, json!({"i": input})).await;
        assert_bad_input(&body, expected, what);
    }
    let d = app.ok(&admin, "{ policies { totalCount } }", json!({})).await;
    assert_eq!(d["policies"]["totalCount"], 0, "nothing invalid was written");

    // Updates are checked the same way, and a refused update changes nothing.
    let id = app.create_policy(&admin, "OK-1", &client, &company).await;
    let cases = [
        ("zero premium", json!({"premium": "0"}), "input.premium"),
        ("three decimal places", json!({"premium": "1.005"}), "input.premium"),
        ("unknown currency", json!({"currency": "ABC"}), "input.currency"),
        ("expiry before the kept effective date", json!({"expiryDate": "2025-01-01"}), "input.expiryDate"),
        ("effective after the kept expiry date", json!({"effectiveDate": "2030-01-01"}), "input.effectiveDate"),
        ("empty number", json!({"number": ""}), "input.number"),
    ];
    for (what, patch, expected) in cases {
        let body = app.as_(&admin, UPDATE_POLICY, json!({"i": patched(json!({"id": id}), patch)})).await;
        assert_bad_input(&body, expected, what);
    }
    let p = app.ok(&admin, READ_POLICY, json!({"id": id})).await["policy"].clone();
    assert_eq!(p["number"], "OK-1");
    assert_eq!(p["premium"], "125000.50");
    assert_eq!(p["currency"], "XAF");
    assert_eq!(p["effectiveDate"], "2026-01-01");
    assert_eq!(p["expiryDate"], "2027-01-01");
}

#[tokio::test]
async fn invalid_client_and_company_input_is_bad_user_input_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let cases = [
        ("a person without a last name", json!({"kind": "PERSON", "firstName": "Ann"}), "input.lastName"),
        ("a person with a blank last name", json!({"kind": "PERSON", "lastName": "   "}), "input.lastName"),
        ("a bad e-mail", json!({"kind": "PERSON", "lastName": "Ngono", "email": "not-an-email"}), "input.email"),
        ("an e-mail without a domain", json!({"kind": "PERSON", "lastName": "Ngono", "email": "ann@"}), "input.email"),
        ("a business without a company name", json!({"kind": "BUSINESS", "lastName": "Ngono"}), "input.companyName"),
        ("a bad phone", json!({"kind": "PERSON", "lastName": "Ngono", "phone": "call me"}), "input.phone"),
    ];
    for (what, input, expected) in cases {
        let body = app.as_(&admin, CREATE_CLIENT, json!({"i": input})).await;
        assert_bad_input(&body, expected, what);
    }

    let client = app.create_client(&admin, "Ngono").await;
    let body = app.as_(&admin, UPDATE_CLIENT, json!({"i": {"id": client, "lastName": ""}})).await;
    assert_bad_input(&body, "input.lastName", "clearing a person's last name");
    let body = app.as_(&admin, UPDATE_CLIENT, json!({"i": {"id": client, "email": "nope"}})).await;
    assert_bad_input(&body, "input.email", "a bad e-mail on update");

    let cases = [
        ("a bad contact e-mail", json!({"name": "AXA", "code": "AXA", "contactEmail": "nope"}), "input.contactEmail"),
        ("an empty code", json!({"name": "AXA", "code": ""}), "input.code"),
        ("a code with a space", json!({"name": "AXA", "code": "A X"}), "input.code"),
        ("an empty name", json!({"name": " ", "code": "AXA"}), "input.name"),
        ("an endpoint that is not a URL", json!({"name": "AXA", "code": "AXA", "apiEndpoint": "ftp://axa"}), "input.apiEndpoint"),
    ];
    for (what, input, expected) in cases {
        let body = app.as_(&admin, CREATE_COMPANY, json!({"i": input})).await;
        assert_bad_input(&body, expected, what);
    }
    let company = app.create_company(&admin, "AXA").await;
    let body = app.as_(&admin, UPDATE_COMPANY, json!({"i": {"id": company, "contactEmail": "x@"}})).await;
    assert_bad_input(&body, "input.contactEmail", "a bad contact e-mail on update");
}

// ---------------------------------------------------------------------------------------------
// Conflicts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn taken_codes_and_numbers_and_deletes_in_use_are_conflicts() {
    let app = spawn_app().await;
    let acme = app.register("acme", "admin@acme.test").await;
    let globex = app.register("globex", "admin@globex.test").await;

    // Company codes are unique per organization.
    let axa = app.create_company(&acme, "AXA").await;
    let body = app.as_(&acme, CREATE_COMPANY, json!({"i": {"name": "AXA bis", "code": "AXA"}})).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    let globex_axa = app.create_company(&globex, "AXA").await;
    let saham = app.create_company(&acme, "SAHAM").await;
    let body = app.as_(&acme, UPDATE_COMPANY, json!({"i": {"id": saham, "code": "AXA"}})).await;
    assert_eq!(code(&body), "CONFLICT", "renaming onto a taken code: {body:#}");

    // Policy numbers are unique per organization.
    let client = app.create_client(&acme, "Ngono").await;
    let first = app.create_policy(&acme, "POL-1", &client, &axa).await;
    let body = app.as_(&acme, CREATE_POLICY, json!({"i": policy_input("POL-1", &client, &saham)})).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    let globex_client = app.create_client(&globex, "Biya").await;
    app.create_policy(&globex, "POL-1", &globex_client, &globex_axa).await;
    let second = app.create_policy(&acme, "POL-2", &client, &axa).await;
    let body = app.as_(&acme, UPDATE_POLICY, json!({"i": {"id": second, "number": "POL-1"}})).await;
    assert_eq!(code(&body), "CONFLICT", "renaming onto a taken number: {body:#}");

    // A client or a company with policies cannot go.
    let body = app.as_(&acme, DELETE_CLIENT, json!({"id": client})).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    let body = app.as_(&acme, DELETE_COMPANY, json!({"id": axa})).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    app.ok(&acme, READ_CLIENT, json!({"id": client})).await;
    app.ok(&acme, READ_COMPANY, json!({"id": axa})).await;

    // Once the policies are gone, they can.
    for id in [&first, &second] {
        assert_eq!(app.ok(&acme, DELETE_POLICY, json!({"id": id})).await["deletePolicy"], true);
    }
    assert_eq!(app.ok(&acme, DELETE_CLIENT, json!({"id": client})).await["deleteClient"], true);
    assert_eq!(app.ok(&acme, DELETE_COMPANY, json!({"id": axa})).await["deleteCompany"], true);

    // And a freed number or code can be used again.
    let client = app.create_client(&acme, "Ngono").await;
    app.create_policy(&acme, "POL-1", &client, &saham).await;
    app.create_company(&acme, "AXA").await;
}

// ---------------------------------------------------------------------------------------------
// Status life cycle
// ---------------------------------------------------------------------------------------------

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
        assert_eq!(status_of(app.ok(&admin, SET_STATUS, json!({"id": p, "s": to})).await), to);
    }
    // CANCELLED is final.
    for to in ["ACTIVE", "SUSPENDED", "EXPIRED", "DRAFT"] {
        let body = app.as_(&admin, SET_STATUS, json!({"id": p, "s": to})).await;
        assert_bad_input(&body, "status", &format!("CANCELLED → {to}"));
    }
    let body = app.as_(&admin, UPDATE_POLICY, json!({"i": {"id": p, "status": "ACTIVE"}})).await;
    assert_bad_input(&body, "input.status", "CANCELLED → ACTIVE through updatePolicy");
    assert_eq!(app.ok(&admin, READ_POLICY, json!({"id": p})).await["policy"]["status"], "CANCELLED");
    // The same status changes nothing.
    assert_eq!(status_of(app.ok(&admin, SET_STATUS, json!({"id": p, "s": "CANCELLED"})).await), "CANCELLED");

    // EXPIRED is final.
    let q = app.create_policy(&admin, "LC-2", &client, &company).await;
    for to in ["ACTIVE", "EXPIRED"] {
        assert_eq!(status_of(app.ok(&admin, SET_STATUS, json!({"id": q, "s": to})).await), to);
    }
    for to in ["ACTIVE", "SUSPENDED", "CANCELLED", "DRAFT"] {
        let body = app.as_(&admin, SET_STATUS, json!({"id": q, "s": to})).await;
        assert_bad_input(&body, "status", &format!("EXPIRED → {to}"));
    }
    assert_eq!(app.ok(&admin, READ_POLICY, json!({"id": q})).await["policy"]["status"], "EXPIRED");

    // A draft can be activated or cancelled, nothing else.
    let r = app.create_policy(&admin, "LC-3", &client, &company).await;
    for to in ["SUSPENDED", "EXPIRED"] {
        let body = app.as_(&admin, SET_STATUS, json!({"id": r, "s": to})).await;
        assert_bad_input(&body, "status", &format!("DRAFT → {to}"));
    }
    assert_eq!(app.ok(&admin, READ_POLICY, json!({"id": r})).await["policy"]["status"], "DRAFT");
    assert_eq!(status_of(app.ok(&admin, SET_STATUS, json!({"id": r, "s": "CANCELLED"})).await), "CANCELLED");

    // SUSPENDED may expire; updatePolicy may make an allowed move.
    let s = app.create_policy(&admin, "LC-4", &client, &company).await;
    let d = app.ok(&admin, UPDATE_POLICY, json!({"i": {"id": s, "status": "ACTIVE"}})).await;
    assert_eq!(d["updatePolicy"]["status"], "ACTIVE");
    for to in ["SUSPENDED", "EXPIRED"] {
        assert_eq!(status_of(app.ok(&admin, SET_STATUS, json!({"id": s, "s": to})).await), to);
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

    let d = app.ok(&acme, POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await;
    assert_eq!(d["policyByNumber"]["id"], id);
    assert_eq!(d["policyByNumber"]["number"], "AUTO/2026/0042");

    let body = app.as_(&acme, POLICY_BY_NUMBER, json!({"n": "AUTO/2026/9999"})).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body:#}");
    let body = app.as_(&globex, POLICY_BY_NUMBER, json!({"n": "AUTO/2026/0042"})).await;
    assert_eq!(code(&body), "NOT_FOUND", "another organization's number: {body:#}");
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn policies_paginate_forwards_and_backwards_with_relay_cursors() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;
    let mut ids = Vec::new();
    for n in 1..=7 {
        ids.push(app.create_policy(&admin, &format!("P-{n:02}"), &client, &company).await);
    }
    let order = json!([{"field": "NUMBER", "direction": "ASC"}]);

    let p1 = page(&app, &admin, json!({"first": 3, "order": order})).await;
    assert_eq!(numbers(&p1), ["P-01", "P-02", "P-03"]);
    assert_eq!(p1["totalCount"], 7);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(p1["pageInfo"]["endCursor"], p1["edges"][2]["cursor"]);
    assert_eq!(p1["pageInfo"]["startCursor"], p1["edges"][0]["cursor"]);

    let p2 = page(&app, &admin, json!({"first": 3, "after": p1["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(numbers(&p2), ["P-04", "P-05", "P-06"]);
    assert_eq!(p2["totalCount"], 7);
    assert_eq!(p2["pageInfo"]["hasNextPage"], true);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);

    let p3 = page(&app, &admin, json!({"first": 3, "after": p2["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(numbers(&p3), ["P-07"]);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    assert_eq!(p3["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(p3["totalCount"], 7);

    // Backwards: the last two, then the two before P-05.
    let tail = page(&app, &admin, json!({"last": 2, "order": order})).await;
    assert_eq!(numbers(&tail), ["P-06", "P-07"]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tail["pageInfo"]["hasNextPage"], false);
    assert_eq!(tail["totalCount"], 7);

    let before_p05 = &p2["edges"][1]["cursor"];
    let back = page(&app, &admin, json!({"last": 2, "before": before_p05, "order": order})).await;
    assert_eq!(numbers(&back), ["P-03", "P-04"]);
    assert_eq!(back["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(back["pageInfo"]["hasNextPage"], true);

    // Between two cursors.
    let between = page(
        &app,
        &admin,
        json!({"first": 10, "after": p1["edges"][1]["cursor"], "before": p2["edges"][2]["cursor"], "order": order}),
    )
    .await;
    assert_eq!(numbers(&between), ["P-03", "P-04", "P-05"]);

    // The default order (newest first) pages without gaps or repeats.
    let all = numbers(&page(&app, &admin, json!({"first": 100})).await);
    assert_eq!(all.len(), 7);
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(&app, &admin, json!({"first": 3, "after": after})).await;
        walked.extend(numbers(&p));
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
        assert!(walked.len() <= 7, "paging does not end: {walked:?}");
    }
    assert_eq!(walked, all);

    // Without first or last, a default page; a huge `first` is capped, not refused.
    let default = page(&app, &admin, json!({"order": order})).await;
    assert_eq!(numbers(&default).len(), 7);
    let huge = page(&app, &admin, json!({"first": 1000, "order": order})).await;
    let n = numbers(&huge).len();
    assert!(n <= 100 && n == 7, "{n}");

    // Negative sizes and garbage cursors are the client's mistake.
    for (vars, expected) in [
        (json!({"first": -1}), "first"),
        (json!({"last": -1}), "last"),
        (json!({"first": 3, "after": "garbage"}), "after"),
        (json!({"last": 3, "before": "garbage"}), "before"),
        (json!({"first": 3, "after": "not a cursor!"}), "after"),
        (json!({"first": 3, "after": ids[0]}), "after"),
    ] {
        let body = app.as_(&admin, POLICY_PAGE, vars.clone()).await;
        assert_bad_input(&body, expected, &vars.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Filters and ordering
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lists_filter_and_order_as_asked() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let company = |name: &str, code: &str, email: &str| json!({"i": {"name": name, "code": code, "contactEmail": email}});
    let axa = id_of(&app.ok(&admin, CREATE_COMPANY, company("AXA Cameroun", "AXA", "contact@axa.cm")).await["createCompany"]);
    let saham =
        id_of(&app.ok(&admin, CREATE_COMPANY, company("Saham Assurance", "SAHAM", "info@sanlam.cm")).await["createCompany"]);

    let ngono = json!({"kind": "PERSON", "firstName": "Ann", "lastName": "Ngono", "email": "ann@ngono.cm"});
    let biya = json!({"kind": "PERSON", "firstName": "Paul", "lastName": "Biya", "email": "paul@example.com", "externalRef": "CRM-77"});
    let sabc = json!({"kind": "BUSINESS", "companyName": "Brasseries du Cameroun", "email": "contact@sabc.cm"});
    let ngono = id_of(&app.ok(&admin, CREATE_CLIENT, json!({"i": ngono})).await["createClient"]);
    let biya = id_of(&app.ok(&admin, CREATE_CLIENT, json!({"i": biya})).await["createClient"]);
    app.ok(&admin, CREATE_CLIENT, json!({"i": sabc})).await;

    let policies = [
        ("AUTO-001", &ngono, &axa, "Tous risques", "AUTO", "ACTIVE", "100", "2026-01-01", "2027-01-01"),
        ("AUTO-002", &biya, &axa, "Tiers", "AUTO", "DRAFT", "300", "2026-03-01", "2026-09-01"),
        ("HOME-001", &ngono, &saham, "Habitation", "HOME", "ACTIVE", "200", "2026-06-01", "2027-06-01"),
        ("LIFE-001", &biya, &saham, "Vie entière", "LIFE", "DRAFT", "50.50", "2025-01-01", "2026-02-01"),
    ];
    for (number, client, company, product, kind, status, premium, effective, expiry) in policies {
        let input = json!({
            "number": number, "clientId": client, "companyId": company, "productName": product,
            "productType": kind, "status": status, "premium": premium, "effectiveDate": effective, "expiryDate": expiry
        });
        app.ok(&admin, CREATE_POLICY, json!({"i": input})).await;
    }

    // Policies.
    let cases = [
        (json!({}), vec!["AUTO-001", "AUTO-002", "HOME-001", "LIFE-001"]),
        (json!({"status": "ACTIVE"}), vec!["AUTO-001", "HOME-001"]),
        (json!({"statuses": ["DRAFT", "ACTIVE"]}), vec!["AUTO-001", "AUTO-002", "HOME-001", "LIFE-001"]),
        (json!({"statuses": []}), vec!["AUTO-001", "AUTO-002", "HOME-001", "LIFE-001"]),
        (json!({"productType": "AUTO"}), vec!["AUTO-001", "AUTO-002"]),
        (json!({"productType": "TRAVEL"}), vec![]),
        (json!({"companyId": saham}), vec!["HOME-001", "LIFE-001"]),
        (json!({"clientId": biya}), vec!["AUTO-002", "LIFE-001"]),
        (json!({"search": "auto-00"}), vec!["AUTO-001", "AUTO-002"]),
        (json!({"search": "HOME"}), vec!["HOME-001"]),
        (json!({"search": "  life-001 "}), vec!["LIFE-001"]),
        (json!({"search": "habitation"}), vec!["HOME-001"]),
        (json!({"search": "%"}), vec![]),
        (json!({"search": "_"}), vec![]),
        (json!({"effectiveFrom": "2026-03-01"}), vec!["AUTO-002", "HOME-001"]),
        (json!({"effectiveTo": "2026-03-01"}), vec!["AUTO-001", "AUTO-002", "LIFE-001"]),
        (json!({"effectiveFrom": "2026-01-01", "effectiveTo": "2026-03-01"}), vec!["AUTO-001", "AUTO-002"]),
        (json!({"expiringBefore": "2026-09-01"}), vec!["LIFE-001"]),
        (json!({"expiringBefore": "2026-09-02"}), vec!["AUTO-002", "LIFE-001"]),
        (json!({"status": "DRAFT", "companyId": axa}), vec!["AUTO-002"]),
        (json!({"status": "ACTIVE", "clientId": biya}), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(matching(&app, &admin, filter.clone()).await, expected, "filter {filter}");
    }
    let d = page(&app, &admin, json!({"first": 1, "filter": {"status": "ACTIVE"}})).await;
    assert_eq!(d["totalCount"], 2, "totalCount counts the filtered list");
    let body = app.as_(&admin, POLICY_PAGE, json!({"filter": {"companyId": "not-an-id"}})).await;
    assert_bad_input(&body, "filter.companyId", "a malformed companyId filter");

    let by_premium = page(&app, &admin, json!({"order": [{"field": "PREMIUM", "direction": "DESC"}]})).await;
    assert_eq!(numbers(&by_premium), ["AUTO-002", "HOME-001", "AUTO-001", "LIFE-001"]);
    let by_number = page(&app, &admin, json!({"order": [{"field": "NUMBER", "direction": "ASC"}]})).await;
    assert_eq!(numbers(&by_number), ["AUTO-001", "AUTO-002", "HOME-001", "LIFE-001"]);
    let by_number_desc = page(&app, &admin, json!({"order": [{"field": "NUMBER", "direction": "DESC"}]})).await;
    assert_eq!(numbers(&by_number_desc), ["LIFE-001", "HOME-001", "AUTO-002", "AUTO-001"]);

    // A company's and a client's own policies.
    let d = app
        .ok(&admin, "query($id: ID!) { company(id: $id) { policies { totalCount } } }", json!({"id": saham}))
        .await;
    assert_eq!(d["company"]["policies"]["totalCount"], 2);
    let d = app
        .ok(
            &admin,
            "query($id: ID!) { client(id: $id) { policies(filter: {status: DRAFT}, orderBy: [{field: NUMBER}]) { edges { node { number } } } } }",
            json!({"id": biya}),
        )
        .await;
    assert_eq!(numbers(&d["client"]["policies"]), ["AUTO-002", "LIFE-001"]);

    // Clients by text.
    let clients = "query($s: String) { clients(filter: {search: $s}) { totalCount edges { node { displayName } } } }";
    for (search, expected) in [
        ("NGONO", vec!["Ann Ngono"]),
        ("brasseries", vec!["Brasseries du Cameroun"]),
        ("crm-77", vec!["Paul Biya"]),
        ("example.com", vec!["Paul Biya"]),
        ("paul", vec!["Paul Biya"]),
        (".cm", vec!["Ann Ngono", "Brasseries du Cameroun"]),
        ("zzz", vec![]),
        ("%", vec![]),
    ] {
        let d = app.ok(&admin, clients, json!({"s": search})).await;
        let mut names: Vec<String> = d["clients"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["displayName"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(names, expected, "client search {search:?}");
        assert_eq!(d["clients"]["totalCount"], expected.len(), "client search {search:?}");
    }

    // Companies by text (name, code or contact e-mail).
    let companies = "query($s: String) { companies(filter: {search: $s}, orderBy: [{field: NAME}]) { edges { node { name } } } }";
    for (search, expected) in [
        ("axa", vec!["AXA Cameroun"]),
        ("SANLAM", vec!["Saham Assurance"]),
        ("assur", vec!["Saham Assurance"]),
        ("saham", vec!["Saham Assurance"]),
        ("", vec!["AXA Cameroun", "Saham Assurance"]),
        ("nothing-like-it", vec![]),
    ] {
        let d = app.ok(&admin, companies, json!({"s": search})).await;
        let names: Vec<&str> =
            d["companies"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, expected, "company search {search:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Statement budget
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_page_of_policies_with_clients_and_companies_costs_a_fixed_number_of_statements() {
    // A long session cache, so a slow machine does not see the session check expire mid-test.
    let app = spawn_app_with(&[("SESSION_CACHE_SECS", "600")]).await;
    let admin = app.register("acme", "admin@acme.test").await;
    let companies = [app.create_company(&admin, "AXA").await, app.create_company(&admin, "SAHAM").await];
    let clients = [
        app.create_client(&admin, "Ngono").await,
        app.create_client(&admin, "Biya").await,
        app.create_client(&admin, "Eto'o").await,
    ];
    // 101, one more than the largest page, so the cap shows.
    for n in 0..101 {
        app.create_policy(&admin, &format!("B-{n:03}"), &clients[n % 3], &companies[n % 2]).await;
    }

    let with_count =
        "{ policies(first: 100) { totalCount edges { node { number client { lastName } company { name } } } } }";
    app.ok(&admin, "{ me { id } }", json!({})).await; // warms the session check
    let before = app.statements().await;
    let d = app.ok(&admin, with_count, json!({})).await;
    let used = app.statements().await - before;
    let edges = d["policies"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert_eq!(d["policies"]["totalCount"], 101);
    for e in edges {
        assert!(e["node"]["client"]["lastName"].is_string(), "{e:#}");
        assert!(e["node"]["company"]["name"].is_string(), "{e:#}");
    }
    assert!(used <= 4, "a page, its clients, its companies and the count: expected at most 4 statements, saw {used}");

    let without_count = "{ policies(first: 100) { edges { node { number client { lastName } company { name } } } } }";
    app.ok(&admin, "{ me { id } }", json!({})).await;
    let before = app.statements().await;
    let d = app.ok(&admin, without_count, json!({})).await;
    let used = app.statements().await - before;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert!(used <= 3, "no totalCount asked, no count run: expected at most 3 statements, saw {used}");

    // `first` and `last` beyond the cap are capped, not refused.
    let d = app.ok(&admin, "{ policies(first: 1000) { pageInfo { hasNextPage } edges { cursor } } }", json!({})).await;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(d["policies"]["pageInfo"]["hasNextPage"], true);
    let d = app.ok(&admin, "{ policies(last: 1000) { pageInfo { hasPreviousPage } edges { cursor } } }", json!({})).await;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(d["policies"]["pageInfo"]["hasPreviousPage"], true);
}
