//! `AppState`: the infrastructure every request and worker shares (database, seams, render pool,
//! storage, signers, metrics registry). It imports no domain.

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::{
    config::Settings,
    db::DbMetrics,
    observability::metrics::Metrics,
    render::{PoolConfig, RenderPool},
    seams::{
        Cache, EventBus, MemoryCache, MemoryEventBus, MemoryRateLimiter, RateLimiter, Throttle,
        quota::Quota,
        redis::{RedisBackend, RedisCache, RedisEventBus, RedisRateLimiter},
    },
    storage::{KeyRing, Storage, StorageConfig, UrlSigner},
    tokens::JwtKeys,
};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub db_metrics: DbMetrics,
    pub jwt: Arc<JwtKeys>,
    pub cache: Arc<dyn Cache>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub events: Arc<dyn EventBus>,
    /// Each user's live subscriptions in this process (`MAX_SUBSCRIPTIONS_PER_USER`).
    pub subscriptions: Arc<Quota>,
    /// Throttles `ApiKey.lastUsedAt` writes.
    pub api_key_usage: Arc<Throttle>,
    /// The warm Typst/HTML render children (`templates::renderer` is how domains use them).
    pub render_pool: Arc<RenderPool>,
    /// Where documents are kept.
    pub storage: Arc<Storage>,
    /// Signs and checks download links.
    pub signer: Arc<UrlSigner>,
    /// Wakes idle workers when a job is queued.
    pub job_wakeup: Arc<Notify>,
    /// Wakes this process's idle mail loop when a message is queued (other processes' loops
    /// wake on `job_wakeup`, which Redis carries across).
    pub mail_wakeup: Arc<Notify>,
    /// Wakes this process's idle webhook loop when a delivery is queued (other processes' loops
    /// wake on `job_wakeup`, which Redis carries across).
    pub webhook_wakeup: Arc<Notify>,
    /// Everything `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// Redis, when `REDIS_URL` is set (the cache, limiter and event bus above then use it).
    pub redis: Option<Arc<RedisBackend>>,
}

/// `kid:secret,…` (first current) → HMAC keys (SHA-256 of each secret).
fn signing_keys(setting: &str) -> anyhow::Result<KeyRing> {
    let mut keys = HashMap::new();
    let mut current = None;
    for part in setting.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, secret) = part.split_once(':').context("URL_SIGNING_KEYS: each entry is `kid:secret`")?;
        anyhow::ensure!(secret.len() >= 32, "URL_SIGNING_KEYS: the secret of `{kid}` must be at least 32 bytes");
        keys.insert(kid.to_string(), <[u8; 32]>::from(Sha256::digest(secret.as_bytes())));
        current.get_or_insert_with(|| kid.to_string());
    }
    let current = current.context("URL_SIGNING_KEYS: no key")?;
    Ok(KeyRing { current, keys })
}

/// Starts the warm render children (`RENDER_WORKERS` of them).
fn start_render_pool(settings: &Settings) -> anyhow::Result<RenderPool> {
    let exe = match &settings.render_worker_exe {
        Some(path) => path.clone(),
        None => std::env::current_exe()?,
    };
    RenderPool::with_config(PoolConfig {
        size: settings.render_workers.max(1),
        exe,
        args: vec!["render-worker".into()],
        budget: Duration::from_secs(settings.render_timeout_secs.max(1)),
        memory_limit_bytes: settings.render_memory_mb.max(64) * 1024 * 1024,
        slots_per_tenant: settings.render_slots_per_organization,
    })
    .map_err(|e| anyhow::anyhow!("RENDER_WORKER_EXE: cannot start the render workers: {e}"))
}

impl AppState {
    /// Sets the gauges read from the seams and the render pool (called before each `/metrics` scrape).
    pub fn sample_metrics(&self) {
        let to_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.metrics.event_topics.set(to_gauge(self.events.live_topics()));
        let load = self.render_pool.load();
        self.metrics.render_in_use.set(to_gauge(load.in_use));
        self.metrics.render_waiting.set(to_gauge(load.waiting));
    }

    /// Wakes idle workers: this process's at once, every other process's through Redis.
    pub fn wake_workers(&self) {
        self.job_wakeup.notify_waiters();
        self.job_wakeup.notify_one();
        if let Some(r) = &self.redis {
            r.wake_workers();
        }
    }

    /// Wakes the mail loops: this process's at once, every other process's through Redis.
    pub fn wake_mailers(&self) {
        self.mail_wakeup.notify_one();
        if let Some(r) = &self.redis {
            r.wake_workers();
        }
    }

    /// Wakes the webhook loops: this process's at once, every other process's through Redis.
    pub fn wake_webhooks(&self) {
        self.webhook_wakeup.notify_one();
        if let Some(r) = &self.redis {
            r.wake_workers();
        }
    }

    /// The state of one process: in-memory seams, or Redis ones when `REDIS_URL` is set.
    pub fn new(settings: Settings, db: DatabaseConnection, db_metrics: DbMetrics) -> anyhow::Result<Self> {
        // Two TLS backends are linked (ring; aws-lc-rs comes with object_store's S3 client):
        // rustls needs the process's choice made once, or an HTTPS client panics.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let jwt = Arc::new(JwtKeys::new(&settings));
        let encryption = match &settings.storage_encryption_keys {
            Some(k) => Some(KeyRing::parse(k.expose()).map_err(|e| anyhow::anyhow!("STORAGE_ENCRYPTION_KEYS: {e}"))?),
            None => None,
        };
        let storage = match &settings.storage_url {
            Some(url) => Storage::s3(url, settings.storage_compress, encryption)
                .map_err(|e| anyhow::anyhow!("STORAGE_URL: cannot open the document store: {e}"))?,
            None => Storage::local(StorageConfig {
                root: settings.data_dir.join("files"),
                compress: settings.storage_compress,
                encryption,
                fsync: settings.storage_fsync,
            })
            .map_err(|e| anyhow::anyhow!("DATA_DIR: cannot open the document store: {e}"))?,
        };
        let signer = UrlSigner::new(signing_keys(settings.url_signing_keys.expose())?)
            .map_err(|e| anyhow::anyhow!("URL_SIGNING_KEYS: {e}"))?;
        let render_pool = start_render_pool(&settings)?;
        let job_wakeup = Arc::new(Notify::new());
        let metrics = Arc::new(Metrics::new(&db_metrics));
        let redis = match &settings.redis_url {
            Some(url) => {
                let dropped = metrics.events_not_published.clone();
                Some(RedisBackend::start(url.expose(), &settings.redis_key_prefix, job_wakeup.clone(), dropped)?)
            }
            None => None,
        };
        let (cache, rate_limiter, events): (Arc<dyn Cache>, Arc<dyn RateLimiter>, Arc<dyn EventBus>) = match &redis {
            Some(r) => (Arc::new(RedisCache(r.clone())), Arc::new(RedisRateLimiter(r.clone())), Arc::new(RedisEventBus(r.clone()))),
            None => (Arc::new(MemoryCache::new(settings.memory_cache_max_bytes)), Arc::new(MemoryRateLimiter::default()), Arc::new(MemoryEventBus::default())),
        };
        let subscriptions = Arc::new(Quota::new(settings.max_subscriptions_per_user));
        Ok(AppState {
            settings: Arc::new(settings),
            db,
            db_metrics: db_metrics.clone(),
            jwt,
            cache,
            rate_limiter,
            events,
            redis,
            subscriptions,
            api_key_usage: Arc::new(Throttle::new(Duration::from_secs(60))),
            render_pool: Arc::new(render_pool),
            storage: Arc::new(storage),
            signer: Arc::new(signer),
            job_wakeup,
            mail_wakeup: Arc::new(Notify::new()),
            webhook_wakeup: Arc::new(Notify::new()),
            metrics,
        })
    }
}
