//! The `monassurance` binary: `serve` (default), `worker`, `migrate`, `schema`, `create-superadmin`.

use clap::{Parser, Subcommand};
use monassurance::{
    app::{Application, shutdown_signal},
    config::Settings,
    db, graphql, state::AppState, telemetry,
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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return Ok(());
    }
    let settings = Settings::from_env()?;
    telemetry::init(settings.log_json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "MonAssurance GraphQL listening on http://{}/graphql", app.state().settings.bind_addr);
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let metrics = db::DbMetrics::default();
            let conn = db::connect(&settings, &metrics).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Worker => {
            let metrics = db::DbMetrics::default();
            let conn = db::connect(&settings, &metrics).await?;
            db::migrate(&conn).await?;
            tracing::info!("worker started: no job kinds are registered yet; waiting for SIGTERM");
            shutdown_signal().await;
            Ok(())
        }
        Command::CreateSuperadmin { email, password } => {
            let metrics = db::DbMetrics::default();
            let conn = db::connect(&settings, &metrics).await?;
            db::migrate(&conn).await?;
            let state = AppState::new(settings, conn, metrics);
            let user = monassurance::auth::service::create_superadmin(&state, &email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("SUPERADMIN {} created", user.email);
            Ok(())
        }
        Command::Schema => unreachable!("handled above"),
    }
}
