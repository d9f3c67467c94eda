//! What an uploaded file is, told by its bytes (`infer`, and a plain-text check), never by its
//! name or declared type; and the name it is kept under.

use std::io::{self, Read, Seek};

/// Bytes read from the start of a file to tell its type (OOXML needs a few entries of the zip).
const HEAD: usize = 64 * 1024;
/// The longest kept file name, in characters.
const NAME_MAX: usize = 200;

/// An accepted file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    pub mime: &'static str,
    /// Whether zstd gains anything (not for images and zip-based formats, already compressed).
    pub compressible: bool,
}

/// The types an attachment may have, as `infer` names them.
const ALLOWED: [(&str, bool); 10] = [
    ("application/pdf", true),
    ("image/png", false),
    ("image/jpeg", false),
    ("image/gif", false),
    ("image/webp", false),
    ("image/heif", false),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", false),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false),
    ("application/vnd.oasis.opendocument.text", false),
    ("application/vnd.oasis.opendocument.spreadsheet", false),
];

pub const TEXT: FileType = FileType { mime: "text/plain", compressible: true };

/// What the accepted types are, for refusals.
pub const ACCEPTED: &str = "PDF, PNG, JPEG, GIF, WebP, HEIC, DOCX, XLSX, ODT, ODS or plain text";

/// The type of the file (read from its start), or why it is refused.
pub fn inspect(file: &mut std::fs::File) -> io::Result<Result<FileType, String>> {
    file.rewind()?;
    let mut head = Vec::with_capacity(HEAD);
    file.by_ref().take(HEAD as u64).read_to_end(&mut head)?;
    if let Some(kind) = infer::get(&head) {
        let mut mime = kind.mime_type();
        if mime == "application/zip" {
            mime = office_zip(file).unwrap_or(mime);
        }
        return Ok(match ALLOWED.iter().find(|(allowed, _)| *allowed == mime) {
            Some((mime, compressible)) => Ok(FileType { mime, compressible: *compressible }),
            None => Err(format!("its content is {mime}, which is not accepted")),
        });
    }
    if looks_like_markup(&head) {
        return Ok(Err("its content is markup (HTML, XML or SVG), which is not accepted".into()));
    }
    file.rewind()?;
    Ok(if is_plain_text(file)? { Ok(TEXT) } else { Err("its content is of an unknown binary type".into()) })
}

/// An Office Open XML document told by its zip's entries. `infer` looks only at the first local
/// headers and takes a DOCX or XLSX written in another order (LibreOffice's, many generators')
/// for a plain zip; the central directory names every entry.
fn office_zip(file: &mut std::fs::File) -> Option<&'static str> {
    file.rewind().ok()?;
    let archive = zip::ZipArchive::new(&mut *file).ok()?;
    let has = |name: &str| archive.index_for_name(name).is_some();
    if !has("[Content_Types].xml") {
        return None;
    }
    if has("word/document.xml") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if has("xl/workbook.xml") {
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else {
        None
    }
}

/// HTML, XML and SVG are text but not plain text.
fn looks_like_markup(head: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    ["<!doctype", "<html", "<?xml", "<svg", "<script", "<head", "<body", "<iframe"].iter().any(|tag| start.starts_with(tag))
}

/// The whole file is UTF-8 without control characters other than tab, line feed, form feed and
/// carriage return.
fn is_plain_text(reader: &mut impl Read) -> io::Result<bool> {
    let mut buf = vec![0u8; HEAD];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(carry.is_empty());
        }
        carry.extend_from_slice(&buf[..n]);
        let valid = match std::str::from_utf8(&carry) {
            Ok(text) => text.len(),
            // A character cut at the end of the chunk: completed by the next one.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Ok(false),
        };
        let text = std::str::from_utf8(&carry[..valid]).expect("checked above");
        if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}')) {
            return Ok(false);
        }
        carry.drain(..valid);
    }
}

/// The name a file is kept and downloaded under: its last path part (either slash), without
/// control characters, trimmed, at most 200 characters (the extension kept); `attachment` if
/// nothing is left.
pub fn file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let name = cleaned.trim().trim_start_matches('.').trim();
    if name.is_empty() {
        return "attachment".into();
    }
    if name.chars().count() <= NAME_MAX {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 10 => (stem, Some(ext)),
        _ => (name, None),
    };
    let keep = NAME_MAX - ext.map_or(0, |e| e.chars().count() + 1);
    let stem: String = stem.chars().take(keep).collect();
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> Result<FileType, String> {
        let mut file = tempfile_with(bytes);
        inspect(&mut file).unwrap()
    }

    fn tempfile_with(bytes: &[u8]) -> std::fs::File {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("inspect-{}", uuid::Uuid::new_v4()));
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn types_are_told_by_their_bytes() {
        assert_eq!(kind(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").unwrap().mime, "application/pdf");
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap().mime, "image/png");
        assert_eq!(kind(b"Hello,\r\nunder\tthe \xc3\xa9t\xc3\xa9 sun\n").unwrap(), TEXT);
        assert!(kind(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0").is_err(), "ELF");
        assert!(kind(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0").is_err(), "PE");
        assert!(kind(b"<!DOCTYPE html><script>alert(1)</script>").is_err(), "HTML");
        assert!(kind(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>").is_err(), "SVG");
        assert!(kind(b"text then a NUL\0").is_err(), "binary");
        assert!(kind(b"latin-1 \xe9t\xe9").is_err(), "not UTF-8");
    }

    fn zipped(entries: &[&str]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for name in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(b"<?xml version=\"1.0\"?><x/>").unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn office_files_are_told_by_their_entries_in_any_order() {
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        // LibreOffice's order: infer alone says application/zip.
        let libre = zipped(&["_rels/.rels", "docProps/app.xml", "word/document.xml", "word/styles.xml", "[Content_Types].xml"]);
        assert_eq!(infer::get(&libre).map(|k| k.mime_type()), Some("application/zip"));
        assert_eq!(kind(&libre).unwrap().mime, docx);
        let sheet = zipped(&["docProps/core.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "[Content_Types].xml"]);
        assert_eq!(kind(&sheet).unwrap().mime, xlsx);
        assert!(!kind(&sheet).unwrap().compressible);
        // A zip that is not an Office document, or only looks like one, is refused.
        assert!(kind(&zipped(&["photos/1.jpg", "word/document.xml"])).is_err());
        assert!(kind(&zipped(&["a.txt", "b.txt"])).is_err());
    }

    #[test]
    fn a_character_cut_between_two_reads_is_still_text() {
        let mut text = "a".repeat(HEAD - 1).into_bytes();
        text.extend_from_slice("é and more".as_bytes());
        assert!(is_plain_text(&mut text.as_slice()).unwrap());
        let mut cut = "a".repeat(HEAD - 1).into_bytes();
        cut.push(0xc3);
        assert!(!is_plain_text(&mut cut.as_slice()).unwrap(), "a file ending inside a character");
    }

    #[test]
    fn names_lose_their_path_and_control_characters() {
        assert_eq!(file_name("C:\\Users\\ann\\constat.pdf"), "constat.pdf");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("photo\r\n\u{0}.jpg"), "photo.jpg");
        assert_eq!(file_name("  rapport d'expert é.pdf "), "rapport d'expert é.pdf");
        assert_eq!(file_name("/"), "attachment");
        assert_eq!(file_name(".."), "attachment");
        let long = format!("{}.pdf", "x".repeat(300));
        assert_eq!(file_name(&long).chars().count(), NAME_MAX);
        assert!(file_name(&long).ends_with(".pdf"));
    }
}
