//! `Application`: connects, migrates, builds the schema and the router, binds, and serves until told
//! to stop; `bootstrap`, the start every subcommand shares.

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;

use crate::{
    config::Settings,
    db::{self, DbMetrics},
    http::{self, HttpState},
    schema,
    state::AppState,
};

/// The start of every subcommand that touches the database: connect, then migrate (one replica
/// at a time on PostgreSQL).
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<(sea_orm::DatabaseConnection, DbMetrics)> {
    let metrics = DbMetrics::default();
    let conn = db::connect(settings, &metrics).await?;
    db::migrate(&conn).await?;
    Ok((conn, metrics))
}

/// Connect, migrate, build the state: what `serve`, `worker` and `create-superadmin` start with.
pub async fn bootstrap(settings: Settings) -> anyhow::Result<AppState> {
    let (conn, metrics) = connect_and_migrate(&settings).await?;
    AppState::new(settings, conn, metrics)
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Connects to the database, runs migrations, and binds `BIND_ADDR` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::with_state(bootstrap(settings).await?).await
    }

    pub async fn with_state(state: AppState) -> anyhow::Result<Self> {
        let schema = schema::schema_with(&state)?;
        let pipeline = std::sync::Arc::new(http::pipeline::Pipeline::new(&state, schema)?);
        let router = http::router(HttpState { app: std::sync::Arc::new(state.clone()), pipeline });
        let addr = state.settings.bind_addr;
        let listener = TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("BIND_ADDR: cannot bind {addr}: {e}"))?;
        Ok(Application { listener, router, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        // TCP_NODELAY, as axum 0.7 set it and axum 0.8 no longer does: without it a WebSocket's
        // second small frame waits (Nagle) for the peer's delayed acknowledgement of the first, up
        // to 40 ms, and so do the events of a job after its first.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        axum::serve(listener, service).with_graceful_shutdown(shutdown).await?;
        Ok(())
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
