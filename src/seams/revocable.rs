//! Cached checks of credentials that a revocation always wins against (sessions, API keys).
//!
//! The race: a check misses the cache and reads the credential live from the database; meanwhile
//! a revocation commits and evicts; then the check caches what it read, and the revoked
//! credential works for another `SESSION_CACHE_SECS`. So a revocation does not delete the cached
//! check: it writes a tombstone over it that stays longer than any check takes, and a check
//! caches only where nothing is ([`Cache::set_if_absent`]). A check finishing after the tombstone
//! caches nothing; one finishing before it is overwritten by it.

use std::time::Duration;

use super::Cache;

/// What a revocation leaves in a cache entry instead of deleting it.
const TOMBSTONE: &[u8] = b"\0revoked";
/// How long a tombstone stays: longer than a check in flight can take (`REQUEST_TIMEOUT_SECS` is
/// 30 by default). Until then the credential's checks go to the database and are not cached.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(120);

/// The cached check under `key`, if one is trusted (a tombstone is not).
pub async fn recall(cache: &dyn Cache, key: &str) -> Option<Vec<u8>> {
    cache.get(key).await.filter(|bytes| bytes != TOMBSTONE)
}

/// Caches a check read from the database, unless the credential was revoked since: a tombstone
/// is never overwritten.
pub async fn remember(cache: &dyn Cache, key: &str, checked: Vec<u8>, ttl: Duration) {
    cache.set_if_absent(key, checked, ttl).await;
}

/// Replaces the cached check under `key` by a tombstone (after the revoking change commits).
pub async fn revoke(cache: &dyn Cache, key: &str) {
    cache.set(key, TOMBSTONE.to_vec(), TOMBSTONE_TTL).await;
}
