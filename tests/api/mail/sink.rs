//! A small SMTP server for the tests, on a free port: it speaks enough SMTP for lettre (EHLO/HELO,
//! MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT), records each message it accepts, and can answer
//! `451` to the first N `MAIL FROM` commands or refuse every one with `550`.

#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// What the sink answers to `MAIL FROM`.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Accepts every message.
    Accept,
    /// `451 4.3.0` to the next `n` messages, then accepts.
    Busy(usize),
    /// `550 5.7.1` to every message.
    Refuse,
}

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and MIME body), dot-unstuffed.
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.raw).expect("a MIME message")
    }

    /// The `Message-ID` without its brackets (the outbox id `@monassurance`).
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_string()
    }

    /// The text alternative, decoded.
    pub fn text(&self) -> String {
        self.parsed().body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    }

    /// The HTML alternative, decoded.
    pub fn html(&self) -> String {
        self.parsed().body_html(0).map(|t| t.into_owned()).unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    behaviour: Option<Behaviour>,
    received: Vec<Received>,
    /// `MAIL FROM` commands answered with a refusal.
    refused: usize,
    /// Connections opened to the sink.
    sessions: usize,
}

#[derive(Clone)]
pub struct Sink {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
}

impl Sink {
    pub async fn start(behaviour: Behaviour) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port for the SMTP sink");
        let port = listener.local_addr().expect("an address").port();
        let inner = Arc::new(Mutex::new(Inner { behaviour: Some(behaviour), ..Default::default() }));
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Sink { port, inner }
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, behaviour: Behaviour) {
        self.inner.lock().unwrap().behaviour = Some(behaviour);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Connections opened so far (each sender process opens its own).
    pub fn sessions(&self) -> usize {
        self.inner.lock().unwrap().sessions
    }

    pub fn refused(&self) -> usize {
        self.inner.lock().unwrap().refused
    }

    /// Waits until `n` messages arrived (at most `within`); returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(started.elapsed() < within, "the sink received {} messages of {n} within {within:?}", received.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn session(stream: TcpStream, inner: Arc<Mutex<Inner>>) {
    inner.lock().unwrap().sessions += 1;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !reply(&mut write, "220 sink.test ESMTP test sink\r\n").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 sink.test\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            let mut state = inner.lock().unwrap();
            match state.behaviour.clone().unwrap_or(Behaviour::Accept) {
                Behaviour::Refuse => {
                    state.refused += 1;
                    "550 5.7.1 Relaying denied by the test sink\r\n".into()
                }
                Behaviour::Busy(n) if n > 0 => {
                    state.refused += 1;
                    state.behaviour = Some(Behaviour::Busy(n - 1));
                    "451 4.3.0 Mailbox busy, try again later\r\n".into()
                }
                _ => {
                    from = command[10..].trim().trim_matches(['<', '>']).to_string();
                    to.clear();
                    "250 2.1.0 Ok\r\n".into()
                }
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().trim_matches(['<', '>']).to_string());
            "250 2.1.5 Ok\r\n".into()
        } else if upper == "DATA" {
            if !reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                return;
            }
            let mut raw = Vec::new();
            loop {
                let mut data = String::new();
                match lines.read_line(&mut data).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if data == ".\r\n" || data == ".\n" {
                    break;
                }
                let unstuffed = data.strip_prefix('.').unwrap_or(&data);
                raw.extend_from_slice(unstuffed.as_bytes());
            }
            inner.lock().unwrap().received.push(Received { from: std::mem::take(&mut from), to: std::mem::take(&mut to), raw });
            "250 2.0.0 Ok: queued\r\n".into()
        } else if upper == "RSET" || upper == "NOOP" {
            from.clear();
            to.clear();
            "250 2.0.0 Ok\r\n".into()
        } else if upper == "QUIT" {
            let _ = reply(&mut write, "221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Command not recognised\r\n".into()
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    write.write_all(text.as_bytes()).await.is_ok()
}
