//! The render sandbox as a client sees it: a template that loops, recurses or reads a file is
//! refused with diagnostics when it is saved, the check itself is bounded by `RENDER_TIMEOUT_SECS`,
//! and the render pool recovers for the next template.

use std::time::Instant;

use super::*;

/// An app whose renders may take 2 s at most, and its admin.
async fn strict_app() -> (TestApp, User) {
    let app = spawn_app_with(&[("RENDER_TIMEOUT_SECS", "2")]).await;
    let admin = app.register("acme", "admin@acme.test").await;
    (app, admin)
}

#[tokio::test]
async fn a_template_that_never_ends_is_refused_within_the_render_budget() {
    let (_app, admin) = strict_app().await;
    // A valid template first: the render child is warm, and a normal render fits the budget.
    create_template(&admin, "Certificat", "PDF", "POLICY", CERTIFICATE).await;

    // 10^10 iterations: Typst's own loop guard does not see it, only the time budget stops it.
    let forever = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";
    let started = Instant::now();
    let body = try_create_template(&admin, "Forever", "PDF", "POLICY", forever).await;
    let elapsed = started.elapsed();
    let text = diagnostic_text(&diagnostics(&body));
    assert!(text.contains("longer than 2 s"), "the diagnostic does not name the time budget: {body:#}");
    assert!(text.contains("loop"), "the hint does not mention a loop: {body:#}");
    assert!(elapsed < Duration::from_secs(20), "the check took {elapsed:?} with a 2 s budget");

    // The pool replaced the killed child: the next template renders.
    let t = create_template(&admin, "Certificat 2", "PDF", "POLICY", CERTIFICATE).await;
    assert_eq!(t["currentVersion"]["version"], 1);
    assert_eq!(admin.ok("{ templates { totalCount } }", json!({})).await["templates"]["totalCount"], 2);
}

#[tokio::test]
async fn loops_and_recursion_typst_can_see_are_refused() {
    let (_app, admin) = strict_app().await;
    let cases = [
        ("counting forever", "#let x = 0\n#while x >= 0 { x += 1 }\n#x", Some("loop")),
        ("always true", "#while true { }", None),
        ("recursion", "#let f(n) = f(n + 1)\n#f(0)", Some("depth")),
    ];
    for (name, content, mention) in cases {
        let body = try_create_template(&admin, name, "PDF", "POLICY", content).await;
        let text = diagnostic_text(&diagnostics(&body));
        if let Some(word) = mention {
            assert!(text.contains(word), "{name}: the diagnostic does not mention {word:?}: {body:#}");
        }
    }
    assert_eq!(admin.ok("{ templates { totalCount } }", json!({})).await["templates"]["totalCount"], 0);
}

#[tokio::test]
async fn a_template_cannot_read_the_file_system() {
    let (_app, admin) = strict_app().await;
    for (i, content) in [r#"#read("/etc/passwd")"#, r#"#read("../../../../etc/passwd")"#, r#"#image("/etc/hostname")"#]
        .into_iter()
        .enumerate()
    {
        let body = try_create_template(&admin, &format!("Reader {i}"), "PDF", "POLICY", content).await;
        let text = diagnostic_text(&diagnostics(&body));
        let refused_read = ["not found", "not available", "outside", "escape"].iter().any(|w| text.contains(w));
        assert!(refused_read, "{content}: {body:#}");
        assert!(!body.to_string().contains("root:"), "{content}: a file's content leaked: {body:#}");
    }

    // A preview is refused the same way, as diagnostics.
    let preview = "mutation($i: PreviewTemplateInput!) { previewTemplate(input: $i) { ok pdfBase64 diagnostics { message } } }";
    let vars = json!({"i": {"content": r#"#read("/etc/passwd")"#, "format": "PDF"}});
    let d = bounded("previewTemplate", admin.ok(preview, vars)).await;
    assert_eq!(d["previewTemplate"]["ok"], false, "{d:#}");
    assert!(d["previewTemplate"]["pdfBase64"].is_null(), "{d:#}");
    assert!(!d.to_string().contains("root:"), "{d:#}");
}
