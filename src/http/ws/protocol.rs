//! The two protocols' client messages, decoded into one set of commands, and the server's envelope.

use async_graphql::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Protocol;

/// What a client asked for, whichever protocol it speaks.
pub(super) enum Cmd {
    Init(Value),
    Ping(Option<Value>),
    Pong,
    Start(String, Box<Request>),
    Stop(String),
    Terminate,
}

/// A message we could not accept: the reason, and its id when it had one (legacy replies carry it).
pub(super) struct Invalid {
    pub id: Option<String>,
    pub reason: String,
}

impl Invalid {
    pub fn new(id: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            id,
            reason: reason.into(),
        }
    }
}

/// `{"type", "id"?, "payload"?}`
#[derive(Serialize)]
pub(super) struct Out<'a, P> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<P>,
}

/// `{"type", "id", "payload"}` around a payload that is already JSON text: the same bytes as
/// [`Out`] with that payload.
pub(super) fn envelope(kind: &str, id: &str, payload: &str) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into());
    let mut text = String::with_capacity(payload.len() + id.len() + kind.len() + 32);
    text.push_str("{\"type\":\"");
    text.push_str(kind);
    text.push_str("\",\"id\":");
    text.push_str(&id);
    text.push_str(",\"payload\":");
    text.push_str(payload);
    text.push('}');
    text
}

/// graphql-transport-ws client messages; payloads are objects or null (PROTOCOL.md).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TransportIn {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Map<String, Value>,
    },
    Complete {
        id: String,
    },
}

/// subscriptions-transport-ws client messages.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LegacyIn {
    ConnectionInit {
        #[serde(default)]
        payload: Value,
    },
    Start {
        id: String,
        payload: Value,
    },
    Stop {
        id: String,
    },
    ConnectionTerminate {},
}

pub(super) fn decode(protocol: Protocol, text: &str) -> Result<Cmd, Invalid> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Invalid::new(None, format!("Invalid message: {e}")))?;
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let bad = |e: serde_json::Error| Invalid::new(id.clone(), format!("Invalid message: {e}"));
    match protocol {
        Protocol::GraphqlTransportWs => Ok(match serde_json::from_value(value).map_err(bad)? {
            TransportIn::ConnectionInit { payload } => {
                Cmd::Init(payload.map_or(Value::Null, Value::Object))
            }
            TransportIn::Ping { payload } => Cmd::Ping(payload.map(Value::Object)),
            TransportIn::Pong {} => Cmd::Pong,
            TransportIn::Subscribe { id, payload } => {
                if id.is_empty() {
                    return Err(Invalid::new(None, "Invalid message: empty id"));
                }
                if !payload.get("query").is_some_and(Value::is_string) {
                    return Err(Invalid::new(
                        Some(id),
                        "Invalid message: payload.query must be a string",
                    ));
                }
                let request = serde_json::from_value(Value::Object(payload)).map_err(bad)?;
                Cmd::Start(id, Box::new(request))
            }
            TransportIn::Complete { id } if id.is_empty() => {
                return Err(Invalid::new(None, "Invalid message: empty id"));
            }
            TransportIn::Complete { id } => Cmd::Stop(id),
        }),
        Protocol::LegacyGraphqlWs => Ok(match serde_json::from_value(value).map_err(bad)? {
            LegacyIn::ConnectionInit { payload } => Cmd::Init(payload),
            LegacyIn::Start { id, payload } => {
                Cmd::Start(id, Box::new(serde_json::from_value(payload).map_err(bad)?))
            }
            LegacyIn::Stop { id } => Cmd::Stop(id),
            LegacyIn::ConnectionTerminate {} => Cmd::Terminate,
        }),
    }
}

/// The operation failed before executing (parse, validation, unknown operation name…): no data,
/// and no error has a path (resolver errors always do).
pub(super) fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_is_the_same_bytes_as_the_message_serialised_whole() {
        let payload = serde_json::json!({"data": {"jobEvents": {"message": "é\"\n\u{2028}"}}});
        let text = serde_json::to_string(&payload).unwrap();
        for (kind, id) in [("next", "1"), ("data", "a\"b\\c\u{1}é")] {
            let whole = serde_json::to_string(&Out { kind, id: Some(id), payload: Some(&payload) }).unwrap();
            assert_eq!(envelope(kind, id, &text), whole);
        }
    }
}
