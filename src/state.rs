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
    /// The state of one process, with in-memory seams (Redis ones come with scale-out).
    pub fn new(settings: Settings, db: DatabaseConnection, db_metrics: DbMetrics) -> anyhow::Result<Self> {
        let jwt = Arc::new(JwtKeys::new(&settings));
        let encryption = match &settings.storage_encryption_keys {
            Some(k) => Some(KeyRing::parse(k.expose()).map_err(|e| anyhow::anyhow!("STORAGE_ENCRYPTION_KEYS: {e}"))?),
            None => None,
        };
        let storage = Storage::local(StorageConfig {
            root: settings.data_dir.join("files"),
            compress: settings.storage_compress,
            encryption,
            fsync: settings.storage_fsync,
        })
        .map_err(|e| anyhow::anyhow!("DATA_DIR: cannot open the document store: {e}"))?;
        let signer = UrlSigner::new(signing_keys(settings.url_signing_keys.expose())?)
            .map_err(|e| anyhow::anyhow!("URL_SIGNING_KEYS: {e}"))?;
        let renderer = Renderer::start(&settings)?;
        Ok(AppState {
            settings: Arc::new(settings),
            db,
            db_metrics: db_metrics.clone(),
            jwt,
            cache: Arc::new(MemoryCache::default()),
            rate_limiter: Arc::new(MemoryRateLimiter::default()),
            events: Arc::new(MemoryEventBus::default()),
            api_key_usage: Arc::new(UsageThrottle::default()),
            renderer: Arc::new(renderer),
            storage: Arc::new(storage),
            signer: Arc::new(signer),
            job_wakeup: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::new(&db_metrics)),
        })
    }
}
