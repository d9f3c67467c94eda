//! Jobs under pressure: report size limits, reports that stay in their organization, items
//! longer than the lease, workers that keep dying, fair turns between organizations, errors that
//! do not leak internals, and the audit row of a cancellation.

use monassurance::jobs::worker::try_execute_next;

use super::*;

/// An HTML REPORT template that lists its policies' numbers (its text shows which rows it got).
const HTML_ROSTER: &str = "<h1>Bordereau</h1><ul>{% for row in policies %}<li>{{ row.policy.number }}</li>{% endfor %}</ul>";

/// A POLICY certificate that renders at once on the sample data (so it is accepted when saved)
/// and loops for about 10^10 steps on a real job's data: only the render time budget stops it.
const SLOW_ON_REAL_DATA: &str = "#let data = json(\"/data.json\")\n\
    #let n = if data.document.number == \"DOC-SAMPLE-1\" { 1 } else { 100000 }\n\
    #let total = 0\n\
    #for i in range(n) { for j in range(n) { total += 1 } }\n\
    = Certificat\n#total\n";

const CANCEL: &str = "mutation($id: ID!) { cancelJob(id: $id) { id status } }";
const AUDIT: &str = "query($f: AuditLogFilter) { auditLogs(first: 100, filter: $f) { totalCount nodes { action objectType objectId actor { id } } } }";

/// The body of a job's first document, downloaded through its signed link.
async fn first_document_text(app: &TestApp, actor: &User, job_id: &str) -> String {
    let j = job(actor, job_id).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    let resp = get(app, j["documents"]["nodes"][0]["downloadUrl"].as_str().expect("a document")).await;
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("a text body")
}

/// Waits (bounded) until `sql` answers at least `rows` rows.
async fn until_rows(app: &TestApp, sql: &str, rows: usize) {
    bounded(&format!("`{sql}` to answer {rows} row(s)"), async {
        while app.sql_strings(sql).await.len() < rows {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

// 3a. PDF/HTML reports hold every row in memory: they are capped; XLSX reports stream and are not.

#[tokio::test]
async fn an_html_report_over_more_policies_than_the_limit_is_refused_naming_it_and_an_xlsx_one_is_not() {
    let app = spawn_app_with(&[("REPORT_MAX_POLICIES", "2")]).await;
    let book = book(&app, "acme", 3).await;
    let manager = &book.org.manager;
    let html = id(&create_template(manager, "Liste", "HTML", "REPORT", HTML_ROSTER).await);

    let refusal = manager.err(GENERATE_REPORT, json!({"i": {"templateId": html, "filter": {}}})).await;
    assert_bad_input(&refusal, "input.filter", "an HTML report over 3 policies with a limit of 2");
    let message = refusal.body["errors"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains('2') && message.contains("REPORT_MAX_POLICIES"), "the limit is not named: {message}");
    assert_eq!(manager.ok("{ jobs { totalCount } }", json!({})).await["jobs"]["totalCount"], 0, "no job was queued");

    // Within the limit, the same template makes its report.
    let narrowed = manager.ok(GENERATE_REPORT, json!({"i": {"templateId": html, "filter": {"search": book.numbers[1]}}})).await;
    run_jobs(&app).await;
    let text = first_document_text(&app, manager, &id(&narrowed["generateReport"])).await;
    assert!(text.contains(&book.numbers[1]), "{text}");

    // An XLSX report streams its rows: the limit does not apply.
    let xlsx = id(&create_template(manager, "Bordereau", "XLSX", "REPORT", BORDEREAU).await);
    let queued = manager.ok(GENERATE_REPORT, json!({"i": {"templateId": xlsx, "filter": {}}})).await;
    run_jobs(&app).await;
    assert_eq!(job(manager, &id(&queued["generateReport"])).await["status"], "SUCCEEDED");
}

// 9. A SUPERADMIN's report covers the job's organization only.

#[tokio::test]
async fn a_superadmins_report_covers_only_the_organization_of_its_template() {
    let app = spawn_app().await;
    let acme = book(&app, "acme", 1).await;
    let beta = book(&app, "beta", 1).await;
    let template = id(&create_template(&acme.org.manager, "Liste", "HTML", "REPORT", HTML_ROSTER).await);
    monassurance::auth::service::create_superadmin(&app.state, "root@platform.test", "correct horse battery")
        .await
        .expect("a superadmin");
    let login = app.login("root@platform.test", "correct horse battery").await;
    let root = app.user_from(&login["data"]["login"]).unwrap_or_else(|| panic!("login failed: {login:#}"));

    let queued = root.ok(GENERATE_REPORT, json!({"i": {"templateId": template, "filter": {}}})).await;
    run_jobs(&app).await;
    let text = first_document_text(&app, &acme.org.manager, &id(&queued["generateReport"])).await;
    assert!(text.contains(&acme.numbers[0]), "the organization's own policy is missing: {text}");
    assert!(!text.contains(&beta.numbers[0]), "another organization's policy is in the report: {text}");
}

// 10a. An item longer than the lease keeps its job: the lease is renewed while it runs.

#[tokio::test]
async fn an_item_longer_than_the_lease_keeps_its_job_and_no_other_worker_takes_it() {
    // One render child: of two items rendered at once, one waits for the other's full budget
    // before its own, so it runs about twice the lease.
    let app = spawn_app_with(&[("JOB_LEASE_SECS", "2"), ("RENDER_TIMEOUT_SECS", "2"), ("RENDER_WORKERS", "1")]).await;
    let book = book(&app, "acme", 2).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Lent", "PDF", "POLICY", SLOW_ON_REAL_DATA).await);
    let first = id(&generate(manager, &template, &book.policies[0]).await);
    let second = id(&generate(manager, &template, &book.policies[1]).await);

    let spawn_worker = |name: &'static str| {
        let state = app.state.clone();
        tokio::spawn(async move { try_execute_next(&state, name).await })
    };
    let one = spawn_worker("worker-one");
    let two = spawn_worker("worker-two");
    until_rows(&app, "SELECT status FROM jobs WHERE status = 'RUNNING'", 2).await;

    // Another worker keeps trying while both items run: it must find nothing to take.
    let mut taken = 0;
    bounded("both items", async {
        while !(one.is_finished() && two.is_finished()) {
            if try_execute_next(&app.state, "thief").await.expect("a claim") {
                taken += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(one.await.unwrap().unwrap() && two.await.unwrap().unwrap(), "each worker had a job");
    assert_eq!(taken, 0, "a job was taken from the worker still making its item");
    for job_id in [&first, &second] {
        let j = job(manager, job_id).await;
        assert_eq!(j["status"], "FAILED", "{j:#}");
        assert_eq!((j["done"].as_i64(), j["failed"].as_i64()), (Some(0), Some(1)), "{j:#}");
        assert!(j["error"].as_str().is_some_and(|e| e.contains("longer than 2 s")), "{j:#}");
    }
}

// 10b. A render budget longer than the lease is refused at start-up.

#[tokio::test]
async fn a_render_budget_longer_than_the_job_lease_is_refused_at_start_naming_both_settings() {
    let vars = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", JWT_SECRET), ("JOB_LEASE_SECS", "5"), ("RENDER_TIMEOUT_SECS", "10")];
    let error = monassurance::config::Settings::from_lookup(|k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string()))
        .expect_err("a render budget of 10 s with a lease of 5 s");
    let text = error.to_string();
    assert!(text.contains("RENDER_TIMEOUT_SECS") && text.contains("JOB_LEASE_SECS"), "{text}");

    let equal = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", JWT_SECRET), ("JOB_LEASE_SECS", "10"), ("RENDER_TIMEOUT_SECS", "10")];
    let settings = monassurance::config::Settings::from_lookup(|k| equal.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string()));
    assert!(settings.is_ok(), "a budget equal to the lease is accepted: {:?}", settings.err());
}

// 10c. A job whose worker keeps dying fails after its attempts instead of being claimed forever.

#[tokio::test]
async fn a_job_whose_worker_keeps_dying_fails_after_its_attempts_with_a_clear_error() {
    let app = spawn_app_with(&[("JOB_LEASE_SECS", "1"), ("RENDER_TIMEOUT_SECS", "1"), ("JOB_MAX_ATTEMPTS", "2")]).await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Lent", "PDF", "POLICY", SLOW_ON_REAL_DATA).await);
    let job_id = id(&generate(manager, &template, &book.policies[0]).await);

    // Twice, a worker takes the job (the first when queued, the second once the lease of the dead
    // one expired) and dies mid-item: its task is aborted, its lease never released.
    for name in ["doomed-one", "doomed-two"] {
        let state = app.state.clone();
        let doomed = tokio::spawn(async move {
            while !try_execute_next(&state, name).await.expect("a claim") {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        until_rows(&app, &format!("SELECT lease_owner FROM jobs WHERE lease_owner = '{name}'"), 1).await;
        doomed.abort();
        let _ = doomed.await;
    }

    // The next worker to take it over gives up on it instead of making it a third time.
    bounded("the job to end", async {
        loop {
            let status = job(manager, &job_id).await["status"].as_str().unwrap_or_default().to_string();
            if status != "RUNNING" && status != "QUEUED" {
                break;
            }
            try_execute_next(&app.state, "survivor").await.expect("a claim");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let j = job(manager, &job_id).await;
    assert_eq!(j["status"], "FAILED", "{j:#}");
    assert_eq!(j["documents"]["totalCount"], 0, "{j:#}");
    let error = j["error"].as_str().unwrap_or_default();
    assert!(error.contains("2 attempts"), "the error does not say the job was given up after its attempts: {j:#}");
}

// 4b. Organizations take turns: one tenant's backlog does not starve another's job.

#[tokio::test]
async fn an_organizations_backlog_does_not_hold_back_another_organizations_job() {
    let app = spawn_app().await;
    let acme = book(&app, "acme", 1).await;
    let beta = book(&app, "beta", 1).await;
    let acme_template = id(&create_template(&acme.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let beta_template = id(&create_template(&beta.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let mut backlog = Vec::new();
    for _ in 0..3 {
        backlog.push(id(&generate(&acme.org.manager, &acme_template, &acme.policies[0]).await));
    }
    let late = id(&generate(&beta.org.manager, &beta_template, &beta.policies[0]).await);

    // Two turns: acme's oldest job, then beta's, whose organization has not had a turn yet.
    for _ in 0..2 {
        assert!(bounded("a turn", try_execute_next(&app.state, "worker")).await.expect("a turn"));
    }
    assert_eq!(job(&beta.org.manager, &late).await["status"], "SUCCEEDED", "beta waited behind acme's backlog");
    assert_eq!(job(&acme.org.manager, &backlog[0]).await["status"], "SUCCEEDED");
    assert_eq!(job(&acme.org.manager, &backlog[2]).await["status"], "QUEUED");

    run_jobs(&app).await;
    for job_id in &backlog {
        assert_eq!(job(&acme.org.manager, job_id).await["status"], "SUCCEEDED");
    }
}

// 12a. A storage failure is told with a reference, never with its paths.

#[tokio::test]
async fn a_job_failed_by_storage_says_so_with_a_reference_and_no_file_path() {
    let app = spawn_app_with(&[("STORAGE_URL", "")]).await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    // The document store's directory becomes a plain file: every write fails.
    let files = app.data_dir().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();

    let job_id = id(&generate(manager, &template, &book.policies[0]).await);
    run_jobs(&app).await;
    let j = job(manager, &job_id).await;
    assert_eq!(j["status"], "FAILED", "{j:#}");
    let error = j["error"].as_str().unwrap_or_default();
    assert!(error.contains("storage"), "the error does not say what failed: {error}");
    assert!(error.contains(&job_id), "the error gives no reference to the job: {error}");
    let data_dir = app.data_dir().display().to_string();
    for leak in [data_dir.as_str(), "/files", "directory", "os error"] {
        assert!(!error.contains(leak), "the error leaks `{leak}`: {error}");
    }
}

// 12b. A cancellation and its audit row are written together.

#[tokio::test]
async fn cancelling_a_job_writes_one_audit_row_with_the_cancellation_and_none_when_nothing_changes() {
    let app = spawn_app().await;
    let book = book(&app, "acme", 1).await;
    let manager = &book.org.manager;
    let template = id(&create_template(manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let job_id = id(&generate(manager, &template, &book.policies[0]).await);

    let cancelled = manager.ok(CANCEL, json!({"id": job_id})).await;
    assert_eq!(cancelled["cancelJob"]["status"], "CANCELLED");
    let filter = json!({"f": {"action": "job.cancel"}});
    let logs = book.org.admin.ok(AUDIT, filter.clone()).await["auditLogs"].clone();
    assert_eq!(logs["totalCount"], 1, "{logs:#}");
    assert_eq!(logs["nodes"][0]["objectType"], "Job", "{logs:#}");
    assert_eq!(logs["nodes"][0]["objectId"], job_id, "{logs:#}");
    assert_eq!(logs["nodes"][0]["actor"]["id"].as_str(), Some(manager.id.as_str()), "{logs:#}");

    // Cancelling it again changes nothing, and records nothing.
    let again = manager.ok(CANCEL, json!({"id": job_id})).await;
    assert_eq!(again["cancelJob"]["status"], "CANCELLED");
    assert_eq!(book.org.admin.ok(AUDIT, filter).await["auditLogs"]["totalCount"], 1);
}
