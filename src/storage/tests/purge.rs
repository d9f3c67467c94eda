use std::path::Path;

use super::store::{file_of, ring, storage};

fn set_age(path: &Path, age: std::time::Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

#[tokio::test]
async fn an_old_object_is_rewritten_by_put_so_the_purge_spares_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, Some(ring("k1")));
    let a = s.put(b"dedup me".to_vec()).await.unwrap();
    let path = file_of(dir.path(), &a);
    set_age(&path, crate::storage::REFRESH_AFTER * 3);
    let before = std::fs::read(&path).unwrap();
    let again = s.put(b"dedup me".to_vec()).await.unwrap();
    assert_eq!(again.key, a.key);
    assert_ne!(
        std::fs::read(&path).unwrap(),
        before,
        "fresh nonce: the object was rewritten"
    );
    assert_eq!(s.get(&a.to_ref()).await.unwrap(), b"dedup me");
    let purge = s.purge_unreferenced_now(&Default::default()).await.unwrap();
    assert_eq!((purge.deleted, purge.spared_recent), (0, 1));
}

#[tokio::test]
async fn the_purge_deletes_old_unreferenced_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, None);
    let kept = s.put(b"referenced".to_vec()).await.unwrap();
    let orphan = s.put(b"orphan".to_vec()).await.unwrap();
    let young = s.put(b"young orphan".to_vec()).await.unwrap();
    for stored in [&kept, &orphan] {
        set_age(
            &file_of(dir.path(), stored),
            crate::storage::PURGE_GRACE * 2,
        );
    }
    std::fs::write(dir.path().join("files/README"), b"not ours").unwrap();
    let referenced = [kept.key.clone()].into_iter().collect();
    let purge = s.purge_unreferenced_now(&referenced).await.unwrap();
    assert_eq!(purge.deleted, 1);
    assert_eq!(purge.bytes_freed, orphan.stored_bytes);
    assert_eq!(purge.spared_recent, 1);
    assert!(!s.exists(&orphan.key).await.unwrap());
    assert!(s.exists(&kept.key).await.unwrap() && s.exists(&young.key).await.unwrap());
    assert!(dir.path().join("files/README").exists());
}
