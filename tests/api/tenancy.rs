//! Tenancy: another organization's objects answer `NOT_FOUND` everywhere (reads, `node`, lists,
//! writes, references in inputs), and anonymous callers read nothing. The role table is in `roles`.

mod roles;

use serde_json::{Value, json};

use crate::helpers::*;

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";
const READ_COMPANY: &str = "query($id: ID!) { company(id: $id) { id name code updatedAt } }";
const READ_CLIENT: &str =
    "query($id: ID!) { client(id: $id) { id kind firstName lastName email owner { id } updatedAt } }";
const READ_POLICY: &str = "query($id: ID!) { policy(id: $id) { id number productName status premium client { id } company { id } updatedAt } }";
const READ_USER: &str = "query($id: ID!) { user(id: $id) { id email fullName role isActive updatedAt } }";
const BY_NUMBER: &str = "query($n: String!) { policyByNumber(number: $n) { id } }";

const CREATE_COMPANY: &str = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }";
const UPDATE_COMPANY: &str = "mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { id name } }";
const DELETE_COMPANY: &str = "mutation($id: ID!) { deleteCompany(id: $id) }";
const CREATE_CLIENT: &str = "mutation($i: CreateClientInput!) { createClient(input: $i) { id owner { id email } } }";
const UPDATE_CLIENT: &str = "mutation($i: UpdateClientInput!) { updateClient(input: $i) { id lastName owner { id } } }";
const DELETE_CLIENT: &str = "mutation($id: ID!) { deleteClient(id: $id) }";
const CREATE_POLICY: &str = "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }";
const UPDATE_POLICY: &str = "mutation($i: UpdatePolicyInput!) { updatePolicy(input: $i) { id productName } }";
const SET_STATUS: &str = "mutation($id: ID!, $s: PolicyStatus!) { setPolicyStatus(id: $id, status: $s) { id status } }";
const DELETE_POLICY: &str = "mutation($id: ID!) { deletePolicy(id: $id) }";

/// Asserts `body` failed with `expected` and carries no data; `what` names the operation in messages.
fn assert_refused(body: &Value, expected: &str, what: &str) {
    let got = body["errors"][0]["extensions"]["code"].as_str();
    assert_eq!(got, Some(expected), "{what}: {body:#}");
    let data = &body["data"];
    let empty = match data {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(Value::is_null),
        _ => false,
    };
    assert!(empty, "{what} answered {expected} but still returned data: {body:#}");
}

/// Runs `query` as `actor` and asserts it fails with `expected`, returning nothing.
async fn refused(actor: &User, expected: &str, query: &str, vars: Value) {
    let body = actor.run(query, vars.clone()).await;
    assert_refused(&body, expected, &format!("{query} with {vars} as {}", actor.email));
}

/// The `id`s of a connection's nodes.
fn ids(conn: &Value) -> Vec<String> {
    let nodes = conn["nodes"].as_array().unwrap_or_else(|| panic!("not a connection: {conn:#}"));
    nodes.iter().map(|n| n["id"].as_str().expect("node id").to_string()).collect()
}

fn client_input(last_name: &str, owner: Option<&str>) -> Value {
    json!({"kind": "PERSON", "firstName": "Ann", "lastName": last_name, "ownerId": owner})
}

/// Reads one object by `query` (one of the `READ_*`), as a whole JSON value to compare before and after.
async fn read(actor: &User, query: &str, id: &str) -> Value {
    let d = actor.ok(query, json!({"id": id})).await;
    let (_, v) = d.as_object().and_then(|m| m.iter().next()).expect("one root field");
    assert!(!v.is_null(), "{query} for {id} answered null");
    v.clone()
}

async fn current_session(actor: &User) -> String {
    let d = actor.ok("{ sessions { id current } }", json!({})).await;
    let sessions = d["sessions"].as_array().expect("sessions");
    let current = sessions.iter().find(|s| s["current"] == true).expect("the current session is listed");
    current["id"].as_str().unwrap().to_string()
}

async fn organization_id(actor: &User) -> String {
    actor.ok("{ organization { id } }", json!({})).await["organization"]["id"].as_str().unwrap().to_string()
}

/// Organization A (an admin and an agent; a company, the agent's client, a policy) and organization
/// B (only its admin, with a company of the same code, a client and a policy).
struct Tenants {
    app: TestApp,
    a_admin: User,
    a_agent: User,
    a_company: String,
    a_client: String,
    a_policy: String,
    b: User,
    b_company: String,
    b_client: String,
    b_policy: String,
}

async fn tenants() -> Tenants {
    let app = spawn_app().await;
    let a_admin = app.register("alpha", "admin@alpha.test").await;
    let a_agent = app.create_user(&a_admin, "agent@alpha.test", "AGENT").await;
    let a_company = app.create_company(&a_admin, "AXA").await;
    let a_client = app.create_client(&a_agent, "Alphonse").await;
    let a_policy = app.create_policy(&a_agent, "A-0001", &a_client, &a_company).await;
    let b = app.register("beta", "admin@beta.test").await;
    let b_company = app.create_company(&b, "AXA").await;
    let b_client = app.create_client(&b, "Bertrand").await;
    let b_policy = app.create_policy(&b, "B-0001", &b_client, &b_company).await;
    Tenants { app, a_admin, a_agent, a_company, a_client, a_policy, b, b_company, b_client, b_policy }
}

#[tokio::test]
async fn another_tenants_objects_are_not_found_through_their_own_queries() {
    let t = tenants().await;
    let cases = [
        (READ_COMPANY, json!({"id": t.a_company})),
        (READ_CLIENT, json!({"id": t.a_client})),
        (READ_POLICY, json!({"id": t.a_policy})),
        (READ_USER, json!({"id": t.a_agent.id})),
        (READ_USER, json!({"id": t.a_admin.id})),
        (BY_NUMBER, json!({"n": "A-0001"})),
    ];
    for (query, vars) in cases {
        refused(&t.b, "NOT_FOUND", query, vars).await;
    }
    // The same queries find B's own objects: the answers above are the tenant boundary.
    read(&t.b, READ_COMPANY, &t.b_company).await;
    read(&t.b, READ_CLIENT, &t.b_client).await;
    read(&t.b, READ_POLICY, &t.b_policy).await;
    let d = t.b.ok(BY_NUMBER, json!({"n": "B-0001"})).await;
    assert_eq!(d["policyByNumber"]["id"], t.b_policy.as_str());
}

#[tokio::test]
async fn a_policy_number_used_by_two_tenants_finds_the_callers_own() {
    let t = tenants().await;
    let a_twin = t.app.create_policy(&t.a_agent, "SHARED-1", &t.a_client, &t.a_company).await;
    let b_twin = t.app.create_policy(&t.b, "SHARED-1", &t.b_client, &t.b_company).await;
    let d = t.b.ok(BY_NUMBER, json!({"n": "SHARED-1"})).await;
    assert_eq!(d["policyByNumber"]["id"], b_twin.as_str());
    let d = t.a_admin.ok(BY_NUMBER, json!({"n": "SHARED-1"})).await;
    assert_eq!(d["policyByNumber"]["id"], a_twin.as_str());
}

#[tokio::test]
async fn another_tenants_objects_are_not_found_through_node() {
    let t = tenants().await;
    let b = &t.b;
    let a_org = organization_id(&t.a_admin).await;
    let a_session = current_session(&t.a_agent).await;
    let theirs = [&a_org, &t.a_admin.id, &t.a_agent.id, &a_session, &t.a_company, &t.a_client, &t.a_policy];
    for id in theirs {
        refused(b, "NOT_FOUND", NODE, json!({"id": id})).await;
    }
    // Not an ID at all answers the same.
    refused(b, "NOT_FOUND", NODE, json!({"id": "not-an-id"})).await;

    // Their owners reach every one of them through `node`, with the right type.
    let own = [
        (&t.a_admin, &a_org, "Organization"),
        (&t.a_admin, &t.a_agent.id, "User"),
        (&t.a_agent, &a_session, "Session"),
        (&t.a_admin, &t.a_company, "Company"),
        (&t.a_admin, &t.a_client, "Client"),
        (&t.a_agent, &t.a_policy, "Policy"),
    ];
    for (actor, id, typename) in own {
        let d = actor.ok(NODE, json!({"id": id})).await;
        assert_eq!(d["node"]["__typename"], typename);
        assert_eq!(d["node"]["id"], id.as_str());
    }
}

#[tokio::test]
async fn another_tenants_objects_never_appear_in_lists() {
    let t = tenants().await;
    let lists = "{ organization { name } companies { totalCount nodes { id } } clients { totalCount nodes { id } }
        policies { totalCount nodes { id } } users { totalCount nodes { id } }
        axa: companies(filter: {search: \"AXA\"}) { totalCount } ann: clients(filter: {search: \"ann\"}) { totalCount }
        numbered: policies(filter: {search: \"0001\"}) { totalCount } alpha: users(filter: {search: \"alpha\"}) { totalCount } }";

    let d = t.b.ok(lists, json!({})).await;
    assert_eq!(d["organization"]["name"], "beta");
    assert_eq!((d["companies"]["totalCount"].clone(), ids(&d["companies"])), (json!(1), vec![t.b_company.clone()]));
    assert_eq!((d["clients"]["totalCount"].clone(), ids(&d["clients"])), (json!(1), vec![t.b_client.clone()]));
    assert_eq!((d["policies"]["totalCount"].clone(), ids(&d["policies"])), (json!(1), vec![t.b_policy.clone()]));
    assert_eq!((d["users"]["totalCount"].clone(), ids(&d["users"])), (json!(1), vec![t.b.id.clone()]));
    // Searches that match rows of both tenants still count only the caller's.
    assert_eq!([&d["axa"], &d["ann"], &d["numbered"]].map(|c| c["totalCount"].clone()), [json!(1), json!(1), json!(1)]);
    assert_eq!(d["alpha"]["totalCount"], 0);

    let d = t.a_admin.ok(lists, json!({})).await;
    assert_eq!(d["organization"]["name"], "alpha");
    assert_eq!(ids(&d["companies"]), [t.a_company.clone()]);
    assert_eq!(ids(&d["clients"]), [t.a_client.clone()]);
    assert_eq!(ids(&d["policies"]), [t.a_policy.clone()]);
    assert_eq!(d["users"]["totalCount"], 2);
}

#[tokio::test]
async fn another_tenants_companies_cannot_be_changed_or_deleted() {
    let t = tenants().await;
    let (app, b) = (&t.app, &t.b);
    let unused = app.create_company(&t.a_admin, "UNUSED").await;
    let before =
        [read(&t.a_admin, READ_COMPANY, &t.a_company).await, read(&t.a_admin, READ_COMPANY, &unused).await];

    let rename = |id: &str| json!({"i": {"id": id, "name": "Hijacked", "code": "HIJ"}});
    refused(b, "NOT_FOUND", UPDATE_COMPANY, rename(&t.a_company)).await;
    refused(b, "NOT_FOUND", UPDATE_COMPANY, rename(&unused)).await;
    refused(b, "NOT_FOUND", DELETE_COMPANY, json!({"id": unused})).await;
    refused(b, "NOT_FOUND", DELETE_COMPANY, json!({"id": t.a_company})).await;

    let after =
        [read(&t.a_admin, READ_COMPANY, &t.a_company).await, read(&t.a_admin, READ_COMPANY, &unused).await];
    assert_eq!(before, after);
}

#[tokio::test]
async fn another_tenants_clients_cannot_be_changed_or_deleted() {
    let t = tenants().await;
    let (app, b) = (&t.app, &t.b);
    let without_policies = app.create_client(&t.a_agent, "Spare").await;
    let before = [
        read(&t.a_agent, READ_CLIENT, &t.a_client).await,
        read(&t.a_agent, READ_CLIENT, &without_policies).await,
    ];

    let rename = |id: &str| json!({"i": {"id": id, "lastName": "Hijacked", "ownerId": t.b.id}});
    refused(b, "NOT_FOUND", UPDATE_CLIENT, rename(&t.a_client)).await;
    refused(b, "NOT_FOUND", UPDATE_CLIENT, rename(&without_policies)).await;
    refused(b, "NOT_FOUND", DELETE_CLIENT, json!({"id": without_policies})).await;
    refused(b, "NOT_FOUND", DELETE_CLIENT, json!({"id": t.a_client})).await;

    let after = [
        read(&t.a_agent, READ_CLIENT, &t.a_client).await,
        read(&t.a_agent, READ_CLIENT, &without_policies).await,
    ];
    assert_eq!(before, after);
}

#[tokio::test]
async fn another_tenants_policies_cannot_be_changed_or_deleted() {
    let t = tenants().await;
    let b = &t.b;
    let before = read(&t.a_agent, READ_POLICY, &t.a_policy).await;

    let change = json!({"i": {"id": t.a_policy, "productName": "Hijacked", "premium": "1.00", "clientId": t.b_client}});
    refused(b, "NOT_FOUND", UPDATE_POLICY, change).await;
    for status in ["ACTIVE", "CANCELLED"] {
        refused(b, "NOT_FOUND", SET_STATUS, json!({"id": t.a_policy, "s": status})).await;
    }
    refused(b, "NOT_FOUND", DELETE_POLICY, json!({"id": t.a_policy})).await;

    assert_eq!(read(&t.a_agent, READ_POLICY, &t.a_policy).await, before);
}

#[tokio::test]
async fn another_tenants_users_cannot_be_changed_or_deactivated() {
    let t = tenants().await;
    let b = &t.b;
    let users = [&t.a_agent, &t.a_admin];
    let mut before = Vec::new();
    for u in users {
        before.push(read(&t.a_admin, READ_USER, &u.id).await);
    }

    for u in users {
        let change = json!({"i": {"id": u.id, "fullName": "Hijacked", "email": "hijacked@beta.test", "role": "AGENT"}});
        refused(b, "NOT_FOUND", "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }", change).await;
        refused(b, "NOT_FOUND", "mutation($id: ID!) { deactivateUser(id: $id) }", json!({"id": u.id})).await;
    }

    let mut after = Vec::new();
    for u in users {
        after.push(read(&t.a_admin, READ_USER, &u.id).await);
        // Their tokens still work: nothing was deactivated or revoked.
        let me = u.ok("{ me { id isActive } }", json!({})).await;
        assert_eq!(me["me"]["isActive"], true);
    }
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_policy_cannot_point_at_another_tenants_client_or_company() {
    let t = tenants().await;
    let (app, b) = (&t.app, &t.b);
    let create = |number: &str, client: &str, company: &str| json!({"i": policy_input(number, client, company)});
    refused(b, "NOT_FOUND", CREATE_POLICY, create("B-0002", &t.a_client, &t.b_company)).await;
    refused(b, "NOT_FOUND", CREATE_POLICY, create("B-0003", &t.b_client, &t.a_company)).await;
    refused(b, "NOT_FOUND", CREATE_POLICY, create("B-0004", &t.a_client, &t.a_company)).await;

    let before = read(b, READ_POLICY, &t.b_policy).await;
    refused(b, "NOT_FOUND", UPDATE_POLICY, json!({"i": {"id": t.b_policy, "clientId": t.a_client}})).await;
    refused(b, "NOT_FOUND", UPDATE_POLICY, json!({"i": {"id": t.b_policy, "companyId": t.a_company}})).await;
    assert_eq!(read(b, READ_POLICY, &t.b_policy).await, before);

    let counts = "{ policies { totalCount } clients { totalCount } }";
    assert_eq!(
        b.ok(counts, json!({})).await,
        json!({"policies": {"totalCount": 1}, "clients": {"totalCount": 1}})
    );
    let d = app
        .ok(&t.a_admin, "query($id: ID!) { company(id: $id) { policies { totalCount } } }", json!({"id": t.a_company}))
        .await;
    assert_eq!(d["company"]["policies"]["totalCount"], 1);
}

#[tokio::test]
async fn a_client_cannot_be_given_to_another_tenants_user() {
    let t = tenants().await;
    let (app, b) = (&t.app, &t.b);
    let body = b.run(CREATE_CLIENT, json!({"i": client_input("Gift", Some(t.a_agent.id.as_str()))})).await;
    // Rejected without saying that the user exists elsewhere (never FORBIDDEN).
    let code = body["errors"][0]["extensions"]["code"].as_str();
    assert!(matches!(code, Some("NOT_FOUND" | "BAD_USER_INPUT")), "{body:#}");
    let body = b.run(UPDATE_CLIENT, json!({"i": {"id": t.b_client, "ownerId": t.a_agent.id}})).await;
    let code = body["errors"][0]["extensions"]["code"].as_str();
    assert!(matches!(code, Some("NOT_FOUND" | "BAD_USER_INPUT")), "{body:#}");

    let d = app
        .ok(b, "query($id: ID!) { clients { totalCount } client(id: $id) { owner { id } } }", json!({"id": t.b_client}))
        .await;
    assert_eq!(d["clients"]["totalCount"], 1);
    assert_eq!(d["client"]["owner"]["id"], t.b.id.as_str());
    assert_eq!(t.a_agent.ok("{ clients { totalCount } }", json!({})).await["clients"]["totalCount"], 1);
}

#[tokio::test]
async fn another_tenants_session_cannot_be_revoked() {
    let t = tenants().await;
    let session = current_session(&t.a_agent).await;
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    refused(&t.b, "NOT_FOUND", revoke, json!({"id": session})).await;
    // Sessions are their user's alone: not even the agent's own admin may revoke this one by ID.
    refused(&t.a_admin, "NOT_FOUND", revoke, json!({"id": session})).await;

    assert_eq!(current_session(&t.a_agent).await, session);
}

#[tokio::test]
async fn anonymous_requests_are_unauthenticated_everywhere() {
    let app = spawn_app().await;
    let admin = app.register("alpha", "admin@alpha.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;
    let policy = app.create_policy(&admin, "A-0001", &client, &company).await;
    let org = organization_id(&admin).await;
    let session = current_session(&admin).await;

    let none = json!({});
    let cases = [
        ("{ companies { totalCount nodes { id } } }", none.clone()),
        ("{ clients { totalCount nodes { id } } }", none.clone()),
        ("{ policies { totalCount nodes { id } } }", none.clone()),
        ("{ users { totalCount nodes { id } } }", none.clone()),
        ("{ me { id } }", none.clone()),
        ("{ organization { id } }", none.clone()),
        ("{ sessions { id } }", none.clone()),
        (READ_COMPANY, json!({"id": company})),
        (READ_CLIENT, json!({"id": client})),
        (READ_POLICY, json!({"id": policy})),
        (READ_USER, json!({"id": admin.id})),
        (BY_NUMBER, json!({"n": "A-0001"})),
        (NODE, json!({"id": org})),
        (NODE, json!({"id": admin.id})),
        (NODE, json!({"id": session})),
        (NODE, json!({"id": company})),
        (NODE, json!({"id": client})),
        (NODE, json!({"id": policy})),
        (CREATE_COMPANY, json!({"i": {"name": "Anon", "code": "ANON"}})),
        (CREATE_CLIENT, json!({"i": client_input("Anon", None)})),
        (SET_STATUS, json!({"id": policy, "s": "ACTIVE"})),
        (DELETE_CLIENT, json!({"id": client})),
    ];
    for (query, vars) in cases {
        let body = app.graphql(query, vars.clone()).await;
        assert_refused(&body, "UNAUTHENTICATED", &format!("anonymous {query} with {vars}"));
    }
    assert_eq!(read(&admin, READ_POLICY, &policy).await["status"], "DRAFT");
}
