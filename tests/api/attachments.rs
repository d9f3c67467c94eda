//! Attachments through the public API: real files (a PDF, a PNG, a DOCX) uploaded with the GraphQL
//! multipart request, told by content, downloaded byte-identical through signed links (plain,
//! compressed, encrypted; on S3 too when `TEST_S3_URL` is set), and what is refused: an executable
//! named `.pdf`, a multipart request without the preflight header, a file over the limit.

mod access;
mod batching;

use std::io::Write;

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::documents::{get, header, sha256_hex};
use crate::helpers::*;

/// These tests read the stored files from the disk: local storage even when TEST_S3_URL is set.
const LOCAL: (&str, &str) = ("STORAGE_URL", "");
const KEYS: (&str, &str) = ("STORAGE_ENCRYPTION_KEYS", "k1:ERERERERERERERERERERERERERERERERERERERERERE=");

pub const UPLOAD: &str = "mutation($i: UploadAttachmentInput!) { uploadAttachment(input: $i) { id fileName mimeType sizeBytes sha256 label createdBy { id } createdAt downloadUrl(ttlSeconds: 60) } }";
pub const DELETE: &str = "mutation($id: ID!) { deleteAttachment(id: $id) }";
pub const OF_POLICY: &str = "query($id: ID!) { policy(id: $id) { attachments(first: 10) { totalCount nodes { id fileName mimeType sha256 label } } } }";
pub const OF_CLIENT: &str = "query($id: ID!) { client(id: $id) { attachments(first: 10) { totalCount nodes { id fileName } } } }";

/// A 1×1 PNG.
pub fn png() -> Vec<u8> {
    STANDARD.decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC").unwrap()
}

/// A small, valid one-page PDF (cross-reference offsets computed).
pub fn pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 50 Td (Constat amiable) Tj ET\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// A minimal Word document: the parts Word needs, zipped in the order Word writes them.
pub fn docx() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#),
        ("word/_rels/document.xml.rels", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>"#),
        ("word/document.xml", r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Rapport d'expertise</w:t></w:r></w:p></w:body></w:document>"#),
    ];
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The start of a Linux executable, padded.
pub fn elf() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    bytes.resize(4096, 0);
    bytes
}

/// Sends `uploadAttachment` as a multipart request (with the preflight header when `preflight`).
pub async fn send(app: &TestApp, user: &User, owner: &str, name: &str, bytes: Vec<u8>, preflight: bool) -> (StatusCode, Value) {
    send_with(app, &format!("Bearer {}", user.token), owner, name, bytes, preflight).await
}

/// [`send`] with any `Authorization` value (`ApiKey …`).
pub async fn send_with(app: &TestApp, authorization: &str, owner: &str, name: &str, bytes: Vec<u8>, preflight: bool) -> (StatusCode, Value) {
    let operations = json!({"query": UPLOAD, "variables": {"i": {"ownerId": owner, "file": null, "label": "Pièce"}}});
    let part = multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str("application/pdf").unwrap();
    let form = multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.i.file"]}).to_string())
        .part("0", part);
    let mut request = app.client.post(app.url("/graphql")).header("authorization", authorization).multipart(form);
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    let resp = request.send().await.expect("sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Uploads a file that must be accepted; returns the attachment.
pub async fn attach(app: &TestApp, user: &User, owner: &str, name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = send(app, user, owner, name, bytes, true).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["uploadAttachment"].clone()
}

/// A manager's organization with one client and one policy of it: `(org, client, policy)`.
pub async fn book(app: &TestApp, name: &str) -> (Org, String, String) {
    let org = app.org(name).await;
    let company = app.create_company(&org.manager, &format!("{}-CO", name.to_uppercase())).await;
    let client = app.create_client(&org.agent, "Mbarga").await;
    let policy = app.create_policy(&org.agent, &format!("{}-0001", name.to_uppercase()), &client, &company).await;
    (org, client, policy)
}

/// Downloads an attachment through its link; asserts it downloads as a file, never inline.
pub async fn download(app: &TestApp, attachment: &Value) -> Vec<u8> {
    let resp = get(app, attachment["downloadUrl"].as_str().expect("downloadUrl")).await;
    assert_eq!(resp.status(), 200);
    let disposition = header(&resp, "content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let name = attachment["fileName"].as_str().unwrap();
    assert!(disposition.contains(&format!("filename=\"{name}\"")), "{disposition}");
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert_eq!(header(&resp, "content-type"), attachment["mimeType"].as_str().unwrap());
    resp.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn real_files_download_byte_identical_plain_and_encrypted() {
    for settings in [vec![], vec![KEYS], vec![KEYS, ("STORAGE_COMPRESS", "false")]] {
        let app = spawn_app_with(&settings).await;
        let (org, client, policy) = book(&app, "files").await;
        let files = [
            (policy.as_str(), "constat.pdf", pdf(), "application/pdf"),
            (client.as_str(), "C:\\Users\\ann\\photo.png", png(), "image/png"),
            (policy.as_str(), "rapport.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (client.as_str(), "note.txt", "Reçu le 6 décembre.\r\nÀ rappeler.\n".as_bytes().to_vec(), "text/plain"),
        ];
        for (owner, name, bytes, mime) in files {
            let a = attach(&app, &org.agent, owner, name, bytes.clone()).await;
            assert_eq!(a["mimeType"], mime, "{settings:?}: {a:#}");
            assert_eq!(a["sizeBytes"].as_u64(), Some(bytes.len() as u64));
            assert_eq!(a["sha256"], sha256_hex(&bytes));
            assert_eq!(a["label"], "Pièce");
            assert_eq!(a["createdBy"]["id"], org.agent.id.as_str());
            assert_eq!(download(&app, &a).await, bytes, "{settings:?}: {name} is not byte-identical");
        }
        let photo = org.agent.ok(OF_CLIENT, json!({"id": client})).await;
        assert_eq!(photo["client"]["attachments"]["nodes"][0]["fileName"], "note.txt", "newest first");
        assert_eq!(photo["client"]["attachments"]["nodes"][1]["fileName"], "photo.png", "the path is not kept");
        let of_policy = org.agent.ok(OF_POLICY, json!({"id": policy})).await;
        assert_eq!(of_policy["policy"]["attachments"]["totalCount"], 2, "{of_policy:#}");
    }
}

#[tokio::test]
async fn an_encrypted_attachment_is_ciphertext_on_disk() {
    let app = spawn_app_with(&[KEYS, LOCAL]).await;
    let (org, _, policy) = book(&app, "crypt").await;
    let text = "Montant réclamé: 1 250 000 XAF. ".repeat(5000).into_bytes();
    let a = attach(&app, &org.manager, &policy, "devis.txt", text.clone()).await;
    let files = stored_files(app.data_dir());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().contains(".zst.encs-k1"), "{files:?}");
    let raw = std::fs::read(&files[0]).unwrap();
    assert!(raw.len() < text.len() / 4, "compressed before it was encrypted: {} bytes", raw.len());
    assert!(!raw.windows(7).any(|w| w == b"Montant"), "plaintext on disk");
    assert_eq!(download(&app, &a).await, text);
}

#[tokio::test]
async fn a_20_mib_attachment_is_accepted_and_a_larger_one_refused() {
    let app = spawn_app().await;
    let (org, _, policy) = book(&app, "big").await;
    let mut big = pdf();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while big.len() < 20 * 1024 * 1024 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        big.extend_from_slice(&state.to_le_bytes());
    }
    big.truncate(20 * 1024 * 1024);
    let a = attach(&app, &org.manager, &policy, "scan.pdf", big.clone()).await;
    assert_eq!(a["sizeBytes"].as_u64(), Some(big.len() as u64));
    assert!(download(&app, &a).await == big, "the 20 MiB download differs");

    big.push(b'\n');
    let (status, body) = send(&app, &org.manager, &policy, "scan.pdf", big, true).await;
    assert!(status == StatusCode::PAYLOAD_TOO_LARGE || code(&body) == "BAD_USER_INPUT", "{status} {body:#}");
    let d = org.manager.ok(OF_POLICY, json!({"id": policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 1, "{d:#}");

    let small = spawn_app_with(&[("ATTACHMENT_MAX_BYTES", "1000")]).await;
    let (org, _, policy) = book(&small, "small").await;
    let (_, body) = send(&small, &org.manager, &policy, "c.pdf", [pdf(), vec![b' '; 1000]].concat(), true).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.file", "{body:#}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("ATTACHMENT_MAX_BYTES"), "{body:#}");
}

#[tokio::test]
async fn an_executable_named_pdf_and_other_unknown_content_are_refused_and_nothing_is_stored() {
    let app = spawn_app_with(&[LOCAL]).await;
    let (org, _, policy) = book(&app, "exe").await;
    let mut pe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    pe.resize(2048, 0);
    let html = b"<!DOCTYPE html><html><script>fetch('/graphql')</script></html>".to_vec();
    for (name, bytes) in [("x.pdf", elf()), ("facture.pdf", pe), ("photo.png", html), ("vide.pdf", Vec::new())] {
        let (status, body) = send(&app, &org.manager, &policy, name, bytes, true).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{name}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.file", "{name}: {body:#}");
        assert!(body["data"].is_null() || body["data"]["uploadAttachment"].is_null(), "{body:#}");
    }
    let d = org.manager.ok(OF_POLICY, json!({"id": policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 0, "{d:#}");
    assert_eq!(stored_files(app.data_dir()), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn a_multipart_upload_without_the_preflight_header_is_refused_and_nothing_is_stored() {
    let app = spawn_app_with(&[LOCAL]).await;
    let (org, _, policy) = book(&app, "csrf").await;
    let (status, body) = send(&app, &org.manager, &policy, "constat.pdf", pdf(), false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:#}");
    assert!(body.to_string().contains("preflight"), "{body:#}");
    let d = org.manager.ok(OF_POLICY, json!({"id": policy})).await;
    assert_eq!(d["policy"]["attachments"]["totalCount"], 0, "{d:#}");
    assert_eq!(stored_files(app.data_dir()), Vec::<std::path::PathBuf>::new());
}

