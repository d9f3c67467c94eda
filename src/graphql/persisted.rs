//! Persisted operations: Apollo's automatic persisted queries (APQ) and an allow-list mode.
//!
//! APQ: a client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query;
//! an unknown hash answers `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`, as
//! Apollo's link expects), and the client retries with the query, which is checked against the
//! hash and registered in the shared cache (`APQ_TTL_SECS`) once it has parsed and passed every
//! limit and validation rule (text that would be refused is never kept). A request body's top-level
//! `documentId` (`sha256:<hex>` or `<hex>`, graphql-codegen's persisted documents) is the same.
//!
//! Allow-list (`PERSISTED_OPERATIONS_ONLY=true`): only the operations of the manifest
//! (`PERSISTED_OPERATIONS_MANIFEST`) run, by hash or by their exact text; anything else is
//! refused with `PERSISTED_QUERY_NOT_FOUND`, and APQ registration is off.
//!
//! Run by the operation pipeline (`http::pipeline`), over HTTP and WebSocket alike.

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};
use crate::error::code;

use async_graphql::{ServerResult, Value};
use sha2::{Digest, Sha256};

use crate::seams::Cache;

/// Registered queries longer than this are run but not cached.
const MAX_CACHED_QUERY: usize = 256 * 1024;

pub struct PersistedOperations {
    cache: Arc<dyn Cache>,
    ttl: Duration,
    /// sha256 hex → query text.
    manifest: HashMap<String, String>,
    only: bool,
}

/// Text a request sent with its hash, to be registered once it has validated.
pub struct Pending {
    hash: String,
    text: String,
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn cache_key(hash: &str) -> String {
    format!("apq:{hash}")
}

impl PersistedOperations {
    pub fn new(cache: Arc<dyn Cache>, ttl: Duration, manifest: HashMap<String, String>, only: bool) -> Self {
        PersistedOperations { cache, ttl, manifest, only }
    }

    /// Gives the request its query text when it sent a hash only, checks a sent text against its
    /// hash, and refuses what the allow-list does not hold. Returns the text to register once it
    /// has parsed, passed every limit and validated (text that would be refused is never kept).
    pub async fn resolve(&self, request: &mut async_graphql::Request) -> ServerResult<Option<Pending>> {
        match request.extensions.get("persistedQuery") {
            None => {
                if self.only && !self.manifest.contains_key(&sha256_hex(&request.query)) {
                    return Err(code::coded(
                        "only persisted operations are accepted here: send the operation's sha256Hash from the manifest",
                        code::PERSISTED_QUERY_NOT_FOUND,
                    ));
                }
                Ok(None)
            }
            Some(Value::Object(pq)) => {
                match pq.get("version") {
                    Some(Value::Number(v)) if v.as_u64() == Some(1) => {}
                    _ => return Err(code::coded("unsupported persisted query version; use 1", code::PERSISTED_QUERY_NOT_SUPPORTED)),
                }
                let hash = match pq.get("sha256Hash") {
                    Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h.to_ascii_lowercase(),
                    _ => return Err(code::coded("persistedQuery.sha256Hash must be 64 hexadecimal characters", code::BAD_USER_INPUT)),
                };
                if request.query.is_empty() {
                    request.query = match self.manifest.get(&hash) {
                        Some(q) => q.clone(),
                        None if self.only => return Err(code::coded("PersistedQueryNotFound", code::PERSISTED_QUERY_NOT_FOUND)),
                        None => match self.cache.get(&cache_key(&hash)).await.and_then(|b| String::from_utf8(b).ok()) {
                            Some(q) => q,
                            None => return Err(code::coded("PersistedQueryNotFound", code::PERSISTED_QUERY_NOT_FOUND)),
                        },
                    };
                    return Ok(None);
                }
                if sha256_hex(&request.query) != hash {
                    return Err(code::coded("provided sha does not match query", code::BAD_USER_INPUT));
                }
                if self.only {
                    if !self.manifest.contains_key(&hash) {
                        return Err(code::coded(
                            "only persisted operations are accepted here; this one is not in the manifest",
                            code::PERSISTED_QUERY_NOT_FOUND,
                        ));
                    }
                    return Ok(None);
                }
                if request.query.len() <= MAX_CACHED_QUERY && !self.manifest.contains_key(&hash) {
                    return Ok(Some(Pending { hash, text: request.query.clone() }));
                }
                Ok(None)
            }
            Some(_) => Err(code::coded("extensions.persistedQuery must be an object", code::BAD_USER_INPUT)),
        }
    }

    /// Registers the text sent with its hash: call it only once the operation validated.
    pub async fn register(&self, pending: Pending) {
        self.cache.set(&cache_key(&pending.hash), pending.text.into_bytes(), self.ttl).await;
    }
}

/// Reads a manifest: Apollo's `{"format": "apollo-persisted-query-manifest", "operations":
/// [{"id", "body", …}]}` or a flat `{"<sha256>": "<query>"}` map (graphql-codegen's
/// `persisted-documents.json`). Every entry's hash is checked against its text.
pub fn load_manifest(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("PERSISTED_OPERATIONS_MANIFEST: cannot read {}: {e}", path.display()))?;
    parse_manifest(&text).map_err(|e| anyhow::anyhow!("PERSISTED_OPERATIONS_MANIFEST ({}): {e}", path.display()))
}

pub fn parse_manifest(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
    let mut out = HashMap::new();
    let mut add = |id: &str, body: &str| -> anyhow::Result<()> {
        let id = id.strip_prefix("sha256:").unwrap_or(id).to_ascii_lowercase();
        let actual = sha256_hex(body);
        if actual != id {
            anyhow::bail!("operation {id} does not hash to its id (sha256 of its text is {actual})");
        }
        out.insert(id, body.to_string());
        Ok(())
    };
    match &v {
        serde_json::Value::Object(o) if o.contains_key("operations") => {
            let ops = o["operations"].as_array().ok_or_else(|| anyhow::anyhow!("`operations` must be an array"))?;
            for op in ops {
                let (Some(id), Some(body)) = (op["id"].as_str(), op["body"].as_str()) else {
                    anyhow::bail!("each operation needs a string `id` and `body`");
                };
                add(id, body)?;
            }
        }
        serde_json::Value::Object(o) => {
            for (id, body) in o {
                let body = body.as_str().ok_or_else(|| anyhow::anyhow!("the value of {id} must be the query text"))?;
                add(id, body)?;
            }
        }
        _ => anyhow::bail!("expected an object"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_manifest_formats_are_read_and_checked() {
        let q = "query Me { me { id } }";
        let h = sha256_hex(q);
        let flat = serde_json::json!({ format!("sha256:{h}"): q }).to_string();
        assert_eq!(parse_manifest(&flat).unwrap()[&h], q);
        let apollo = serde_json::json!({"format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": h, "name": "Me", "type": "query", "body": q}]})
        .to_string();
        assert_eq!(parse_manifest(&apollo).unwrap()[&h], q);
        let wrong = serde_json::json!({ "0".repeat(64): q }).to_string();
        assert!(parse_manifest(&wrong).is_err());
    }
}
