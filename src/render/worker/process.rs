//! One `render-worker` child process: spawning it in its sandbox, talking to it, and
//! explaining its death.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::PoolConfig;
use super::wire::{self, Response};
use crate::render::{Diagnostic, RenderError};

/// How much of a child's stderr is kept to explain its death.
const STDERR_TAIL: usize = 8 << 10;

pub(super) struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    ready: bool,
    pub renders: u32,
}

impl Worker {
    pub(super) fn spawn(config: &PoolConfig) -> io::Result<Self> {
        let mut command = Command::new(&config.exe);
        command
            .args(&config.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // The service's secrets stay out of the sandbox; only what the child needs.
            .env_clear()
            .current_dir("/")
            // Parallelism comes from several children: one Rayon thread and few malloc
            // arenas each keep the address space (and RLIMIT_AS) predictable.
            .env("RAYON_NUM_THREADS", "1")
            .env("MALLOC_ARENA_MAX", "2");
        if let Some(backtrace) = std::env::var_os("RUST_BACKTRACE") {
            command.env("RUST_BACKTRACE", backtrace);
        }
        let limit = config.memory_limit_bytes;
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let address_space = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &address_space) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // A memory bomb aborts: no core file.
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
        let stderr = child.stderr.take().expect("piped");
        let pid = child.id().unwrap_or_default();
        Ok(Self {
            child,
            stdin,
            stdout,
            stderr: Some(tokio::spawn(forward_stderr(pid, stderr))),
            ready: false,
            renders: 0,
        })
    }

    pub(super) async fn wait_ready(&mut self) -> io::Result<()> {
        if self.ready {
            return Ok(());
        }
        wire::skip_to_magic(&mut self.stdout).await?;
        let frame = wire::read_frame_async(&mut self.stdout).await?;
        match serde_json::from_slice(&frame)? {
            Response::Ready => {
                self.ready = true;
                Ok(())
            }
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("handshake {other:?}"),
            )),
        }
    }

    pub(super) async fn exchange(&mut self, frame: &[u8]) -> io::Result<Vec<u8>> {
        self.stdin
            .write_all(&(frame.len() as u32).to_be_bytes())
            .await?;
        self.stdin.write_all(frame).await?;
        self.stdin.flush().await?;
        wire::read_frame_async(&mut self.stdout).await
    }

    /// The child closed its pipes mid-render: why? (Its stderr says, or its signal.)
    pub(super) async fn cause_of_death(mut self, error: io::Error) -> RenderError {
        let status = match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.start_kill();
                None
            }
        };
        let stderr = match self.stderr.take() {
            Some(task) => tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        }
        .unwrap_or_default();
        explain_death(status, &stderr, &error)
    }
}

fn explain_death(status: Option<ExitStatus>, stderr: &str, error: &io::Error) -> RenderError {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.and_then(|s| s.signal());
    let memory = stderr.contains("memory allocation of") || signal == Some(libc::SIGKILL);
    if memory {
        return RenderError::Template(vec![
            Diagnostic::new("the template used more memory than allowed")
                .with_hint("look for a value that grows without bound, or a very large image"),
        ]);
    }
    if stderr.contains("overflowed its stack") {
        return RenderError::Template(vec![Diagnostic::new(
            "the template nested too deeply (the renderer ran out of stack)",
        )]);
    }
    match status {
        Some(status) if signal.is_some() || !status.success() => {
            RenderError::Template(vec![Diagnostic::new(format!(
                "the renderer stopped while running this template ({status})"
            ))])
        }
        _ => RenderError::Internal(format!("a render worker closed its pipe: {error}")),
    }
}

/// Copies the child's stderr to ours (it is the service's log) and keeps its tail.
async fn forward_stderr(pid: u32, mut stderr: tokio::process::ChildStderr) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &chunk[..n] {
            if byte == b'\n' || line.len() >= STDERR_TAIL {
                eprintln!("render-worker[{pid}]: {}", String::from_utf8_lossy(&line));
                line.clear();
            } else {
                line.push(byte);
            }
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > STDERR_TAIL {
            tail.drain(..tail.len() - STDERR_TAIL);
        }
    }
    if !line.is_empty() {
        eprintln!("render-worker[{pid}]: {}", String::from_utf8_lossy(&line));
    }
    String::from_utf8_lossy(&tail).into_owned()
}
