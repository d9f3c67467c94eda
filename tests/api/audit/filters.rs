//! `auditLogs` filters (action, object type and ID, actor, time, text), who may read the trail,
//! and tenancy: another organization's admin sees none of it.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{LOGS, call, data, id, logs, one_of_each};
use crate::helpers::*;

#[tokio::test]
async fn audit_logs_filter_by_action_object_type_actor_time_and_text() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let create = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id } }";
    let admin_auth = format!("Bearer {}", org.admin.token);
    let first =
        call(&app, Some(admin_auth.as_str()), "first-company", create, json!({"i": {"name": "First", "code": "ONE"}}))
            .await;
    let first = id(&data(first)["createCompany"]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let between = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let manager_auth = format!("Bearer {}", org.manager.token);
    let second = call(
        &app,
        Some(manager_auth.as_str()),
        "Second-Company-XYZ",
        create,
        json!({"i": {"name": "Second", "code": "TWO"}}),
    )
    .await;
    let second = id(&data(second)["createCompany"]);

    let ids = |rows: &[Value]| {
        rows.iter().map(|r| r["objectId"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    let all = logs(&org.admin, json!({})).await;
    let times: Vec<_> =
        all.iter().map(|r| chrono::DateTime::parse_from_rfc3339(r["createdAt"].as_str().unwrap()).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first: {times:?}");

    let rows = logs(&org.admin, json!({"action": "company.create"})).await;
    assert_eq!(ids(&rows), vec![second.clone(), first.clone()], "newest first: {rows:#?}");
    let rows = logs(&org.admin, json!({"objectType": "Company"})).await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let rows = logs(&org.admin, json!({"objectId": first})).await;
    assert_eq!(ids(&rows), vec![first.clone()], "{rows:#?}");

    let rows = logs(&org.admin, json!({"actorId": org.manager.id})).await;
    assert!(rows.iter().all(|r| r["actor"]["id"] == org.manager.id.as_str()), "{rows:#?}");
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"company.create") && actions.contains(&"auth.login"), "{actions:?}");

    let rows = logs(&org.admin, json!({"from": between})).await;
    assert_eq!(ids(&rows), vec![second.clone()], "only the second company came after: {rows:#?}");
    let rows = logs(&org.admin, json!({"to": between, "action": "company.create"})).await;
    assert_eq!(ids(&rows), vec![first.clone()], "{rows:#?}");
    let rows = logs(&org.admin, json!({"to": between})).await;
    assert_eq!(rows.len(), all.len() - 1, "`to` leaves out only the second company");

    let rows = logs(&org.admin, json!({"search": "second-company"})).await;
    assert_eq!(ids(&rows), vec![second.clone()], "search is case-insensitive on the request id: {rows:#?}");
    let rows = logs(&org.admin, json!({"search": "COMPANY.CREATE"})).await;
    assert_eq!(rows.len(), 2, "search in the action: {rows:#?}");
    let rows = logs(&org.admin, json!({"search": "no such text anywhere"})).await;
    assert!(rows.is_empty(), "{rows:#?}");
}

#[tokio::test]
async fn managers_read_the_audit_log_and_agents_may_not() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    assert!(!logs(&org.manager, json!({})).await.is_empty());
    assert_eq!(org.agent.err(LOGS, json!({"f": {}})).await, "FORBIDDEN");
    let body = app.graphql(LOGS, json!({"f": {}})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
}

#[tokio::test]
async fn another_organizations_admin_sees_none_of_its_rows() {
    let app = spawn_app().await;
    let trail = one_of_each(&app, "acme").await;
    let other = app.register("Other", "admin@other.test").await;
    let rows = logs(&other, json!({})).await;
    assert!(!rows.is_empty(), "the other organization's own registration is missing");
    for row in &rows {
        assert!(!row["requestId"].as_str().unwrap_or_default().starts_with("acme-"), "{row:#}");
        assert!(
            row["actor"].is_null() || row["actor"]["email"].as_str().is_some_and(|e| e.ends_with("@other.test")),
            "{row:#}"
        );
    }
    let company = &trail.steps.iter().find(|s| s.action == "company.create").unwrap().object_id;
    assert!(logs(&other, json!({"objectId": company})).await.is_empty());
    assert!(logs(&other, json!({"action": "company.create"})).await.is_empty());
    assert!(logs(&other, json!({"actorId": trail.admin.id})).await.is_empty());
}
