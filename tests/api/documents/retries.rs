//! Transient failures (the document store unreachable) are retried with backoff, up to a
//! maximum number of attempts; an item that keeps failing fails with its error kept, and one
//! whose store comes back is made once.

use super::*;

/// Makes the local document store unusable (its directory becomes a plain file) until `restore`.
fn break_store(app: &TestApp) -> impl FnOnce() {
    let files = app.data_dir().join("files");
    let aside = app.data_dir().join("files.aside");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::rename(&files, &aside).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();
    move || {
        std::fs::remove_file(&files).unwrap();
        std::fs::rename(&aside, &files).unwrap();
    }
}

#[tokio::test]
async fn an_item_whose_store_comes_back_is_retried_and_made_once() {
    let app = spawn_app_with(&[("STORAGE_URL", "")]).await;
    let book = book(&app, "retry", 1).await;
    let template = id(&create_template(&book.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let restore = break_store(&app);
    let job_id = id(&generate(&book.org.manager, &template, &book.policies[0]).await);
    let worker = {
        let state = app.state.clone();
        tokio::spawn(async move { monassurance::jobs::worker::run_until_idle(&state).await })
    };
    // The first attempt fails at once, the second after ~250 ms; the third comes ~1 s later.
    tokio::time::sleep(Duration::from_millis(700)).await;
    restore();
    bounded("the job", worker).await.unwrap().unwrap();
    let j = job(&book.org.manager, &job_id).await;
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    assert_eq!((j["done"].as_i64(), j["failed"].as_i64()), (Some(1), Some(0)), "{j:#}");
    assert_eq!(j["documents"]["totalCount"].as_i64(), Some(1));
}

#[tokio::test]
async fn an_item_that_keeps_failing_fails_after_its_attempts_with_the_error_kept() {
    let app = spawn_app_with(&[("STORAGE_URL", "")]).await;
    let book = book(&app, "giveup", 1).await;
    let template = id(&create_template(&book.org.manager, "Certificat", "PDF", "POLICY", CERTIFICATE).await);
    let _never_restored = break_store(&app);
    let job_id = id(&generate(&book.org.manager, &template, &book.policies[0]).await);
    let started = std::time::Instant::now();
    bounded("the job", app.run_pending_jobs()).await;
    // 4 attempts, with 250 ms, 1 s and 4 s (±25%) between them.
    assert!(started.elapsed() >= Duration::from_secs(3), "the attempts were not spaced out: {:?}", started.elapsed());
    let j = job(&book.org.manager, &job_id).await;
    assert_eq!(j["status"], "FAILED", "{j:#}");
    assert_eq!(j["failed"].as_i64(), Some(1), "{j:#}");
    let error = j["error"].as_str().unwrap_or_default();
    assert!(error.contains("storage"), "the item's error is kept: {j:#}");
}
