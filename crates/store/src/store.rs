//! [`ObjectBlobStore`], the `BlobStore` port on object_store: listing, deleting and
//! sweeping go through object_store for every backend; writes and reads on the local
//! filesystem go through [`crate::local`] (for fsync and large reads), elsewhere
//! through multipart uploads and ranged GETs.

use std::io;
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use imagery_core::ports::{BlobEntry, BlobStore, BlobWriter, ByteStream};
use imagery_core::time::Timestamp;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::error::{join_failed, to_io};
use crate::layout;
use crate::local::{self, LocalWriter};
use crate::multipart::MultipartWriter;

/// A blob store on an object_store backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Set for the local filesystem backend: the directory the store is rooted at.
    local_root: Option<PathBuf>,
}

impl ObjectBlobStore {
    /// A store rooted at directory `root`, created (owner-only) if missing.
    pub async fn local(root: impl AsRef<FsPath>) -> io::Result<Self> {
        let root = root.as_ref().to_path_buf();
        let root = tokio::task::spawn_blocking(move || -> io::Result<PathBuf> {
            for dir in [layout::STAGING, layout::BLOBS] {
                local::create_private_dir_all(&root.join(dir))?;
            }
            local::sync_dir(&root)?;
            root.canonicalize()
        })
        .await
        .map_err(join_failed)??;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(to_io)?;
        Ok(ObjectBlobStore { store: Arc::new(store), local_root: Some(root) })
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Self {
        Self::remote(Arc::new(InMemory::new()))
    }

    /// A store on any other object_store backend (S3-compatible buckets): writes are
    /// multipart uploads committed by copy + delete.
    pub fn remote(store: Arc<dyn ObjectStore>) -> Self {
        ObjectBlobStore { store, local_root: None }
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn begin_write(&self) -> io::Result<Box<dyn BlobWriter>> {
        Ok(match &self.local_root {
            Some(root) => Box::new(LocalWriter::begin(root).await?),
            None => Box::new(MultipartWriter::begin(self.store.clone()).await?),
        })
    }

    async fn read(&self, key: &str, range: Option<Range<u64>>) -> io::Result<ByteStream> {
        let location = layout::blob_location(key)?;
        if let Some(root) = &self.local_root {
            return local::read(root.join(location), range).await;
        }
        let location = Path::from(location);
        let get_range = match range {
            None => None,
            Some(r) if r.start > r.end => return Err(io::Error::new(io::ErrorKind::InvalidInput, "byte range ends before it starts")),
            Some(r) if r.is_empty() => {
                // object_store refuses empty ranges; the object must still exist.
                self.store.head(&location).await.map_err(to_io)?;
                return Ok(futures::stream::empty().boxed());
            }
            Some(r) => Some(GetRange::Bounded(to_usize(r.start)?..to_usize(r.end)?)),
        };
        let options = GetOptions { range: get_range, ..GetOptions::default() };
        let result = self.store.get_opts(&location, options).await.map_err(to_io)?;
        Ok(result.into_stream().map_err(to_io).boxed())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match self.store.delete(&Path::from(layout::blob_location(key)?)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_io(e)),
        }
    }

    async fn list_blobs(&self) -> io::Result<Vec<BlobEntry>> {
        let mut listing = self.store.list(Some(&Path::from(layout::BLOBS)));
        let mut blobs = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(to_io)?;
            if let Some(key) = layout::key_of(meta.location.as_ref()) {
                blobs.push(BlobEntry { key, size: meta.size as u64, last_modified: meta.last_modified });
            }
        }
        Ok(blobs)
    }

    async fn sweep_temporary(&self, older_than: Timestamp) -> io::Result<usize> {
        let abandoned: Vec<Path> = self
            .store
            .list(Some(&Path::from(layout::STAGING)))
            .try_filter_map(|meta| async move { Ok((meta.last_modified < older_than).then_some(meta.location)) })
            .try_collect()
            .await
            .map_err(to_io)?;
        let mut removed = 0;
        for location in abandoned {
            match self.store.delete(&location).await {
                Ok(()) => removed += 1,
                // Committed or aborted meanwhile.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(to_io(e)),
            }
        }
        Ok(removed)
    }
}

fn to_usize(offset: u64) -> io::Result<usize> {
    usize::try_from(offset).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "byte offset too large"))
}
