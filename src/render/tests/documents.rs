//! Typst and HTML templates, rendered in-process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{CERTIFICATE, certificate_data, first_message, have_tool, pdf_text};
use crate::render::{html, pdf};

#[test]
fn certificate_renders_to_a_pdf_with_the_policy_number() {
    let pdf = pdf::compile_pdf(
        CERTIFICATE,
        &certificate_data("POL-2026-000123"),
        &HashMap::new(),
    )
    .unwrap();
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    if !have_tool("pdftotext", "poppler-utils") {
        return;
    }
    let text = pdf_text(&pdf).expect("pdftotext reads the PDF");
    assert!(
        text.contains("POL-2026-000123"),
        "policy number missing from: {text}"
    );
    assert!(text.contains("Ngono"));
    assert!(
        text.contains("22/11/2026"),
        "today() should be generatedAt's day: {text}"
    );
}

#[test]
fn a_syntax_error_has_a_line_and_column() {
    let template = "#let data = json(\"/data.json\")\nHello\n#let x = (1, 2\nWorld";
    let diagnostic =
        first_message(pdf::compile_pdf(template, &json!({}), &HashMap::new()).unwrap_err());
    assert_eq!(diagnostic.line, Some(3), "{diagnostic:?}");
    assert!(diagnostic.column.is_some(), "{diagnostic:?}");
}

#[test]
fn a_missing_field_points_at_its_use() {
    let template = "#let data = json(\"/data.json\")\n\nNumber: #data.policy.nope";
    let diagnostic = first_message(
        pdf::compile_pdf(template, &certificate_data("P-1"), &HashMap::new()).unwrap_err(),
    );
    assert_eq!(
        (diagnostic.line, diagnostic.column),
        (Some(3), Some(22)),
        "{diagnostic:?}"
    ); // at `nope`
    assert!(diagnostic.message.contains("nope"), "{diagnostic:?}");
}

#[test]
fn templates_cannot_read_files_or_packages() {
    for template in [
        r#"#read("/etc/passwd")"#,
        r#"#image("/etc/hosts")"#,
        r#"#read("../../../../etc/passwd")"#,
        r#"#import "@preview/cetz:0.3.0""#,
    ] {
        let error = pdf::compile_pdf(template, &json!({}), &HashMap::new()).unwrap_err();
        let diagnostic = first_message(error);
        assert_eq!(diagnostic.line, Some(1), "{template}: {diagnostic:?}");
        let text = format!("{} {:?}", diagnostic.message, diagnostic.hint);
        assert!(
            text.contains("not found")
                || text.contains("packages are not available")
                || text.contains("outside"),
            "{template}: {text}"
        );
    }
}

#[test]
fn templates_read_their_assets() {
    let assets = HashMap::from([(
        "footer.typ".to_owned(),
        b"#let footer = [Pied de page]".to_vec(),
    )]);
    let template = "#import \"/footer.typ\": footer\n#footer";
    let pdf = pdf::compile_pdf(template, &json!({}), &assets).unwrap();
    if !have_tool("pdftotext", "poppler-utils") {
        return;
    }
    let text = pdf_text(&pdf).expect("pdftotext reads the PDF");
    assert!(text.contains("Pied de page"), "{text}");
}

#[test]
fn recursion_without_end_fails_with_a_diagnostic() {
    let error =
        pdf::compile_pdf("#let f(n) = f(n + 1)\n#f(0)", &json!({}), &HashMap::new()).unwrap_err();
    assert!(first_message(error).message.contains("depth"));
}

#[test]
fn preview_renders_png_pages() {
    let (pdf, pages) =
        pdf::preview_png(CERTIFICATE, &certificate_data("P-1"), &HashMap::new()).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(pages.len(), 1);
    assert!(pages[0].starts_with(b"\x89PNG"));
}

#[test]
fn html_escapes_script() {
    let html = html::render_html(
        "<p>{{ client.lastName }}</p>",
        &json!({"client": {"lastName": "<script>alert(1)</script>"}}),
    )
    .unwrap();
    let html = String::from_utf8(html).unwrap();
    assert_eq!(html, "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
}

#[test]
fn html_errors_have_lines_and_loops_run_out_of_fuel() {
    let diagnostic =
        first_message(html::render_html("line one\n{% for x in %}", &json!({})).unwrap_err());
    assert_eq!(diagnostic.line, Some(2), "{diagnostic:?}");

    let template = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}";
    let started = Instant::now();
    let diagnostic = first_message(html::render_html(template, &json!({})).unwrap_err());
    assert!(diagnostic.message.contains("fuel"), "{diagnostic:?}");
    assert!(started.elapsed() < Duration::from_secs(30));

    let diagnostic =
        first_message(html::render_html("{% include 'x.html' %}", &json!({})).unwrap_err());
    assert!(diagnostic.hint.is_some(), "{diagnostic:?}");
}
