//! The seams over Redis when `REDIS_URL` is set: a shared cache (sessions, APQ), rate limits
//! shared by every replica, job events fanned out across processes with pub/sub, and job
//! wake-ups. One `ConnectionManager` (RESP3, reconnecting by itself, resubscribing after a
//! reconnect) carries commands and the pub/sub pushes; nothing here loops to reconnect.
//!
//! Redis is never the truth: the database is. When Redis is down, the cache misses (the database
//! answers), rate limits fall back to this process's memory, events still reach this process's
//! subscribers (they re-read the job row), workers wake on their poll interval, and
//! `/health/ready` says `degraded`; all of it resumes when Redis returns.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use futures_util::Stream;
use prometheus_client::metrics::counter::Counter;
use redis::{
    AsyncCommands, PushKind, Value as RValue,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::{Notify, mpsc};

use crate::seams::{Cache, Event, EventBus, MemoryEventBus, MemoryRateLimiter, RateDecision, RateLimiter};

/// The topic that wakes idle workers in every process.
pub const WAKEUP_TOPIC: &str = "jobs:wakeup";
/// How long one Redis command may take before it counts as an outage.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Events waiting to be published to Redis, at most (a few MB of job events).
pub const PUBLISH_QUEUE: usize = 10_000;

pub struct RedisBackend {
    conn: ConnectionManager,
    /// Every key and channel starts with this (`REDIS_KEY_PREFIX`, default `ma:`).
    prefix: String,
    up: AtomicBool,
    fallback_limiter: MemoryRateLimiter,
    local: Arc<MemoryEventBus>,
    publisher: Outbox,
}

/// The events waiting to be published, one after the other, bounded by a capacity. When Redis is
/// slower than the events come (or down and timing out), an event that does not fit skips Redis:
/// it goes to this process's subscribers directly, as during an outage, and is counted
/// (`events_not_published`). Subscribers elsewhere recover as from any lost event: they re-read
/// the job row when no event came for a while. A wake-up that does not fit is simply dropped
/// (workers poll).
struct Outbox {
    queue: mpsc::Sender<(String, String)>,
    local: Arc<MemoryEventBus>,
    dropped: Counter,
}

impl Outbox {
    fn new(capacity: usize, local: Arc<MemoryEventBus>, dropped: Counter) -> (Self, mpsc::Receiver<(String, String)>) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        (Outbox { queue, local, dropped }, receiver)
    }

    fn push(&self, topic: String, payload: String) {
        if let Err(refused) = self.queue.try_send((topic, payload)) {
            let (topic, payload) = refused.into_inner();
            self.dropped.inc();
            if topic != WAKEUP_TOPIC
                && let Ok(v) = serde_json::from_str(&payload)
            {
                self.local.publish(&topic, v);
            }
        }
    }
}

/// `url` with RESP3 asked for (pub/sub pushes on the shared connection need it).
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl RedisBackend {
    /// Connects lazily (the server starts while Redis is down) and starts the event dispatcher.
    /// `dropped` counts the events the full publish queue could not take.
    pub fn start(url: &str, prefix: &str, wakeup: Arc<Notify>, dropped: Counter) -> anyhow::Result<Arc<Self>> {
        let events = format!("{prefix}ev:");
        let client = redis::Client::open(resp3(url)).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(push_tx)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        let local = Arc::new(MemoryEventBus::default());
        let (publisher, mut outbox) = Outbox::new(PUBLISH_QUEUE, local.clone(), dropped);
        let backend = Arc::new(RedisBackend {
            conn,
            prefix: prefix.to_string(),
            up: AtomicBool::new(true),
            fallback_limiter: MemoryRateLimiter::default(),
            local: local.clone(),
            publisher,
        });

        // Pushes: events into this process's bus, wake-ups to its workers.
        let bus = local.clone();
        let wake = wakeup.clone();
        let channels = events.clone();
        tokio::spawn(async move {
            while let Some(push) = push_rx.recv().await {
                if push.kind != PushKind::PMessage {
                    continue;
                }
                // [pattern, channel, payload]
                let (Some(channel), Some(payload)) = (push.data.get(1), push.data.get(2)) else { continue };
                let (Some(channel), Some(payload)) = (text(channel), text(payload)) else { continue };
                let Some(topic) = channel.strip_prefix(channels.as_str()) else { continue };
                if topic == WAKEUP_TOPIC {
                    wake.notify_waiters();
                    wake.notify_one();
                } else if let Ok(v) = serde_json::from_str(&payload) {
                    bus.publish(topic, v);
                }
            }
        });

        // The subscription: retried until Redis first answers; the manager keeps it afterwards.
        let b = backend.clone();
        let pattern = format!("{events}*");
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            loop {
                let mut conn = b.conn.clone();
                match conn.psubscribe(&pattern).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "redis: cannot subscribe to events yet; retrying");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });

        // Publishing in order: one task sends every event, one after the other. An event Redis
        // cannot take goes to this process's subscribers directly (they re-read the job row).
        let b = backend.clone();
        tokio::spawn(async move {
            while let Some((topic, payload)) = outbox.recv().await {
                let mut conn = b.conn.clone();
                let sent: Result<Result<i64, _>, _> =
                    tokio::time::timeout(COMMAND_TIMEOUT, conn.publish(format!("{events}{topic}"), &payload)).await;
                match sent {
                    Ok(Ok(_)) => b.mark(true),
                    _ => {
                        b.mark(false);
                        if topic == WAKEUP_TOPIC {
                            continue;
                        }
                        if let Ok(v) = serde_json::from_str(&payload) {
                            b.local.publish(&topic, v);
                        }
                    }
                }
            }
        });
        Ok(backend)
    }

    fn mark(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was && !up {
            tracing::warn!("redis is unreachable: falling back to this process (memory rate limits, database polling)");
        } else if !was && up {
            tracing::info!("redis is back");
        }
    }

    /// PING within a second.
    pub async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        let ok = matches!(
            tokio::time::timeout(Duration::from_secs(1), redis::cmd("PING").query_async::<String>(&mut conn)).await,
            Ok(Ok(_))
        );
        self.mark(ok);
        ok
    }

    /// Wakes idle workers in every process.
    pub fn wake_workers(&self) {
        self.publisher.push(WAKEUP_TOPIC.into(), "1".into());
    }

    /// Runs a command with the outage timeout, noting whether Redis answered.
    async fn run<T>(&self, f: impl std::future::Future<Output = redis::RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
            Ok(Ok(v)) => {
                self.mark(true);
                Some(v)
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "redis command failed");
                self.mark(false);
                None
            }
            Err(_) => {
                self.mark(false);
                None
            }
        }
    }
}

fn text(v: &RValue) -> Option<String> {
    match v {
        RValue::BulkString(b) => String::from_utf8(b.clone()).ok(),
        RValue::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Redis as the [`Cache`]: misses when Redis is down.
pub struct RedisCache(pub Arc<RedisBackend>);

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut conn = self.0.conn.clone();
        self.0.run(conn.get::<_, Option<Vec<u8>>>(format!("{}c:{key}", self.0.prefix))).await.flatten()
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let mut conn = self.0.conn.clone();
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        self.0.run(conn.pset_ex::<_, _, ()>(format!("{}c:{key}", self.0.prefix), value, ms)).await;
    }

    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> bool {
        let mut conn = self.0.conn.clone();
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        let mut set = redis::cmd("SET");
        set.arg(format!("{}c:{key}", self.0.prefix)).arg(value).arg("PX").arg(ms).arg("NX");
        // `OK` when set, nil when the key held a value; a Redis outage sets nothing.
        matches!(self.0.run(set.query_async::<Option<String>>(&mut conn)).await, Some(Some(_)))
    }

    async fn delete(&self, key: &str) {
        let mut conn = self.0.conn.clone();
        self.0.run(conn.del::<_, ()>(format!("{}c:{key}", self.0.prefix))).await;
    }
}

/// GCRA in one atomic script, on Redis's clock (µs): the key holds the theoretical arrival time.
/// Returns {1, 0} when allowed, {0, µs to wait} when not.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local interval = period / tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_at = new_tat - period
if allowed_at > now then return {0, math.ceil(allowed_at - now)} end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
";

/// Redis as the [`RateLimiter`], shared by every replica; this process's memory when Redis is down.
pub struct RedisRateLimiter(pub Arc<RedisBackend>);

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        let mut conn = self.0.conn.clone();
        let script = redis::Script::new(GCRA);
        let mut invocation = script.key(format!("{}rl:{key}", self.0.prefix));
        invocation.arg(window.as_micros().max(1) as u64).arg(limit.max(1));
        match self.0.run(invocation.invoke_async::<(i64, i64)>(&mut conn)).await {
            Some((0, wait_us)) => RateDecision::Limited { retry_after: Duration::from_micros(wait_us.max(1) as u64) },
            Some(_) => RateDecision::Allowed,
            None => self.0.fallback_limiter.hit(key, limit, window).await,
        }
    }

    async fn reset(&self, key: &str) {
        let mut conn = self.0.conn.clone();
        self.0.run(conn.del::<_, ()>(format!("{}rl:{key}", self.0.prefix))).await;
        self.0.fallback_limiter.reset(key).await;
    }
}

/// Redis pub/sub as the [`EventBus`]: published to every process, delivered from this
/// process's in-memory bus (fed by the pushes), in the order they were published.
pub struct RedisEventBus(pub Arc<RedisBackend>);

impl EventBus for RedisEventBus {
    fn publish(&self, topic: &str, payload: serde_json::Value) {
        self.0.publisher.push(topic.to_string(), payload.to_string());
    }

    fn subscribe(&self, topic: &str) -> std::pin::Pin<Box<dyn Stream<Item = Event> + Send>> {
        self.0.local.subscribe(topic)
    }

    fn live_topics(&self) -> usize {
        self.0.local.live_topics()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_full_publish_queue_delivers_here_and_counts_what_it_could_not_take() {
        let local = Arc::new(MemoryEventBus::default());
        let dropped = Counter::default();
        let (outbox, mut queue) = Outbox::new(2, local.clone(), dropped.clone());
        let mut subscriber = local.subscribe("job:1");
        for n in 0..3 {
            outbox.push("job:1".into(), json!({"n": n}).to_string());
        }
        outbox.push(WAKEUP_TOPIC.into(), "1".into());
        assert_eq!(dropped.get(), 2, "the third event and the wake-up did not fit");
        assert_eq!(subscriber.next().await.map(|e| e.json().clone()), Some(json!({"n": 2})), "the event that did not fit reached this process");
        for n in 0..2 {
            let (topic, payload) = queue.recv().await.expect("a queued event");
            assert_eq!((topic.as_str(), payload), ("job:1", json!({"n": n}).to_string()));
        }
        assert!(queue.try_recv().is_err(), "nothing more was queued");
    }
}
