//! Document files: content-addressed storage (optionally zstd + AES-256-GCM at rest),
//! signed download links, and the HTTP answer that serves a document.
//!
//! - `store`: [`Storage`] over `object_store` (`LocalFileSystem` under `DATA_DIR/files` today).
//! - `address`: object keys `org/<organization>/ab/cd/<sha256>[.zst][.enc-<kid>]`; `codec`: the at-rest encoding; `keys`: [`KeyRing`], named keys that rotate.
//! - `signer`: [`UrlSigner`], HMAC-SHA256 links `/files/{id}?exp=…&kid=…&sig=…`.
//! - `purge`: [`Storage::purge_unreferenced`], the file half of `purgeOrphanFiles`, over one
//!   organization's objects or all of them.
//! - `stream`: [`Storage::put_file`] and [`Storage::download_decoded`], attachments written and
//!   served in constant memory; `segments`: their streamed encryption (`.encs-<kid>` keys).
//! - `serve`: [`serve_bytes`] (Content-* headers, ETag/304, Range/206/416); `download`:
//!   [`Storage::download`], which streams plain objects and decodes the others.
//!
//! Errors carry file paths and store details: log them, never show them to clients.

mod address;
mod codec;
mod download;
mod keys;
mod purge;
mod segments;
mod serve;
mod signer;
mod store;
mod stream;

#[cfg(test)]
mod tests;

pub use codec::{MAX_DOCUMENT_BYTES, sha256_hex};
pub use keys::KeyRing;
pub use purge::{FilePurge, PurgeScope, PurgeStopped};
pub use serve::{content_disposition, forbidden, serve_bytes, too_many_requests};
pub use signer::{LinkError, LinkParams, MAX_LINK_TTL_SECS, UrlSigner};
pub use store::{
    ObjectInfo, PURGE_GRACE, REFRESH_AFTER, Storage, StorageConfig, Stored, StoredRef,
};

/// What can go wrong reading or writing a document file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("stored object not found: {0}")]
    NotFound(String),
    #[error("encryption key {0:?} is not configured (removed from the key ring?)")]
    UnknownKey(String),
    #[error("the object is encrypted but no key id was recorded")]
    MissingKid,
    #[error("stored object failed authentication (tampered, swapped or wrong key)")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
    #[error("stored object does not match its recorded sha256")]
    Integrity,
    #[error("stored object is malformed")]
    Corrupt,
    #[error("document exceeds {0} bytes")]
    TooLarge(u64),
    #[error("invalid key ring: {0}")]
    KeyRing(String),
    #[error("invalid object key: {0:?}")]
    InvalidKey(String),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
