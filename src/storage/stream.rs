//! Streamed objects (attachments): [`Storage::put_file`] writes a file of any size in constant
//! memory, and [`Storage::download_decoded`] serves one the same way.
//!
//! **Two passes over the file, no temporary object.** The key is the SHA-256 of the plaintext,
//! known only once the whole file is read. Rather than write under a temporary key and then copy
//! (on S3 a second whole-object request, and a temporary object to clean up when anything fails),
//! the file is hashed first (a local temporary file: ~10 ms per 20 MiB) and then streamed:
//! zstd (when the caller says the type gains from it), [`segments`](super::segments) encryption,
//! and an `object_store` multipart upload, a few parts in flight at most. The second pass hashes
//! again and aborts the upload when the file changed in between. An existing object of the same
//! content written recently is reused without reading the file again, as [`Storage::put`] does.

use std::io::{self, Read, Seek, Write};

use axum::body::Body;
use bytes::Bytes;
use futures_util::{StreamExt, stream::BoxStream};
use http::{HeaderMap, header};
use object_store::{ObjectStoreExt, WriteMultipart, path::Path};
use sha2::{Digest, Sha256};
use tokio::{runtime::Handle, sync::mpsc};

use super::{
    Result, Storage, StorageError, Stored, StoredRef,
    address::{Sealing, checked_path, not_found, sealed_key, sealing},
    codec::MAX_DOCUMENT_BYTES,
    segments::{SegmentKey, SegmentReader, SegmentWriter},
    serve::{self, Meta},
    store::REFRESH_AFTER,
};

/// Bytes read from the file (or the store) at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes handed to the upload at a time.
const SEND_CHUNK: usize = 256 * 1024;
/// Parts uploading at once.
const PARTS_IN_FLIGHT: usize = 2;
const ZSTD_LEVEL: i32 = 3;

/// The end of an encoding pipeline: closing it flushes what it holds into the next stage.
trait Sink: Write + Send {
    fn close(self: Box<Self>) -> io::Result<()>;
}

/// Hands the encoded bytes to the async side in [`SEND_CHUNK`] pieces.
struct ChannelSink {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelSink {
    fn send(&mut self) -> io::Result<()> {
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(SEND_CHUNK)));
        self.tx.blocking_send(chunk).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

impl Write for ChannelSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= SEND_CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for ChannelSink {
    fn close(mut self: Box<Self>) -> io::Result<()> {
        if self.buf.is_empty() { Ok(()) } else { self.send() }
    }
}

impl Sink for SegmentWriter<Box<dyn Sink>> {
    fn close(self: Box<Self>) -> io::Result<()> {
        (*self).finish()?.close()
    }
}

impl Sink for zstd::stream::write::Encoder<'static, Box<dyn Sink>> {
    fn close(self: Box<Self>) -> io::Result<()> {
        (*self).finish()?.close()
    }
}

/// SHA-256 and length of the file, from its start.
fn hash_file(file: &mut std::fs::File) -> io::Result<(String, u64)> {
    file.rewind()?;
    let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; READ_CHUNK]);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), size));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

/// Reads the file from its start through the encoding into `tx`; returns the plaintext's hash.
fn encode(mut file: std::fs::File, compress: bool, seal: Option<SegmentKey>, tx: mpsc::Sender<Bytes>) -> io::Result<String> {
    file.rewind()?;
    let mut sink: Box<dyn Sink> = Box::new(ChannelSink { tx, buf: Vec::with_capacity(SEND_CHUNK) });
    if let Some(key) = seal {
        sink = Box::new(SegmentWriter::new(sink, key));
    }
    if compress {
        sink = Box::new(zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL)?);
    }
    let (mut hasher, mut buf) = (Sha256::new(), vec![0u8; READ_CHUNK]);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
    }
    sink.close()?;
    Ok(hex::encode(hasher.finalize()))
}

/// A blocking `Read` over an object's byte stream (for a `spawn_blocking` thread).
struct StreamRead {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    handle: Handle,
}

impl Read for StreamRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The plaintext of an object read from `raw`: segments opened, then zstd undone.
pub(super) fn decoder<'a>(raw: impl Read + Send + 'a, stored: &StoredRef, key: Option<[u8; 32]>) -> Result<Box<dyn Read + Send + 'a>> {
    let mut plain: Box<dyn Read + Send + 'a> = Box::new(raw);
    if let (Some(key), Some(kid)) = (key, stored.kid.as_deref()) {
        plain = Box::new(SegmentReader::new(plain, SegmentKey::new(&key, kid, &stored.sha256, stored.compressed)));
    }
    if stored.compressed {
        plain = Box::new(zstd::stream::read::Decoder::new(plain)?);
    }
    Ok(plain)
}

impl Storage {
    /// Stores `file` (from its start) for organization `owner`, streamed in constant memory:
    /// compressed when `compressible` and compression is on, encrypted in segments when keys are
    /// set (`.encs-<kid>`), uploaded in parts. Idempotent like [`Storage::put`].
    pub async fn put_file(&self, owner: uuid::Uuid, mut file: std::fs::File, compressible: bool) -> Result<Stored> {
        let (sha256, size_bytes, file) = tokio::task::spawn_blocking(move || hash_file(&mut file).map(|(sha, size)| (sha, size, file))).await??;
        if size_bytes > MAX_DOCUMENT_BYTES {
            return Err(StorageError::TooLarge(MAX_DOCUMENT_BYTES));
        }
        let compressed = self.compress && compressible;
        let sealing_key = self.encryption.as_ref().map(|ring| {
            let (kid, key) = ring.current_key();
            (kid.to_string(), SegmentKey::new(key, kid, &sha256, compressed))
        });
        let kid = sealing_key.as_ref().map(|(kid, _)| kid.clone());
        let key = sealed_key(owner, &sha256, compressed, kid.as_deref(), Sealing::Segmented);
        let stored = |stored_bytes| Stored {
            key: key.clone(),
            sha256: sha256.clone(),
            size_bytes,
            stored_bytes,
            compressed,
            encrypted: kid.is_some(),
            kid: kid.clone(),
        };
        let path = Path::from(key.as_str());
        match self.store.head(&path).await {
            Ok(meta) if super::store::age(meta.last_modified.into()) < REFRESH_AFTER => return Ok(stored(meta.size)),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let mut upload = WriteMultipart::new_with_chunk_size(self.store.put_multipart(&path).await?, self.part_size);
        let (tx, mut rx) = mpsc::channel::<Bytes>(4);
        let seal = sealing_key.map(|(_, key)| key);
        let producer = tokio::task::spawn_blocking(move || encode(file, compressed, seal, tx));
        let mut stored_bytes = 0u64;
        let mut failed = None;
        while let Some(chunk) = rx.recv().await {
            if let Err(e) = upload.wait_for_capacity(PARTS_IN_FLIGHT).await {
                failed = Some(StorageError::from(e));
                break;
            }
            stored_bytes += chunk.len() as u64;
            upload.put(chunk);
        }
        drop(rx);
        let written = producer.await?;
        let failed = match (failed, written) {
            (Some(e), _) => Some(e),
            (None, Err(e)) => Some(e.into()),
            (None, Ok(sha)) if sha != sha256 => Some(StorageError::Integrity),
            (None, Ok(_)) => None,
        };
        if let Some(e) = failed {
            upload.abort().await.ok();
            return Err(e);
        }
        upload.finish().await?;
        Ok(stored(stored_bytes))
    }

    /// Serves a stored object of `size_bytes` plaintext bytes with the headers of
    /// [`serve_bytes`](super::serve_bytes). Plain objects go through [`Storage::download`]
    /// (ranges included); compressed or encrypted ones are decoded as they stream, in constant
    /// memory, whole (a `Range` is ignored). The last piece is held back until the SHA-256 checks,
    /// so a corrupt object ends short of its `Content-Length` and the client sees a failed download.
    pub async fn download_decoded(&self, stored: &StoredRef, size_bytes: u64, file_name: &str, mime: &str, headers: &HeaderMap) -> Result<axum::response::Response> {
        if !stored.compressed && !stored.encrypted {
            return self.download(stored, file_name, mime, headers).await;
        }
        let etag = format!("\"{}\"", stored.sha256);
        if serve::none_match_hits(headers, &etag) {
            return Ok(serve::not_modified(&etag));
        }
        if stored.encrypted && sealing(&stored.key) != Sealing::Segmented {
            // A whole-blob object: decoded in memory (documents are bounded).
            let plain = self.get(stored).await?;
            return Ok(super::serve_bytes(plain, file_name, mime, &stored.sha256, headers));
        }
        let key = self.key_of(stored)?;
        let path = checked_path(&stored.key)?;
        let object = self.store.get(&path).await.map_err(|e| not_found(e, &stored.key))?;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let raw = StreamRead { stream: object.into_stream(), current: Bytes::new(), handle: Handle::current() };
        let plain = decoder(raw, stored, key)?;
        let (sha256, object_key) = (stored.sha256.clone(), stored.key.clone());
        tokio::task::spawn_blocking(move || stream_out(plain, size_bytes, &sha256, &object_key, &tx));
        let meta = Meta { file_name, mime, etag };
        let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        let mut response = meta.respond(body, size_bytes, None);
        response.headers_mut().remove(header::ACCEPT_RANGES);
        Ok(response)
    }
}

/// Sends the plaintext read from `plain` into `tx`, holding the last piece back until the length
/// and SHA-256 match; any failure ends the body with an error instead.
fn stream_out(mut plain: Box<dyn Read + Send>, size: u64, sha256: &str, key: &str, tx: &mpsc::Sender<io::Result<Bytes>>) {
    let (mut hasher, mut total, mut buf) = (Sha256::new(), 0u64, vec![0u8; READ_CHUNK]);
    let mut pending: Option<Bytes> = None;
    let failure = loop {
        let n = match plain.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) => break Some(e),
        };
        total += n as u64;
        if total > size {
            break Some(io::Error::other("the object is longer than recorded"));
        }
        hasher.update(&buf[..n]);
        if let Some(previous) = pending.replace(Bytes::copy_from_slice(&buf[..n]))
            && tx.blocking_send(Ok(previous)).is_err()
        {
            return; // the client went away
        }
    };
    let failure = failure.or_else(|| {
        (total != size || hex::encode(hasher.finalize_reset()) != sha256).then(|| io::Error::other("the object does not match its recorded sha256"))
    });
    match failure {
        None => {
            if let Some(last) = pending {
                let _ = tx.blocking_send(Ok(last));
            }
        }
        Some(e) => {
            tracing::error!(key, error = %e, "download: the stored object cannot be decoded");
            let _ = tx.blocking_send(Err(e));
        }
    }
}
