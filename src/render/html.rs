//! HTML templates: MiniJinja over the document's data, autoescaped, sandboxed.
//!
//! No loader (no `include`/`import` of other files, no file system), HTML autoescaping for
//! every template, and a fuel budget so a loop cannot run forever. A template can still
//! build a huge string within its fuel, so the service runs this inside a `render-worker`
//! child (address-space limit, time budget) like Typst templates.

use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use super::{Diagnostic, RenderError};

/// Instructions a template may execute (~0.5–1 s of work in release; the loop over a
/// 10,000-policy report costs a few hundred thousand).
pub const FUEL: u64 = 20_000_000;
/// Nesting depth of loops, ifs, macro calls (MiniJinja caps it at 500 without `stacker`).
pub const RECURSION_LIMIT: usize = 200;

const NAME: &str = "template";

fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_debug(true); // keeps the byte range of errors, for columns
    env
}

/// Renders an HTML template over `data` (UTF-8 bytes).
pub fn render_html(template: &str, data: &serde_json::Value) -> Result<Vec<u8>, RenderError> {
    let env = environment();
    let tmpl = env
        .template_from_named_str(NAME, template)
        .map_err(|e| diagnose(template, &e))?;
    tmpl.render(data)
        .map(String::into_bytes)
        .map_err(|e| diagnose(template, &e))
}

fn diagnose(template: &str, error: &Error) -> RenderError {
    let mut message = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let column = error.range().and_then(|range| {
        let before = template.get(..range.start)?;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some(before[line_start..].chars().count() as u32 + 1)
    });
    let hint = match error.kind() {
        ErrorKind::OutOfFuel => Some(format!(
            "the template ran more than {FUEL} instructions: look for a loop that never ends"
        )),
        ErrorKind::TemplateNotFound => {
            Some("HTML templates cannot include or import other templates".to_owned())
        }
        _ => None,
    };
    RenderError::Template(vec![Diagnostic {
        message,
        line: error.line().map(|l| l as u32),
        column,
        hint,
    }])
}
