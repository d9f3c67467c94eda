//! `Document.downloadUrl` and `GET /files/{id}`: signed links serve the exact file (whole or a
//! range) with no token; a tampered link is 403; a link lives 1 s to 1 h.

use super::*;

const LINK: &str = "query($id: ID!, $ttl: Int!) { document(id: $id) { id downloadUrl(ttlSeconds: $ttl) } }";

/// `url` with the value of query parameter `name` replaced by `change(old value)`.
fn with_param(url: &str, name: &str, change: impl Fn(&str) -> String) -> String {
    let (path, query) = url.split_once('?').unwrap_or_else(|| panic!("no query string in {url}"));
    let mut found = false;
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if k == name => {
                found = true;
                format!("{k}={}", change(v))
            }
            _ => pair.to_string(),
        })
        .collect();
    assert!(found, "no {name} in {url}");
    format!("{path}?{}", params.join("&"))
}

/// `s` with its last character changed to another hex digit.
fn flip_last(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.last_mut().expect("a non-empty value");
    *last = if *last == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn a_download_link_serves_the_pdf_it_describes_without_a_token() {
    let app = spawn_app().await;
    let made = made_certificate(&app, "acme").await;
    let doc = &made.document;
    let url = doc["downloadUrl"].as_str().expect("downloadUrl");
    assert!(url.contains("/files/") && url.contains("sig="), "{url}");

    let resp = get(&app, url).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), "application/pdf");
    let disposition = header(&resp, "content-disposition");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let body = resp.bytes().await.expect("body");
    assert!(body.starts_with(b"%PDF"), "not a PDF");
    assert_eq!(body.len() as i64, doc["sizeBytes"].as_i64().unwrap(), "sizeBytes is the downloaded size");
    assert_eq!(sha256_hex(&body), doc["sha256"].as_str().unwrap(), "sha256 is the downloaded file's");

    match pdf_text(&body) {
        Some(text) => {
            assert!(text.contains(&made.book.numbers[0]), "the policy number is not in the PDF: {text}");
            assert!(text.contains(CLIENT_LAST_NAME), "the client is not in the PDF: {text}");
        }
        None => eprintln!("note: skipped checking the policy number inside the PDF"),
    }
}

#[tokio::test]
async fn a_range_request_gets_206_with_those_bytes() {
    let app = spawn_app().await;
    let made = made_certificate(&app, "acme").await;
    let url = absolute(&app, made.document["downloadUrl"].as_str().unwrap());
    let resp = bounded("GET with Range", app.client.get(&url).header("Range", "bytes=0-3").send()).await.expect("sent");
    assert_eq!(resp.status(), 206);
    let size = made.document["sizeBytes"].as_i64().unwrap();
    assert_eq!(header(&resp, "content-range"), format!("bytes 0-3/{size}"));
    assert_eq!(&resp.bytes().await.expect("body")[..], b"%PDF");
}

#[tokio::test]
async fn a_tampered_download_link_is_refused_with_403() {
    let app = spawn_app().await;
    let made = made_certificate(&app, "acme").await;
    let url = made.document["downloadUrl"].as_str().unwrap().to_string();

    let bad_sig = with_param(&url, "sig", flip_last);
    let later = with_param(&url, "exp", |exp| (exp.parse::<i64>().expect("exp is a number") + 3600).to_string());
    let earlier = with_param(&url, "exp", |exp| (exp.parse::<i64>().expect("exp is a number") - 1).to_string());
    let no_sig = url.split("&sig=").next().unwrap().to_string();
    let other_kid = with_param(&url, "kid", |kid| format!("{kid}x"));
    for tampered in [bad_sig, later, earlier, no_sig, other_kid] {
        let resp = get(&app, &tampered).await;
        assert_eq!(resp.status(), 403, "{tampered}");
        let body = resp.bytes().await.expect("body");
        assert!(!body.starts_with(b"%PDF"), "a refused link still served the file");
    }
    // The untouched link still works.
    assert_eq!(get(&app, &url).await.status(), 200);
}

#[tokio::test]
async fn a_download_link_lives_between_one_second_and_an_hour() {
    let app = spawn_app().await;
    let made = made_certificate(&app, "acme").await;
    let manager = &made.book.org.manager;
    let doc = id(&made.document);
    for ttl in [0, -5, 3601, 4000] {
        let body = manager.run(LINK, json!({"id": doc, "ttl": ttl})).await;
        refused(&body, "BAD_USER_INPUT");
    }
    for ttl in [1, 3600] {
        let d = manager.ok(LINK, json!({"id": doc, "ttl": ttl})).await;
        let url = d["document"]["downloadUrl"].as_str().expect("downloadUrl");
        let exp: i64 = url.split("exp=").nth(1).and_then(|s| s.split('&').next()).and_then(|s| s.parse().ok()).expect("exp");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((exp - now - ttl).abs() <= 5, "ttl {ttl}: exp {exp} is not about now + ttl ({now})");
    }
}
