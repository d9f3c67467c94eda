//! The nested attachment pages load through DataLoaders: a page of 100 policies asking for their
//! first attachments costs one statement for all of them (and one more for their counts).

use super::*;

#[tokio::test]
async fn a_page_of_policies_loads_their_attachments_in_one_statement() {
    // A long session cache, so a slow machine does not see the session check expire mid-test.
    let app = spawn_app_with(&[("SESSION_CACHE_SECS", "600")]).await;
    let admin = app.register("batch", "admin@batch.test").await;
    let company = app.create_company(&admin, "AXA").await;
    let client = app.create_client(&admin, "Ngono").await;
    let mut policies = Vec::new();
    for n in 0..100 {
        policies.push(app.create_policy(&admin, &format!("B-{n:03}"), &client, &company).await);
    }
    // Seven files on the first policy (more than a page of 5), one on two others.
    for n in 0..7 {
        attach(&app, &admin, &policies[0], &format!("p{n}.txt"), format!("page {n}\n").into_bytes()).await;
    }
    attach(&app, &admin, &policies[1], "one.pdf", pdf()).await;
    attach(&app, &admin, &policies[2], "two.png", png()).await;
    attach(&app, &admin, &client, "client.pdf", pdf()).await;

    let plain = "{ policies(first: 100) { nodes { number } } }";
    let nested = "{ policies(first: 100) { nodes { number attachments(first: 5) { nodes { fileName } pageInfo { hasNextPage } } } } }";
    let counted = "{ policies(first: 100) { nodes { number attachments(first: 5) { totalCount nodes { fileName } } } } }";
    let mut cost = Vec::new();
    for query in [plain, nested, counted] {
        admin.ok("{ me { id } }", json!({})).await; // warms the session check
        let before = app.statements().await;
        let d = admin.ok(query, json!({})).await;
        cost.push(app.statements().await - before);
        assert_eq!(d["policies"]["nodes"].as_array().unwrap().len(), 100);
        if query != plain {
            let by_number = |number: &str| d["policies"]["nodes"].as_array().unwrap().iter().find(|n| n["number"] == number).unwrap().clone();
            let first = by_number("B-000");
            let names: Vec<&str> = first["attachments"]["nodes"].as_array().unwrap().iter().map(|n| n["fileName"].as_str().unwrap()).collect();
            assert_eq!(names, ["p6.txt", "p5.txt", "p4.txt", "p3.txt", "p2.txt"], "newest first: {first:#}");
            if query == nested {
                assert_eq!(first["attachments"]["pageInfo"]["hasNextPage"], true);
            } else {
                assert_eq!(first["attachments"]["totalCount"], 7);
                assert_eq!(by_number("B-001")["attachments"]["totalCount"], 1);
                assert_eq!(by_number("B-050")["attachments"]["totalCount"], 0);
            }
            assert_eq!(by_number("B-002")["attachments"]["nodes"][0]["fileName"], "two.png");
        }
    }
    assert_eq!(cost[1], cost[0] + 1, "first pages of 100 policies' attachments: one statement (costs {cost:?})");
    assert_eq!(cost[2], cost[0] + 2, "and one for their counts (costs {cost:?})");

    // Later pages go through the plain paginated query.
    let q = "query($id: ID!, $after: String) { policy(id: $id) { attachments(first: 5, after: $after) { nodes { fileName } pageInfo { endCursor } } } }";
    let page1 = admin.ok(q, json!({"id": policies[0]})).await;
    let cursor = page1["policy"]["attachments"]["pageInfo"]["endCursor"].clone();
    let page2 = admin.ok(q, json!({"id": policies[0], "after": cursor})).await;
    let names: Vec<&str> = page2["policy"]["attachments"]["nodes"].as_array().unwrap().iter().map(|n| n["fileName"].as_str().unwrap()).collect();
    assert_eq!(names, ["p1.txt", "p0.txt"]);
}
