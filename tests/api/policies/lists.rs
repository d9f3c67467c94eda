//! Lists of policies: Relay pagination forwards and backwards, filters, ordering, a company's and a
//! client's own policies, and the SQL statement budget of a page.

use serde_json::{Value, json};

use super::CREATE_POLICY;
use crate::clients::CREATE_CLIENT;
use crate::companies::CREATE_COMPANY;
use crate::helpers::*;

const POLICY_PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: PolicyFilter, $order: [PolicyOrder!]) {
  policies(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { number } }
  }
}";

/// The policy numbers of a connection, in order.
fn numbers(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {conn:#}"))
        .iter()
        .map(|e| e["node"]["number"].as_str().expect("a number").to_string())
        .collect()
}

async fn page(user: &User, vars: Value) -> Value {
    user.ok(POLICY_PAGE, vars).await["policies"].clone()
}

/// The numbers of the policies matching `filter`, by number.
async fn matching(user: &User, filter: Value) -> Vec<String> {
    numbers(&page(user, json!({"first": 100, "filter": filter, "order": [{"field": "NUMBER"}]})).await)
}

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

    let p1 = page(&admin, json!({"first": 3, "order": order})).await;
    assert_eq!(numbers(&p1), ["P-01", "P-02", "P-03"]);
    assert_eq!(p1["totalCount"], 7);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(p1["pageInfo"]["endCursor"], p1["edges"][2]["cursor"]);
    assert_eq!(p1["pageInfo"]["startCursor"], p1["edges"][0]["cursor"]);

    let p2 = page(&admin, json!({"first": 3, "after": p1["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(numbers(&p2), ["P-04", "P-05", "P-06"]);
    assert_eq!(p2["totalCount"], 7);
    assert_eq!(p2["pageInfo"]["hasNextPage"], true);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);

    let p3 = page(&admin, json!({"first": 3, "after": p2["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(numbers(&p3), ["P-07"]);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    assert_eq!(p3["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(p3["totalCount"], 7);

    // Backwards: the last two, then the two before P-05.
    let tail = page(&admin, json!({"last": 2, "order": order})).await;
    assert_eq!(numbers(&tail), ["P-06", "P-07"]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tail["pageInfo"]["hasNextPage"], false);
    assert_eq!(tail["totalCount"], 7);

    let before_p05 = &p2["edges"][1]["cursor"];
    let back = page(&admin, json!({"last": 2, "before": before_p05, "order": order})).await;
    assert_eq!(numbers(&back), ["P-03", "P-04"]);
    assert_eq!(back["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(back["pageInfo"]["hasNextPage"], true);

    // Between two cursors.
    let between = page(
        &admin,
        json!({"first": 10, "after": p1["edges"][1]["cursor"], "before": p2["edges"][2]["cursor"], "order": order}),
    )
    .await;
    assert_eq!(numbers(&between), ["P-03", "P-04", "P-05"]);

    // The default order (newest first) pages without gaps or repeats.
    let all = numbers(&page(&admin, json!({"first": 100})).await);
    assert_eq!(all.len(), 7);
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(&admin, json!({"first": 3, "after": after})).await;
        walked.extend(numbers(&p));
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
        assert!(walked.len() <= 7, "paging does not end: {walked:?}");
    }
    assert_eq!(walked, all);

    // Without first or last, a default page; a huge `first` is capped, not refused.
    let default = page(&admin, json!({"order": order})).await;
    assert_eq!(numbers(&default).len(), 7);
    let huge = page(&admin, json!({"first": 1000, "order": order})).await;
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
        assert_bad_input(&admin.err(POLICY_PAGE, vars.clone()).await, expected, &vars.to_string());
    }
}

#[tokio::test]
async fn policies_filter_and_order_as_asked() {
    // Clients and companies by text: `clients::clients_are_found_by_name_company_name_reference_or_email`
    // and `companies::companies_are_found_by_name_code_or_contact_email`.
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;

    let company = |name: &str, code: &str, email: &str| json!({"i": {"name": name, "code": code, "contactEmail": email}});
    let axa = id_of(&admin.ok(CREATE_COMPANY, company("AXA Cameroun", "AXA", "contact@axa.cm")).await["createCompany"]);
    let saham =
        id_of(&admin.ok(CREATE_COMPANY, company("Saham Assurance", "SAHAM", "info@sanlam.cm")).await["createCompany"]);

    let ngono = json!({"kind": "PERSON", "firstName": "Ann", "lastName": "Ngono", "email": "ann@ngono.cm"});
    let biya = json!({"kind": "PERSON", "firstName": "Paul", "lastName": "Biya", "email": "paul@example.com", "externalRef": "CRM-77"});
    let sabc = json!({"kind": "BUSINESS", "companyName": "Brasseries du Cameroun", "email": "contact@sabc.cm"});
    let ngono = id_of(&admin.ok(CREATE_CLIENT, json!({"i": ngono})).await["createClient"]);
    let biya = id_of(&admin.ok(CREATE_CLIENT, json!({"i": biya})).await["createClient"]);
    admin.ok(CREATE_CLIENT, json!({"i": sabc})).await;

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
        admin.ok(CREATE_POLICY, json!({"i": input})).await;
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
        assert_eq!(matching(&admin, filter.clone()).await, expected, "filter {filter}");
    }
    let d = page(&admin, json!({"first": 1, "filter": {"status": "ACTIVE"}})).await;
    assert_eq!(d["totalCount"], 2, "totalCount counts the filtered list");
    let refusal = admin.err(POLICY_PAGE, json!({"filter": {"companyId": "not-an-id"}})).await;
    assert_bad_input(&refusal, "filter.companyId", "a malformed companyId filter");

    let by_premium = page(&admin, json!({"order": [{"field": "PREMIUM", "direction": "DESC"}]})).await;
    assert_eq!(numbers(&by_premium), ["AUTO-002", "HOME-001", "AUTO-001", "LIFE-001"]);
    let by_number = page(&admin, json!({"order": [{"field": "NUMBER", "direction": "ASC"}]})).await;
    assert_eq!(numbers(&by_number), ["AUTO-001", "AUTO-002", "HOME-001", "LIFE-001"]);
    let by_number_desc = page(&admin, json!({"order": [{"field": "NUMBER", "direction": "DESC"}]})).await;
    assert_eq!(numbers(&by_number_desc), ["LIFE-001", "HOME-001", "AUTO-002", "AUTO-001"]);

    // A company's and a client's own policies.
    let d = admin.ok("query($id: ID!) { company(id: $id) { policies { totalCount } } }", json!({"id": saham})).await;
    assert_eq!(d["company"]["policies"]["totalCount"], 2);
    let d = admin
        .ok(
            "query($id: ID!) { client(id: $id) { policies(filter: {status: DRAFT}, orderBy: [{field: NUMBER}]) { edges { node { number } } } } }",
            json!({"id": biya}),
        )
        .await;
    assert_eq!(numbers(&d["client"]["policies"]), ["AUTO-002", "LIFE-001"]);
}

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
    admin.ok("{ me { id } }", json!({})).await; // warms the session check
    let before = app.statements().await;
    let d = admin.ok(with_count, json!({})).await;
    let used = app.statements().await - before;
    let edges = d["policies"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert_eq!(d["policies"]["totalCount"], 101);
    for e in edges {
        assert!(e["node"]["client"]["lastName"].is_string(), "{e:#}");
        assert!(e["node"]["company"]["name"].is_string(), "{e:#}");
    }
    assert_eq!(used, 1, "the page, its count, its clients and its companies are read in one statement");
    let lasts = |e: &Value| e["node"]["client"]["lastName"].as_str().unwrap().to_string();
    assert_eq!((edges[0]["node"]["number"].as_str(), lasts(&edges[0])), (Some("B-100"), "Biya".to_string()));
    assert_eq!(edges[0]["node"]["company"]["name"], "Insurer AXA");
    assert_eq!((edges[1]["node"]["number"].as_str(), lasts(&edges[1])), (Some("B-099"), "Ngono".to_string()));
    assert_eq!(edges[1]["node"]["company"]["name"], "Insurer SAHAM");

    let without_count = "{ policies(first: 100) { edges { node { number client { lastName } company { name } } } } }";
    admin.ok("{ me { id } }", json!({})).await;
    let before = app.statements().await;
    let d = admin.ok(without_count, json!({})).await;
    let used = app.statements().await - before;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(used, 1, "no totalCount asked: the page with its clients and companies, one statement");

    // A filtered, ordered page reads its parents with it too; a backward page loads them after it.
    let filtered = "{ policies(first: 3, filter: {search: \"b-00\"}, orderBy: [{field: NUMBER, direction: ASC}]) { nodes { number client { lastName } company { name } } } }";
    let d = admin.ok(filtered, json!({})).await;
    let nodes = d["policies"]["nodes"].as_array().unwrap();
    let seen: Vec<_> = nodes.iter().map(|n| (n["number"].as_str().unwrap(), n["client"]["lastName"].as_str().unwrap(), n["company"]["name"].as_str().unwrap())).collect();
    assert_eq!(seen, [("B-000", "Ngono", "Insurer AXA"), ("B-001", "Biya", "Insurer SAHAM"), ("B-002", "Eto'o", "Insurer AXA")]);
    let backward = "{ policies(last: 2) { nodes { number client { lastName } company { name } } } }";
    let d = admin.ok(backward, json!({})).await;
    let nodes = d["policies"]["nodes"].as_array().unwrap();
    let seen: Vec<_> = nodes.iter().map(|n| (n["number"].as_str().unwrap(), n["client"]["lastName"].as_str().unwrap(), n["company"]["name"].as_str().unwrap())).collect();
    assert_eq!(seen, [("B-001", "Biya", "Insurer SAHAM"), ("B-000", "Ngono", "Insurer AXA")]);

    // `first` and `last` beyond the cap are capped, not refused.
    let d = admin.ok("{ policies(first: 1000) { pageInfo { hasNextPage } edges { cursor } } }", json!({})).await;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(d["policies"]["pageInfo"]["hasNextPage"], true);
    let d = admin.ok("{ policies(last: 1000) { pageInfo { hasPreviousPage } edges { cursor } } }", json!({})).await;
    assert_eq!(d["policies"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(d["policies"]["pageInfo"]["hasPreviousPage"], true);
}
