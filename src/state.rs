//! `AppState`: what every request and worker shares.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::{
    api_keys::service::UsageThrottle,
    auth::jwt::JwtKeys,
    config::Settings,
    db::DbMetrics,
    observability::Metrics,
    redis_seams::{RedisBackend, RedisCache, RedisEventBus, RedisRateLimiter},
    rendering::Renderer,
    seams::{Cache, EventBus, MemoryCache, MemoryEventBus, MemoryRateLimiter, RateLimiter},
    storage::{KeyRing, Storage, StorageConfig, UrlSigner},
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
    /// Throttles `ApiKey.lastUsedAt` writes.
    pub api_key_usage: Arc<UsageThrottle>,
    /// The Typst/HTML render pool and the XLSX writer.
    pub renderer: Arc<Renderer>,
    /// Where documents are kept.
    pub storage: Arc<Storage>,
    /// Signs and checks download links.
    pub signer: Arc<UrlSigner>,
    /// Wakes idle workers when a job is queued.
    pub job_wakeup: Arc<Notify>,
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

impl AppState {
    /// Wakes idle workers: this process's at once, every other process's through Redis.
    pub fn wake_workers(&self) {
        self.job_wakeup.notify_waiters();
        self.job_wakeup.notify_one();
        if let Some(r) = &self.redis {
            r.wake_workers();
        }
    }

    /// The state of one process, with in-memory seams (Redis ones come with scale-out).
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
        let renderer = Renderer::start(&settings)?;
        let job_wakeup = Arc::new(Notify::new());
        let redis = match &settings.redis_url {
            Some(url) => Some(RedisBackend::start(url.expose(), &settings.redis_key_prefix, job_wakeup.clone())?),
            None => None,
        };
        let (cache, rate_limiter, events): (Arc<dyn Cache>, Arc<dyn RateLimiter>, Arc<dyn EventBus>) = match &redis {
            Some(r) => (Arc::new(RedisCache(r.clone())), Arc::new(RedisRateLimiter(r.clone())), Arc::new(RedisEventBus(r.clone()))),
            None => (Arc::new(MemoryCache::default()), Arc::new(MemoryRateLimiter::default()), Arc::new(MemoryEventBus::default())),
        };
        Ok(AppState {
            settings: Arc::new(settings),
            db,
            db_metrics: db_metrics.clone(),
            jwt,
            cache,
            rate_limiter,
            events,
            redis,
            api_key_usage: Arc::new(UsageThrottle::default()),
            renderer: Arc::new(renderer),
            storage: Arc::new(storage),
            signer: Arc::new(signer),
            job_wakeup,
            metrics: Arc::new(Metrics::new(&db_metrics)),
        })
    }
}
