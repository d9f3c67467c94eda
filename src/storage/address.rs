//! Content addresses: object keys `ab/cd/<sha256 of plaintext>[.zst][.enc-<kid>]`.

use object_store::path::Path;

use super::{Result, StorageError, keys::valid_kid};

/// `ab/cd/<sha>[.zst][.enc-<kid>]`.
pub(crate) fn object_key(sha256: &str, compressed: bool, kid: Option<&str>) -> String {
    let mut key = format!("{}/{}/{sha256}", &sha256[..2], &sha256[2..4]);
    if compressed {
        key.push_str(".zst");
    }
    if let Some(kid) = kid {
        key.push_str(".enc-");
        key.push_str(kid);
    }
    key
}

/// The parts of a content-address key: `(sha256, compressed, kid)`.
pub(crate) fn parse_key(key: &str) -> Option<(&str, bool, Option<&str>)> {
    let mut segments = key.split('/');
    let (a, b, name) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() || name.len() < 64 {
        return None;
    }
    let (sha, mut rest) = name.split_at(64);
    let is_hex = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    };
    if !is_hex(sha) || a != &sha[..2] || b != &sha[2..4] {
        return None;
    }
    let compressed = rest.starts_with(".zst");
    if compressed {
        rest = &rest[4..];
    }
    let kid = match rest {
        "" => None,
        r => Some(r.strip_prefix(".enc-").filter(|k| valid_kid(k))?),
    };
    Some((sha, compressed, kid))
}

pub(crate) fn checked_path(key: &str) -> Result<Path> {
    parse_key(key).ok_or_else(|| StorageError::InvalidKey(key.to_string()))?;
    Ok(Path::from(key))
}

pub(crate) fn not_found(error: object_store::Error, key: &str) -> StorageError {
    match error {
        object_store::Error::NotFound { .. } => StorageError::NotFound(key.to_string()),
        error => error.into(),
    }
}
