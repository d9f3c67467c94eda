//! The `monassurance` binary: `serve` (default), `worker`, `migrate`, `schema`, `create-superadmin`.

use clap::{Parser, Subcommand};
use monassurance::{
    app::{self, Application, shutdown_signal},
    config::Settings,
    observability::logging,
    schema,
    state::AppState,
};

/// MonAssurance: the back office of an insurance brokerage, as one GraphQL API.
///
/// Settings come from the environment (and `.env`); with nothing set it serves on
/// 127.0.0.1:8000 over a SQLite file under ./data.
#[derive(Parser)]
#[command(name = "monassurance", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (and the in-process workers). The default.
    Serve,
    /// Run background workers only, no HTTP.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Internal: a sandboxed render child, speaking a framed protocol on stdin/stdout.
    #[command(hide = true)]
    RenderWorker,
    /// Create a platform SUPERADMIN account, which spans every organization.
    CreateSuperadmin {
        /// Sign-in e-mail of the new account.
        #[arg(long)]
        email: String,
        /// Its password (at least 10 characters).
        #[arg(long, env = "SUPERADMIN_PASSWORD")]
        password: String,
    },
}

/// mimalloc: the service allocates many small, short-lived values per request (rows, GraphQL
/// values, JSON); glibc's malloc was the largest item of the list benchmark's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    if let Some(Command::RenderWorker) = cli.command {
        monassurance::render::worker::run_child();
    }
    no_transparent_huge_pages();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async_main(cli));
}

/// No transparent huge pages for this process (nor the render children it starts, which inherit
/// the flag): mimalloc asks for them (`madvise`), and then each 2 MiB region a thread touches is
/// zeroed and resident whole. A 100,000-row XLSX report (bench/documents.sh part 4) raised the
/// server's peak RSS by 107–127 MB with them and 28–32 MB without, and took 1.2–1.5 s instead of
/// 0.8–0.9 s. What `MIMALLOC_ALLOW_THP=0` would do, without needing the variable.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE sets a flag of the calling process; it touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

async fn async_main(cli: Cli) {
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Schema) = cli.command {
        print!("{}", schema::sdl());
        return Ok(());
    }
    let settings = Settings::from_env()?;
    logging::init(settings.log_json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "MonAssurance GraphQL listening on http://{}/graphql", app.state().settings.bind_addr);
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let workers = start_workers(app.state(), app.state().settings.workers, stopped);
            let result = app.run_until(shutdown_signal()).await;
            stop_workers(stop, workers).await;
            result
        }
        Command::Migrate => {
            app::connect_and_migrate(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Worker => {
            let count = settings.workers.max(1);
            let state = app::bootstrap(settings).await?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let workers = start_workers(&state, count, stopped);
            tokio::spawn(heartbeat_file());
            shutdown_signal().await;
            stop_workers(stop, workers).await;
            Ok(())
        }
        Command::CreateSuperadmin { email, password } => {
            let state = app::bootstrap(settings).await?;
            let user = monassurance::auth::service::create_superadmin(&state, &email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("SUPERADMIN {} created", user.email);
            Ok(())
        }
        Command::Schema | Command::RenderWorker => unreachable!("handled above"),
    }
}

/// A worker process serves no HTTP: it touches `WORKER_HEARTBEAT_FILE` (default
/// `/tmp/monassurance-worker.alive`) every 10 s while its runtime is alive, for a container
/// healthcheck to read the file's age.
async fn heartbeat_file() {
    let path = std::env::var("WORKER_HEARTBEAT_FILE").unwrap_or_else(|_| "/tmp/monassurance-worker.alive".into());
    loop {
        if let Err(e) = tokio::fs::write(&path, chrono::Utc::now().to_rfc3339()).await {
            tracing::warn!(path = %path, error = %e, "cannot write the worker heartbeat file");
        }
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}

/// Starts `count` job workers in this process and, beside them (none when `count` is 0: an
/// API-only replica sends no mail, no webhook and runs no tick), one mail loop, one webhook loop and, with a non-zero
/// `SCHEDULER_INTERVAL_SECS`, the scheduler (whose ticks one process at a time runs).
fn start_workers(state: &AppState, count: usize, stopped: tokio::sync::watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    use monassurance::{integrations::worker as webhooks, jobs::worker as jobs, mail::worker as mail, scheduler};
    let mut workers: Vec<_> = (0..count).map(|n| tokio::spawn(jobs::run(state.clone(), jobs::worker_name(n), stopped.clone()))).collect();
    if count > 0 {
        workers.push(tokio::spawn(mail::run(state.clone(), format!("{}-mail", jobs::worker_name(0)), stopped.clone())));
        workers.push(tokio::spawn(webhooks::run(state.clone(), format!("{}-webhooks", jobs::worker_name(0)), stopped.clone())));
        if state.settings.scheduler_interval_secs > 0 {
            workers.push(tokio::spawn(scheduler::run(state.clone(), format!("{}-scheduler", jobs::worker_name(0)), stopped)));
        }
    }
    workers
}

/// Asks the workers to stop after their current item, and waits (at most 30 s) for them.
async fn stop_workers(stop: tokio::sync::watch::Sender<bool>, workers: Vec<tokio::task::JoinHandle<()>>) {
    let _ = stop.send(true);
    let all = futures_util::future::join_all(workers);
    if tokio::time::timeout(std::time::Duration::from_secs(30), all).await.is_err() {
        tracing::warn!("workers did not stop within 30 s; their leases will expire and another worker will resume");
    }
}
