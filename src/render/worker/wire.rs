//! The pipe protocol between the pool and a `render-worker` child.
//!
//! Each message is a frame: a u32 big-endian length, then that many bytes of JSON. The
//! child starts its stdout with [`MAGIC`] and a `"ready"` frame once warm, so anything a
//! binary prints before handing over to `run_child` is skipped, not misread as a frame.
//! Requests: `{"kind": "pdf"|"preview"|"html", "template", "data", "assets": {name: base64}}`.
//! Responses: `{"ok": {"bytes_b64", "png_b64": [...]}}`, `{"err": [diagnostics]}`, or
//! `{"internal": "message"}`.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::render::Diagnostic;

pub(super) const MAGIC: &[u8] = b"\0MONASSURANCE-RENDER-WORKER-1\0";
/// Larger frames are refused: a corrupt length must not allocate gigabytes.
pub(super) const MAX_FRAME: usize = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Pdf,
    Preview,
    Html,
}

#[derive(Serialize)]
pub(super) struct RequestOut<'a> {
    pub kind: Kind,
    pub template: &'a str,
    pub data: &'a serde_json::Value,
    pub assets: BTreeMap<&'a str, String>,
}

#[derive(Deserialize)]
pub(super) struct RequestIn {
    pub kind: Kind,
    pub template: String,
    pub data: serde_json::Value,
    #[serde(default)]
    pub assets: HashMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Response {
    Ready,
    Ok {
        bytes_b64: String,
        #[serde(default)]
        png_b64: Vec<String>,
    },
    Err(Vec<Diagnostic>),
    Internal(String),
}

pub(super) fn write_frame(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message)?;
    out.write_all(&(body.len() as u32).to_be_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// The child's side: `None` at a clean end of input (the pool is gone).
pub(super) fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = checked_len(len)?;
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

/// The pool's side.
pub(super) async fn read_frame_async(input: &mut (impl AsyncRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len).await?;
    let mut body = vec![0; checked_len(len)?];
    input.read_exact(&mut body).await?;
    Ok(body)
}

/// Skips whatever the binary printed before the child's protocol began.
pub(super) async fn skip_to_magic(input: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
    let mut matched = 0;
    let mut skipped = 0usize;
    let mut byte = [0u8; 1];
    while matched < MAGIC.len() {
        input.read_exact(&mut byte).await?;
        matched = if byte[0] == MAGIC[matched] {
            matched + 1
        } else if byte[0] == MAGIC[0] {
            1
        } else {
            0
        };
        skipped += 1;
        if skipped > (1 << 20) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no worker handshake on stdout",
            ));
        }
    }
    Ok(())
}

fn checked_len(len: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    Ok(len)
}
