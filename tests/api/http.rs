//! GraphQL over HTTP, spoken raw: methods, media types and status codes of the GraphQL-over-HTTP
//! specification, body and batch limits, request ids, health, metrics and GraphiQL; and errors
//! that never leak internals.

use std::time::Duration;

use reqwest::{
    Response, StatusCode,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use serde_json::{Value, json};

use crate::helpers::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Headers from `(name, value)` pairs; names in lower case.
fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for &(name, value) in pairs {
        h.insert(HeaderName::from_static(name), HeaderValue::from_str(value).expect("a header value"));
    }
    h
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn content_type(resp: &Response) -> String {
    header(resp, "content-type").unwrap_or_default()
}

/// POSTs `body` to `/graphql` as `application/json`, accepting `accept`.
async fn post_json(app: &TestApp, accept: &str, body: &Value) -> Response {
    app.post_raw("/graphql", headers(&[("content-type", JSON), ("accept", accept)]), body.to_string()).await
}

async fn get(app: &TestApp, path: &str, extra: &[(&'static str, &str)]) -> Response {
    app.client.get(app.url(path)).headers(headers(extra)).send().await.expect("request sent")
}

/// Fails when a client-facing body shows SQL, driver names, source paths or panics.
fn assert_no_leak(body: &Value) {
    let text = body.to_string().to_lowercase();
    for needle in ["select ", "insert ", " from ", "sqlite", "sqlx", "postgres", "sea_orm", "src/", ".rs:", "panicked"] {
        assert!(!text.contains(needle), "the answer leaks {needle:?}: {body:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// Methods and media types
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_query_over_get_answers_200_json() {
    let app = spawn_app().await;
    let resp = get(&app, "/graphql?query=%7B__typename%7D", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(content_type(&resp).starts_with(JSON), "{}", content_type(&resp));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn a_mutation_over_get_is_405_with_allow_post() {
    let app = spawn_app().await;
    let resp = get(&app, "/graphql?query=mutation%20%7B%20logout%20%7D", &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&resp, "allow").as_deref(), Some("POST"));

    // Also when the mutation is picked by name out of a document that holds a query too.
    let resp = get(
        &app,
        "/graphql?query=query%20A%20%7B%20__typename%20%7D%20mutation%20B%20%7B%20logout%20%7D&operationName=B",
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&resp, "allow").as_deref(), Some("POST"));
}

#[tokio::test]
async fn a_mutation_sent_over_get_as_a_persisted_query_is_405_and_does_not_run() {
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    let mutation = "mutation { logout }";
    let hash = hex::encode(Sha256::digest(mutation.as_bytes()));
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    // Registered once over POST (where a mutation may run), as Apollo's APQ does.
    post_json(&app, JSON, &json!({"query": mutation, "extensions": extensions})).await;
    let query = format!("/graphql?extensions={}", urlencode(&extensions.to_string()));
    let resp = get(&app, &query, &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&resp, "allow").as_deref(), Some("POST"));
    // graphql-codegen's `documentId` is the same hash: refused the same way.
    let resp = get(&app, &format!("/graphql?documentId=sha256:{hash}"), &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn post_bodies_must_be_json() {
    let app = spawn_app().await;
    let query = json!({"query": "{ __typename }"}).to_string();

    let resp = app.post_raw("/graphql", headers(&[("content-type", "text/plain")]), query.clone()).await;
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain");

    let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let resp = app.post_raw("/graphql", form, "query=%7B__typename%7D").await;
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "a form");

    let resp = app.post_raw("/graphql", HeaderMap::new(), query.clone()).await;
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "no content type");

    let resp = app.post_raw("/graphql", headers(&[("content-type", "application/json; charset=utf-8")]), query).await;
    assert_eq!(resp.status(), StatusCode::OK, "JSON with a UTF-8 charset");
}

#[tokio::test]
async fn an_unparseable_json_body_is_400() {
    let app = spawn_app().await;
    let resp = app.post_raw("/graphql", headers(&[("content-type", JSON)]), "{\"query\": ").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("a JSON error body");
    assert!(body["errors"][0]["message"].is_string(), "{body:#}");

    let resp = app.post_raw("/graphql", headers(&[("content-type", JSON)]), "\"just a string\"").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "JSON that is not a request");
}

#[tokio::test]
async fn a_body_over_two_mebibytes_is_413_and_never_hangs() {
    let app = spawn_app().await;
    let pad = "x".repeat(3 * 1024 * 1024);
    let body = json!({"query": "{ __typename }", "variables": {"pad": pad}}).to_string();
    let send = app.client.post(app.url("/graphql")).headers(headers(&[("content-type", JSON)])).body(body).send();
    match tokio::time::timeout(Duration::from_secs(30), send).await.expect("the server answers or closes, never hangs") {
        Ok(resp) => assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE),
        // API.md allows closing the connection instead of reading the rest.
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }

    // The server still answers, and a body under the limit goes through.
    let resp = get(&app, "/health", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let pad = "x".repeat(1024 * 1024);
    let resp = post_json(&app, JSON, &json!({"query": "{ __typename }", "variables": {"pad": pad}})).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_answers_an_array_of_results_in_order() {
    let app = spawn_app().await;
    let batch = json!([
        {"query": "{ __typename }"},
        {"query": "query One { a: __typename } query Two { b: __typename }", "operationName": "Two"}
    ]);
    let resp = post_json(&app, JSON, &batch).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let results = body.as_array().unwrap_or_else(|| panic!("an array: {body:#}"));
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["data"]["__typename"], "Query");
    assert_eq!(results[1]["data"]["b"], "Query");

    let ten = Value::Array((0..10).map(|_| json!({"query": "{ __typename }"})).collect());
    let resp = post_json(&app, JSON, &ten).await;
    assert_eq!(resp.status(), StatusCode::OK, "ten operations are allowed");
    assert_eq!(resp.json::<Value>().await.unwrap().as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn a_batch_of_more_than_ten_or_none_is_400() {
    let app = spawn_app().await;
    let eleven = Value::Array((0..11).map(|_| json!({"query": "{ __typename }"})).collect());
    let resp = post_json(&app, JSON, &eleven).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let resp = post_json(&app, JSON, &json!([])).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "an empty batch");
}

// ---------------------------------------------------------------------------------------------
// Status codes and content negotiation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn with_graphql_response_json_request_errors_are_400_without_data() {
    let app = spawn_app().await;
    for (query, expected) in [("{", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")] {
        let resp = post_json(&app, GRAPHQL_RESPONSE, &json!({"query": query})).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(content_type(&resp).starts_with(GRAPHQL_RESPONSE), "{query}: {}", content_type(&resp));
        let body: Value = resp.json().await.unwrap();
        assert!(body.get("data").is_none(), "{query}: no data key expected in {body:#}");
        assert_eq!(code(&body), expected, "{query}");
    }

    // A variable of the wrong type is a request error too.
    let bad_variable = json!({"query": "query($n: Int!) { policies(first: $n) { totalCount } }", "variables": {"n": "three"}});
    let resp = post_json(&app, GRAPHQL_RESPONSE, &bad_variable).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body:#}");
    assert!(body["errors"][0]["extensions"]["code"].is_string(), "{body:#}");
}

#[tokio::test]
async fn with_graphql_response_json_a_missing_required_variable_is_400_without_data() {
    // GraphQL-over-HTTP: a request that fails variable coercion is a request error (API.md: 400, no data).
    let app = spawn_app().await;
    let missing = json!({"query": "query($n: Int!) { policies(first: $n) { totalCount } }"});
    let resp = post_json(&app, GRAPHQL_RESPONSE, &missing).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:#}");
    assert!(body.get("data").is_none(), "{body:#}");
    assert!(body["errors"][0]["extensions"]["code"].is_string(), "{body:#}");
}

#[tokio::test]
async fn with_plain_json_request_errors_are_200() {
    let app = spawn_app().await;
    for (query, expected) in [("{", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")] {
        let resp = post_json(&app, JSON, &json!({"query": query})).await;
        assert_eq!(resp.status(), StatusCode::OK, "{query}");
        assert!(content_type(&resp).starts_with(JSON), "{query}: {}", content_type(&resp));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), expected, "{query}");
    }
}

#[tokio::test]
async fn a_field_error_is_200_even_with_graphql_response_json() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&admin.token)
        .headers(headers(&[("accept", GRAPHQL_RESPONSE)]))
        .json(&json!({"query": "{ policy(id: \"not-an-id\") { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["policy"], Value::Null, "{body:#}");
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn the_response_content_type_follows_accept() {
    let app = spawn_app().await;
    let query = json!({"query": "{ __typename }"});
    for (accept, expected) in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
    ] {
        let resp = post_json(&app, accept, &query).await;
        assert_eq!(resp.status(), StatusCode::OK, "{accept}");
        assert!(content_type(&resp).starts_with(expected), "Accept {accept}: got {}", content_type(&resp));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query", "{accept}");
    }

    let resp = get(&app, "/graphql?query=%7B__typename%7D", &[("accept", GRAPHQL_RESPONSE)]).await;
    assert!(content_type(&resp).starts_with(GRAPHQL_RESPONSE), "GET: {}", content_type(&resp));

    let resp = post_json(&app, "text/csv", &query).await;
    assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE, "nothing acceptable");
}

// ---------------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_id_is_echoed_back() {
    let app = spawn_app().await;
    let h = headers(&[("content-type", JSON), ("x-request-id", "abc-123")]);
    let resp = app.post_raw("/graphql", h, json!({"query": "{ __typename }"}).to_string()).await;
    assert_eq!(header(&resp, "x-request-id").as_deref(), Some("abc-123"));
}

#[tokio::test]
async fn a_request_id_is_generated_when_none_is_sent() {
    let app = spawn_app().await;
    let first = post_json(&app, JSON, &json!({"query": "{ __typename }"})).await;
    let second = get(&app, "/health", &[]).await;
    let (a, b) = (header(&first, "x-request-id"), header(&second, "x-request-id"));
    assert!(a.as_deref().is_some_and(|id| !id.is_empty()), "{a:?}");
    assert!(b.as_deref().is_some_and(|id| !id.is_empty()), "{b:?}");
    assert_ne!(a, b, "each request gets its own id");
}

// ---------------------------------------------------------------------------------------------
// Health, metrics, GraphiQL
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let resp = get(&app, "/health", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn readiness_reports_the_database() {
    let app = spawn_app().await;
    let resp = get(&app, "/health/ready", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], true, "{body:#}");
    assert_eq!(body["status"], "ok", "{body:#}");
    assert!(body["storage"].is_boolean(), "{body:#}");
    assert!(body.get("redis").is_some(), "{body:#}");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_statement_counter() {
    let app = spawn_app().await;
    let resp = get(&app, "/metrics", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(content_type(&resp).starts_with("application/openmetrics-text"), "{}", content_type(&resp));
    let text = resp.text().await.unwrap();
    assert!(text.contains("db_statements_total"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF: {text}");
    let before = app.statements().await;
    app.register("acme", "admin@acme.test").await;
    assert!(app.statements().await > before, "statements are counted");
}

#[tokio::test]
async fn the_root_serves_graphiql() {
    let app = spawn_app().await;
    let resp = get(&app, "/", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(content_type(&resp).starts_with("text/html"), "{}", content_type(&resp));
    assert!(resp.text().await.unwrap().to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn get_graphql_asking_for_html_serves_graphiql() {
    let app = spawn_app().await;
    let resp = get(&app, "/graphql", &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(content_type(&resp).starts_with("text/html"), "{}", content_type(&resp));
    assert!(resp.text().await.unwrap().to_lowercase().contains("graphiql"));
}

// ---------------------------------------------------------------------------------------------
// Error hygiene
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_malformed_id_is_not_found_and_leaks_nothing() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "AXA").await;

    let lookups = [
        r#"{ policy(id: "not-an-id") { id } }"#.to_string(),
        r#"{ client(id: "not-an-id") { id } }"#.to_string(),
        r#"{ company(id: "not-an-id") { id } }"#.to_string(),
        r#"{ node(id: "not-an-id") { id } }"#.to_string(),
        r#"{ policy(id: "") { id } }"#.to_string(),
        r#"mutation { deletePolicy(id: "not-an-id") }"#.to_string(),
        r#"mutation { setPolicyStatus(id: "not-an-id", status: ACTIVE) { id } }"#.to_string(),
        // Another type's ID is not a policy either.
        format!(r#"{{ policy(id: "{company}") {{ id }} }}"#),
    ];
    for query in &lookups {
        let body = admin.run(query, json!({})).await;
        assert_eq!(code(&body), "NOT_FOUND", "{query}: {body:#}");
        assert_no_leak(&body);
    }

    // A malformed ID inside an input or a filter is the client's mistake, named by its field.
    let body = admin.run(r#"{ policies(filter: {companyId: "not-an-id"}) { totalCount } }"#, json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "filter.companyId");
    assert_no_leak(&body);
    let input = policy_input("P-1", "not-an-id", &company);
    let body = app
        .as_(&admin, "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input}))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_no_leak(&body);

    // Nothing in these answers is an internal error.
    let body = admin.run(r#"{ policy(id: "not-an-id") { id } }"#, json!({})).await;
    assert_ne!(code(&body), "INTERNAL_SERVER_ERROR");
}

#[tokio::test]
async fn production_turns_graphiql_and_introspection_off() {
    let keys = format!("k1:{}", "s".repeat(40));
    let app = spawn_app_with(&[("APP_ENV", "production"), ("URL_SIGNING_KEYS", keys.as_str())]).await;
    let root = app.client.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(root.status(), reqwest::StatusCode::NOT_FOUND);
    let body = app.graphql("{ __schema { types { name } } }", serde_json::json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "introspection must answer nothing in production: {body:#}");
    // Ordinary operations still work.
    let body = app.graphql("{ __typename }", serde_json::json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// The raw body of `query` run by `user`.
async fn raw_body(app: &TestApp, user: &User, query: &str, variables: Value) -> String {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&user.token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    resp.text().await.unwrap()
}

/// Where each of `needles` first occurs in `text`, in order; panics when one is missing.
fn positions(text: &str, needles: &[&str]) -> Vec<usize> {
    needles.iter().map(|n| text.find(n).unwrap_or_else(|| panic!("{n} not in {text}"))).collect()
}

/// The specification's "Serialized Map Ordering": an answer lists its fields in the order the
/// selection asked for them (aliases and fragments included), not sorted.
#[tokio::test]
async fn fields_answer_in_the_order_they_were_selected() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "ZZ").await;
    let client = app.create_client(&admin, "Zola").await;
    let mutation = "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { status premium number id currency } }";
    let text = raw_body(&app, &admin, mutation, json!({"i": policy_input("P-ORDER", &client, &company)})).await;
    let at = positions(&text, &[r#""status""#, r#""premium""#, r#""number""#, r#""id""#, r#""currency""#]);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "not in selection order: {text}");

    let query = r#"{ zz: policies(first: 1) { totalCount edges { node { ...P client { lastName id } } } } a: me { role email } }
        fragment P on Policy { status number company { name code } }"#;
    let text = raw_body(&app, &admin, query, json!({})).await;
    let at = positions(
        &text,
        &[r#""zz""#, r#""totalCount""#, r#""status""#, r#""number""#, r#""name""#, r#""code""#, r#""lastName""#, r#""a""#, r#""role""#, r#""email""#],
    );
    assert!(at.windows(2).all(|w| w[0] < w[1]), "not in selection order: {text}");
    assert!(text.starts_with(r#"{"data":{"zz":"#), "{text}");
}

/// A list page answers its policies, their clients and companies through `graphql::direct`; one
/// `policy(id:)` goes through async-graphql's own executor. Both answer the same object, in the
/// same order: fragments (on the type and on an interface), aliases, repeated keys merged and
/// `__typename` included.
#[tokio::test]
async fn a_page_answers_its_nodes_as_a_single_object_is_answered() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "ZZ").await;
    let client = app.create_client(&admin, "Zola").await;
    let id = app.create_policy(&admin, "P-DIRECT", &client, &company).await;
    let selection = "__typename n: number ... on Node { nodeId: id } ...F client { id } status \
        client { lastName __typename ... on Node { id } } company { ... on Company { name } code } number \
        productName productType netPremium fees taxes currency expiryDate createdAt updatedAt coverage";
    let fragment = "fragment F on Policy { premium effectiveDate status }";
    let page = format!("{{ policies(first: 1) {{ nodes {{ {selection} }} edges {{ node {{ {selection} }} }} }} }} {fragment}");
    let one = format!("query($id: ID!) {{ policy(id: $id) {{ {selection} }} }} {fragment}");

    let listed = raw_body(&app, &admin, &page, json!({})).await;
    let single = raw_body(&app, &admin, &one, json!({"id": id})).await;
    let object = single.strip_prefix(r#"{"data":{"policy":"#).and_then(|s| s.strip_suffix("}}")).unwrap_or_else(|| panic!("{single}"));
    assert!(object.starts_with(r#"{"__typename":"Policy","n":"P-DIRECT","nodeId":"#), "{object}");
    assert!(object.contains(r#""client":{"id":"#) && object.contains(r#""lastName":"Zola","__typename":"Client""#), "{object}");
    assert_eq!(listed, format!(r#"{{"data":{{"policies":{{"nodes":[{object}],"edges":[{{"node":{object}}}]}}}}}}"#));

    // Every field of a client and of a company that is answered at once, listed and alone.
    for (list, one, id, selection) in [
        ("clients", "client", &client, "id kind firstName lastName companyName displayName email phone address externalRef createdAt updatedAt owner { email }"),
        ("companies", "company", &company, "id name code contactEmail phone address apiMode apiEndpoint createdAt updatedAt __typename"),
    ] {
        let listed = raw_body(&app, &admin, &format!("{{ {list}(first: 1) {{ nodes {{ {selection} }} }} }}"), json!({})).await;
        let single = raw_body(&app, &admin, &format!("query($id: ID!) {{ {one}(id: $id) {{ {selection} }} }}"), json!({"id": id})).await;
        let object = single.strip_prefix(&format!(r#"{{"data":{{"{one}":"#)).and_then(|s| s.strip_suffix("}}")).unwrap_or_else(|| panic!("{single}"));
        assert!(object.contains(r#""createdAt":""#) && !object.contains("errors"), "{object}");
        assert_eq!(listed, format!(r#"{{"data":{{"{list}":{{"nodes":[{object}]}}}}}}"#));
    }
}

/// A failed nullable field answers `null` (its key is there); a failed non-null field makes its
/// nearest nullable parent `null`, or `data` itself when there is none.
#[tokio::test]
async fn failed_fields_answer_null_and_propagate_to_the_nearest_nullable_parent() {
    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let company = app.create_company(&admin, "ZZ").await;
    let query = r#"query($c: ID!) { me { email } insurer: company(id: $c) { name policies(first: -1) { totalCount } }
        missing: node(id: "not-an-id") { id } again: company(id: $c) { code } }"#;
    let body = admin.run(query, json!({"c": company})).await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body:#}"));
    assert_eq!(data.len(), 4, "{body:#}");
    assert!(data.contains_key("insurer") && data["insurer"].is_null(), "{body:#}");
    assert!(data.contains_key("missing") && data["missing"].is_null(), "{body:#}");
    assert_eq!(data["again"]["code"], "ZZ");
    assert_eq!(data["me"]["email"], "admin@acme.test");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body:#}");
    assert!(errors.iter().any(|e| e["path"] == json!(["insurer", "policies"]) && e["extensions"]["code"] == "BAD_USER_INPUT"), "{body:#}");
    assert!(errors.iter().any(|e| e["path"] == json!(["missing"])), "{body:#}");

    // Every root field failed: `data` is still an object of nulls.
    let body = admin.run(r#"{ a: node(id: "x") { id } b: policy(id: "y") { id } }"#, json!({})).await;
    assert_eq!(body["data"], json!({"a": null, "b": null}), "{body:#}");

    // A non-null root field failed: `data` is null.
    let body = admin.run("{ me { email } policies(first: -1) { totalCount } }", json!({})).await;
    assert!(body.as_object().unwrap().contains_key("data") && body["data"].is_null(), "{body:#}");
    assert_eq!(body["errors"][0]["path"], json!(["policies"]), "{body:#}");

    // Inside a list: the nearest nullable parent of the failed field is each policy's `client`.
    app.create_policy(&admin, "P-1", &app.create_client(&admin, "Zola").await, &company).await;
    let body = admin
        .run("query($c: ID!) { company(id: $c) { code clients: policies(first: 5) { edges { node { number client { policies(first: -1) { totalCount } } } } } } }", json!({"c": company}))
        .await;
    let node = &body["data"]["company"]["clients"]["edges"][0]["node"];
    assert_eq!(body["data"]["company"]["code"], "ZZ", "{body:#}");
    assert_eq!(node["number"], "P-1", "{body:#}");
    assert!(node.as_object().unwrap().contains_key("client") && node["client"].is_null(), "{body:#}");
    assert_eq!(body["errors"][0]["path"], json!(["company", "clients", "edges", 0, "node", "client", "policies"]), "{body:#}");
}

/// On PostgreSQL the list pages read policies, clients and companies by column position
/// (`entities::positional`); the rows are the ones sea-orm reads by name, every column, set or null.
#[tokio::test]
async fn rows_read_by_position_are_the_rows_read_by_name() {
    use monassurance::entities::{client, company, policy, positional::Fast};
    use sea_orm::{EntityTrait, QueryFilter, ColumnTrait, sea_query::Expr};

    let app = spawn_app().await;
    let admin = app.register("acme", "admin@acme.test").await;
    let full = json!({"i": {"name": "Full", "code": "FULL", "contactEmail": "c@full.test", "phone": "+237 600 000 001", "address": "Rue 1", "apiMode": "REST", "apiEndpoint": "https://full.test/api"}});
    let full = admin.ok("mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }", full).await["createCompany"]["id"].as_str().unwrap().to_string();
    let bare = app.create_company(&admin, "Bare").await;
    let everything = json!({"i": {"kind": "BUSINESS", "firstName": "Ann", "lastName": "Zola", "companyName": "Zola SARL", "email": "z@zola.test", "phone": "+237 600 000 002", "address": "Rue 2", "externalRef": "EXT-1"}});
    let holder = admin.ok("mutation($i: CreateClientInput!) { createClient(input: $i) { id } }", everything).await["createClient"]["id"].as_str().unwrap().to_string();
    admin.ok("mutation { createClient(input: {lastName: \"Only\"}) { id } }", json!({})).await;
    let mut input = policy_input("P-1", &holder, &full);
    input["coverage"] = json!({"guarantees": ["RC", "Vol"], "limit": 150000, "deductible": null});
    input["netPremium"] = json!("100000");
    input["fees"] = json!("5000");
    input["taxes"] = json!("20000");
    admin.ok("mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", json!({"i": input})).await;
    app.create_policy(&admin, "P-2", &holder, &bare).await;
    let db = &app.state.db;
    // The second policy renews the first: every nullable column is set on one row and null on another.
    let first = policy::Entity::find().filter(policy::Column::Number.eq("P-1")).one(db).await.unwrap().unwrap();
    policy::Entity::update_many()
        .col_expr(policy::Column::PreviousPolicyId, Expr::value(first.id))
        .filter(policy::Column::Number.eq("P-2"))
        .exec(db)
        .await
        .unwrap();

    let by_name = policy::Entity::find().all(db).await.unwrap();
    let by_position: Vec<policy::Model> = policy::Entity::find().into_model::<Fast<policy::Model>>().all(db).await.unwrap().into_iter().map(|f| f.0).collect();
    assert_eq!(by_name.len(), 2);
    assert!(by_name.iter().any(|p| p.previous_policy_id.is_some()) && by_name.iter().any(|p| p.previous_policy_id.is_none()));
    assert_eq!(by_position, by_name);
    let by_name = client::Entity::find().all(db).await.unwrap();
    let by_position: Vec<client::Model> = client::Entity::find().into_model::<Fast<client::Model>>().all(db).await.unwrap().into_iter().map(|f| f.0).collect();
    assert_eq!((by_name.len(), by_position), (2, by_name));
    let by_name = company::Entity::find().all(db).await.unwrap();
    let by_position: Vec<company::Model> = company::Entity::find().into_model::<Fast<company::Model>>().all(db).await.unwrap().into_iter().map(|f| f.0).collect();
    assert_eq!((by_name.len(), by_position), (2, by_name));
}
