//! Content addresses: object keys `org/<organization id>/ab/cd/<sha256 of plaintext>[.zst][.enc-<kid>|.encs-<kid>]`
//! (`.enc-`: one AES-GCM blob, documents; `.encs-`: streamed segments, attachments, see `segments`).
//!
//! The organization prefix makes a tenant's files one listing (`org/<id>/`), so an ADMIN's orphan
//! purge reads and deletes their organization's objects only, and equal bytes of two tenants are
//! two objects (no cross-tenant deduplication to probe). Keys written before the prefix existed
//! (`ab/cd/<sha>…`, no owner) still read; only a SUPERADMIN's sweep purges them.

use object_store::path::Path;
use uuid::Uuid;

use super::{Result, StorageError, keys::valid_kid};

/// The folder of an organization's objects: `org/<id>`.
pub(crate) fn owner_prefix(owner: Uuid) -> String {
    format!("org/{owner}")
}

/// How an object is encrypted at rest, told by its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sealing {
    /// One AES-GCM blob (`.enc-<kid>`), or no encryption.
    Whole,
    /// Streamed segments (`.encs-<kid>`).
    Segmented,
}

/// `org/<owner>/ab/cd/<sha>[.zst][.enc-<kid>]`.
pub(crate) fn object_key(owner: Uuid, sha256: &str, compressed: bool, kid: Option<&str>) -> String {
    sealed_key(owner, sha256, compressed, kid, Sealing::Whole)
}

/// `org/<owner>/ab/cd/<sha>[.zst][.enc-<kid>|.encs-<kid>]`.
pub(crate) fn sealed_key(owner: Uuid, sha256: &str, compressed: bool, kid: Option<&str>, sealing: Sealing) -> String {
    let mut key = format!("{}/{}/{}/{sha256}", owner_prefix(owner), &sha256[..2], &sha256[2..4]);
    if compressed {
        key.push_str(".zst");
    }
    if let Some(kid) = kid {
        key.push_str(if sealing == Sealing::Segmented { ".encs-" } else { ".enc-" });
        key.push_str(kid);
    }
    key
}

/// The parts of a content-address key: `(sha256, compressed, kid)`, with or without its
/// `org/<uuid>/` prefix.
pub(crate) fn parse_key(key: &str) -> Option<(&str, bool, Option<&str>)> {
    let key = match key.strip_prefix("org/") {
        Some(rest) => {
            let (owner, rest) = rest.split_once('/')?;
            // The canonical hyphenated form only, so one object has one key.
            Uuid::parse_str(owner).ok().filter(|id| id.to_string() == owner)?;
            rest
        }
        None => key,
    };
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
        r => Some(r.strip_prefix(".encs-").or_else(|| r.strip_prefix(".enc-")).filter(|k| valid_kid(k))?),
    };
    Some((sha, compressed, kid))
}

/// How the object at `key` is sealed (`Whole` for a plaintext one).
pub(crate) fn sealing(key: &str) -> Sealing {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.contains(".encs-") { Sealing::Segmented } else { Sealing::Whole }
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
