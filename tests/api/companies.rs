//! Insurance companies through GraphQL: the round trip with every field, validation naming the
//! field at fault, unique codes per organization, and search by name, code or contact e-mail.

use serde_json::{Value, json};

use crate::helpers::*;

macro_rules! company_fields {
    () => {
        "id name code contactEmail phone address apiMode apiEndpoint createdAt updatedAt"
    };
}

pub const CREATE_COMPANY: &str =
    concat!("mutation($i: CreateCompanyInput!) { createCompany(input: $i) { ", company_fields!(), " } }");
pub const UPDATE_COMPANY: &str =
    concat!("mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { ", company_fields!(), " } }");
pub const READ_COMPANY: &str = concat!("query($id: ID!) { company(id: $id) { ", company_fields!(), " } }");
pub const DELETE_COMPANY: &str = "mutation($id: ID!) { deleteCompany(id: $id) }";

#[tokio::test]
async fn a_company_round_trips_through_create_read_update_and_delete() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let input = json!({
        "name": "AXA Cameroun", "code": "AXA", "contactEmail": "contact@axa.cm", "phone": "+237 699 00 00 00",
        "address": "Rue Joss, Douala", "apiMode": "REST", "apiEndpoint": "https://api.axa.cm/v1"
    });
    let created = admin.ok(CREATE_COMPANY, json!({"i": input})).await["createCompany"].clone();
    for key in ["name", "code", "contactEmail", "phone", "address", "apiMode", "apiEndpoint"] {
        assert_eq!(created[key], input[key], "{key}");
    }
    assert!(created["createdAt"].is_string() && created["updatedAt"].is_string(), "{created:#}");
    let id = id_of(&created);

    let read = admin.ok(READ_COMPANY, json!({"id": id})).await["company"].clone();
    assert_eq!(without_times(&read), without_times(&created));

    let changes = json!({
        "id": id, "name": "AXA Assurances", "code": "AXA-CM", "contactEmail": "claims@axa.cm",
        "phone": "+237 233 00 00 00", "address": "Avenue Kennedy, Yaoundé", "apiMode": "MOCK", "apiEndpoint": ""
    });
    let updated = admin.ok(UPDATE_COMPANY, json!({"i": changes})).await["updateCompany"].clone();
    for key in ["name", "code", "contactEmail", "phone", "address", "apiMode"] {
        assert_eq!(updated[key], changes[key], "{key}");
    }
    assert_eq!(updated["apiEndpoint"], Value::Null, "a blank endpoint clears it");
    assert_eq!(updated["id"], id);
    let read = admin.ok(READ_COMPANY, json!({"id": id})).await["company"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    // Only the fields given change.
    let partial = admin.ok(UPDATE_COMPANY, json!({"i": {"id": id, "phone": "+237 222 11 11 11"}})).await;
    assert_eq!(partial["updateCompany"]["phone"], "+237 222 11 11 11");
    assert_eq!(partial["updateCompany"]["name"], "AXA Assurances");
    assert_eq!(partial["updateCompany"]["code"], "AXA-CM");

    assert_eq!(admin.ok(DELETE_COMPANY, json!({"id": id})).await["deleteCompany"], true);
    assert_eq!(admin.err(READ_COMPANY, json!({"id": id})).await, "NOT_FOUND");
    assert_eq!(admin.err(DELETE_COMPANY, json!({"id": id})).await, "NOT_FOUND");
}

#[tokio::test]
async fn invalid_company_input_is_bad_user_input_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let cases = [
        ("a bad contact e-mail", json!({"name": "AXA", "code": "AXA", "contactEmail": "nope"}), "input.contactEmail"),
        ("an empty code", json!({"name": "AXA", "code": ""}), "input.code"),
        ("a code with a space", json!({"name": "AXA", "code": "A X"}), "input.code"),
        ("an empty name", json!({"name": " ", "code": "AXA"}), "input.name"),
        ("an endpoint that is not a URL", json!({"name": "AXA", "code": "AXA", "apiEndpoint": "ftp://axa"}), "input.apiEndpoint"),
    ];
    for (what, input, expected) in cases {
        assert_bad_input(&admin.err(CREATE_COMPANY, json!({"i": input})).await, expected, what);
    }
    let company = app.create_company(&admin, "AXA").await;
    let refusal = admin.err(UPDATE_COMPANY, json!({"i": {"id": company, "contactEmail": "x@"}})).await;
    assert_bad_input(&refusal, "input.contactEmail", "a bad contact e-mail on update");
}

#[tokio::test]
async fn company_codes_are_unique_per_organization() {
    let app = spawn_app().await;
    let acme = app.register("acme", "admin@acme.test").await;
    let globex = app.register("globex", "admin@globex.test").await;

    app.create_company(&acme, "AXA").await;
    assert_eq!(acme.err(CREATE_COMPANY, json!({"i": {"name": "AXA bis", "code": "AXA"}})).await, "CONFLICT");
    app.create_company(&globex, "AXA").await;
    let saham = app.create_company(&acme, "SAHAM").await;
    let refusal = acme.err(UPDATE_COMPANY, json!({"i": {"id": saham, "code": "AXA"}})).await;
    assert_eq!(refusal, "CONFLICT", "renaming onto a taken code");
}

#[tokio::test]
async fn companies_are_found_by_name_code_or_contact_email() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = |name: &str, code: &str, email: &str| json!({"i": {"name": name, "code": code, "contactEmail": email}});
    admin.ok(CREATE_COMPANY, company("AXA Cameroun", "AXA", "contact@axa.cm")).await;
    admin.ok(CREATE_COMPANY, company("Saham Assurance", "SAHAM", "info@sanlam.cm")).await;

    let companies = "query($s: String) { companies(filter: {search: $s}, orderBy: [{field: NAME}]) { edges { node { name } } } }";
    for (search, expected) in [
        ("axa", vec!["AXA Cameroun"]),
        ("SANLAM", vec!["Saham Assurance"]),
        ("assur", vec!["Saham Assurance"]),
        ("saham", vec!["Saham Assurance"]),
        ("", vec!["AXA Cameroun", "Saham Assurance"]),
        ("nothing-like-it", vec![]),
    ] {
        let d = admin.ok(companies, json!({"s": search})).await;
        let names: Vec<&str> =
            d["companies"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, expected, "company search {search:?}");
    }
}
