//! `AppState`: what every request and worker shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    api_keys::service::UsageThrottle,
    auth::jwt::JwtKeys,
    config::Settings,
    db::DbMetrics,
    seams::{Cache, EventBus, MemoryCache, MemoryEventBus, MemoryRateLimiter, RateLimiter},
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
}

impl AppState {
    /// The state of one process, with in-memory seams (Redis ones come with scale-out).
    pub fn new(settings: Settings, db: DatabaseConnection, db_metrics: DbMetrics) -> Self {
        let jwt = Arc::new(JwtKeys::new(&settings));
        AppState {
            settings: Arc::new(settings),
            db,
            db_metrics,
            jwt,
            cache: Arc::new(MemoryCache::default()),
            rate_limiter: Arc::new(MemoryRateLimiter::default()),
            events: Arc::new(MemoryEventBus::default()),
            api_key_usage: Arc::new(UsageThrottle::default()),
        }
    }
}
