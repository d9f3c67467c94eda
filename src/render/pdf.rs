//! Typst → PDF (and PNG previews) through a hand-written, sandboxed `World`.
//!
//! The world sees exactly three kinds of file: the template (`/main.typ`), the data
//! (`/data.json`) and the template's assets (`/<name>`). Everything else, packages
//! included, is `FileError::NotFound`: no file-system or network access at all.
//! These functions run the template in the calling process with no time or memory
//! limit: the service calls them only inside a `render-worker` child (see `worker.rs`).

use std::collections::HashMap;
use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{DiagSpan, DiagSpanKind, FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;

use super::{Diagnostic, RenderError};

/// Pixels per typographic point in PNG previews (1.5 → an A4 page is 893 × 1263 px).
pub const PREVIEW_PIXELS_PER_PT: f64 = 1.5;
/// Where a template finds its data: `#let data = json("/data.json")`.
pub const DATA_PATH: &str = "/data.json";
const MAIN_PATH: &str = "/main.typ";

/// The embedded fonts (Libertinus Serif, New Computer Modern, DejaVu Sans Mono, …),
/// parsed once per process.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

/// The standard library, built once per process (its hash is part of every cache key).
static LIBRARY: LazyLock<LazyHash<Library>> =
    LazyLock::new(|| LazyHash::new(<Library as LibraryExt>::default()));

fn file_id(path: &str) -> Option<FileId> {
    let vpath = VirtualPath::new(path).ok()?;
    Some(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// One document's world: cheap to build, everything heavy is shared.
struct DocWorld {
    main: Source,
    /// `/data.json` and the assets, by interned id.
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

impl DocWorld {
    fn new(
        template: &str,
        data: &serde_json::Value,
        assets: &HashMap<String, Vec<u8>>,
    ) -> Result<Self, RenderError> {
        let main_id = file_id(MAIN_PATH).expect("a valid constant path");
        let mut files = HashMap::with_capacity(assets.len() + 1);
        for (name, bytes) in assets {
            let path = if name.starts_with('/') {
                name.clone()
            } else {
                format!("/{name}")
            };
            let id = file_id(&path).ok_or_else(|| {
                RenderError::template(format!("the asset name {name:?} is not a valid path"))
            })?;
            files.insert(id, Bytes::new(bytes.clone()));
        }
        let json = serde_json::to_vec(data).map_err(|e| RenderError::Internal(e.to_string()))?;
        files.insert(
            file_id(DATA_PATH).expect("a valid constant path"),
            Bytes::new(json),
        );
        Ok(Self {
            main: Source::new(main_id, template.to_owned()),
            files,
            today: today_of(data),
        })
    }
}

/// `datetime.today()` is the day the document was generated (`generatedAt`), so a
/// document renders the same bytes whenever it is re-rendered; else the current UTC day.
fn today_of(data: &serde_json::Value) -> Datetime {
    use chrono::Datelike;
    let day = data
        .get("generatedAt")
        .and_then(|v| v.as_str())
        .and_then(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.date_naive())
                .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d"))
                .ok()
        })
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    Datetime::from_ymd(day.year(), day.month() as u8, day.day() as u8)
        .unwrap_or_else(|| Datetime::from_ymd(1970, 1, 1).expect("a valid date"))
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        // Assets may be Typst modules (`#import "/header.typ"`).
        let bytes = self.file(id)?;
        let text = std::str::from_utf8(bytes.as_slice())?;
        Ok(Source::new(id, text.to_owned()))
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        if let VirtualRoot::Package(_) = id.root() {
            return Err(FileError::Other(Some(
                "packages are not available to templates".into(),
            )));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_with_slash().into()))
    }
    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// Compiles a Typst template over `data` into a PDF.
pub fn compile_pdf(
    template: &str,
    data: &serde_json::Value,
    assets: &HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, RenderError> {
    let result = compile(template, data, assets).and_then(|(world, doc)| to_pdf(&world, &doc));
    typst::comemo::evict(10);
    result
}

/// Compiles a template into a PDF and renders each page as a PNG (for the template editor).
pub fn preview_png(
    template: &str,
    data: &serde_json::Value,
    assets: &HashMap<String, Vec<u8>>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), RenderError> {
    let result = compile(template, data, assets).and_then(|(world, doc)| {
        let pdf = to_pdf(&world, &doc)?;
        let options = typst_render::RenderOptions {
            pixel_per_pt: PREVIEW_PIXELS_PER_PT.into(),
            ..Default::default()
        };
        let pages = doc
            .pages()
            .iter()
            .map(|page| {
                typst_render::render(page, &options)
                    .encode_png()
                    .map_err(|e| RenderError::Internal(format!("PNG encoding failed: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((pdf, pages))
    });
    typst::comemo::evict(10);
    result
}

fn compile(
    template: &str,
    data: &serde_json::Value,
    assets: &HashMap<String, Vec<u8>>,
) -> Result<(DocWorld, PagedDocument), RenderError> {
    let world = DocWorld::new(template, data, assets)?;
    let doc = typst::compile::<PagedDocument>(&world)
        .output
        .map_err(|errors| RenderError::Template(diagnostics(&world, &errors)))?;
    Ok((world, doc))
}

fn to_pdf(world: &DocWorld, doc: &PagedDocument) -> Result<Vec<u8>, RenderError> {
    typst_pdf::pdf(doc, &typst_pdf::PdfOptions::default())
        .map_err(|errors| RenderError::Template(diagnostics(world, &errors)))
}

/// Typst diagnostics → ours: 1-based line/column in the template, hints kept.
fn diagnostics(world: &DocWorld, errors: &[SourceDiagnostic]) -> Vec<Diagnostic> {
    errors
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            // An error inside a function points into that function's body; if the span is
            // detached or in another file, the call site in the template is the best place.
            let spans =
                std::iter::once(d.span).chain(d.trace.iter().map(|t| DiagSpan::from(t.span)));
            let position = spans.filter_map(|span| locate(world, span)).next();
            let mut message = d.message.to_string();
            if let Some(other) = d.span.id().filter(|id| *id != world.main.id()) {
                message = format!("{message} (in {})", other.vpath().get_with_slash());
            }
            let mut hints: Vec<String> = d.hints.iter().map(|h| h.v.to_string()).collect();
            if message.starts_with("file not found") {
                hints.push(format!(
                    "a template can read only {DATA_PATH} and its own assets: no other file, \
                     package or network resource exists"
                ));
            }
            Diagnostic {
                message,
                line: position.map(|(l, _)| l),
                column: position.map(|(_, c)| c),
                hint: (!hints.is_empty()).then(|| hints.join("; ")),
            }
        })
        .collect()
}

fn locate(world: &DocWorld, span: DiagSpan) -> Option<(u32, u32)> {
    let id = match span.get() {
        DiagSpanKind::Detached => return None,
        DiagSpanKind::Number { id, .. } | DiagSpanKind::Range { id, .. } => id,
    };
    if id != world.main.id() {
        return None;
    }
    let range = world.range(span)?;
    let (line, column) = world.main.lines().byte_to_line_column(range.start)?;
    Some((line as u32 + 1, column as u32 + 1))
}

/// Parses the fonts and builds the library now rather than on the first document.
pub fn warm_up() {
    let _ = compile_pdf(
        "#set page(width: 5cm, height: 2cm)\nwarm *up*",
        &serde_json::json!({}),
        &HashMap::new(),
    );
}
