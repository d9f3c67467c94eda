//! The `render-worker` child: a loop that renders one request at a time, forever,
//! keeping Typst's caches and fonts warm between documents.
//!
//! It trusts nothing about the template: the pool kills it when a render runs past the
//! budget, and the address-space limit set before `exec` makes a memory bomb abort it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::wire::{self, Kind, RequestIn, Response};
use crate::render::{Diagnostic, RenderError, html, pdf};

/// Exit codes, for the pool's log.
const EXIT_PANICKED: i32 = 70;
const EXIT_IO: i32 = 74;

/// Stack for the render thread: Typst recurses deeply (and more so unoptimised).
const RENDER_STACK: usize = 64 << 20;

/// The child's main loop; never returns. The binary calls it for its hidden
/// `render-worker` subcommand.
pub fn run_child() -> ! {
    let thread = std::thread::Builder::new()
        .name("render".into())
        .stack_size(RENDER_STACK)
        .spawn(serve);
    match thread.map(|t| t.join()) {
        Ok(Ok(never)) => match never {},
        Ok(Err(_)) => std::process::exit(EXIT_PANICKED),
        Err(e) => {
            eprintln!("render-worker: cannot start the render thread: {e}");
            std::process::exit(EXIT_IO)
        }
    }
}

fn serve() -> std::convert::Infallible {
    // Frames go to a private copy of stdout, and fd 1 becomes stderr: a stray print (a
    // log line, a library's debug output) can then never corrupt the protocol.
    // SAFETY: plain fd syscalls; `out` is a fresh descriptor owned by the File below.
    let out = unsafe {
        let out = libc::dup(1);
        if out < 0 || libc::dup2(2, 1) < 0 {
            eprintln!(
                "render-worker: cannot set up stdout: {}",
                io::Error::last_os_error()
            );
            std::process::exit(EXIT_IO);
        }
        File::from_raw_fd(out)
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut input = io::stdin().lock();
    exit_when_orphaned();

    pdf::warm_up();
    let ready = out
        .write_all(wire::MAGIC)
        .and_then(|()| wire::write_frame(&mut out, &Response::Ready));
    if ready.is_err() {
        std::process::exit(0); // the pool went away while we warmed up
    }

    loop {
        let frame = match wire::read_frame(&mut input) {
            Ok(Some(frame)) => frame,
            Ok(None) => std::process::exit(0),
            Err(e) => {
                eprintln!("render-worker: reading a request: {e}");
                std::process::exit(EXIT_IO);
            }
        };
        let (response, panicked) = match serde_json::from_slice::<RequestIn>(&frame) {
            Err(e) => (Response::Internal(format!("bad request: {e}")), false),
            Ok(request) => match catch_unwind(AssertUnwindSafe(|| handle(request))) {
                Ok(response) => (response, false),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let diagnostic =
                        Diagnostic::new(format!("the renderer crashed on this template: {what}"));
                    (Response::Err(vec![diagnostic]), true)
                }
            },
        };
        drop(frame);
        if let Err(e) = wire::write_frame(&mut out, &response) {
            eprintln!("render-worker: writing a response: {e}");
            std::process::exit(EXIT_IO);
        }
        if panicked {
            // Global state (Typst's caches, interner locks) may be poisoned: start afresh.
            std::process::exit(EXIT_PANICKED);
        }
    }
}

fn handle(request: RequestIn) -> Response {
    let mut assets = HashMap::with_capacity(request.assets.len());
    for (name, b64) in request.assets {
        match B64.decode(b64.as_bytes()) {
            Ok(bytes) => assets.insert(name, bytes),
            Err(e) => return Response::Internal(format!("asset {name:?} is not base64: {e}")),
        };
    }
    let result = match request.kind {
        Kind::Pdf => {
            pdf::compile_pdf(&request.template, &request.data, &assets).map(|pdf| (pdf, vec![]))
        }
        Kind::Preview => pdf::preview_png(&request.template, &request.data, &assets),
        Kind::Html => {
            html::render_html(&request.template, &request.data).map(|html| (html, vec![]))
        }
    };
    match result {
        Ok((bytes, pngs)) => Response::Ok {
            bytes_b64: B64.encode(bytes),
            png_b64: pngs.iter().map(|png| B64.encode(png)).collect(),
        },
        Err(RenderError::Template(diagnostics)) => Response::Err(diagnostics),
        Err(RenderError::Internal(message)) => Response::Internal(message),
    }
}

/// If the pool's process dies without closing our stdin (SIGKILL during a render), a
/// template looping forever would keep this process alive: check for a new parent.
fn exit_when_orphaned() {
    // SAFETY: getppid cannot fail.
    let parent = unsafe { libc::getppid() };
    let spawned = std::thread::Builder::new()
        .name("orphan-watch".into())
        .stack_size(64 << 10)
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                // SAFETY: as above; `_exit` ends the process without running destructors.
                if unsafe { libc::getppid() } != parent {
                    let _ = io::stderr().write_all(b"render-worker: the pool is gone, exiting\n");
                    unsafe { libc::_exit(0) };
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("render-worker: no orphan watch: {e}");
    }
}
