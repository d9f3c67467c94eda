//! Seams for scale-out: rate limiting, caching, event fan-out and throttles behind small traits.
//! The in-memory implementations serve one process; `redis` serves several (`REDIS_URL`).
//! `revocable` caches credential checks so that a revocation always wins.

pub mod quota;
pub mod redis;
pub mod revocable;

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll},
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
    /// Every event published on `topic` from now on, each one [`Event`] shared by all its subscribers.
    fn subscribe(&self, topic: &str) -> std::pin::Pin<Box<dyn Stream<Item = Event> + Send>>;
    /// Topics this process holds a channel for (the `event_bus_topics` gauge).
    fn live_topics(&self) -> usize;
}

/// One published event, shared by every subscriber of its topic: cloning it counts a reference,
/// and its payload is decoded once, by the first subscriber that asks, for all of them (ten
/// thousand subscribers of an organization's jobs cost one decode an event, not ten thousand).
#[derive(Clone)]
pub struct Event(Arc<Published>);

struct Published {
    json: serde_json::Value,
    /// The payload decoded by the first [`Event::decode`], with its type.
    decoded: OnceLock<Option<(TypeId, Arc<dyn Any + Send + Sync>)>>,
}

impl Event {
    pub fn new(json: serde_json::Value) -> Self {
        Event(Arc::new(Published { json, decoded: OnceLock::new() }))
    }

    /// The marker a subscriber that fell behind gets in place of the events it missed: it
    /// re-reads the state it needs.
    pub fn lagged() -> Self {
        Event::new(serde_json::json!({"lagged": true}))
    }

    pub fn is_lagged(&self) -> bool {
        self.0.json.get("lagged").is_some()
    }

    /// The payload as published.
    pub fn json(&self) -> &serde_json::Value {
        &self.0.json
    }

    /// The payload as a `T`, decoded once and shared; `None` when it is not a `T`. A topic
    /// carries one type: asked for another, the event decodes again (correct, not shared).
    pub fn decode<T>(&self) -> Option<Arc<T>>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let decode = || serde_json::from_value::<T>(self.0.json.clone()).ok().map(Arc::new);
        let decoded = self.0.decoded.get_or_init(|| decode().map(|v| (TypeId::of::<T>(), v as Arc<dyn Any + Send + Sync>)));
        match decoded {
            Some((type_id, value)) if *type_id == TypeId::of::<T>() => value.clone().downcast::<T>().ok(),
            Some(_) => decode(),
            None => None,
        }
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Event").field(&self.0.json).finish()
    }
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

/// A TTL cache in process memory, bounded: entries weigh their key and value plus a fixed
/// overhead, and the least useful go first past `max_bytes` (moka's TinyLFU), so neither many
/// small entries nor a few large ones can grow it without limit.
pub struct MemoryCache {
    entries: moka::sync::Cache<String, CacheEntry>,
}

/// A value and how long it lives.
#[derive(Clone)]
struct CacheEntry {
    value: std::sync::Arc<[u8]>,
    ttl: Duration,
}

/// What one entry costs beyond its key and value (map slot, expiry bookkeeping, allocations).
const CACHE_ENTRY_OVERHEAD: u64 = 160;

struct PerEntryTtl;

impl moka::Expiry<String, CacheEntry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &CacheEntry, _created_at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
    fn expire_after_update(&self, _key: &String, entry: &CacheEntry, _updated_at: Instant, _left: Option<Duration>) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryCache {
    pub fn new(max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &CacheEntry| {
                let weight = CACHE_ENTRY_OVERHEAD + key.len() as u64 + entry.value.len() as u64;
                u32::try_from(weight).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntryTtl)
            .build();
        MemoryCache { entries }
    }

    /// Entries and weighed bytes held now (after pending evictions ran).
    pub fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::new(64 * 1024 * 1024)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.entries.get(key).map(|e| e.value.to_vec())
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if ttl.is_zero() {
            self.entries.invalidate(key);
            return;
        }
        self.entries.insert(key.to_string(), CacheEntry { value: value.into(), ttl });
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> bool {
        if ttl.is_zero() {
            return false;
        }
        // Atomic per key: of two racing callers, one inserts and the other sees its value.
        self.entries.entry(key.to_string()).or_insert_with(|| CacheEntry { value: value.into(), ttl }).is_fresh()
    }

    async fn delete(&self, key: &str) {
        self.entries.invalidate(key);
    }
}

type Topics = Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>;

/// One broadcast channel per topic with a live subscriber, in process memory. A topic's channel
/// opens with its first subscriber and goes with its last ([`Subscription`]'s drop): a publish
/// to a topic nobody listens to keeps nothing.
#[derive(Default)]
pub struct MemoryEventBus {
    topics: Topics,
}

impl EventBus for MemoryEventBus {
    fn publish(&self, topic: &str, payload: serde_json::Value) {
        let topics = self.topics.lock().expect("event bus lock");
        if let Some(tx) = topics.get(topic) {
            let _ = tx.send(Event::new(payload));
        }
    }

    fn subscribe(&self, topic: &str) -> Pin<Box<dyn Stream<Item = Event> + Send>> {
        let rx = {
            let mut topics = self.topics.lock().expect("event bus lock");
            topics.entry(topic.to_string()).or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0).subscribe()
        };
        Box::pin(Subscription { stream: Some(BroadcastStream::new(rx)), topic: topic.to_string(), topics: self.topics.clone() })
    }

    fn live_topics(&self) -> usize {
        self.topics.lock().expect("event bus lock").len()
    }
}

/// Events a topic keeps for its slowest subscriber; one further behind gets [`Event::lagged`].
/// Each is a reference to an event shared by every subscriber, so a topic costs this many
/// pointers, whatever its number of subscribers.
const TOPIC_CAPACITY: usize = 1024;

/// One subscriber of a [`MemoryEventBus`] topic.
struct Subscription {
    /// `None` once dropped (the receiver goes first, then the topic is checked).
    stream: Option<BroadcastStream<Event>>,
    topic: String,
    topics: Topics,
}

impl Stream for Subscription {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(stream) = self.get_mut().stream.as_mut() else { return Poll::Ready(None) };
        // A subscriber that fell behind gets a `{"lagged": true}` marker: it re-reads the state it needs.
        stream.poll_next_unpin(cx).map(|next| next.map(|r| r.unwrap_or_else(|_| Event::lagged())))
    }
}

impl Drop for Subscription {
    /// The last subscriber of a topic takes its channel away (under the lock, so a subscriber
    /// arriving meanwhile either shares the old channel or opens a new one).
    fn drop(&mut self) {
        let mut topics = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        drop(self.stream.take());
        if topics.get(&self.topic).is_some_and(|tx| tx.receiver_count() == 0) {
            topics.remove(&self.topic);
        }
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
    async fn memory_cache_stays_within_its_byte_bound() {
        let c = MemoryCache::new(200_000);
        for i in 0..10_000 {
            c.set(&format!("apq:{i}"), vec![b'x'; 1000], Duration::from_secs(60)).await;
        }
        let (entries, bytes) = c.usage();
        assert!(bytes <= 200_000, "{bytes} bytes held");
        assert!(entries < 200, "{entries} entries held");
        // Small entries are bounded by their overhead too.
        for i in 0..100_000 {
            c.set(&format!("k{i}"), Vec::new(), Duration::from_secs(60)).await;
        }
        let (entries, bytes) = c.usage();
        assert!(bytes <= 200_000 && entries <= 200_000 / CACHE_ENTRY_OVERHEAD, "{entries} entries, {bytes} bytes");
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
        assert_eq!(sub.next().await.map(|e| e.json().clone()), Some(serde_json::json!({"n": 1})));
    }

    #[tokio::test]
    async fn subscribers_share_one_event_and_one_decoding_of_it() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Progress {
            n: u32,
        }
        let bus = MemoryEventBus::default();
        let mut first = bus.subscribe("job:1");
        let mut second = bus.subscribe("job:1");
        bus.publish("job:1", serde_json::json!({"n": 7}));
        let (a, b) = (first.next().await.expect("an event"), second.next().await.expect("an event"));
        let (x, y) = (a.decode::<Progress>().expect("a Progress"), b.decode::<Progress>().expect("a Progress"));
        assert_eq!(*x, Progress { n: 7 });
        assert!(Arc::ptr_eq(&x, &y), "decoded once, for both subscribers");
        assert_eq!(a.decode::<serde_json::Map<String, serde_json::Value>>().map(|m| m.len()), Some(1), "another type decodes too");
        assert!(a.decode::<Vec<u8>>().is_none(), "not that type");
        assert!(!a.is_lagged() && Event::lagged().is_lagged());
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_so() {
        let bus = MemoryEventBus::default();
        let mut slow = bus.subscribe("job:1");
        for n in 0..=TOPIC_CAPACITY {
            bus.publish("job:1", serde_json::json!({"n": n}));
        }
        assert!(slow.next().await.expect("an event").is_lagged());
        assert_eq!(slow.next().await.map(|e| e.json().clone()), Some(serde_json::json!({"n": 1})));
    }

    #[tokio::test]
    async fn a_topic_goes_with_its_last_subscriber() {
        let bus = MemoryEventBus::default();
        bus.publish("job:0", serde_json::json!({}));
        assert_eq!(bus.live_topics(), 0, "a publish without subscribers keeps nothing");
        let first = bus.subscribe("job:1");
        let mut second = bus.subscribe("job:1");
        assert_eq!(bus.live_topics(), 1);
        drop(first);
        bus.publish("job:1", serde_json::json!({"n": 1}));
        assert_eq!(second.next().await.map(|e| e.json().clone()), Some(serde_json::json!({"n": 1})), "the other subscriber still listens");
        drop(second);
        assert_eq!(bus.live_topics(), 0);
        let mut again = bus.subscribe("job:1");
        bus.publish("job:1", serde_json::json!({"n": 2}));
        assert_eq!(again.next().await.map(|e| e.json().clone()), Some(serde_json::json!({"n": 2})), "a new subscriber opens a new channel");
    }
}
