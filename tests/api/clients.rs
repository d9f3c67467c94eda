//! Clients through GraphQL: the round trip with every field (and the owner), validation naming the
//! field at fault, and search by name, company name, reference or e-mail.

use serde_json::{Value, json};

use crate::helpers::*;

macro_rules! client_fields {
    () => {
        "id kind firstName lastName companyName displayName email phone address externalRef owner { id } createdAt updatedAt"
    };
}

pub const CREATE_CLIENT: &str =
    concat!("mutation($i: CreateClientInput!) { createClient(input: $i) { ", client_fields!(), " } }");
pub const UPDATE_CLIENT: &str =
    concat!("mutation($i: UpdateClientInput!) { updateClient(input: $i) { ", client_fields!(), " } }");
pub const READ_CLIENT: &str = concat!("query($id: ID!) { client(id: $id) { ", client_fields!(), " } }");
pub const DELETE_CLIENT: &str = "mutation($id: ID!) { deleteClient(id: $id) }";

#[tokio::test]
async fn a_client_round_trips_through_create_read_update_and_delete() {
    let app = spawn_app().await;
    let org = app.org("acme").await;

    let input = json!({
        "kind": "PERSON", "firstName": "Ann", "lastName": "Ngono", "email": "ann.ngono@example.cm",
        "phone": "+237 677 11 22 33", "address": "Bastos, Yaoundé", "externalRef": "CRM-0042", "ownerId": org.agent.id
    });
    let created = org.admin.ok(CREATE_CLIENT, json!({"i": input})).await["createClient"].clone();
    for key in ["kind", "firstName", "lastName", "email", "phone", "address", "externalRef"] {
        assert_eq!(created[key], input[key], "{key}");
    }
    assert_eq!(created["companyName"], Value::Null);
    assert_eq!(created["displayName"], "Ann Ngono");
    assert_eq!(created["owner"]["id"], org.agent.id);
    let id = id_of(&created);

    let read = org.admin.ok(READ_CLIENT, json!({"id": id})).await["client"].clone();
    assert_eq!(without_times(&read), without_times(&created));

    // Without `ownerId`, the caller owns the client.
    let mine = org.manager.ok(CREATE_CLIENT, json!({"i": {"lastName": "Biya"}})).await["createClient"].clone();
    assert_eq!(mine["owner"]["id"], org.manager.id);
    assert_eq!(mine["kind"], "PERSON", "kind defaults to PERSON");

    let changes = json!({
        "id": id, "kind": "BUSINESS", "companyName": "Ngono & Fils SARL", "email": "contact@ngono.cm",
        "phone": "", "address": "Akwa, Douala", "externalRef": "CRM-0043", "ownerId": org.manager.id
    });
    let updated = org.admin.ok(UPDATE_CLIENT, json!({"i": changes})).await["updateClient"].clone();
    for key in ["kind", "companyName", "email", "address", "externalRef"] {
        assert_eq!(updated[key], changes[key], "{key}");
    }
    assert_eq!(updated["phone"], Value::Null, "a blank phone clears it");
    assert_eq!(updated["firstName"], "Ann", "fields not given are kept");
    assert_eq!(updated["lastName"], "Ngono");
    assert_eq!(updated["displayName"], "Ngono & Fils SARL");
    assert_eq!(updated["owner"]["id"], org.manager.id);
    let read = org.admin.ok(READ_CLIENT, json!({"id": id})).await["client"].clone();
    assert_eq!(without_times(&read), without_times(&updated));

    assert_eq!(org.admin.ok(DELETE_CLIENT, json!({"id": id})).await["deleteClient"], true);
    assert_eq!(org.admin.err(READ_CLIENT, json!({"id": id})).await, "NOT_FOUND");
}

#[tokio::test]
async fn invalid_client_input_is_bad_user_input_naming_the_field() {
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
        assert_bad_input(&admin.err(CREATE_CLIENT, json!({"i": input})).await, expected, what);
    }

    let client = app.create_client(&admin, "Ngono").await;
    let refusal = admin.err(UPDATE_CLIENT, json!({"i": {"id": client, "lastName": ""}})).await;
    assert_bad_input(&refusal, "input.lastName", "clearing a person's last name");
    let refusal = admin.err(UPDATE_CLIENT, json!({"i": {"id": client, "email": "nope"}})).await;
    assert_bad_input(&refusal, "input.email", "a bad e-mail on update");
}

#[tokio::test]
async fn clients_are_found_by_name_company_name_reference_or_email() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    for client in [
        json!({"kind": "PERSON", "firstName": "Ann", "lastName": "Ngono", "email": "ann@ngono.cm"}),
        json!({"kind": "PERSON", "firstName": "Paul", "lastName": "Biya", "email": "paul@example.com", "externalRef": "CRM-77"}),
        json!({"kind": "BUSINESS", "companyName": "Brasseries du Cameroun", "email": "contact@sabc.cm"}),
    ] {
        admin.ok(CREATE_CLIENT, json!({"i": client})).await;
    }

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
        let d = admin.ok(clients, json!({"s": search})).await;
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
}
