//! Rendering tests. The pool tests use this test binary itself as the worker: it runs
//! `render_worker_child` (an ignored test) when started with the marker filter.

mod documents;
mod sheets;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

const CHILD_MARKER: &str = "render-worker-child-marker";

pub(super) const CERTIFICATE: &str = r#"#let data = json("/data.json")
#set page(paper: "a4", margin: 2cm)
#set text(font: "Libertinus Serif", size: 11pt)
#align(center, text(18pt, weight: "bold")[Attestation d'assurance])
#v(1em)
Police n° *#data.policy.number* — #data.policy.productName

Assuré : #data.client.firstName #data.client.lastName \
Assureur : #data.company.name \
Prime : #data.policy.premium #data.policy.currency \
Période : du #data.policy.effectiveDate au #data.policy.expiryDate

#v(2em)
Fait le #datetime.today().display("[day]/[month]/[year]").
"#;

pub(super) fn certificate_data(number: &str) -> Value {
    json!({
        "organization": {"name": "Courtage Exemple"},
        "company": {"name": "Assurances du Littoral", "code": "ADL"},
        "client": {"firstName": "Awa", "lastName": "Ngono", "kind": "PERSON"},
        "policy": {"number": number, "productName": "Auto Tous Risques", "premium": "125000.50",
                   "currency": "XAF", "effectiveDate": "2026-01-01", "expiryDate": "2026-12-31"},
        "generatedAt": "2026-11-22T10:00:00Z",
        "generatedBy": {"fullName": "Agent"},
        "document": {"number": "DOC-1"}
    })
}

pub(super) fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!(
        "render-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).ok()?;
    let out = Command::new("pdftotext").arg(&path).arg("-").output().ok();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether the external `tool` (e.g. `pdftotext`, from the Debian package `package`) can be run,
/// for the tests that read a rendered document with it. A missing tool fails the test in CI
/// (`CI=true`: .ci/run installs it) and skips the check elsewhere, saying so on stderr.
pub(super) fn have_tool(tool: &str, package: &str) -> bool {
    match Command::new(tool).arg("-v").output() {
        Ok(_) => true,
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("`{tool}` cannot be run ({error}): install the Debian package {package}")
        }
        Err(error) => {
            eprintln!(
                "skipped: `{tool}` cannot be run ({error}); install the Debian package {package} \
                 (with CI=true this fails)"
            );
            false
        }
    }
}

pub(super) fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub(super) fn first_message(error: RenderError) -> Diagnostic {
    match error {
        RenderError::Template(mut diagnostics) => diagnostics.remove(0),
        RenderError::Internal(message) => {
            panic!("expected a template error, got internal: {message}")
        }
    }
}

// ---------------------------------------------------------------- the pool

/// Not a test: the pool tests' child process.
#[test]
#[ignore = "the render-worker child of the pool tests"]
fn render_worker_child() {
    if std::env::args().any(|arg| arg == CHILD_MARKER) {
        worker::run_child();
    }
}

fn test_pool(size: usize, budget: Duration) -> RenderPool {
    let args = [
        "render::tests::render_worker_child",
        CHILD_MARKER,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ];
    RenderPool::new(
        size,
        std::env::current_exe().unwrap(),
        args,
        budget,
        PoolConfig::DEFAULT_MEMORY_LIMIT,
    )
    .unwrap()
}

#[tokio::test]
async fn the_pool_renders_warm_and_in_parallel() {
    let pool = test_pool(2, Duration::from_secs(20));
    let request = RenderRequest::new(CERTIFICATE, certificate_data("POL-9"));
    let first = pool.render_pdf(&request).await.unwrap();
    assert_eq!((first.mime, first.extension), ("application/pdf", "pdf"));
    let started = Instant::now();
    let second = pool.render_pdf(&request).await.unwrap();
    eprintln!("warm render through the pool: {:?}", started.elapsed());
    assert!(second.bytes.starts_with(b"%PDF"));

    let renders = (0..4).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            pool.render_pdf(&RenderRequest::new(
                CERTIFICATE,
                certificate_data(&format!("P-{i}")),
            ))
            .await
        })
    });
    for render in renders {
        assert!(render.await.unwrap().unwrap().bytes.starts_with(b"%PDF"));
    }
    let preview = pool.preview(&request).await.unwrap();
    assert_eq!(preview.png_pages.len(), 1);
    let html = pool
        .render_html(&RenderRequest::new("<b>{{ policy.number }}</b>", certificate_data("<i>")))
        .await
        .unwrap();
    assert_eq!(html.bytes, b"<b>&lt;i&gt;</b>");
}

#[tokio::test]
async fn a_template_that_never_ends_times_out_and_the_pool_recovers() {
    let pool = test_pool(1, Duration::from_secs(2));
    let _ = pool
        .render_pdf(&RenderRequest::new("warm", json!({})))
        .await; // a started child
    let forever = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";
    let started = Instant::now();
    let error = pool
        .render_pdf(&RenderRequest::new(forever, json!({})))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        first_message(error).message,
        "the template ran longer than 2 s"
    );
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");

    let next = pool
        .render_pdf(&RenderRequest::new(
            CERTIFICATE,
            certificate_data("POL-AFTER"),
        ))
        .await
        .unwrap();
    assert!(next.bytes.starts_with(b"%PDF"));
}

#[tokio::test]
async fn a_memory_bomb_fails_cleanly_and_the_pool_recovers() {
    let pool = test_pool(1, Duration::from_secs(20));
    // 100 million values of 32 bytes: the child passes 1 GiB within a second.
    let bomb = "#let a = range(100000000)\n#a.len()";
    let error = pool
        .render_pdf(&RenderRequest::new(bomb, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        first_message(error).message,
        "the template used more memory than allowed"
    );

    let next = pool
        .render_pdf(&RenderRequest::new(
            CERTIFICATE,
            certificate_data("POL-AFTER"),
        ))
        .await
        .unwrap();
    assert!(next.bytes.starts_with(b"%PDF"));
}

#[tokio::test]
async fn the_pool_reports_file_reads_as_template_errors() {
    let pool = test_pool(1, Duration::from_secs(20));
    let error = pool
        .render_pdf(&RenderRequest::new("#read(\"/etc/passwd\")", json!({})))
        .await
        .unwrap_err();
    let diagnostic = first_message(error);
    assert!(
        diagnostic.message.contains("file not found"),
        "{diagnostic:?}"
    );
    assert_eq!(diagnostic.line, Some(1));
    assert!(diagnostic.hint.unwrap().contains("/data.json"));
}

#[tokio::test]
async fn a_caller_that_stops_waiting_does_not_break_the_pool() {
    let pool = test_pool(1, Duration::from_secs(20));
    let forever = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }";
    let request = RenderRequest::new(forever, json!({}));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pool.render_pdf(&request))
            .await
            .is_err()
    );
    let next = pool
        .render_pdf(&RenderRequest::new(
            CERTIFICATE,
            certificate_data("POL-NEXT"),
        ))
        .await
        .unwrap();
    assert!(next.bytes.starts_with(b"%PDF"));
}
