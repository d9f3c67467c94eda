use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::OWNER;
use crate::storage::{KeyRing, Storage, StorageConfig, StorageError, Stored};

pub(super) fn storage(root: &Path, compress: bool, encryption: Option<KeyRing>) -> Storage {
    Storage::local(StorageConfig {
        root: root.join("files"),
        compress,
        encryption,
        fsync: true,
    })
    .unwrap()
}

pub(super) fn ring(kid: &str) -> KeyRing {
    KeyRing::generate(kid)
}

fn compressible() -> Vec<u8> {
    "Attestation d'assurance automobile — police POL-2026-0001\n"
        .repeat(400)
        .into_bytes()
}

fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

pub(super) fn file_of(root: &Path, stored: &Stored) -> PathBuf {
    root.join("files").join(&stored.key)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path))
        } else {
            out.push(path)
        }
    }
    out
}

#[tokio::test]
async fn round_trips_plain_zstd_aes_and_zstd_aes() {
    let doc = compressible();
    let sha = hex::encode(Sha256::digest(&doc));
    for (compress, encrypt) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), compress, encrypt.then(|| ring("k1")));
        let stored = s.put(OWNER, doc.clone()).await.unwrap();
        assert_eq!(stored.sha256, sha);
        assert_eq!(stored.size_bytes, doc.len() as u64);
        assert_eq!((stored.compressed, stored.encrypted), (compress, encrypt));
        assert_eq!(stored.kid.as_deref(), encrypt.then_some("k1"));
        let mut expected_key = format!("org/{OWNER}/{}/{}/{sha}", &sha[..2], &sha[2..4]);
        if compress {
            expected_key += ".zst"
        }
        if encrypt {
            expected_key += ".enc-k1"
        }
        assert_eq!(stored.key, expected_key);

        let at_rest = std::fs::read(file_of(dir.path(), &stored)).unwrap();
        assert_eq!(at_rest.len() as u64, stored.stored_bytes);
        if compress {
            assert!(stored.stored_bytes < doc.len() as u64 / 10)
        }
        if encrypt {
            assert!(
                !at_rest.windows(11).any(|w| w == b"Attestation"),
                "plaintext visible at rest"
            );
        }
        if !compress && !encrypt {
            assert_eq!(at_rest, doc)
        }
        assert_eq!(
            s.get(&stored.to_ref()).await.unwrap(),
            doc,
            "{compress} {encrypt}"
        );
    }
}

#[tokio::test]
async fn incompressible_bytes_are_stored_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, Some(ring("k1")));
    let doc = random_bytes(50_000);
    let stored = s.put(OWNER, doc.clone()).await.unwrap();
    assert!(!stored.compressed);
    assert_eq!(stored.stored_bytes, doc.len() as u64 + 28); // nonce + tag
    assert_eq!(s.get(&stored.to_ref()).await.unwrap(), doc);
}

#[tokio::test]
async fn empty_document_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, Some(ring("k1")));
    let stored = s.put(OWNER, vec![]).await.unwrap();
    assert_eq!(stored.size_bytes, 0);
    assert_eq!(s.get(&stored.to_ref()).await.unwrap(), Vec::<u8>::new());
}

#[tokio::test]
async fn same_bytes_give_the_same_key_and_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, Some(ring("k1")));
    let a = s.put(OWNER, compressible()).await.unwrap();
    let before = std::fs::read(file_of(dir.path(), &a)).unwrap();
    let b = s.put(OWNER, compressible()).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(
        std::fs::read(file_of(dir.path(), &a)).unwrap(),
        before,
        "existing object rewritten"
    );
    assert_eq!(files_under(&dir.path().join("files")).len(), 1);
    assert_eq!(s.list_keys().await.unwrap(), vec![a.key.clone()]);
    let c = s.put(OWNER, b"other".to_vec()).await.unwrap();
    assert_ne!(a.key, c.key);
}

#[tokio::test]
async fn concurrent_puts_of_the_same_bytes_agree() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, Some(ring("k1")));
    let doc = random_bytes(200_000);
    let puts = (0..8).map(|_| s.put(OWNER, doc.clone()));
    let results = futures_util::future::join_all(puts).await;
    let first = results[0].as_ref().unwrap().clone();
    for r in &results {
        assert_eq!(r.as_ref().unwrap().key, first.key)
    }
    assert_eq!(files_under(&dir.path().join("files")).len(), 1);
    assert_eq!(s.get(&first.to_ref()).await.unwrap(), doc);
}

#[tokio::test]
async fn a_tampered_encrypted_blob_fails_to_decrypt() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), compress, Some(ring("k1")));
        let stored = s.put(OWNER, compressible()).await.unwrap();
        let path = file_of(dir.path(), &stored);
        let mut blob = std::fs::read(&path).unwrap();
        let mid = blob.len() / 2;
        blob[mid] ^= 0x01;
        std::fs::write(&path, &blob).unwrap();
        let err = s.get(&stored.to_ref()).await.unwrap_err();
        assert!(matches!(err, StorageError::Decrypt), "{err:?}");
        std::fs::write(&path, &blob[..20]).unwrap();
        let err = s.get(&stored.to_ref()).await.unwrap_err();
        assert!(matches!(err, StorageError::Corrupt), "{err:?}");
    }
}

#[tokio::test]
async fn a_blob_copied_over_another_document_fails_to_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, Some(ring("k1")));
    let a = s.put(OWNER, b"policy A certificate".to_vec()).await.unwrap();
    let b = s.put(OWNER, b"policy B certificate".to_vec()).await.unwrap();
    std::fs::copy(file_of(dir.path(), &a), file_of(dir.path(), &b)).unwrap();
    assert!(matches!(
        s.get(&b.to_ref()).await,
        Err(StorageError::Decrypt)
    ));
    // Claiming another compression flag for the same blob fails too.
    let mut lying = a.to_ref();
    lying.compressed = true;
    assert!(matches!(s.get(&lying).await, Err(StorageError::Decrypt)));
}

#[tokio::test]
async fn tampered_unencrypted_blobs_fail_the_sha256_check() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), compress, None);
        let stored = s.put(OWNER, compressible()).await.unwrap();
        let path = file_of(dir.path(), &stored);
        let mut blob = std::fs::read(&path).unwrap();
        let last = blob.len() - 1;
        blob[last / 2] ^= 0x20;
        std::fs::write(&path, &blob).unwrap();
        let err = s.get(&stored.to_ref()).await.unwrap_err();
        assert!(
            matches!(err, StorageError::Integrity | StorageError::Corrupt),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn rotated_keys_still_read_old_blobs_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = ring("k1");
    let old = storage(dir.path(), true, Some(k1.clone()));
    let by_k1 = old.put(OWNER, b"written under k1".to_vec()).await.unwrap();
    assert_eq!(by_k1.kid.as_deref(), Some("k1"));

    let k2 = ring("k2");
    let both = KeyRing::parse(&format!("{},{}", k2.to_setting(), k1.to_setting())).unwrap();
    assert_eq!(both.current, "k2");
    let rotated = storage(dir.path(), true, Some(both));
    assert_eq!(
        rotated.get(&by_k1.to_ref()).await.unwrap(),
        b"written under k1"
    );
    let by_k2 = rotated.put(OWNER, b"written under k2".to_vec()).await.unwrap();
    assert_eq!(by_k2.kid.as_deref(), Some("k2"));
    assert!(by_k2.key.ends_with(".enc-k2"));

    let k1_dropped = storage(dir.path(), true, Some(k2));
    assert_eq!(
        k1_dropped.get(&by_k2.to_ref()).await.unwrap(),
        b"written under k2"
    );
    let err = k1_dropped.get(&by_k1.to_ref()).await.unwrap_err();
    assert!(
        matches!(&err, StorageError::UnknownKey(kid) if kid == "k1"),
        "{err:?}"
    );
    let no_ring = storage(dir.path(), true, None);
    assert!(matches!(
        no_ring.get(&by_k2.to_ref()).await,
        Err(StorageError::UnknownKey(_))
    ));
}

#[tokio::test]
async fn a_different_key_with_the_same_id_fails_to_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let stored = storage(dir.path(), false, Some(ring("k1")))
        .put(OWNER, b"x".to_vec())
        .await
        .unwrap();
    let impostor = storage(dir.path(), false, Some(ring("k1")));
    assert!(matches!(
        impostor.get(&stored.to_ref()).await,
        Err(StorageError::Decrypt)
    ));
}

#[tokio::test]
async fn delete_exists_list_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, None);
    let a = s.put(OWNER, b"a".to_vec()).await.unwrap();
    let b = s.put(OWNER, b"b".to_vec()).await.unwrap();
    assert!(s.healthy().await);
    std::fs::write(dir.path().join("files/notes.txt"), b"not ours").unwrap();
    let mut keys = s.list_keys().await.unwrap();
    keys.sort();
    let mut expected = vec![a.key.clone(), b.key.clone()];
    expected.sort();
    assert_eq!(keys, expected, "only content-addressed objects are listed");
    assert!(s.exists(&a.key).await.unwrap());
    s.delete(&a.key).await.unwrap();
    assert!(!s.exists(&a.key).await.unwrap());
    s.delete(&a.key).await.unwrap(); // idempotent
    assert!(matches!(
        s.get(&a.to_ref()).await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(s.list_keys().await.unwrap(), vec![b.key.clone()]);
    for bad in [
        "../../etc/passwd",
        "notes.txt",
        "ab/cd/xyz",
        "_health/probe",
    ] {
        assert!(
            matches!(s.delete(bad).await, Err(StorageError::InvalidKey(_))),
            "{bad}"
        );
        assert!(
            matches!(s.exists(bad).await, Err(StorageError::InvalidKey(_))),
            "{bad}"
        );
    }
    assert!(dir.path().join("files/notes.txt").exists());
}

#[tokio::test]
async fn the_root_survives_deleting_the_last_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, None);
    let a = s.put(OWNER, b"only".to_vec()).await.unwrap();
    s.delete(&a.key).await.unwrap();
    assert!(dir.path().join("files").is_dir());
    assert!(
        files_under(&dir.path().join("files")).is_empty(),
        "empty fan-out dirs removed"
    );
    assert!(s.list_keys().await.unwrap().is_empty());
    let again = s.put(OWNER, b"only".to_vec()).await.unwrap();
    assert_eq!(s.get(&again.to_ref()).await.unwrap(), b"only");
}
