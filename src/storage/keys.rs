//! Named 256-bit keys: the at-rest encryption keys and the download-link HMAC keys.

use std::{collections::HashMap, fmt};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
};
use rand::RngCore;

use super::StorageError;

/// A set of 256-bit keys with ids; `current` is the one new data is written (or signed) with.
/// The others still decrypt (verify) until they are removed from the setting.
///
/// Parsed from a setting such as `"k2:BASE64KEY,k1:BASE64KEY"`: the first entry is current.
/// `Debug` shows the key ids only, never the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRing {
    pub current: String,
    pub keys: HashMap<String, [u8; 32]>,
}

impl KeyRing {
    /// Parses `"kid:base64,kid:base64"` (standard or URL-safe base64, padded or not; each key
    /// exactly 32 bytes; ids of 1–32 characters from `[A-Za-z0-9_-]`, no duplicates).
    /// The error message names the entry at fault but never echoes a key.
    pub fn parse(setting: &str) -> Result<Self, StorageError> {
        let bad = |msg: String| StorageError::KeyRing(msg);
        let mut current = None;
        let mut keys = HashMap::new();
        for (i, entry) in setting.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (kid, b64) = entry
                .split_once(':')
                .ok_or_else(|| bad(format!("entry {} is not `kid:base64key`", i + 1)))?;
            let kid = kid.trim();
            if !valid_kid(kid) {
                return Err(bad(format!(
                    "entry {}: key id must be 1-32 characters of A-Z a-z 0-9 _ -",
                    i + 1
                )));
            }
            let key = decode_key(b64.trim())
                .ok_or_else(|| bad(format!("key {kid:?} is not 32 bytes of base64")))?;
            if keys.insert(kid.to_string(), key).is_some() {
                return Err(bad(format!("key id {kid:?} appears twice")));
            }
            current.get_or_insert_with(|| kid.to_string());
        }
        let current = current.ok_or_else(|| bad("no keys given".into()))?;
        Ok(KeyRing { current, keys })
    }

    /// A ring of one key.
    pub fn single(kid: &str, key: [u8; 32]) -> Self {
        KeyRing {
            current: kid.to_string(),
            keys: HashMap::from([(kid.to_string(), key)]),
        }
    }

    /// A ring of one fresh random key (development defaults, tests).
    pub fn generate(kid: &str) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::single(kid, key)
    }

    /// The setting string for this ring, current key first. It contains the secrets:
    /// write it only to a file the operator owns (e.g. generated development keys).
    pub fn to_setting(&self) -> String {
        let mut out = vec![format!(
            "{}:{}",
            self.current,
            STANDARD.encode(self.keys[&self.current])
        )];
        let mut others: Vec<_> = self
            .keys
            .iter()
            .filter(|(k, _)| **k != self.current)
            .collect();
        others.sort_by(|a, b| a.0.cmp(b.0));
        out.extend(
            others
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", STANDARD.encode(v))),
        );
        out.join(",")
    }

    /// Checks that `current` is a well-formed id naming one of the keys.
    pub fn validate(&self) -> Result<(), StorageError> {
        if valid_kid(&self.current) && self.keys.contains_key(&self.current) {
            Ok(())
        } else {
            Err(StorageError::KeyRing(
                "the current key id names no key".into(),
            ))
        }
    }

    /// The key with this id, if the ring still holds it.
    pub fn get(&self, kid: &str) -> Option<&[u8; 32]> {
        self.keys.get(kid)
    }

    /// The current key id and key.
    pub fn current_key(&self) -> (&str, &[u8; 32]) {
        let key = self
            .keys
            .get(&self.current)
            .expect("KeyRing::current names one of its keys");
        (&self.current, key)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        formatter.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("kids", &kids)
            .finish()
    }
}

pub(crate) fn valid_kid(kid: &str) -> bool {
    (1..=32).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn decode_key(b64: &str) -> Option<[u8; 32]> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(b64).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}
