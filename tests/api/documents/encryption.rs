//! Documents at rest under `STORAGE_ENCRYPTION_KEYS`: the file on disk is AES-256-GCM ciphertext
//! (no PDF header, no policy number), the download is the exact plaintext (`sha256` of the
//! plaintext), and keys rotate: a new current key encrypts new documents while the old one still
//! opens old documents, until it is removed.

use std::path::PathBuf;

use super::*;

const K1: &str = "k1:ERERERERERERERERERERERERERERERERERERERERERE=";
const K2: &str = "k2:IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";
/// These tests read the stored files from the disk: local storage even when TEST_S3_URL is set.
const LOCAL: (&str, &str) = ("STORAGE_URL", "");


fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Downloads `document` through its signed link from `app`.
async fn download(app: &TestApp, actor: &User, document: &str) -> reqwest::Response {
    let data = app
        .ok(actor, "query($id: ID!) { document(id: $id) { downloadUrl(ttlSeconds: 60) } }", json!({"id": document}))
        .await;
    get(app, data["document"]["downloadUrl"].as_str().expect("downloadUrl")).await
}

#[tokio::test]
async fn an_encrypted_document_is_ciphertext_on_disk_and_plaintext_when_downloaded() {
    for compress in ["true", "false"] {
        let app = spawn_app_with(&[("STORAGE_ENCRYPTION_KEYS", K1), ("STORAGE_COMPRESS", compress), LOCAL]).await;
        let made = made_certificate(&app, "crypt").await;
        let files = stored_files(app.data_dir());
        assert_eq!(files.len(), 1, "one document, one stored file: {files:?}");
        let raw = std::fs::read(&files[0]).expect("stored file");
        assert!(!raw.starts_with(b"%PDF"), "the stored file is a readable PDF (compress={compress})");
        let number = made.book.numbers[0].as_bytes();
        assert!(!contains(&raw, number), "the policy number is readable on disk (compress={compress})");

        let resp = download(&app, &made.book.org.manager, made.document["id"].as_str().unwrap()).await;
        assert_eq!(resp.status(), 200);
        let body = resp.bytes().await.expect("body");
        assert!(body.starts_with(b"%PDF"), "the download is not the PDF (compress={compress})");
        assert_eq!(sha256_hex(&body), made.document["sha256"].as_str().unwrap(), "sha256 is the plaintext's");
        assert_eq!(body.len() as i64, made.document["sizeBytes"].as_i64().unwrap());
        assert_ne!(sha256_hex(&raw), sha256_hex(&body));
    }
}

#[tokio::test]
async fn a_rotated_key_encrypts_new_documents_and_the_old_one_still_opens_old_documents() {
    let app = spawn_app_with(&[("STORAGE_ENCRYPTION_KEYS", K1), LOCAL]).await;
    let made = made_certificate(&app, "rotate").await;
    let manager = &made.book.org.manager;
    let old_doc = made.document["id"].as_str().unwrap().to_string();
    let old_file = stored_files(app.data_dir());

    // The same data behind a server whose current key is k2, k1 kept for reading.
    let rotated = app.sibling(&[("STORAGE_ENCRYPTION_KEYS", &format!("{K2},{K1}"))]).await;
    let resp = download(&rotated, manager, &old_doc).await;
    assert_eq!(resp.status(), 200, "a k1 document after rotation");
    assert_eq!(sha256_hex(&resp.bytes().await.unwrap()), made.document["sha256"].as_str().unwrap());

    // A new document from the rotated server is written under k2: the k1-only server cannot
    // open it, the rotated one can.
    let vars = json!({"i": {"templateId": made.template, "policyId": made.book.policies[0]}});
    let job_id = id(&rotated.ok(manager, GENERATE_DOCUMENT, vars).await["generateDocument"]);
    rotated.run_pending_jobs().await;
    let j = rotated.ok(manager, JOB, json!({"id": job_id})).await["job"].clone();
    assert_eq!(j["status"], "SUCCEEDED", "{j:#}");
    let new_doc = j["documents"]["nodes"][0]["id"].as_str().expect("new document").to_string();
    let new_files: Vec<PathBuf> = stored_files(app.data_dir()).into_iter().filter(|f| !old_file.contains(f)).collect();
    assert_eq!(new_files.len(), 1, "the new document has its own file (its key id is part of its address)");

    let resp = download(&rotated, manager, &new_doc).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"%PDF"));
    let resp = download(&app, manager, &new_doc).await;
    assert_ne!(resp.status(), 200, "a server without k2 served a k2 document");
    assert!(!resp.bytes().await.unwrap().starts_with(b"%PDF"));

    // Once k1 is removed, its documents no longer open; nothing falls back to another key.
    let k2_only = app.sibling(&[("STORAGE_ENCRYPTION_KEYS", K2)]).await;
    let resp = download(&k2_only, manager, &old_doc).await;
    assert_ne!(resp.status(), 200, "a k1 document opened without k1");
    assert!(!resp.bytes().await.unwrap().starts_with(b"%PDF"));
    let resp = download(&k2_only, manager, &new_doc).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_malformed_encryption_key_setting_stops_the_server_at_start() {
    for bad in ["k1:not-base64!", "k1:c2hvcnQ=", "nokid", ":ERERERERERERERERERERERERERERERERERERERERERE="] {
        let dir = tempfile::tempdir().unwrap();
        let vars: std::collections::HashMap<&str, String> = [
            ("DATA_DIR", dir.path().display().to_string()),
            ("JWT_SECRET", "x".repeat(40)),
            ("STORAGE_ENCRYPTION_KEYS", bad.to_string()),
            ("RENDER_WORKER_EXE", env!("CARGO_BIN_EXE_monassurance").to_string()),
        ]
        .into_iter()
        .collect();
        let settings = monassurance::config::Settings::from_lookup(|k| vars.get(k).cloned());
        let refused = match settings {
            Err(_) => true,
            Ok(s) => monassurance::app::Application::build(s).await.is_err(),
        };
        assert!(refused, "STORAGE_ENCRYPTION_KEYS={bad} was accepted");
    }
}
