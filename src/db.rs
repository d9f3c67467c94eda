//! The database connection: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, with statement metrics.

use std::time::Duration;

use anyhow::Context;
use migration::MigratorTrait;
use prometheus_client::metrics::counter::Counter;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::config::Settings;

/// Counts SQL statements sent by this process (exposed on `/metrics`).
#[derive(Clone, Default, Debug)]
pub struct DbMetrics {
    pub statements: Counter,
    pub failed: Counter,
    /// Statements slower than `SLOW_SQL_MS`.
    pub slow: Counter,
}

impl DbMetrics {
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }
}

pub async fn connect(settings: &Settings, metrics: &DbMetrics) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(settings.database_url.expose().to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5));
    if settings.is_sqlite() {
        opts.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    let mut db = Database::connect(opts).await.context("DATABASE_URL: cannot connect to the database")?;
    let m = metrics.clone();
    let slow_after = (settings.slow_sql_ms > 0).then(|| Duration::from_millis(settings.slow_sql_ms));
    db.set_metric_callback(move |info| {
        m.statements.inc();
        if info.failed {
            m.failed.inc();
        }
        tracing::trace!(elapsed_us = info.elapsed.as_micros() as u64, sql = %info.statement.sql, "SQL");
        if slow_after.is_some_and(|s| info.elapsed >= s) {
            m.slow.inc();
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
        }
    });
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None).await.context("running migrations")?;
    Ok(())
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), "SELECT 1");
    tokio::time::timeout(Duration::from_secs(2), db.execute_raw(stmt)).await.map(|r| r.is_ok()).unwrap_or(false)
}
