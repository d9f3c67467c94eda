//! Streamed objects: `put_file` and `download_decoded` round trips, in every encoding, and a
//! tampered object that never downloads whole.

use http::HeaderMap;

use super::OWNER;
use super::store::{file_of, ring, storage};
use crate::storage::StoredRef;

fn temp_file(bytes: &[u8]) -> std::fs::File {
    use std::io::Write;
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn text(len: usize) -> Vec<u8> {
    "Constat amiable, sinistre du 6 décembre. ".bytes().cycle().take(len).collect()
}

async fn body_of(response: axum::response::Response) -> Result<Vec<u8>, axum::Error> {
    Ok(axum::body::to_bytes(response.into_body(), usize::MAX).await?.to_vec())
}

fn reference(stored: &crate::storage::Stored) -> StoredRef {
    stored.to_ref()
}

#[tokio::test]
async fn files_of_any_length_round_trip_in_every_encoding() {
    let dir = tempfile::tempdir().unwrap();
    for (compress, keys) in [(false, None), (true, None), (false, Some(ring("k1"))), (true, Some(ring("k1")))] {
        let s = storage(dir.path(), compress, keys.clone());
        for len in [1, 1000, 64 * 1024, 3 * 1024 * 1024 + 17] {
            let plain = text(len);
            let stored = s.put_file(OWNER, temp_file(&plain), true).await.unwrap();
            assert_eq!(stored.size_bytes, len as u64);
            assert_eq!(stored.compressed, compress);
            assert_eq!(stored.encrypted, keys.is_some());
            assert_eq!(stored.key.contains(".encs-k1"), keys.is_some(), "{}", stored.key);
            assert_eq!(s.get(&reference(&stored)).await.unwrap(), plain, "get, len {len}");
            let response = s.download_decoded(&reference(&stored), len as u64, "a.txt", "text/plain", &HeaderMap::new()).await.unwrap();
            assert_eq!(response.headers()["content-length"], len.to_string().as_str());
            assert_eq!(body_of(response).await.unwrap(), plain, "download, len {len}, compress {compress}");
            // The same file again is the same object, not rewritten.
            let again = s.put_file(OWNER, temp_file(&plain), true).await.unwrap();
            assert_eq!(again.key, stored.key);
        }
    }
}

#[tokio::test]
async fn an_incompressible_type_is_stored_as_is_and_a_tampered_object_never_downloads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, Some(ring("k1")));
    let plain = text(200 * 1024);
    let stored = s.put_file(OWNER, temp_file(&plain), false).await.unwrap();
    assert!(!stored.compressed && stored.encrypted, "{stored:?}");
    let path = file_of(dir.path(), &stored);
    let mut raw = std::fs::read(&path).unwrap();
    raw[150 * 1024] ^= 1; // inside the third segment
    std::fs::write(&path, &raw).unwrap();
    assert!(s.get(&reference(&stored)).await.is_err());
    let response = s.download_decoded(&reference(&stored), plain.len() as u64, "a.txt", "text/plain", &HeaderMap::new()).await.unwrap();
    assert!(body_of(response).await.is_err(), "the body ends with an error, short of its length");
}
