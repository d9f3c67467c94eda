//! The file side of `purgeOrphanFiles`: objects no `documents` row references.

use std::{collections::HashSet, time::SystemTime};

use super::{PURGE_GRACE, Result, Storage};

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

impl Storage {
    /// Deletes the content-addressed objects whose key is not in `referenced` and that were
    /// last written before `older_than` (normally `now - PURGE_GRACE`).
    ///
    /// Call order for the service: list nothing yourself; read `referenced` (every
    /// `documents.storage_key`, all organisations) and then call this. Objects written after
    /// the read are younger than the cut-off and spared. For the other half of the purge
    /// (rows whose file is gone), check rows older than the grace period with
    /// [`Storage::exists`] so a row whose file is still being written is not removed.
    pub async fn purge_unreferenced(
        &self,
        referenced: &HashSet<String>,
        older_than: SystemTime,
    ) -> Result<FilePurge> {
        let mut outcome = FilePurge::default();
        for object in self.list().await? {
            if referenced.contains(&object.key) {
                continue;
            }
            if object.last_modified >= older_than {
                outcome.spared_recent += 1;
                continue;
            }
            self.delete(&object.key).await?;
            outcome.deleted += 1;
            outcome.bytes_freed += object.size;
        }
        Ok(outcome)
    }

    /// [`Storage::purge_unreferenced`] with the cut-off `now - PURGE_GRACE`.
    pub async fn purge_unreferenced_now(&self, referenced: &HashSet<String>) -> Result<FilePurge> {
        let cutoff = SystemTime::now() - PURGE_GRACE;
        self.purge_unreferenced(referenced, cutoff).await
    }
}
