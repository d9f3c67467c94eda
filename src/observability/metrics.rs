//! Metrics in Prometheus/OpenMetrics text (`GET /metrics`), one registry per application.
//!
//! Labels never carry ids: HTTP routes are the route templates (`/files/{id}`), and operation
//! names are capped ([`MAX_OPERATION_NAMES`] distinct names, then `other`) so a client cannot
//! blow up the series count.

use std::{
    collections::HashSet,
    sync::Mutex,
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::db::DbMetrics;

/// Distinct operation names kept as label values; later ones are counted as `other`.
pub const MAX_OPERATION_NAMES: usize = 500;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
    #[prometheus(flatten)]
    pub kind: TypeLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub operation: String,
    pub r#type: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabels {
    pub scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms to ~65 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// 10 ms to ~3 h.
fn long() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 21))
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Histograms<RouteLabels>,
    pub operations: Family<OutcomeLabels, Counter>,
    pub operation_duration: Histograms<OperationLabels>,
    pub errors: Family<CodeLabels, Counter>,
    pub rate_limited: Family<ScopeLabels, Counter>,
    pub ws_connections: Gauge,
    pub subscriptions: Gauge,
    /// Shared subscriptions running (`graphql::shared`): one execution each, whatever its members.
    pub subscription_groups: Gauge,
    pub jobs: Family<JobLabels, Counter>,
    pub jobs_active: Gauge,
    pub job_duration: Histograms<KindLabels>,
    pub job_items: Histograms<KindLabels>,
    pub db_pool: Family<StateLabels, Gauge>,
    pub db_pool_max: Gauge,
    /// Sampled at each scrape by `AppState::sample_metrics`.
    pub event_topics: Gauge,
    /// Job events the Redis publish queue was too full to take (delivered in this process only).
    pub events_not_published: Counter,
    pub render_in_use: Gauge,
    pub render_waiting: Gauge,
    operation_names: Mutex<HashSet<String>>,
}

impl Metrics {
    pub fn new(db: &DbMetrics) -> Self {
        let mut r = Registry::default();
        let m = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            operations: Family::default(),
            operation_duration: Family::new_with_constructor(latency),
            errors: Family::default(),
            rate_limited: Family::default(),
            ws_connections: Gauge::default(),
            subscriptions: Gauge::default(),
            subscription_groups: Gauge::default(),
            jobs: Family::default(),
            jobs_active: Gauge::default(),
            job_duration: Family::new_with_constructor(long),
            job_items: Family::new_with_constructor(latency),
            db_pool: Family::default(),
            db_pool_max: Gauge::default(),
            event_topics: Gauge::default(),
            events_not_published: Counter::default(),
            render_in_use: Gauge::default(),
            render_waiting: Gauge::default(),
            operation_names: Mutex::new(HashSet::new()),
            registry: Registry::default(),
        };
        r.register("http_requests", "HTTP requests by method, route template and status", m.http_requests.clone());
        r.register("http_request_duration_seconds", "HTTP request duration", m.http_duration.clone());
        r.register("graphql_operations", "GraphQL operations by name, type and outcome (ok, error, rejected)", m.operations.clone());
        r.register("graphql_operation_duration_seconds", "GraphQL operation duration", m.operation_duration.clone());
        r.register("graphql_errors", "GraphQL errors by extensions.code", m.errors.clone());
        r.register("rate_limited", "Requests refused by a rate limit, by scope (api, login, download)", m.rate_limited.clone());
        r.register("ws_connections", "Open WebSocket connections", m.ws_connections.clone());
        r.register("graphql_subscriptions_active", "Running GraphQL subscriptions", m.subscriptions.clone());
        r.register("graphql_subscription_groups", "Shared subscriptions running: each runs once for all the subscribers who see the same thing", m.subscription_groups.clone());
        r.register("jobs", "Jobs finished by kind and status", m.jobs.clone());
        r.register("jobs_active", "Jobs this process's workers are working on", m.jobs_active.clone());
        r.register("job_duration_seconds", "Time from a job's start to its end, by kind", m.job_duration.clone());
        r.register("job_item_seconds", "Time to make one job item (gather, render, store), by kind", m.job_items.clone());
        r.register("db_statements", "SQL statements sent to the database", db.statements.clone());
        r.register("db_statement_errors", "SQL statements that failed", db.failed.clone());
        r.register("db_slow_statements", "SQL statements slower than SLOW_SQL_MS", db.slow.clone());
        r.register("db_pool_connections", "Database pool connections by state (idle, in_use)", m.db_pool.clone());
        r.register("db_pool_max_connections", "Database pool size limit", m.db_pool_max.clone());
        r.register("event_bus_topics", "Event topics this process holds a channel for (each with a live subscriber)", m.event_topics.clone());
        r.register("events_not_published", "Events the full Redis publish queue could not take (delivered to this process's subscribers only)", m.events_not_published.clone());
        r.register("render_slots_in_use", "Render slots (child processes) rendering now", m.render_in_use.clone());
        r.register("render_waiting", "Renders waiting for a render slot", m.render_waiting.clone());
        Metrics { registry: r, ..m }
    }

    /// The label value for an operation name: itself while fewer than [`MAX_OPERATION_NAMES`]
    /// are known, `anonymous` without one, `other` past the cap.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else { return "anonymous".into() };
        let mut names = self.operation_names.lock().unwrap_or_else(|p| p.into_inner());
        if names.contains(name) {
            return name.to_string();
        }
        if names.len() < MAX_OPERATION_NAMES && name.len() <= 100 {
            names.insert(name.to_string());
            return name.to_string();
        }
        "other".into()
    }

    pub fn rate_limited(&self, scope: &str) {
        self.rate_limited.get_or_create(&ScopeLabels { scope: scope.into() }).inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self, db: &sea_orm::DatabaseConnection) -> String {
        self.sample_pool(db);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
        out
    }

    fn sample_pool(&self, db: &sea_orm::DatabaseConnection) {
        let (size, idle, max) = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                let p = db.get_postgres_connection_pool();
                (p.size(), p.num_idle() as u32, p.options().get_max_connections())
            }
            sea_orm::DatabaseBackend::Sqlite => {
                let p = db.get_sqlite_connection_pool();
                (p.size(), p.num_idle() as u32, p.options().get_max_connections())
            }
            _ => return,
        };
        self.db_pool.get_or_create(&StateLabels { state: "idle".into() }).set(i64::from(idle));
        self.db_pool.get_or_create(&StateLabels { state: "in_use".into() }).set(i64::from(size.saturating_sub(idle)));
        self.db_pool_max.set(i64::from(max));
    }

    /// A job finished: counted by kind and status, timed from its start.
    pub fn job_finished(&self, kind: &str, status: &str, took: Option<Duration>) {
        self.jobs.get_or_create(&JobLabels { kind: kind.into(), status: status.into() }).inc();
        if let Some(took) = took {
            self.job_duration.get_or_create(&KindLabels { kind: kind.into() }).observe(took.as_secs_f64());
        }
    }

    pub fn job_item(&self, kind: &str, took: Duration) {
        self.job_items.get_or_create(&KindLabels { kind: kind.into() }).observe(took.as_secs_f64());
    }

    /// Counts a job as active in this process while the guard lives.
    pub fn working(&self) -> GaugeGuard {
        GaugeGuard::new(&self.jobs_active)
    }
}

/// Increments a gauge now and decrements it when dropped.
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

