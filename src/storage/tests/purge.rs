use std::path::Path;

use super::OWNER;
use crate::storage::PurgeScope;
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
    let a = s.put(OWNER, b"dedup me".to_vec()).await.unwrap();
    let path = file_of(dir.path(), &a);
    set_age(&path, crate::storage::REFRESH_AFTER * 3);
    let before = std::fs::read(&path).unwrap();
    let again = s.put(OWNER, b"dedup me".to_vec()).await.unwrap();
    assert_eq!(again.key, a.key);
    assert_ne!(
        std::fs::read(&path).unwrap(),
        before,
        "fresh nonce: the object was rewritten"
    );
    assert_eq!(s.get(&a.to_ref()).await.unwrap(), b"dedup me");
    let purge = s.purge_unreferenced_now(PurgeScope::Everything, &Default::default()).await.unwrap();
    assert_eq!((purge.deleted, purge.spared_recent), (0, 1));
}

#[tokio::test]
async fn the_purge_deletes_old_unreferenced_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), true, None);
    let kept = s.put(OWNER, b"referenced".to_vec()).await.unwrap();
    let orphan = s.put(OWNER, b"orphan".to_vec()).await.unwrap();
    let young = s.put(OWNER, b"young orphan".to_vec()).await.unwrap();
    for stored in [&kept, &orphan] {
        set_age(
            &file_of(dir.path(), stored),
            crate::storage::PURGE_GRACE * 2,
        );
    }
    std::fs::write(dir.path().join("files/README"), b"not ours").unwrap();
    let referenced = [kept.key.clone()].into_iter().collect();
    let purge = s.purge_unreferenced_now(PurgeScope::Everything, &referenced).await.unwrap();
    assert_eq!(purge.deleted, 1);
    assert_eq!(purge.bytes_freed, orphan.stored_bytes);
    assert_eq!(purge.spared_recent, 1);
    assert!(!s.exists(&orphan.key).await.unwrap());
    assert!(s.exists(&kept.key).await.unwrap() && s.exists(&young.key).await.unwrap());
    assert!(dir.path().join("files/README").exists());
}

#[tokio::test]
async fn an_organizations_purge_leaves_other_owners_and_ownerless_objects_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage(dir.path(), false, None);
    let other_owner = uuid::Uuid::from_u128(2);
    let ours = s.put(OWNER, b"same bytes".to_vec()).await.unwrap();
    let theirs = s.put(other_owner, b"same bytes".to_vec()).await.unwrap();
    assert_ne!(ours.key, theirs.key, "two organizations' equal bytes are two objects");
    // An object stored before keys had an owner: `ab/cd/<sha>`.
    let sha = crate::storage::sha256_hex(b"old bytes");
    let ownerless = format!("{}/{}/{sha}", &sha[..2], &sha[2..4]);
    let path = dir.path().join("files").join(&ownerless);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"old bytes").unwrap();
    for key in [&ours.key, &theirs.key, &ownerless] {
        set_age(&dir.path().join("files").join(key), crate::storage::PURGE_GRACE * 2);
    }

    let purge = s.purge_unreferenced_now(PurgeScope::Organization(OWNER), &Default::default()).await.unwrap();
    assert_eq!(purge.deleted, 1);
    assert!(!s.exists(&ours.key).await.unwrap());
    assert!(s.exists(&theirs.key).await.unwrap() && s.exists(&ownerless).await.unwrap());

    let sweep = s.purge_unreferenced_now(PurgeScope::Everything, &Default::default()).await.unwrap();
    assert_eq!(sweep.deleted, 2);
    assert!(s.list_keys().await.unwrap().is_empty());
}
