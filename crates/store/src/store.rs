//! [`ObjectBlobStore`], the `BlobStore` port on object_store: listing, deleting and
//! sweeping go through object_store for every backend; writes and reads on the local
//! filesystem go through [`crate::local`] (for fsync and large reads), elsewhere
//! through multipart uploads ([`crate::multipart`]) and ranged GETs. On S3 the sweep
//! also aborts multipart uploads a crash left behind.

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
use crate::parts::CopyPlan;
use crate::s3::S3Bucket;

/// A blob store on an object_store backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    /// Writes, listings and deletes.
    store: Arc<dyn ObjectStore>,
    /// Downloads: the same backend, without a whole-request timeout (a download of
    /// a large image takes as long as the client reads).
    reads: Arc<dyn ObjectStore>,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    /// The local filesystem, rooted at this directory.
    Local(PathBuf),
    /// An S3 bucket, for the calls object_store lacks.
    S3(Arc<S3Bucket>, CopyPlan),
    /// Any other object_store backend (in memory).
    Other,
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
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&root).map_err(to_io)?);
        Ok(ObjectBlobStore { reads: store.clone(), store, backend: Backend::Local(root) })
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Self {
        Self::remote(Arc::new(InMemory::new()))
    }

    /// A store on any other object_store backend: writes are multipart uploads
    /// committed by copy + delete.
    pub fn remote(store: Arc<dyn ObjectStore>) -> Self {
        ObjectBlobStore { reads: store.clone(), store, backend: Backend::Other }
    }

    /// A store on an S3 bucket (see [`crate::open`]).
    pub(crate) fn s3(store: Arc<dyn ObjectStore>, reads: Arc<dyn ObjectStore>, bucket: Arc<S3Bucket>) -> Self {
        ObjectBlobStore { store, reads, backend: Backend::S3(bucket, CopyPlan::default()) }
    }

    /// Use `plan` to copy committed objects to their content address (S3 only; the
    /// default copies up to 5 GiB at once). Tests lower it to exercise multipart copies.
    pub fn with_copy_plan(mut self, plan: CopyPlan) -> Self {
        if let Backend::S3(_, current) = &mut self.backend {
            *current = plan;
        }
        self
    }

    /// Start a write of `expected_size` bytes, when the size is known beforehand (a
    /// Content-Length): on S3 it picks the part size, so that any size up to the
    /// 5 TiB object limit fits in one multipart upload with the least memory.
    async fn start_write(&self, expected_size: Option<u64>) -> io::Result<Box<dyn BlobWriter>> {
        Ok(match &self.backend {
            Backend::Local(root) => Box::new(LocalWriter::begin(root).await?),
            Backend::S3(bucket, plan) => Box::new(MultipartWriter::begin(self.store.clone(), Some((bucket.clone(), *plan)), expected_size)),
            Backend::Other => Box::new(MultipartWriter::begin(self.store.clone(), None, expected_size)),
        })
    }

    /// Abort the multipart uploads idle since before `older_than` (S3 only). Idle is
    /// dated by the upload's last part, so the grace period must exceed the time the
    /// slowest client takes to fill one part (8 MiB or more), or its upload is
    /// aborted under it (and fails cleanly).
    async fn abort_stale_uploads(&self, bucket: &S3Bucket, older_than: Timestamp) -> io::Result<usize> {
        let mut aborted = 0;
        // Under `staging/`: writes a crash interrupted. Under `blobs/`: multipart
        // copies a crash interrupted (never visible: an incomplete upload is no object).
        for area in [layout::STAGING, layout::BLOBS] {
            for upload in bucket.pending_uploads(&format!("{area}/")).await? {
                // Started before the cutoff is not enough: a long upload may still be
                // sending parts.
                if upload.initiated >= older_than || bucket.last_activity(&upload).await? >= older_than {
                    continue;
                }
                bucket.abort(&upload.location, &upload.upload_id).await?;
                tracing::info!(location = %upload.location, initiated = %upload.initiated, "aborted an abandoned multipart upload");
                aborted += 1;
            }
        }
        Ok(aborted)
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn begin_write(&self) -> io::Result<Box<dyn BlobWriter>> {
        self.start_write(None).await
    }

    async fn begin_write_sized(&self, expected_size: Option<u64>) -> io::Result<Box<dyn BlobWriter>> {
        self.start_write(expected_size).await
    }

    async fn read(&self, key: &str, range: Option<Range<u64>>) -> io::Result<ByteStream> {
        let location = layout::blob_location(key)?;
        if let Backend::Local(root) = &self.backend {
            return local::read(root.join(location), range).await;
        }
        let location = Path::from(location);
        let get_range = match range {
            None => None,
            Some(r) if r.start > r.end => return Err(io::Error::new(io::ErrorKind::InvalidInput, "byte range ends before it starts")),
            Some(r) if r.is_empty() => {
                // object_store refuses empty ranges; the object must still exist.
                self.reads.head(&location).await.map_err(to_io)?;
                return Ok(futures::stream::empty().boxed());
            }
            Some(r) => Some(GetRange::Bounded(to_usize(r.start)?..to_usize(r.end)?)),
        };
        let options = GetOptions { range: get_range, ..GetOptions::default() };
        let result = self.reads.get_opts(&location, options).await.map_err(to_io)?;
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
        if let Backend::S3(bucket, _) = &self.backend {
            removed += self.abort_stale_uploads(bucket, older_than).await?;
        }
        Ok(removed)
    }
}

fn to_usize(offset: u64) -> io::Result<usize> {
    usize::try_from(offset).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "byte offset too large"))
}
