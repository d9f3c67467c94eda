//! The SMTP side: a lettre transport built from `SMTP_URL` (tokio, rustls), the MIME message
//! (text and HTML alternatives, the document attached), and what the server's answer means for
//! the message: sent, retry later (4xx, the network), or refused for good (5xx).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};

use crate::{
    config::{SmtpServer, SmtpTls},
    entities::outbox,
};

/// Each SMTP command's time limit: a conversation stays well within `MAIL_LEASE_SECS`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A file to attach.
pub struct AttachedFile {
    pub file_name: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// What an attempt came to.
#[derive(Debug)]
pub enum Delivery {
    Sent,
    /// Worth another attempt later: a 4xx answer, or no answer (connection, timeout, TLS).
    Transient(String),
    /// Refused for good: a 5xx answer, or a message that cannot be written.
    Permanent(String),
}

/// One process's connection to the SMTP server (a small pool of reused connections).
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Sender {
    pub fn new(server: &SmtpServer, from: &str) -> anyhow::Result<Sender> {
        let tls = |host: &str| TlsParameters::new(host.to_string()).map_err(|e| anyhow::anyhow!("SMTP_URL: TLS parameters: {e}"));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.as_str())
            .port(server.port)
            .timeout(Some(COMMAND_TIMEOUT));
        builder = match server.tls {
            SmtpTls::None => builder,
            SmtpTls::StartTls => builder.tls(Tls::Required(tls(&server.host)?)),
            SmtpTls::Opportunistic => builder.tls(Tls::Opportunistic(tls(&server.host)?)),
            SmtpTls::Wrapper => builder.tls(Tls::Wrapper(tls(&server.host)?)),
        };
        if let Some(user) = &server.user {
            let password = server.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from = from.parse().map_err(|e| anyhow::anyhow!("MAIL_FROM: {e}"))?;
        Ok(Sender { transport: builder.build(), from })
    }

    /// One attempt at sending `message` (with `attachment`).
    pub async fn send(&self, message: &outbox::Model, attachment: Option<AttachedFile>) -> Delivery {
        let email = match build(&self.from, message, attachment) {
            Ok(email) => email,
            Err(reason) => return Delivery::Permanent(reason),
        };
        match self.transport.send(email).await {
            Ok(_) => Delivery::Sent,
            Err(e) => {
                let answer = answer(&e);
                if e.is_permanent() { Delivery::Permanent(answer) } else { Delivery::Transient(answer) }
            }
        }
    }
}

/// The server's answer as it said it (`451 4.3.0 try again later`), or the error otherwise.
fn answer(error: &lettre::transport::smtp::Error) -> String {
    let detail = std::error::Error::source(error).map(|s| s.to_string());
    let text = match (error.status(), detail) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        (None, _) => error.to_string(),
    };
    text.chars().take(1000).collect()
}

/// The MIME message: `Message-ID` is the outbox id (a receiver can tell a message sent twice).
fn build(from: &Mailbox, message: &outbox::Model, attachment: Option<AttachedFile>) -> Result<lettre::Message, String> {
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .subject(message.subject.clone())
        .message_id(Some(format!("<{}@monassurance>", message.id)));
    for address in message.recipient.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let mailbox: Mailbox = address.parse().map_err(|e| format!("invalid recipient `{address}`: {e}"))?;
        builder = builder.to(mailbox);
    }
    let text = SinglePart::plain(message.body.clone());
    let body = match &message.html_body {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(SinglePart::html(html.clone())),
        None => MultiPart::alternative().singlepart(text),
    };
    let body = match attachment {
        None => body,
        Some(file) => {
            let content_type = ContentType::parse(&file.mime_type).unwrap_or(ContentType::parse("application/octet-stream").expect("a MIME type"));
            MultiPart::mixed().multipart(body).singlepart(Attachment::new(file.file_name).body(file.bytes, content_type))
        }
    };
    builder.multipart(body).map_err(|e| format!("the message cannot be written: {e}"))
}
