//! The role table of API.md inside one organization, and nested fields that stay within the caller's scope.

use super::*;

/// One organization with a company, and a client and a policy for each of its two agents.
struct Office {
    app: TestApp,
    org: Org,
    company: String,
    /// The agent's client and its policy.
    client: String,
    policy: String,
    /// The second agent's client and its policy.
    client2: String,
    policy2: String,
}

async fn office() -> Office {
    let app = spawn_app().await;
    let org = app.org("alpha").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let policy = app.create_policy(&org.agent, "P-AGENT-1", &client, &company).await;
    let client2 = app.create_client(&org.agent2, "Mbarga").await;
    let policy2 = app.create_policy(&org.agent2, "P-AGENT2-1", &client2, &company).await;
    Office { app, org, company, client, policy, client2, policy2 }
}

#[tokio::test]
async fn an_agent_reads_companies_but_cannot_write_them() {
    let o = office().await;
    let (app, agent) = (&o.app, &o.org.agent);
    let unused = app.create_company(&o.org.manager, "UNUSED").await;
    let d = app
        .ok(agent, "query($id: ID!) { companies { totalCount } company(id: $id) { code } }", json!({"id": o.company}))
        .await;
    assert_eq!(d["companies"]["totalCount"], 2);
    assert_eq!(d["company"]["code"], "AXA");
    let before = read(agent, READ_COMPANY, &o.company).await;

    refused(agent, "FORBIDDEN", CREATE_COMPANY, json!({"i": {"name": "Agent Insurer", "code": "AGT"}})).await;
    refused(agent, "FORBIDDEN", UPDATE_COMPANY, json!({"i": {"id": o.company, "name": "Renamed"}})).await;
    refused(agent, "FORBIDDEN", DELETE_COMPANY, json!({"id": unused})).await;

    assert_eq!(read(agent, READ_COMPANY, &o.company).await, before);
    assert_eq!(agent.ok("{ companies { totalCount } }", json!({})).await["companies"]["totalCount"], 2);
}

#[tokio::test]
async fn managers_and_admins_write_companies() {
    let o = office().await;
    let app = &o.app;
    for (code, actor) in [("MGR", &o.org.manager), ("ADM", &o.org.admin)] {
        let id = app.create_company(actor, code).await;
        let d = actor.ok(UPDATE_COMPANY, json!({"i": {"id": id, "name": format!("Renamed {code}")}})).await;
        assert_eq!(d["updateCompany"]["name"], format!("Renamed {code}"));
        let d = actor.ok(DELETE_COMPANY, json!({"id": id})).await;
        assert_eq!(d["deleteCompany"], true);
        refused(actor, "NOT_FOUND", READ_COMPANY, json!({"id": id})).await;
    }
}

#[tokio::test]
async fn an_agent_cannot_read_another_agents_clients_or_policies() {
    let o = office().await;
    let agent2 = &o.org.agent2;
    for query in [READ_CLIENT, NODE] {
        refused(agent2, "NOT_FOUND", query, json!({"id": o.client})).await;
    }
    for query in [READ_POLICY, NODE] {
        refused(agent2, "NOT_FOUND", query, json!({"id": o.policy})).await;
    }
    refused(agent2, "NOT_FOUND", BY_NUMBER, json!({"n": "P-AGENT-1"})).await;

    let lists = "query($owner: ID!, $client: ID!) { clients { totalCount nodes { id } } policies { totalCount nodes { id client { id } } }
        byOwner: clients(filter: {ownerId: $owner}) { totalCount } byClient: policies(filter: {clientId: $client}) { totalCount } }";
    let d = agent2.ok(lists, json!({"owner": o.org.agent.id, "client": o.client})).await;
    assert_eq!((d["clients"]["totalCount"].clone(), ids(&d["clients"])), (json!(1), vec![o.client2.clone()]));
    assert_eq!((d["policies"]["totalCount"].clone(), ids(&d["policies"])), (json!(1), vec![o.policy2.clone()]));
    assert_eq!(d["policies"]["nodes"][0]["client"]["id"], json!(o.client2), "the page's client is read with it, in the agent's scope");
    assert_eq!([d["byOwner"]["totalCount"].clone(), d["byClient"]["totalCount"].clone()], [json!(0), json!(0)]);

    let d = o.org.agent.ok(lists, json!({"owner": agent2.id, "client": o.client2})).await;
    assert_eq!(ids(&d["clients"]), [o.client.clone()]);
    assert_eq!(ids(&d["policies"]), [o.policy.clone()]);
    assert_eq!([d["byOwner"]["totalCount"].clone(), d["byClient"]["totalCount"].clone()], [json!(0), json!(0)]);
}

#[tokio::test]
async fn an_agent_cannot_write_another_agents_clients_or_policies() {
    let o = office().await;
    let (app, agent, agent2) = (&o.app, &o.org.agent, &o.org.agent2);
    let without_policies = app.create_client(agent, "Spare").await;
    let before = [
        read(agent, READ_CLIENT, &o.client).await,
        read(agent, READ_CLIENT, &without_policies).await,
        read(agent, READ_POLICY, &o.policy).await,
        read(agent2, READ_POLICY, &o.policy2).await,
    ];

    refused(agent2, "NOT_FOUND", UPDATE_CLIENT, json!({"i": {"id": o.client, "lastName": "Hijacked"}})).await;
    refused(agent2, "NOT_FOUND", DELETE_CLIENT, json!({"id": without_policies})).await;
    refused(agent2, "NOT_FOUND", UPDATE_POLICY, json!({"i": {"id": o.policy, "productName": "Hijacked"}})).await;
    refused(agent2, "NOT_FOUND", SET_STATUS, json!({"id": o.policy, "s": "CANCELLED"})).await;
    refused(agent2, "NOT_FOUND", DELETE_POLICY, json!({"id": o.policy})).await;
    // Nor attach a policy to the other agent's client, new or moved.
    refused(agent2, "NOT_FOUND", CREATE_POLICY, json!({"i": policy_input("P-AGENT2-2", &o.client, &o.company)}))
        .await;
    refused(agent2, "NOT_FOUND", UPDATE_POLICY, json!({"i": {"id": o.policy2, "clientId": o.client}})).await;

    let after = [
        read(agent, READ_CLIENT, &o.client).await,
        read(agent, READ_CLIENT, &without_policies).await,
        read(agent, READ_POLICY, &o.policy).await,
        read(agent2, READ_POLICY, &o.policy2).await,
    ];
    assert_eq!(before, after);
    assert_eq!(agent.ok("{ policies { totalCount } }", json!({})).await["policies"]["totalCount"], 1);
}

#[tokio::test]
async fn an_agent_cannot_give_a_client_to_someone_else() {
    let o = office().await;
    let agent = &o.org.agent;
    for other in [&o.org.agent2, &o.org.manager] {
        let input = client_input("Gift", Some(other.id.as_str()));
        refused(agent, "FORBIDDEN", CREATE_CLIENT, json!({"i": input})).await;
    }
    refused(agent, "FORBIDDEN", UPDATE_CLIENT, json!({"i": {"id": o.client, "ownerId": o.org.agent2.id}})).await;

    // Naming themselves is allowed.
    let d = agent.ok(CREATE_CLIENT, json!({"i": client_input("Mine", Some(agent.id.as_str()))})).await;
    assert_eq!(d["createClient"]["owner"]["id"], agent.id.as_str());

    assert_eq!(o.org.agent2.ok("{ clients { totalCount } }", json!({})).await["clients"]["totalCount"], 1);
    assert_eq!(read(agent, READ_CLIENT, &o.client).await["owner"]["id"], agent.id.as_str());
}

#[tokio::test]
async fn managers_and_admins_read_and_write_every_client_and_policy_of_the_organization() {
    let o = office().await;
    let app = &o.app;
    for (i, actor) in [&o.org.manager, &o.org.admin].into_iter().enumerate() {
        let d = app
            .ok(actor, "{ clients { totalCount nodes { id } } policies { totalCount nodes { id } } }", json!({}))
            .await;
        let (mut clients, mut policies) = (ids(&d["clients"]), ids(&d["policies"]));
        clients.sort();
        policies.sort();
        let mut expected = ([o.client.clone(), o.client2.clone()], [o.policy.clone(), o.policy2.clone()]);
        expected.0.sort();
        expected.1.sort();
        assert_eq!((clients, policies), (expected.0.to_vec(), expected.1.to_vec()), "as {}", actor.email);
        for (query, id) in [(READ_CLIENT, &o.client), (NODE, &o.client), (READ_POLICY, &o.policy), (NODE, &o.policy2)] {
            read(actor, query, id).await;
        }
        let d = actor.ok(BY_NUMBER, json!({"n": "P-AGENT2-1"})).await;
        assert_eq!(d["policyByNumber"]["id"], o.policy2.as_str());

        let name = format!("Renamed{i}");
        let d = actor.ok(UPDATE_CLIENT, json!({"i": {"id": o.client, "lastName": name}})).await;
        assert_eq!(d["updateClient"]["lastName"], name.as_str());
        let policy = app.create_policy(actor, &format!("P-STAFF-{i}"), &o.client2, &o.company).await;
        let d = actor.ok(UPDATE_POLICY, json!({"i": {"id": policy, "productName": "Staff product"}})).await;
        assert_eq!(d["updatePolicy"]["productName"], "Staff product");
        let status = if i == 0 { "ACTIVE" } else { "SUSPENDED" };
        let d = actor.ok(SET_STATUS, json!({"id": o.policy, "s": status})).await;
        assert_eq!(d["setPolicyStatus"]["status"], status);
        assert_eq!(actor.ok(DELETE_POLICY, json!({"id": policy})).await["deletePolicy"], true);
        let spare = app.create_client(&o.org.agent2, "Spare").await;
        assert_eq!(actor.ok(DELETE_CLIENT, json!({"id": spare})).await["deleteClient"], true);
    }
    // The agents see what the staff changed on their clients.
    let agent = &o.org.agent;
    assert_eq!(read(agent, READ_CLIENT, &o.client).await["lastName"], "Renamed1");
    assert_eq!(read(agent, READ_POLICY, &o.policy).await["status"], "SUSPENDED");
    assert_eq!(
        o.org.agent2.ok("{ clients { totalCount } policies { totalCount } }", json!({})).await,
        json!({"clients": {"totalCount": 1}, "policies": {"totalCount": 1}})
    );
}

#[tokio::test]
async fn a_manager_can_create_a_client_for_an_agent_who_then_sees_it() {
    let o = office().await;
    let (app, agent) = (&o.app, &o.org.agent);
    let d =
        o.org.manager.ok(CREATE_CLIENT, json!({"i": client_input("Assigned", Some(agent.id.as_str()))})).await;
    assert_eq!(d["createClient"]["owner"]["email"], agent.email.as_str());
    let id = d["createClient"]["id"].as_str().unwrap().to_string();

    let d = agent
        .ok(
            "query($id: ID!) { client(id: $id) { lastName owner { email } } clients { totalCount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["client"]["lastName"], "Assigned");
    assert_eq!(d["client"]["owner"]["email"], agent.email.as_str());
    assert_eq!(d["clients"]["totalCount"], 2);
    // The agent writes it as their own.
    app.create_policy(agent, "P-ASSIGNED-1", &id, &o.company).await;
    refused(&o.org.agent2, "NOT_FOUND", READ_CLIENT, json!({"id": id})).await;
}

#[tokio::test]
async fn only_admins_list_users() {
    let app = spawn_app().await;
    let org = app.org("alpha").await;
    for actor in [&org.agent, &org.manager] {
        refused(actor, "FORBIDDEN", "{ users { totalCount nodes { id } } }", json!({})).await;
    }
    let d = org.admin.ok("{ users { totalCount } }", json!({})).await;
    assert_eq!(d["users"]["totalCount"], 4);
}

#[tokio::test]
async fn everyone_reads_themselves_but_only_admins_read_other_users() {
    let app = spawn_app().await;
    let org = app.org("alpha").await;
    let query = "query($id: ID!) { me { id } user(id: $id) { email } node(id: $id) { ... on User { email } } }";
    for actor in [&org.admin, &org.manager, &org.agent, &org.agent2] {
        let d = actor.ok(query, json!({"id": actor.id})).await;
        assert_eq!(d["me"]["id"], actor.id.as_str());
        assert_eq!(d["user"]["email"], actor.email.as_str());
        assert_eq!(d["node"]["email"], actor.email.as_str());
    }
    // A colleague below ADMIN: `user(id)` is FORBIDDEN (the role is checked before any lookup, so
    // every other ID answers alike), and `node(id)` is NOT_FOUND like anything the caller may not read.
    let colleagues = [(&org.agent, &org.agent2), (&org.agent, &org.admin), (&org.manager, &org.agent)];
    for (actor, other) in colleagues {
        refused(actor, "FORBIDDEN", READ_USER, json!({"id": other.id})).await;
        refused(actor, "NOT_FOUND", NODE, json!({"id": other.id})).await;
    }
    for q in [READ_USER, NODE] {
        assert_eq!(read(&org.admin, q, &org.agent.id).await["id"], org.agent.id.as_str());
    }
}

#[tokio::test]
async fn nested_policies_count_only_what_the_caller_may_read() {
    let o = office().await;
    let query = "query($company: ID!, $client: ID!) {
        company(id: $company) { policies { totalCount nodes { id } } }
        companies { nodes { policies { totalCount } } }
        client(id: $client) { policies { totalCount } } }";
    let vars = |client: &str| json!({"company": o.company, "client": client});

    let d = o.org.agent.ok(query, vars(&o.client)).await;
    assert_eq!(
        (d["company"]["policies"]["totalCount"].clone(), ids(&d["company"]["policies"])),
        (json!(1), vec![o.policy.clone()])
    );
    assert_eq!(d["companies"]["nodes"][0]["policies"]["totalCount"], 1);
    assert_eq!(d["client"]["policies"]["totalCount"], 1);

    let d = o.org.agent2.ok(query, vars(&o.client2)).await;
    assert_eq!(ids(&d["company"]["policies"]), [o.policy2.clone()]);
    assert_eq!(d["companies"]["nodes"][0]["policies"]["totalCount"], 1);

    let d = o.org.manager.ok(query, vars(&o.client)).await;
    assert_eq!(d["company"]["policies"]["totalCount"], 2);
    assert_eq!(d["companies"]["nodes"][0]["policies"]["totalCount"], 2);
    assert_eq!(d["client"]["policies"]["totalCount"], 1);
}

#[tokio::test]
async fn nested_clients_owners_and_companies_resolve_within_scope() {
    let o = office().await;
    let agent = &o.org.agent;
    let query = "query($policy: ID!, $client: ID!) {
        policy(id: $policy) { client { lastName owner { email } } company { code } }
        client(id: $client) { owner { email organization { name } } }
        policies { nodes { number client { lastName } company { code } } } }";

    let d = agent.ok(query, json!({"policy": o.policy, "client": o.client})).await;
    assert_eq!(d["policy"]["client"]["lastName"], "Ngono");
    assert_eq!(d["policy"]["client"]["owner"]["email"], agent.email.as_str());
    assert_eq!(d["policy"]["company"]["code"], "AXA");
    assert_eq!(d["client"]["owner"]["email"], agent.email.as_str());
    assert_eq!(d["client"]["owner"]["organization"]["name"], "alpha");
    assert_eq!(
        d["policies"],
        json!({"nodes": [{"number": "P-AGENT-1", "client": {"lastName": "Ngono"}, "company": {"code": "AXA"}}]})
    );

    let d = o.org.manager.ok(query, json!({"policy": o.policy2, "client": o.client2})).await;
    assert_eq!(d["policy"]["client"]["owner"]["email"], o.org.agent2.email.as_str());
    assert_eq!(d["client"]["owner"]["email"], o.org.agent2.email.as_str());
    assert_eq!(d["policies"]["nodes"].as_array().map(Vec::len), Some(2));
}
