//! Seams for scale-out: rate limiting, caching, event fan-out and throttles behind small traits.
//! The in-memory implementations serve one process; `redis` serves several (`REDIS_URL`).
//! `revocable` caches credential checks so that a revocation always wins.

pub mod redis;
pub mod revocable;

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// The answer of a rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after: Duration },
}

/// Counts hits per key in a window.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Records one hit on `key` and says whether it is within `limit` per `window`.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision;
    /// Forgets a key (e.g. after a successful login).
    async fn reset(&self, key: &str);
}

/// A short-lived key/value cache (session checks, persisted queries).
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
    /// Sets `key` only when it holds nothing (or an expired value), in one step; true when set.
    /// With a tombstone (a value written in place of a delete) this lets a revocation win
    /// against a check that read the database before it (see `auth::service::sessions`).
    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> bool;
    async fn delete(&self, key: &str);
}

/// Publishes JSON events on topics and streams them to subscribers.
pub trait EventBus: Send + Sync {
    fn publish(&self, topic: &str, payload: serde_json::Value);
    fn subscribe(&self, topic: &str) -> std::pin::Pin<Box<dyn Stream<Item = serde_json::Value> + Send>>;
}

/// GCRA (the generic cell rate algorithm) in process memory: `limit` requests per `window`,
/// a burst of up to `limit`, then one every `window / limit`. No window edges to game; one
/// instant (the theoretical arrival time) per key.
#[derive(Default)]
pub struct MemoryRateLimiter {
    tats: Mutex<HashMap<String, Instant>>,
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        let now = Instant::now();
        let interval = window / limit.max(1);
        let mut map = self.tats.lock().expect("rate limiter lock");
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        let new_tat = tat + interval;
        let allowed_at = new_tat.checked_sub(window).unwrap_or(now);
        if allowed_at > now {
            return RateDecision::Limited { retry_after: allowed_at - now };
        }
        map.insert(key.to_string(), new_tat);
        RateDecision::Allowed
    }

    async fn reset(&self, key: &str) {
        self.tats.lock().expect("rate limiter lock").remove(key);
    }
}

/// A TTL map in process memory.
#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (Instant, Vec<u8>)>>,
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut map = self.entries.lock().expect("cache lock");
        match map.get(key) {
            Some((expires, v)) if *expires > Instant::now() => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let now = Instant::now();
        let mut map = self.entries.lock().expect("cache lock");
        if map.len() > 100_000 {
            map.retain(|_, (expires, _)| *expires > now);
        }
        map.insert(key.to_string(), (now + ttl, value));
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut map = self.entries.lock().expect("cache lock");
        if map.get(key).is_some_and(|(expires, _)| *expires > now) {
            return false;
        }
        map.insert(key.to_string(), (now + ttl, value));
        true
    }

    async fn delete(&self, key: &str) {
        self.entries.lock().expect("cache lock").remove(key);
    }
}

/// One broadcast channel per topic, in process memory.
pub struct MemoryEventBus {
    topics: Mutex<HashMap<String, broadcast::Sender<serde_json::Value>>>,
}

impl Default for MemoryEventBus {
    fn default() -> Self {
        MemoryEventBus { topics: Mutex::new(HashMap::new()) }
    }
}

impl EventBus for MemoryEventBus {
    fn publish(&self, topic: &str, payload: serde_json::Value) {
        let mut topics = self.topics.lock().expect("event bus lock");
        if let Some(tx) = topics.get(topic) {
            if tx.send(payload).is_err() {
                topics.remove(topic);
            }
        }
    }

    fn subscribe(&self, topic: &str) -> std::pin::Pin<Box<dyn Stream<Item = serde_json::Value> + Send>> {
        let rx = {
            let mut topics = self.topics.lock().expect("event bus lock");
            topics.entry(topic.to_string()).or_insert_with(|| broadcast::channel(1024).0).subscribe()
        };
        // A subscriber that fell behind gets a `{"lagged": true}` marker: it re-reads the state it needs.
        Box::pin(BroadcastStream::new(rx).map(|r| r.unwrap_or_else(|_| serde_json::json!({"lagged": true}))))
    }
}

/// At most once per interval per key: remembers when each key last passed (an API key's
/// `lastUsedAt` write, so a busy key costs one write a minute).
pub struct Throttle {
    interval: Duration,
    passed: std::sync::Mutex<HashMap<uuid::Uuid, std::time::Instant>>,
}

impl Throttle {
    pub fn new(interval: Duration) -> Self {
        Throttle { interval, passed: Default::default() }
    }

    /// True (and remembered) when `key` last passed longer than the interval ago, or never.
    pub fn due(&self, key: uuid::Uuid) -> bool {
        let mut passed = self.passed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = std::time::Instant::now();
        match passed.get(&key) {
            Some(at) if now.duration_since(*at) < self.interval => false,
            _ => {
                passed.insert(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_refuses_past_the_limit_and_says_when_to_retry() {
        let rl = MemoryRateLimiter::default();
        for _ in 0..3 {
            assert_eq!(rl.hit("k", 3, Duration::from_secs(60)).await, RateDecision::Allowed);
        }
        match rl.hit("k", 3, Duration::from_secs(60)).await {
            RateDecision::Limited { retry_after } => assert!(retry_after <= Duration::from_secs(60)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        rl.reset("k").await;
        assert_eq!(rl.hit("k", 3, Duration::from_secs(60)).await, RateDecision::Allowed);
    }

    #[tokio::test]
    async fn cache_entries_expire() {
        let c = MemoryCache::default();
        c.set("a", b"1".to_vec(), Duration::from_millis(0)).await;
        assert_eq!(c.get("a").await, None);
        c.set("b", b"2".to_vec(), Duration::from_secs(60)).await;
        assert_eq!(c.get("b").await, Some(b"2".to_vec()));
        c.delete("b").await;
        assert_eq!(c.get("b").await, None);
    }

    #[tokio::test]
    async fn set_if_absent_never_overwrites_a_live_value() {
        let c = MemoryCache::default();
        assert!(c.set_if_absent("a", b"1".to_vec(), Duration::from_secs(60)).await);
        assert!(!c.set_if_absent("a", b"2".to_vec(), Duration::from_secs(60)).await);
        assert_eq!(c.get("a").await, Some(b"1".to_vec()));
        c.set("b", b"1".to_vec(), Duration::from_millis(0)).await;
        assert!(c.set_if_absent("b", b"2".to_vec(), Duration::from_secs(60)).await, "an expired value is absent");
        assert_eq!(c.get("b").await, Some(b"2".to_vec()));
    }

    #[tokio::test]
    async fn event_bus_delivers_to_subscribers_of_the_topic() {
        let bus = MemoryEventBus::default();
        let mut sub = bus.subscribe("job:1");
        bus.publish("job:2", serde_json::json!({"n": 0}));
        bus.publish("job:1", serde_json::json!({"n": 1}));
        assert_eq!(sub.next().await, Some(serde_json::json!({"n": 1})));
    }
}
