//! The calendar's mail, through a real SMTP conversation: an alert to the client's owner (and to
//! the client when the organization says so), and a scheduled report to its recipients with the
//! document attached, each once.

use std::time::{Duration, Instant};

use chrono::Duration as Days;
use serde_json::json;

use super::{noon, policy, tick};
use crate::{
    documents::{create_template, id, run_jobs},
    helpers::{TestApp, spawn_app_with},
    mail::sink::{Behaviour, Received, Sink},
};

async fn app_mailing_to(sink: &Sink) -> TestApp {
    let url = sink.url();
    spawn_app_with(&[("SMTP_URL", url.as_str()), ("MAIL_RETRY_BASE_MS", "50")]).await
}

/// Waits until the sink holds `count` messages; returns them.
async fn received(sink: &Sink, count: usize) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let got = sink.received();
        if got.len() >= count {
            return got;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{} of {count} messages arrived", got.len());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_alert_is_mailed_to_the_clients_owner_and_to_the_client_when_asked_once() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = app_mailing_to(&sink).await;
    let org = app.org("acme").await;
    org.admin.ok("mutation { updateAlertSettings(input: {emailClient: true}) { emailClient } }", json!({})).await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.agent, "Ngono").await;
    let now = noon();
    policy(&org.agent, &client, &company, "AUTO-77", "ACTIVE", now, 3).await;

    let report = tick(&app, now).await;
    assert_eq!((report.alerts_raised, report.messages_queued), (1, 2), "{report:?}");
    let mails = received(&sink, 2).await;
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["agent@acme.test", "ann@example.com"], "the owner and the client");
    for mail in &mails {
        assert_eq!(mail.parsed().subject(), Some("Alerte MonAssurance : police AUTO-77"));
        assert!(mail.text().contains("expire"), "{}", mail.text());
        assert!(mail.html().contains("AUTO-77"));
    }
    assert_eq!(tick(&app, now + Days::minutes(5)).await.messages_queued, 0, "no alert, no mail, twice");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test]
async fn a_scheduled_report_is_mailed_to_its_recipients_with_the_document_once() {
    let sink = Sink::start(Behaviour::Accept).await;
    let app = app_mailing_to(&sink).await;
    let org = app.org("acme").await;
    let company = app.create_company(&org.manager, "AXA").await;
    let client = app.create_client(&org.manager, "Ngono").await;
    app.create_policy(&org.manager, "AUTO-1", &client, &company).await;
    let template = id(&create_template(&org.manager, "Bordereau", "HTML", "REPORT", "<ul>{% for row in policies %}<li>{{ row.policy.number }}</li>{% endfor %}</ul>").await);
    let create = "mutation($i: CreateReportScheduleInput!) { createReportSchedule(input: $i) { nextRunAt } }";
    let input = json!({"name": "Lundi", "templateId": template, "cron": "0 7 * * MON", "recipients": ["direction@acme.test", "compta@acme.test"]});
    let made = org.manager.ok(create, json!({"i": input})).await;
    let due: chrono::DateTime<chrono::Utc> = made["createReportSchedule"]["nextRunAt"].as_str().unwrap().parse().unwrap();

    assert_eq!(tick(&app, due).await.reports_queued, 1);
    run_jobs(&app).await;
    assert_eq!(tick(&app, due + Days::minutes(1)).await.messages_queued, 1, "the finished report is mailed");
    let mails = received(&sink, 1).await;
    let mail = &mails[0];
    let mut to = mail.to.clone();
    to.sort();
    assert_eq!(to, ["compta@acme.test", "direction@acme.test"]);
    let parsed = mail.parsed();
    assert_eq!(parsed.subject(), Some("Rapport planifié : Lundi"));
    let attached: Vec<_> = parsed.attachments().collect();
    assert_eq!(attached.len(), 1);
    let body = String::from_utf8_lossy(attached[0].contents()).to_string();
    assert!(body.contains("AUTO-1"), "{body}");
    assert_eq!(tick(&app, due + Days::minutes(2)).await.messages_queued, 0, "mailed once");
}
