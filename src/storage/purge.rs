//! The file side of `purgeOrphanFiles`: objects no `documents` row references.

use std::{collections::HashSet, time::SystemTime};

use uuid::Uuid;

use super::{ObjectInfo, PURGE_GRACE, Storage, StorageError};

/// Which objects a purge looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeScope {
    /// One organization's objects (`org/<id>/…`): what its ADMIN may purge.
    Organization(Uuid),
    /// Every object, every organization's and those written before keys had an owner: the
    /// SUPERADMIN's sweep.
    Everything,
}

/// What [`Storage::purge_unreferenced`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilePurge {
    /// Objects deleted.
    pub deleted: u64,
    /// Their size at rest.
    pub bytes_freed: u64,
    /// Unreferenced objects spared because they are younger than the cut-off.
    pub spared_recent: u64,
}

/// A purge that stopped on an error, with what it had deleted by then (deletes are not undone).
#[derive(Debug, thiserror::Error)]
#[error("purge stopped after {} deletions: {error}", done.deleted)]
pub struct PurgeStopped {
    pub done: FilePurge,
    #[source]
    pub error: StorageError,
}

impl Storage {
    /// Deletes the content-addressed objects in `scope` whose key is not in `referenced` and that
    /// were last written before `older_than` (normally `now - PURGE_GRACE`).
    ///
    /// Call order for the service: list nothing yourself; read `referenced` (every
    /// `documents.storage_key` that may point into `scope`) and then call this. Objects written
    /// after the read are younger than the cut-off and spared. For the other half of the purge
    /// (rows whose file is gone), check rows older than the grace period with
    /// [`Storage::exists`] so a row whose file is still being written is not removed.
    pub async fn purge_unreferenced(
        &self,
        scope: PurgeScope,
        referenced: &HashSet<String>,
        older_than: SystemTime,
    ) -> Result<FilePurge, PurgeStopped> {
        let mut outcome = FilePurge::default();
        let listed = match scope {
            PurgeScope::Organization(owner) => self.list_owned(owner).await,
            PurgeScope::Everything => self.list().await,
        };
        let objects: Vec<ObjectInfo> = listed.map_err(|error| PurgeStopped { done: outcome, error })?;
        for object in objects {
            if referenced.contains(&object.key) {
                continue;
            }
            if object.last_modified >= older_than {
                outcome.spared_recent += 1;
                continue;
            }
            self.delete(&object.key).await.map_err(|error| PurgeStopped { done: outcome, error })?;
            outcome.deleted += 1;
            outcome.bytes_freed += object.size;
        }
        Ok(outcome)
    }

    /// [`Storage::purge_unreferenced`] with the cut-off `now - PURGE_GRACE`.
    pub async fn purge_unreferenced_now(
        &self,
        scope: PurgeScope,
        referenced: &HashSet<String>,
    ) -> Result<FilePurge, PurgeStopped> {
        let cutoff = SystemTime::now() - PURGE_GRACE;
        self.purge_unreferenced(scope, referenced, cutoff).await
    }
}
