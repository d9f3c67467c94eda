//! Signed download links: `/files/{id}?exp=…&kid=…&sig=…`.
//!
//! `sig` is the lower-case hex HMAC-SHA256 of `"{id}\n{exp}\n{kid}"` under the key named
//! `kid`. Keys rotate: the current key signs, every key still in the ring verifies, and a
//! removed key's links die with it. There is no fallback to any other secret.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{KeyRing, StorageError};

/// The longest a link may live (`Document.downloadUrl(ttlSeconds)` is capped here).
pub const MAX_LINK_TTL_SECS: u64 = 3600;

/// Why a link was refused. Both answer 403 and never the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Authentic, but past its `exp`.
    #[error("the download link has expired")]
    Expired,
    /// Missing or malformed parameters, unknown `kid`, or a signature that does not match.
    #[error("the download link is invalid")]
    Invalid,
}

/// The query string of a download link, as axum's `Query` extracts it. Every field is
/// optional so that a link with a missing parameter is refused with 403, not 400.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkParams {
    pub exp: Option<String>,
    pub kid: Option<String>,
    pub sig: Option<String>,
}

/// Signs and verifies download links with a ring of HMAC keys.
#[derive(Debug, Clone)]
pub struct UrlSigner {
    keys: KeyRing,
}

impl UrlSigner {
    /// Fails when the ring's current key id names no key.
    pub fn new(keys: KeyRing) -> Result<Self, StorageError> {
        keys.validate()?;
        Ok(UrlSigner { keys })
    }

    /// The current key id.
    pub fn current_kid(&self) -> &str {
        &self.keys.current
    }

    /// `(kid, sig_hex)` for a link to `document_id` valid until `exp_unix`.
    pub fn sign(&self, document_id: &str, exp_unix: i64) -> (String, String) {
        let (kid, key) = self.keys.current_key();
        let sig = hex::encode(mac(key, document_id, exp_unix, kid).finalize().into_bytes());
        (kid.to_string(), sig)
    }

    /// A link valid for `ttl_secs` (clamped to 1..=[`MAX_LINK_TTL_SECS`]; validate the
    /// argument before, to answer `BAD_USER_INPUT`). `base` is `PUBLIC_BASE_URL`, if set.
    pub fn url(&self, base: Option<&str>, document_id: &str, ttl_secs: u64) -> String {
        self.url_at(base, document_id, ttl_secs, unix_now())
    }

    /// [`UrlSigner::url`] at a given time.
    pub fn url_at(&self, base: Option<&str>, document_id: &str, ttl_secs: u64, now: i64) -> String {
        let exp = now + ttl_secs.clamp(1, MAX_LINK_TTL_SECS) as i64;
        let (kid, sig) = self.sign(document_id, exp);
        let base = base.map(|b| b.trim_end_matches('/')).unwrap_or("");
        format!(
            "{base}/files/{}?exp={exp}&kid={kid}&sig={sig}",
            encode_segment(document_id)
        )
    }

    /// Checks a link: signature first (in constant time), then expiry, so only an authentic
    /// link can be reported `Expired`. An unknown `kid` is `Invalid`.
    pub fn verify(
        &self,
        document_id: &str,
        exp: i64,
        kid: &str,
        sig: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let key = self.keys.get(kid).ok_or(LinkError::Invalid)?;
        let sig = hex::decode(sig).map_err(|_| LinkError::Invalid)?;
        mac(key, document_id, exp, kid)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        if exp <= now {
            Err(LinkError::Expired)
        } else {
            Ok(())
        }
    }

    /// [`UrlSigner::verify`] over the raw query parameters, now. `exp` must be the canonical
    /// decimal that was signed.
    pub fn verify_params(&self, document_id: &str, params: &LinkParams) -> Result<(), LinkError> {
        let (Some(exp), Some(kid), Some(sig)) = (&params.exp, &params.kid, &params.sig) else {
            return Err(LinkError::Invalid);
        };
        let exp_num: i64 = exp.parse().map_err(|_| LinkError::Invalid)?;
        if exp_num.to_string() != *exp {
            return Err(LinkError::Invalid);
        }
        self.verify(document_id, exp_num, kid, sig, unix_now())
    }
}

fn mac(key: &[u8; 32], document_id: &str, exp: i64, kid: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{document_id}\n{exp}\n{kid}").as_bytes());
    mac
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Percent-encodes a path segment (ids are opaque: they may hold `/`, `=` or `+`).
pub(crate) fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
