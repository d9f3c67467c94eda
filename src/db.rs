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

/// A constant of this service for `pg_advisory_lock` (the migrations' lock).
const MIGRATION_LOCK: i64 = 0x4d41_4d49_4752;

/// Runs pending migrations. On PostgreSQL, under an advisory lock held on one connection, so
/// replicas starting together migrate one after the other (the later ones find nothing to do).
/// Begins a transaction that writes. On SQLite it takes the write lock at `BEGIN` (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads first and then writes fails at once with
/// `SQLITE_BUSY_SNAPSHOT` when another connection wrote in between (the busy timeout cannot wait
/// that out), which concurrent sign-ups turned into errors. On PostgreSQL, a plain `BEGIN`.
///
/// `BEGIN` runs in a task of its own, to its end even when the caller is dropped meanwhile (a
/// client gone mid-request, a timeout, an aborted worker): sqlx counts a transaction only once
/// `BEGIN` is answered, so a caller dropped between the two sent the connection back to the pool
/// inside a transaction nobody would end, where the next statements of whoever took it were never
/// committed. Completed, a transaction nobody takes is dropped, which rolls it back.
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let db = db.clone();
    tokio::spawn(async move {
        db.begin_with_options(TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() })
            .await
    })
    .await
    .map_err(|e| sea_orm::DbErr::Custom(format!("beginning a transaction: {e}")))?
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        migration::Migrator::up(db, None).await.context("running migrations")?;
        return Ok(());
    }
    use sea_orm::sqlx;
    let pool = db.get_postgres_connection_pool();
    let mut lock = pool.acquire().await.context("migrations: no database connection for the lock")?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *lock).await.context("migrations: taking the lock")?;
    let result = migration::Migrator::up(db, None).await.context("running migrations");
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *lock).await;
    if unlocked.is_err() {
        // The lock dies with the session: do not give the connection back holding it.
        lock.detach();
    }
    result
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), "SELECT 1");
    tokio::time::timeout(Duration::from_secs(2), db.execute_raw(stmt)).await.map(|r| r.is_ok()).unwrap_or(false)
}

/// Ids one statement may bind: SQLite takes at most 32,766 values and PostgreSQL 65,535, with
/// room left for the query's other values.
pub const IDS_PER_STATEMENT: usize = 10_000;

/// The rows of `query` whose `column` is one of `ids`, read [`IDS_PER_STATEMENT`] ids a statement,
/// so a set of any size stays within the backends' bound-value limits.
pub async fn all_in<E, C>(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    column: C,
    ids: impl IntoIterator<Item = uuid::Uuid>,
) -> Result<Vec<E::Model>, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    use sea_orm::QueryFilter;
    let mut ids: Vec<uuid::Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        rows.extend(query.clone().filter(column.is_in(chunk.iter().copied())).all(db).await?);
    }
    Ok(rows)
}
