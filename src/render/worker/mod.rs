//! The pool of `render-worker` child processes that run untrusted templates.
//!
//! Each child is this same binary started with a hidden subcommand (`render-worker`)
//! that calls [`run_child`]. A child renders one request at a time and stays warm
//! between requests. The pool gives each render a time budget (the child is killed and
//! replaced when it runs past it), starts children under an address-space limit
//! (`RLIMIT_AS`: a memory bomb makes the child abort, and the pool replaces it), and
//! replaces a child whose caller went away mid-render.

mod child;
mod process;
mod slots;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
pub use child::run_child;
use process::Worker;
pub use slots::Tenant;
use slots::Slots;
use wire::{Kind, RequestOut, Response};

use super::{Diagnostic, DocumentFormat, RenderError, Rendered};

/// How long a fresh child may take to start and warm up before its first render.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// A child is replaced after this many renders, which bounds slow growth (fragmentation,
/// Typst's global path interner) in a long-running service.
const RECYCLE_AFTER: u32 = 5_000;

/// A template and the data (and assets) it renders.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    pub template: String,
    /// Seen by Typst templates as `/data.json`, by HTML templates as the context.
    pub data: serde_json::Value,
    /// Files a Typst template may read by name (`#image("logo.png")`): `/logo.png`.
    pub assets: HashMap<String, Vec<u8>>,
    /// Whose render it is: its organization's share of the slots is used.
    pub tenant: Tenant,
}

impl RenderRequest {
    pub fn new(template: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            template: template.into(),
            data,
            assets: HashMap::new(),
            tenant: Tenant::nil(),
        }
    }

    /// The same request, counted against `tenant`'s share of the slots.
    pub fn for_tenant(mut self, tenant: Tenant) -> Self {
        self.tenant = tenant;
        self
    }
}

/// A template preview: the PDF, and each page as a PNG.
#[derive(Debug, Clone)]
pub struct Preview {
    pub pdf: Vec<u8>,
    pub png_pages: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Children (render slots). Each holds ~50–100 MB when warm.
    pub size: usize,
    /// The binary to start, normally `std::env::current_exe()`.
    pub exe: PathBuf,
    /// Its arguments, normally `["render-worker"]`.
    pub args: Vec<OsString>,
    /// Wall-clock time one render may take.
    pub budget: Duration,
    /// The child's address-space limit (`RLIMIT_AS`), in bytes.
    pub memory_limit_bytes: u64,
    /// Most slots one tenant holds at once; 0 for half of them, rounded up.
    pub slots_per_tenant: usize,
}

impl PoolConfig {
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(10);
    pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

    /// This binary with `render-worker`, one child per core, 10 s, 1 GiB.
    pub fn for_current_exe() -> io::Result<Self> {
        Ok(Self {
            size: std::thread::available_parallelism().map_or(2, |n| n.get()),
            exe: std::env::current_exe()?,
            args: vec!["render-worker".into()],
            budget: Self::DEFAULT_BUDGET,
            memory_limit_bytes: Self::DEFAULT_MEMORY_LIMIT,
            slots_per_tenant: 0,
        })
    }
}

/// Cheap to clone: clones share the children.
#[derive(Clone)]
pub struct RenderPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: PoolConfig,
    idle: Mutex<Vec<Worker>>,
    slots: Arc<Slots>,
}

/// How busy the pool is (the `render_slots_in_use` and `render_waiting` gauges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Renders holding a slot.
    pub in_use: usize,
    /// Renders waiting for one.
    pub waiting: usize,
}

impl RenderPool {
    /// Starts `size` children now (they warm up in the background). Call it inside a
    /// Tokio runtime.
    pub fn new(
        size: usize,
        exe_path: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
        budget: Duration,
        memory_limit_bytes: u64,
    ) -> Result<Self, RenderError> {
        Self::with_config(PoolConfig {
            size,
            exe: exe_path.into(),
            args: args.into_iter().map(Into::into).collect(),
            budget,
            memory_limit_bytes,
            slots_per_tenant: 0,
        })
    }

    pub fn with_config(config: PoolConfig) -> Result<Self, RenderError> {
        let size = config.size.max(1);
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(Worker::spawn(&config).map_err(|e| cannot_start(&config, e))?);
        }
        let inner = Inner {
            idle: Mutex::new(idle),
            slots: Arc::new(Slots::new(size, config.slots_per_tenant)),
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Renders running and waiting now.
    pub fn load(&self) -> Load {
        let (in_use, waiting) = self.inner.slots.load();
        Load { in_use, waiting }
    }

    /// Renders a Typst template to PDF.
    pub async fn render_pdf(&self, request: &RenderRequest) -> Result<Rendered, RenderError> {
        let (bytes, _) = self.call(Kind::Pdf, request).await?;
        Ok(Rendered::new(DocumentFormat::Pdf, bytes))
    }

    /// Renders a Typst template to PDF and PNG pages (1.5 px per pt).
    pub async fn preview(&self, request: &RenderRequest) -> Result<Preview, RenderError> {
        let (pdf, png_pages) = self.call(Kind::Preview, request).await?;
        Ok(Preview { pdf, png_pages })
    }

    /// Renders a MiniJinja template to HTML (the request's assets are not used).
    pub async fn render_html(&self, request: &RenderRequest) -> Result<Rendered, RenderError> {
        let (bytes, _) = self.call(Kind::Html, request).await?;
        Ok(Rendered::new(DocumentFormat::Html, bytes))
    }

    async fn call(
        &self,
        kind: Kind,
        request: &RenderRequest,
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), RenderError> {
        let assets: BTreeMap<&str, String> = match kind {
            Kind::Html => BTreeMap::new(),
            _ => request
                .assets
                .iter()
                .map(|(k, v)| (k.as_str(), B64.encode(v)))
                .collect(),
        };
        let frame = serde_json::to_vec(&RequestOut {
            kind,
            template: &request.template,
            data: &request.data,
            assets,
        })
        .map_err(|e| RenderError::Internal(format!("encoding a render request: {e}")))?;
        if frame.len() > wire::MAX_FRAME {
            return Err(RenderError::template(
                "the template, its data and assets exceed 512 MB",
            ));
        }

        // Held until the render ends, however it ends; then the next tenant in turn gets it.
        let _slot = self.inner.slots.acquire(request.tenant).await;
        let mut lease = Lease {
            inner: &self.inner,
            worker: Some(self.inner.checkout()?),
        };
        let worker = lease.worker.as_mut().expect("just checked out");
        if let Err(e) = tokio::time::timeout(STARTUP_TIMEOUT, worker.wait_ready())
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no handshake within 60 s",
                ))
            })
        {
            return Err(RenderError::Internal(format!(
                "a render worker did not start: {e}"
            )));
        }

        let budget = self.inner.config.budget;
        let answer = match tokio::time::timeout(budget, worker.exchange(&frame)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return Err(lease.take().cause_of_death(e).await),
            Err(_) => {
                return Err(RenderError::Template(vec![
                    Diagnostic::new(format!("the template ran longer than {}", seconds(budget)))
                        .with_hint("look for a loop that never ends or a very large document"),
                ]));
            }
        };
        let response: Response = serde_json::from_slice(&answer).map_err(|e| {
            RenderError::Internal(format!("a render worker answered nonsense: {e}"))
        })?;
        worker.renders += 1;
        lease.release();
        match response {
            Response::Ok { bytes_b64, png_b64 } => {
                let decode = |s: &str| {
                    B64.decode(s)
                        .map_err(|e| RenderError::Internal(format!("worker base64: {e}")))
                };
                let pages = png_b64
                    .iter()
                    .map(|s| decode(s))
                    .collect::<Result<_, _>>()?;
                Ok((decode(&bytes_b64)?, pages))
            }
            Response::Err(diagnostics) => Err(RenderError::Template(diagnostics)),
            Response::Internal(message) => Err(RenderError::Internal(message)),
            Response::Ready => Err(RenderError::Internal(
                "a render worker answered `ready`".into(),
            )),
        }
    }
}

impl Inner {
    fn checkout(&self) -> Result<Worker, RenderError> {
        let worker = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match worker {
            Some(worker) => Ok(worker),
            None => Worker::spawn(&self.config).map_err(|e| cannot_start(&self.config, e)),
        }
    }

    /// A replacement for a killed child, started now so it is warm for the next render.
    fn replace(&self) {
        match Worker::spawn(&self.config) {
            Ok(worker) => self
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(worker),
            Err(e) => eprintln!("render pool: {}", cannot_start(&self.config, e)),
        }
    }
}

/// A checked-out child. Unless released healthy, it is killed on drop (a timeout, a
/// broken pipe, or a caller that stopped waiting mid-render) and replaced.
struct Lease<'a> {
    inner: &'a Inner,
    worker: Option<Worker>,
}

impl Lease<'_> {
    fn release(&mut self) {
        if let Some(worker) = self.worker.take() {
            if worker.renders >= RECYCLE_AFTER {
                drop(worker);
                self.inner.replace();
            } else {
                self.inner
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
            }
        }
    }

    /// Takes the (dead) child out to examine it; a replacement starts now.
    fn take(&mut self) -> Worker {
        let worker = self.worker.take().expect("a leased worker");
        self.inner.replace();
        worker
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            drop(worker); // kill_on_drop; Tokio reaps it
            self.inner.replace();
        }
    }
}

fn cannot_start(config: &PoolConfig, error: io::Error) -> RenderError {
    RenderError::Internal(format!(
        "cannot start render worker {}: {error}",
        config.exe.display()
    ))
}

fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}
