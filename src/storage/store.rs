//! [`Storage`]: documents by content address in an `object_store`.
//!
//! Object key: `org/<organization id>/ab/cd/<sha256 of plaintext>[.zst][.enc-<kid>]`. Equal
//! bytes written for one organization under equal settings land on one object, so two of its
//! document rows may share a file: delete a file only when no row references its key any more
//! (or leave that to the orphan purge).

use std::{io::Read, path::PathBuf, sync::Arc, time::Duration, time::SystemTime};

use futures_util::TryStreamExt;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, local::LocalFileSystem,
    memory::InMemory, path::Path,
};

use super::{
    KeyRing, Result, StorageError,
    address::{Sealing, checked_path, not_found, object_key, owner_prefix, parse_key, sealing},
    codec,
};

/// Where and how documents are stored.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `DATA_DIR/files` by default; created if missing.
    pub root: PathBuf,
    /// zstd-compress documents when that makes them smaller.
    pub compress: bool,
    /// Encrypt at rest with the ring's current key; `None` stores plaintext.
    pub encryption: Option<KeyRing>,
    /// `fsync` each written file and its directory before `put` returns, so a committed row
    /// never outlives its file after a power loss (like S3's contract). Measured here: about
    /// 15 ms per document, so a 10,000-document job pays ~2.5 min: a setting, on in production.
    pub fsync: bool,
}

/// What [`Storage::put`] wrote: everything the `documents` row needs to read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The object key (`org/<owner>/ab/cd/<sha>[.zst][.enc-<kid>]`).
    pub key: String,
    /// Lower-case hex SHA-256 of the plaintext (what a download returns).
    pub sha256: String,
    /// Plaintext length (what a download returns).
    pub size_bytes: u64,
    /// Length of the object at rest.
    pub stored_bytes: u64,
    pub compressed: bool,
    pub encrypted: bool,
    /// The encryption key id, when encrypted.
    pub kid: Option<String>,
}

impl Stored {
    /// The part of a `Stored` needed to read it back.
    pub fn to_ref(&self) -> StoredRef {
        StoredRef {
            key: self.key.clone(),
            sha256: self.sha256.clone(),
            compressed: self.compressed,
            encrypted: self.encrypted,
            kid: self.kid.clone(),
        }
    }
}

/// How to read a stored document back (built from the `documents` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRef {
    pub key: String,
    pub sha256: String,
    pub compressed: bool,
    pub encrypted: bool,
    pub kid: Option<String>,
}

/// One content-addressed object, as listed for the orphan purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Purge only objects older than a grace period: a document being generated has its
    /// file written before its row is committed.
    pub last_modified: SystemTime,
}

/// Document storage over any `object_store` backend.
#[derive(Clone)]
pub struct Storage {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) compress: bool,
    pub(super) encryption: Option<KeyRing>,
    /// Part size of streamed uploads ([`Storage::put_file`]): S3 wants at least 5 MiB.
    pub(super) part_size: usize,
    /// When the readiness probe last wrote, and what it found (see [`Storage::healthy_within`]).
    last_probe: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Storage")
            .field("store", &self.store.to_string())
            .field("compress", &self.compress)
            .field("encryption", &self.encryption)
            .finish()
    }
}

const HEALTH_PROBE: &str = "_health/probe";
/// Streamed upload parts on S3 (its minimum, but the last part's).
const S3_PART_SIZE: usize = 5 * 1024 * 1024;
/// Streamed upload parts elsewhere (local files, memory): less held in memory.
const PART_SIZE: usize = 1024 * 1024;

/// An existing object older than this is rewritten by `put` rather than reused.
pub const REFRESH_AFTER: Duration = Duration::from_secs(30 * 60);
/// The orphan purge spares objects younger than this. `put` keeps every object it returns
/// younger than [`REFRESH_AFTER`], so a row committed within `PURGE_GRACE - REFRESH_AFTER`
/// (30 min) of its `put` never loses its file, even when the bytes were deduplicated.
pub const PURGE_GRACE: Duration = Duration::from_secs(60 * 60);

pub(super) fn age(time: SystemTime) -> Duration {
    SystemTime::now().duration_since(time).unwrap_or_default()
}

impl Storage {
    /// Files on the local disk under `config.root` (created if missing).
    pub fn local(config: StorageConfig) -> Result<Self> {
        std::fs::create_dir_all(&config.root)?;
        let fs = LocalFileSystem::new_with_prefix(&config.root)?
            .with_automatic_cleanup(true)
            .with_fsync(config.fsync);
        Self::new(Arc::new(fs), config.compress, config.encryption)
    }

    /// An S3 bucket (`s3://bucket/prefix`), configured by the `AWS_*` variables
    /// (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_REGION`, credentials) for S3-compatible stores.
    pub fn s3(url: &str, compress: bool, encryption: Option<KeyRing>) -> Result<Self> {
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_client_options(
                // Replaces the options `from_env` read: AWS_ALLOW_HTTP is carried over by hand.
                object_store::ClientOptions::new()
                    .with_allow_http(std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true")))
                    .with_timeout(Duration::from_secs(30))
                    .with_connect_timeout(Duration::from_secs(5)),
            )
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..Default::default()
            })
            .build()?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        let mut storage = Self::new(store, compress, encryption)?;
        storage.part_size = S3_PART_SIZE;
        Ok(storage)
    }

    /// In process memory (tests).
    pub fn in_memory(compress: bool, encryption: Option<KeyRing>) -> Result<Self> {
        Self::new(Arc::new(InMemory::new()), compress, encryption)
    }

    /// Any `object_store` backend (local files, S3). Checks that the ring's current key exists.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        compress: bool,
        encryption: Option<KeyRing>,
    ) -> Result<Self> {
        if let Some(ring) = &encryption {
            ring.validate()?;
        }
        Ok(Storage {
            store,
            compress,
            encryption,
            part_size: PART_SIZE,
            last_probe: Default::default(),
        })
    }

    /// The backend, for callers that need more than this API.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Stores a document of organization `owner` under its prefix; idempotent (the same bytes of
    /// the same owner under the same settings give the same key, and an existing object is not
    /// rewritten).
    pub async fn put(&self, owner: uuid::Uuid, plaintext: Vec<u8>) -> Result<Stored> {
        self.put_with(owner, plaintext, true).await
    }

    /// As [`put`](Self::put); `compressible: false` (a zip such as a workbook) skips zstd, which
    /// would spend time to gain next to nothing.
    pub async fn put_with(&self, owner: uuid::Uuid, plaintext: Vec<u8>, compressible: bool) -> Result<Stored> {
        let compress = self.compress && compressible;
        let (sha256, size_bytes, body, compressed) = tokio::task::spawn_blocking(move || {
            let sha256 = codec::sha256_hex(&plaintext);
            let size = plaintext.len() as u64;
            let packed = if compress {
                codec::compress(&plaintext)?
            } else {
                None
            };
            let compressed = packed.is_some();
            Ok::<_, StorageError>((sha256, size, packed.unwrap_or(plaintext), compressed))
        })
        .await??;
        if size_bytes > codec::MAX_DOCUMENT_BYTES {
            return Err(StorageError::TooLarge(codec::MAX_DOCUMENT_BYTES));
        }
        let kid = self.encryption.as_ref().map(|ring| ring.current.clone());
        let key = object_key(owner, &sha256, compressed, kid.as_deref());
        let path = Path::from(key.as_str());
        let stored = |stored_bytes| Stored {
            key: key.clone(),
            sha256: sha256.clone(),
            size_bytes,
            stored_bytes,
            compressed,
            encrypted: kid.is_some(),
            kid: kid.clone(),
        };
        let mode = match self.store.head(&path).await {
            Ok(meta) if age(meta.last_modified.into()) < REFRESH_AFTER => {
                return Ok(stored(meta.size));
            }
            // An old object is rewritten (same content, fresh nonce) so that its age proves a
            // recent `put` to the orphan purge, which spares objects younger than PURGE_GRACE.
            Ok(_) => PutMode::Overwrite,
            Err(object_store::Error::NotFound { .. }) => PutMode::Create,
            Err(e) => return Err(e.into()),
        };
        let body = match &self.encryption {
            Some(ring) => {
                let (kid, key) = ring.current_key();
                let (kid, key, sha) = (kid.to_string(), *key, sha256.clone());
                tokio::task::spawn_blocking(move || {
                    codec::encrypt(&body, &key, &kid, &sha, compressed)
                })
                .await??
            }
            None => body,
        };
        let stored_bytes = body.len() as u64;
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(body), opts)
            .await
        {
            // Lost a race with a writer of the same content: that object is as good as ours.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(stored(stored_bytes)),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a document back: decrypts with the recorded key id (an error if the ring no
    /// longer holds it), decompresses, and checks the SHA-256.
    pub async fn get(&self, stored: &StoredRef) -> Result<Vec<u8>> {
        let path = checked_path(&stored.key)?;
        let key = self.key_of(stored)?;
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|e| not_found(e, &stored.key))?;
        if result.meta.size > codec::MAX_DOCUMENT_BYTES + 64 {
            return Err(StorageError::TooLarge(codec::MAX_DOCUMENT_BYTES));
        }
        let blob = result
            .bytes()
            .await
            .map_err(|e| not_found(e, &stored.key))?;
        let stored = stored.clone();
        tokio::task::spawn_blocking(move || {
            if sealing(&stored.key) == Sealing::Segmented {
                let mut plain = Vec::new();
                super::stream::decoder(std::io::Cursor::new(blob), &stored, key)?
                    .take(codec::MAX_DOCUMENT_BYTES + 1)
                    .read_to_end(&mut plain)
                    .map_err(|_| StorageError::Decrypt)?;
                if codec::sha256_hex(&plain) != stored.sha256 {
                    return Err(StorageError::Integrity);
                }
                return Ok(plain);
            }
            let data = match (&key, &stored.kid) {
                (Some(key), Some(kid)) => {
                    codec::decrypt(&blob, key, kid, &stored.sha256, stored.compressed)?
                }
                _ => blob.to_vec(),
            };
            let plain = if stored.compressed {
                codec::decompress(&data)?
            } else {
                data
            };
            if codec::sha256_hex(&plain) != stored.sha256 {
                return Err(StorageError::Integrity);
            }
            Ok(plain)
        })
        .await?
    }

    /// The decryption key of a stored object (`None` when it is not encrypted); an error when the
    /// ring no longer holds the recorded key.
    pub(super) fn key_of(&self, stored: &StoredRef) -> Result<Option<[u8; 32]>> {
        if !stored.encrypted {
            return Ok(None);
        }
        let kid = stored.kid.as_deref().ok_or(StorageError::MissingKid)?;
        let key = self.encryption.as_ref().and_then(|r| r.get(kid));
        Ok(Some(*key.ok_or_else(|| StorageError::UnknownKey(kid.to_string()))?))
    }

    /// Removes an object; removing a missing one succeeds.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&checked_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every content-addressed object (anything else under the root is ignored).
    pub async fn list(&self) -> Result<Vec<ObjectInfo>> {
        self.list_under(None).await
    }

    /// The content-addressed objects of organization `owner` (one listing of its prefix).
    pub async fn list_owned(&self, owner: uuid::Uuid) -> Result<Vec<ObjectInfo>> {
        self.list_under(Some(Path::from(owner_prefix(owner)))).await
    }

    async fn list_under(&self, prefix: Option<Path>) -> Result<Vec<ObjectInfo>> {
        let metas: Vec<_> = self.store.list(prefix.as_ref()).try_collect().await?;
        Ok(metas
            .into_iter()
            .filter(|m| parse_key(m.location.as_ref()).is_some())
            .map(|m| ObjectInfo {
                key: m.location.to_string(),
                size: m.size,
                last_modified: SystemTime::from(m.last_modified),
            })
            .collect())
    }

    /// The keys of [`Storage::list`].
    pub async fn list_keys(&self) -> Result<Vec<String>> {
        Ok(self.list().await?.into_iter().map(|o| o.key).collect())
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&checked_path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// [`Storage::healthy`], written at most once per `interval`: within it every caller gets the
    /// last result, and callers arriving while a probe runs wait for that one. An unauthenticated
    /// `/health/ready` flood thus costs the store one write per interval.
    pub async fn healthy_within(&self, interval: Duration) -> bool {
        let mut last = self.last_probe.lock().await;
        if let Some((at, healthy)) = *last
            && at.elapsed() < interval
        {
            return healthy;
        }
        let healthy = self.healthy().await;
        *last = Some((std::time::Instant::now(), healthy));
        healthy
    }

    /// Readiness: can a small probe object be written within 5 s?
    pub async fn healthy(&self) -> bool {
        let path = Path::from(HEALTH_PROBE);
        let probe = self.store.put(&path, PutPayload::from_static(b"ok"));
        matches!(
            tokio::time::timeout(Duration::from_secs(5), probe).await,
            Ok(Ok(_))
        )
    }
}
