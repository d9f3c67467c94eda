//! [`Storage::download`]: the answer to `GET /files/{id}` once the link is verified.

use axum::{body::Body, response::Response};
use http::HeaderMap;
use object_store::{GetOptions, GetRange, ObjectStoreExt};

use super::{
    Result, Storage, StoredRef,
    address::{checked_path, not_found},
    serve::{self, Meta, Plan},
    serve_bytes,
};

impl Storage {
    /// Serves a stored document with the headers of [`serve_bytes`].
    ///
    /// Plain objects (neither compressed nor encrypted) are streamed from the store, reading
    /// only the requested range; their SHA-256 is not re-checked on this path. Compressed or
    /// encrypted ones are read whole, decoded and verified by [`Storage::get`] (at most one
    /// document in memory). A matching `If-None-Match` answers 304 without reading anything.
    pub async fn download(
        &self,
        stored: &StoredRef,
        file_name: &str,
        mime: &str,
        headers: &HeaderMap,
    ) -> Result<Response> {
        let etag = format!("\"{}\"", stored.sha256);
        if serve::none_match_hits(headers, &etag) {
            return Ok(serve::not_modified(&etag));
        }
        if stored.compressed || stored.encrypted {
            let plain = self.get(stored).await?;
            return Ok(serve_bytes(plain, file_name, mime, &stored.sha256, headers));
        }
        let path = checked_path(&stored.key)?;
        let store = self.object_store();
        let meta = store
            .head(&path)
            .await
            .map_err(|e| not_found(e, &stored.key))?;
        let len = meta.size;
        let (range, partial) = match serve::plan(headers, len, &etag) {
            Plan::NotModified => return Ok(serve::not_modified(&etag)),
            Plan::Unsatisfiable => return Ok(serve::unsatisfiable(len)),
            Plan::Full if len == 0 => (None, None),
            Plan::Full => (Some(GetRange::Bounded(0..len)), None),
            Plan::Partial(a, b) => (Some(GetRange::Bounded(a..b + 1)), Some((a, b))),
        };
        let meta = Meta {
            file_name,
            mime,
            etag,
        };
        let Some(range) = range else {
            return Ok(meta.respond(Body::empty(), 0, None));
        };
        let options = GetOptions {
            range: Some(range),
            ..Default::default()
        };
        let result = store
            .get_opts(&path, options)
            .await
            .map_err(|e| not_found(e, &stored.key))?;
        Ok(meta.respond(Body::from_stream(result.into_stream()), len, partial))
    }
}
