//! Report schedules: checked when written, run once per due slot (a missed run once), as their
//! creator, and stopped with a reason when the creator can no longer run them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::tick;
use crate::{
    documents::{create_template, id, job, run_jobs},
    helpers::{assert_bad_input, spawn_app},
};

const ROSTER: &str = "<h1>Bordereau</h1><ul>{% for row in policies %}<li>{{ row.policy.number }}</li>{% endfor %}</ul>";
const CREATE: &str = "mutation($i: CreateReportScheduleInput!) { createReportSchedule(input: $i) { \
    id name cron timezone recipients isActive nextRunAt lastRunAt lastError lastJob { id } createdBy { id } } }";
const LIST: &str = "{ reportSchedules(first: 10) { totalCount nodes { id isActive nextRunAt lastRunAt lastError lastJob { id status } } } }";

fn input(template: &str) -> Value {
    json!({"name": "Bordereau du lundi", "templateId": template, "cron": "0 7 * * MON", "timezone": "Africa/Douala",
           "recipients": ["direction@acme.test"], "filter": {"status": "ACTIVE"}})
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("not a time: {v}")).parse().unwrap()
}

#[tokio::test]
async fn a_schedule_is_checked_when_written_and_knows_its_next_run() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let report = id(&create_template(&org.manager, "Bordereau", "HTML", "REPORT", ROSTER).await);
    let certificate = id(&create_template(&org.manager, "Attestation", "HTML", "POLICY", "<p>{{ policy.number }}</p>").await);

    assert_eq!(org.agent.err(CREATE, json!({"i": input(&report)})).await, "FORBIDDEN");
    for (change, field) in [
        (json!({"cron": "0 7 * *"}), "input.cron"),
        (json!({"cron": "61 7 * * MON"}), "input.cron"),
        (json!({"cron": "0 0 7 * * MON"}), "input.cron"),
        (json!({"timezone": "Africa/Atlantis"}), "input.timezone"),
        (json!({"templateId": certificate}), "input.templateId"),
        (json!({"recipients": ["not-an-address"]}), "input.recipients.0"),
        (json!({"recipients": []}), "input.recipients"),
    ] {
        let mut bad = input(&report);
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        assert_bad_input(&org.manager.err(CREATE, json!({"i": bad})).await, field, &change.to_string());
    }
    assert_eq!(org.manager.ok(LIST, json!({})).await["reportSchedules"]["totalCount"], 0, "nothing was stored");

    let made = org.manager.ok(CREATE, json!({"i": input(&report)})).await["createReportSchedule"].clone();
    assert_eq!(made["isActive"], true);
    assert_eq!(made["createdBy"]["id"], org.manager.id.as_str());
    // Monday 07:00 in Douala is 06:00 UTC, within the coming week.
    let next = at(&made["nextRunAt"]);
    assert_eq!(next.format("%a %H:%M").to_string(), "Mon 06:00", "{made:#}");
    assert!(next > Utc::now() && next <= Utc::now() + Duration::days(7), "{next}");

    let update = "mutation($i: UpdateReportScheduleInput!) { updateReportSchedule(input: $i) { cron timezone nextRunAt } }";
    let d = org.manager.ok(update, json!({"i": {"id": made["id"], "cron": "30 18 * * *", "timezone": "Europe/Paris"}})).await;
    let next = at(&d["updateReportSchedule"]["nextRunAt"]);
    assert_eq!(next.format("%M").to_string(), "30");
    assert!(next <= Utc::now() + Duration::days(1));
    assert_eq!(org.agent.err("{ reportSchedules { totalCount } }", json!({})).await, "FORBIDDEN");
    let deleted = org.manager.ok("mutation($id: ID!) { deleteReportSchedule(id: $id) }", json!({"id": made["id"]})).await;
    assert_eq!(deleted["deleteReportSchedule"], true);
}

#[tokio::test]
async fn a_due_schedule_runs_once_as_its_creator_even_after_missed_slots() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.manager, "Ngono").await;
    app.create_policy(&org.manager, "AUTO-1", &client, &company).await;
    let report = id(&create_template(&org.manager, "Bordereau", "HTML", "REPORT", ROSTER).await);
    let made = org.manager.ok(CREATE, json!({"i": input(&report)})).await["createReportSchedule"].clone();
    let first = at(&made["nextRunAt"]);

    assert_eq!(tick(&app, first - Duration::minutes(1)).await.reports_queued, 0, "not due yet");
    // The server was down for three weeks: one run, not three.
    let late = first + Duration::days(21);
    assert_eq!(tick(&app, late).await.reports_queued, 1);
    assert_eq!(tick(&app, late + Duration::minutes(1)).await.reports_queued, 0, "claimed: never twice");
    let schedule = org.manager.ok(LIST, json!({})).await["reportSchedules"]["nodes"][0].clone();
    assert_eq!(at(&schedule["lastRunAt"]), late);
    let next = at(&schedule["nextRunAt"]);
    assert!(next > late && next <= late + Duration::days(7), "the next slot after the late run: {next}");
    assert_eq!(schedule["lastError"], Value::Null);

    run_jobs(&app).await;
    let job_id = schedule["lastJob"]["id"].as_str().expect("the run's job").to_string();
    let j = job(&org.manager, &job_id).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    assert_eq!(j["documents"]["totalCount"], 1, "{j:#}");
}

#[tokio::test]
async fn a_schedule_whose_creator_cannot_run_it_any_more_stops_and_says_why() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let report = id(&create_template(&org.manager, "Bordereau", "HTML", "REPORT", ROSTER).await);
    let made = org.manager.ok(CREATE, json!({"i": input(&report)})).await["createReportSchedule"].clone();
    org.admin.ok("mutation($id: ID!) { deactivateUser(id: $id) }", json!({"id": org.manager.id})).await;

    let report = tick(&app, at(&made["nextRunAt"]) + Duration::minutes(5)).await;
    assert_eq!(report.reports_queued, 0);
    let schedule = org.admin.ok(LIST, json!({})).await["reportSchedules"]["nodes"][0].clone();
    assert_eq!(schedule["isActive"], false);
    assert_eq!(schedule["nextRunAt"], Value::Null);
    let reason = schedule["lastError"].as_str().expect("a reason");
    assert!(reason.contains("deactivated"), "{reason}");
    assert_eq!(schedule["lastJob"], Value::Null);
}

#[tokio::test]
async fn an_organization_keeps_a_bounded_number_of_schedules() {
    let app = spawn_app().await;
    let org = app.org("acme").await;
    let report = id(&create_template(&org.manager, "Bordereau", "HTML", "REPORT", ROSTER).await);
    for _ in 0..100 {
        org.manager.ok(CREATE, json!({"i": input(&report)})).await;
    }
    let refusal = org.manager.err(CREATE, json!({"i": input(&report)})).await;
    assert_bad_input(&refusal, "input", "the 101st schedule");
}
