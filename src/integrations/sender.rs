//! One attempt at a delivery: sign the body and POST it to the endpoint's checked addresses.
//!
//! Headers: `Content-Type: application/json`, `X-MonAssurance-Event`, `X-MonAssurance-Delivery`
//! (the delivery's id, the same across retries), `X-MonAssurance-Timestamp` (unix seconds of this
//! attempt) and `X-MonAssurance-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
//! Redirects are not followed (a 3xx is a failure), no proxy is used, the connection and the whole
//! request share `INTEGRATION_TIMEOUT_SECS`, and at most [`MAX_RESPONSE_BYTES`] of the answer are read.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::{endpoint::Checked, secret::WebhookSecret};

/// The most of an answer read (the rest is dropped unread with the connection).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The longest error text kept for an attempt.
pub const MAX_ERROR_CHARS: usize = 500;
/// The most of a failed answer's body quoted in the error.
const QUOTED_BODY_CHARS: usize = 200;

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx.
    Delivered { http_status: u16 },
    /// Anything else: another status, a timeout, no connection, a refused endpoint.
    Failed { http_status: Option<u16>, error: String },
}

/// What to send.
pub struct Outgoing<'a> {
    pub delivery_id: Uuid,
    pub event: &'a str,
    pub body: &'a str,
    pub secret: &'a WebhookSecret,
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`.
pub fn signature(secret: &WebhookSecret, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Makes the attempt against `checked` (the addresses just checked, pinned: the client resolves
/// the host to them and nothing else).
pub async fn post(checked: &Checked, timeout: Duration, outgoing: Outgoing<'_>) -> Outcome {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("MonAssurance-Webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(domain) = &checked.domain {
        builder = builder.resolve_to_addrs(domain, &checked.addrs);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => return failed(None, format!("cannot make the HTTP client: {}", describe(&e.without_url()))),
    };
    let timestamp = chrono::Utc::now().timestamp();
    let sent = client
        .post(checked.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-MonAssurance-Event", outgoing.event)
        .header("X-MonAssurance-Delivery", outgoing.delivery_id.to_string())
        .header("X-MonAssurance-Timestamp", timestamp.to_string())
        .header("X-MonAssurance-Signature", signature(outgoing.secret, timestamp, outgoing.body))
        .body(outgoing.body.to_string())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return failed(None, format!("no answer within {} s", timeout.as_secs())),
        Err(e) if e.is_connect() => return failed(None, format!("cannot connect: {}", describe(&e.without_url()))),
        Err(e) => return failed(None, format!("the request failed: {}", describe(&e.without_url()))),
    };
    let status = response.status();
    let mut head: Vec<u8> = Vec::new();
    // Never more than the cap, whatever the answer's length: chunk by chunk, then drop the rest.
    while head.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk[..chunk.len().min(MAX_RESPONSE_BYTES - head.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    drop(response);
    if status.is_success() {
        return Outcome::Delivered { http_status: status.as_u16() };
    }
    let quoted: String = String::from_utf8_lossy(&head).chars().filter(|c| !c.is_control()).take(QUOTED_BODY_CHARS).collect();
    let mut error = if status.is_redirection() {
        "answered a redirect, which webhooks do not follow".to_string()
    } else {
        format!("answered HTTP {}", status.as_u16())
    };
    if !quoted.trim().is_empty() {
        error.push_str(": ");
        error.push_str(quoted.trim());
    }
    failed(Some(status.as_u16()), error)
}

/// A failed outcome, its error truncated.
pub fn failed(http_status: Option<u16>, error: String) -> Outcome {
    Outcome::Failed { http_status, error: truncate(&error) }
}

/// At most [`MAX_ERROR_CHARS`] characters.
pub fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_ERROR_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// An error and its causes, one after the other (the URL left out: it may hold a token).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret'
        let secret = WebhookSecret::new("secret");
        let signed = signature(&secret, 1_700_000_000, r#"{"a":1}"#);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        mac.update(br#"1700000000.{"a":1}"#);
        assert_eq!(signed, format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
        assert_eq!(signed.len(), "sha256=".len() + 64);
    }

    #[test]
    fn errors_are_truncated() {
        let long = "x".repeat(2_000);
        assert_eq!(truncate(&long).chars().count(), MAX_ERROR_CHARS);
        assert_eq!(truncate("short"), "short");
    }
}
