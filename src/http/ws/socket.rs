//! One socket's connection loop: reads client messages, polls every running operation's stream
//! and writes what they yield, so closing the socket drops every stream at once.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_graphql::{Data, Request, Response};
use axum::{
    extract::ws::{Message, WebSocket},
    http::HeaderMap,
};
use futures_util::{
    FutureExt, SinkExt,
    stream::{self, AbortHandle, BoxStream, SelectAll, StreamExt},
};
use serde_json::{Value, json};
use tokio::time::{
    Instant, Interval, MissedTickBehavior, interval_at, sleep_until, timeout, timeout_at,
};

use super::{
    Answer, ExecuteFn, OnInit, Protocol, WsConfig, close_message,
    protocol::{self, Cmd, Invalid},
};

pub(super) async fn serve(
    socket: WebSocket,
    headers: HeaderMap,
    protocol: Protocol,
    execute: ExecuteFn,
    on_init: Arc<dyn OnInit>,
    config: WsConfig,
) {
    let mut conn = Socket {
        socket,
        headers,
        protocol,
        execute,
        on_init,
        config,
        session: None,
        init_received: false,
        subs: HashMap::new(),
        streams: SelectAll::new(),
        next_gen: 0,
        keep_alive: None,
        recheck_timer: None,
    };
    if let Err(End::Close(code, reason)) = conn.run().await {
        tracing::debug!(code, %reason, "closing GraphQL WebSocket");
        let _ = conn.socket.send(close_message(code, &reason)).await;
    }
    // Drop the streams now; then read until the closing handshake is done (this also sends our
    // reply to the peer's close frame: without it the peer sees 1006), for a second at most.
    drop(conn.streams);
    let _ = timeout(Duration::from_secs(1), async {
        while conn.socket.recv().await.is_some() {}
    })
    .await;
}

/// Why the connection loop stopped: close with a code and reason, or the peer is gone.
enum End {
    Close(u16, String),
    Gone,
}

fn close(code: u16, reason: impl Into<String>) -> End {
    End::Close(code, reason.into())
}

/// What an operation's stream yields: its n-th answer, then its end.
enum Event {
    Item(usize, Answer),
    End,
}

struct Socket {
    socket: WebSocket,
    headers: HeaderMap,
    protocol: Protocol,
    execute: ExecuteFn,
    on_init: Arc<dyn OnInit>,
    config: WsConfig,
    /// Set once `connection_init` was accepted (and acknowledged).
    session: Option<Arc<Data>>,
    init_received: bool,
    /// Running operations: id → (generation, abort handle). The generation tells a reused id's
    /// new operation from the events of an old one still in flight.
    subs: HashMap<String, (u64, AbortHandle)>,
    streams: SelectAll<BoxStream<'static, (String, u64, Event)>>,
    next_gen: u64,
    keep_alive: Option<Interval>,
    recheck_timer: Option<Interval>,
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn every(period: Duration) -> Interval {
    let mut i = interval_at(Instant::now() + period, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

impl Socket {
    fn legacy(&self) -> bool {
        self.protocol == Protocol::LegacyGraphqlWs
    }

    async fn run(&mut self) -> Result<std::convert::Infallible, End> {
        let deadline = Instant::now() + self.config.init_timeout;
        loop {
            tokio::select! {
                msg = self.socket.recv() => match msg {
                    Some(Ok(Message::Text(text))) => self.on_text(text.as_str(), deadline).await?,
                    Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                        Ok(text) => self.on_text(text, deadline).await?,
                        Err(_) => self.invalid(Invalid::new(None, "Invalid UTF-8")).await?,
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {} // axum answers pings itself
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(End::Gone),
                },
                _ = sleep_until(deadline), if !self.init_received => {
                    return Err(close(4408, "Connection initialisation timeout"));
                }
                Some((id, generation, event)) = self.streams.next(), if !self.streams.is_empty() => {
                    self.on_event(id, generation, event).await?;
                    // What else is ready now leaves in the same write: when events come in a
                    // burst, one system call (and one wake-up of the peer) for all of them.
                    while let Some(Some((id, generation, event))) = self.streams.next().now_or_never() {
                        self.on_event(id, generation, event).await?;
                    }
                    self.socket.flush().await.map_err(|_| End::Gone)?;
                }
                _ = tick(&mut self.keep_alive) => {
                    if self.legacy() {
                        self.send("ka", None, None::<()>).await?;
                    } else {
                        self.socket.send(Message::Ping(Default::default())).await.map_err(|_| End::Gone)?;
                    }
                }
                _ = tick(&mut self.recheck_timer) => self.recheck().await?,
            }
        }
    }

    async fn send<P: serde::Serialize>(
        &mut self,
        kind: &str,
        id: Option<&str>,
        payload: Option<P>,
    ) -> Result<(), End> {
        self.feed(kind, id, payload).await?;
        self.socket.flush().await.map_err(|_| End::Gone)
    }

    /// Queues a message without writing it yet (the next flush does).
    async fn feed<P: serde::Serialize>(
        &mut self,
        kind: &str,
        id: Option<&str>,
        payload: Option<P>,
    ) -> Result<(), End> {
        let text =
            serde_json::to_string(&protocol::Out { kind, id, payload }).map_err(|_| End::Gone)?;
        self.socket
            .feed(Message::Text(text.into()))
            .await
            .map_err(|_| End::Gone)
    }

    /// Queues a message whose payload is already JSON text.
    async fn feed_json(&mut self, kind: &str, id: &str, payload: &str) -> Result<(), End> {
        let text = protocol::envelope(kind, id, payload);
        self.socket
            .feed(Message::Text(text.into()))
            .await
            .map_err(|_| End::Gone)
    }

    async fn on_text(&mut self, text: &str, deadline: Instant) -> Result<(), End> {
        let cmd = match protocol::decode(self.protocol, text) {
            Ok(cmd) => cmd,
            Err(invalid) => return self.invalid(invalid).await,
        };
        match cmd {
            Cmd::Init(payload) => self.init(payload, deadline).await,
            Cmd::Ping(payload) => self.send("pong", None, payload).await,
            Cmd::Pong => Ok(()),
            Cmd::Start(id, request) => self.start(id, *request).await,
            Cmd::Stop(id) => {
                if let Some((_, handle)) = self.subs.remove(&id) {
                    handle.abort();
                }
                Ok(())
            }
            Cmd::Terminate => Err(close(1000, "")),
        }
    }

    /// graphql-transport-ws: close 4400; legacy: an `error` message, and the socket stays open.
    async fn invalid(&mut self, invalid: Invalid) -> Result<(), End> {
        if self.legacy() {
            self.send(
                "error",
                invalid.id.as_deref(),
                Some(json!({ "message": invalid.reason })),
            )
            .await
        } else {
            Err(close(4400, invalid.reason))
        }
    }

    async fn init(&mut self, payload: Value, deadline: Instant) -> Result<(), End> {
        if self.init_received {
            if self.legacy() {
                self.send(
                    "connection_error",
                    None,
                    Some(json!({ "message": "Too many initialisation requests" })),
                )
                .await?;
            }
            return Err(close(4429, "Too many initialisation requests"));
        }
        self.init_received = true;
        let accepted = timeout_at(deadline, self.on_init.on_init(payload, &self.headers)).await;
        let data = match accepted {
            Err(_) => return Err(close(4408, "Connection initialisation timeout")),
            Ok(Err(reason)) => {
                tracing::debug!(%reason, "GraphQL WebSocket connection_init refused");
                if self.legacy() {
                    self.send("connection_error", None, Some(json!({ "message": reason })))
                        .await?;
                }
                return Err(close(4403, "Forbidden"));
            }
            Ok(Ok(data)) => data,
        };
        self.session = Some(Arc::new(data));
        self.send("connection_ack", None, None::<()>).await?;
        if let Some(period) = self.config.keep_alive {
            if self.legacy() {
                self.send("ka", None, None::<()>).await?;
            }
            self.keep_alive = Some(every(period));
        }
        self.recheck_timer = self
            .config
            .recheck
            .as_ref()
            .map(|(period, _)| every(*period));
        Ok(())
    }

    async fn recheck(&mut self) -> Result<(), End> {
        let (Some((period, check)), Some(session)) = (&self.config.recheck, &self.session) else {
            return Ok(());
        };
        match timeout(*period, check(session)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => {
                tracing::debug!(%reason, "GraphQL WebSocket session no longer valid");
                Err(close(4403, "Forbidden"))
            }
            Err(_) => {
                tracing::warn!("GraphQL WebSocket session recheck timed out; closing the socket (it may reconnect)");
                Err(close(4403, "Forbidden"))
            }
        }
    }

    async fn start(&mut self, id: String, request: Request) -> Result<(), End> {
        let Some(session) = self.session.clone() else {
            if self.legacy() {
                return self
                    .send(
                        "error",
                        Some(&id),
                        Some(json!({ "message": "Unauthorized" })),
                    )
                    .await;
            }
            return Err(close(4401, "Unauthorized"));
        };
        if let Some((_, handle)) = self.subs.get(&id) {
            if !self.legacy() {
                return Err(close(4409, format!("Subscriber for {id} already exists")));
            }
            handle.abort(); // subscriptions-transport-ws replaces the operation
        }
        self.next_gen += 1;
        let generation = self.next_gen;
        let refused = match &self.config.max_operations {
            Some((max, error)) if self.subs.len() >= *max => Some(error()),
            _ => None,
        };
        // Preparing (the credentials checked again) happens in the operation's own stream, so
        // a slow check never holds up the socket's other operations.
        let prepare = self.config.prepare.clone();
        let execute = self.execute.clone();
        let responses = stream::once(async move {
            let prepared = match (refused, prepare) {
                (Some(error), _) => Err(error),
                (None, Some(prepare)) => prepare(request, session.clone()).await,
                (None, None) => Ok(request),
            };
            match prepared {
                Ok(request) => execute(request, session),
                Err(error) => stream::iter([Answer::from(Response::from_errors(vec![error]))]).boxed(),
            }
        })
        .flatten()
        .boxed();
        let (responses, handle) = stream::abortable(responses);
        let tag = id.clone();
        let events = responses
            .enumerate()
            .map(|(n, answer)| Event::Item(n, answer))
            .chain(stream::once(async { Event::End }))
            .map(move |event| (tag.clone(), generation, event));
        self.streams.push(events.boxed());
        self.subs.insert(id, (generation, handle));
        Ok(())
    }

    async fn on_event(&mut self, id: String, generation: u64, event: Event) -> Result<(), End> {
        if self.subs.get(&id).is_none_or(|(g, _)| *g != generation) {
            return Ok(()); // completed by the client, or an old operation under a reused id
        }
        let kind = if self.legacy() { "data" } else { "next" };
        match event {
            // A request error (parse, validation, unknown operation…): `error`, and no `complete`.
            Event::Item(0, Answer::Response(response)) if !self.legacy() && protocol::is_request_error(&response) => {
                if let Some((_, handle)) = self.subs.remove(&id) {
                    handle.abort();
                }
                self.feed("error", Some(&id), Some(&response.errors)).await
            }
            Event::Item(_, Answer::Response(response)) => self.feed(kind, Some(&id), Some(&response)).await,
            Event::Item(_, Answer::Json(json)) => self.feed_json(kind, &id, &json).await,
            Event::End => {
                self.subs.remove(&id);
                self.feed("complete", Some(&id), None::<()>).await
            }
        }
    }
}
