//! Template assets uploaded per the GraphQL multipart request specification: an image a Typst
//! template reads by name is stored with the version, kept by the next version, and used when
//! documents are made; types are sniffed, sizes and counts capped, CSRF rules applied.

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::helpers::*;

/// A 1×1 PNG.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

const WITH_LOGO: &str = "#let data = json(\"/data.json\")\n#image(\"logo.png\", width: 2cm)\n= Certificat\nPolice: #data.policy.number\n";

fn png() -> Vec<u8> {
    STANDARD.decode(PNG_B64).unwrap()
}

/// Sends one operation as a multipart request with `files` mapped to the variables at `paths`.
async fn upload(app: &TestApp, token: &str, query: &str, variables: Value, files: Vec<(&str, &str, Vec<u8>)>) -> (StatusCode, Value) {
    let mut map = serde_json::Map::new();
    let mut form = multipart::Form::new().text("operations", json!({"query": query, "variables": variables}).to_string());
    let mut parts = Vec::new();
    for (i, (path, name, bytes)) in files.into_iter().enumerate() {
        map.insert(i.to_string(), json!([path]));
        parts.push((i.to_string(), multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str("application/octet-stream").unwrap()));
    }
    form = form.text("map", Value::Object(map).to_string());
    for (k, part) in parts {
        form = form.part(k, part);
    }
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const CREATE: &str = "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id currentVersion { id assets { name contentType sizeBytes sha256 } } } }";

fn create_vars(name: &str, content: &str, files: usize) -> Value {
    json!({"i": {"name": name, "format": "PDF", "scope": "POLICY", "content": content, "assets": vec![Value::Null; files]}})
}

#[tokio::test]
async fn an_uploaded_logo_is_kept_with_the_version_and_drawn_into_documents() {
    let app = spawn_app().await;
    let org = app.org("logo").await;
    let token = &org.manager.token;

    let (status, body) = upload(&app, token, CREATE, create_vars("Avec logo", WITH_LOGO, 1), vec![("variables.i.assets.0", "logo.png", png())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("errors").is_none(), "{body:#}");
    let t = &body["data"]["createTemplate"];
    let assets = &t["currentVersion"]["assets"];
    assert_eq!(assets[0]["name"], "logo.png");
    assert_eq!(assets[0]["contentType"], "image/png", "sniffed, whatever the part's declared type");
    assert_eq!(assets[0]["sizeBytes"].as_i64(), Some(png().len() as i64));
    let template_id = t["id"].as_str().unwrap().to_string();

    // A new version without uploads keeps the logo.
    let v2 = app
        .ok(&org.manager, "mutation($t: ID!, $c: String!) { createTemplateVersion(templateId: $t, content: $c) { version assets { name } } }",
            json!({"t": template_id, "c": format!("{WITH_LOGO}\nv2\n")}))
        .await;
    assert_eq!(v2["createTemplateVersion"]["assets"][0]["name"], "logo.png", "{v2}");

    // A certificate made with it embeds the image.
    let company = app.create_company(&org.manager, "LOGO-CO").await;
    let client = app.create_client(&org.manager, "Mbarga").await;
    let policy = app.create_policy(&org.manager, "LOGO-0001", &client, &company).await;
    let job = app
        .ok(&org.manager, "mutation($i: GenerateDocumentInput!) { generateDocument(input: $i) { id } }", json!({"i": {"templateId": template_id, "policyId": policy}}))
        .await;
    let job_id = job["generateDocument"]["id"].as_str().unwrap().to_string();
    app.run_pending_jobs().await;
    let j = app
        .ok(&org.manager, "query($id: ID!) { job(id: $id) { status error documents { nodes { downloadUrl(ttlSeconds: 60) } } } }", json!({"id": job_id}))
        .await;
    assert_eq!(j["job"]["status"], "SUCCEEDED", "{j:#}");
    let url = j["job"]["documents"]["nodes"][0]["downloadUrl"].as_str().unwrap();
    let url = if url.starts_with('/') { app.url(url) } else { url.to_string() };
    let pdf = app.client.get(url).send().await.unwrap().bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdf.windows(b"/Image".len()).any(|w| w == b"/Image"), "the PDF has no image XObject");

    // A preview with the template's assets renders; without them, the missing file is a diagnostic.
    let q = "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok diagnostics { message } } }";
    let with = org.manager.ok(q, json!({"i": {"content": WITH_LOGO, "format": "PDF", "templateId": template_id}})).await;
    assert_eq!(with["previewTemplate"]["ok"], true, "{with}");
    let without = org.manager.ok(q, json!({"i": {"content": WITH_LOGO, "format": "PDF"}})).await;
    assert_eq!(without["previewTemplate"]["ok"], false, "{without}");
}

#[tokio::test]
async fn uploads_that_are_not_images_too_big_or_too_many_are_refused() {
    let app = spawn_app_with(&[("UPLOAD_MAX_BYTES", "2000"), ("UPLOAD_MAX_FILES", "2"), ("ATTACHMENT_MAX_BYTES", "2000")]).await;
    let org = app.org("badup").await;
    let token = &org.manager.token;

    // A PDF (or a script) named like an image is refused by its content.
    let (_, body) = upload(&app, token, CREATE, create_vars("Faux", WITH_LOGO, 1), vec![("variables.i.assets.0", "logo.png", b"%PDF-1.7 fake".to_vec())]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.assets.0", "{body}");

    let (_, body) = upload(&app, token, CREATE, create_vars("Chemin", WITH_LOGO, 1), vec![("variables.i.assets.0", "../logo.png", png())]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "a path as a name: {body}");

    let big = [png(), vec![0u8; 3000]].concat();
    let (status, body) = upload(&app, token, CREATE, create_vars("Gros", WITH_LOGO, 1), vec![("variables.i.assets.0", "logo.png", big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let three = vec![("variables.i.assets.0", "a.png", png()), ("variables.i.assets.1", "b.png", png()), ("variables.i.assets.2", "logo.png", png())];
    let (_, body) = upload(&app, token, CREATE, create_vars("Trop", WITH_LOGO, 3), three).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("UPLOAD_MAX_FILES"), "{body}");

    // Nothing was created by any of them.
    let list = org.manager.ok("{ templates(first: 10) { totalCount } }", json!({})).await;
    assert_eq!(list["templates"]["totalCount"], 0, "{list}");

    // An agent cannot upload (templates are written by managers).
    let (_, body) = upload(&app, &org.agent.token, CREATE, create_vars("Agent", WITH_LOGO, 1), vec![("variables.i.assets.0", "logo.png", png())]).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
}
