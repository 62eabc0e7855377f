//! The local-filesystem side of the store, done by hand on known paths because
//! object_store neither fsyncs nor exposes the file it writes through:
//!
//! * [`LocalWriter`] appends chunks to `staging/<uuid>` on a blocking worker, and on
//!   commit fsyncs the file and the staging directory, renames it into
//!   `blobs/xx/<key>` (atomic on one filesystem), then fsyncs both directories. A
//!   writer dropped before commit removes its file; a crash leaves it for
//!   `sweep_temporary`.
//! * [`read`] streams a file or a byte range of it in 256 KiB chunks from a blocking
//!   worker with a short read-ahead, so memory stays bounded (object_store's local
//!   reader issues 8 KiB reads, too small for multi-GiB downloads).
//!
//! Image bytes may be private: directories are created owner-only (0700) and
//! files 0600, set as they are created (never chmod-ed afterwards, and without
//! touching the process umask).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use imagery_core::ports::{BlobWriter, ByteStream};
use tokio::sync::{mpsc, oneshot};

use crate::error::join_failed;
use crate::layout;
use crate::pipe::{self, ChunkSender};

/// Bytes queued for the write worker at most.
const WRITE_BUDGET: u32 = 4 << 20;
const READ_CHUNK: u64 = 256 << 10;
const READ_AHEAD_CHUNKS: usize = 4;

pub(crate) struct LocalWriter {
    root: PathBuf,
    temp_key: String,
    file_path: PathBuf,
    chunks: Option<ChunkSender>,
    /// The worker hands back the file once the channel closes, or its first error.
    written: Option<oneshot::Receiver<io::Result<File>>>,
}

impl LocalWriter {
    pub(crate) async fn begin(root: &Path) -> io::Result<Self> {
        let temp_key = layout::staging_location(uuid::Uuid::new_v4());
        let file_path = root.join(&temp_key);
        let path = file_path.clone();
        let file = tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                create_private_dir_all(dir)?;
            }
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            options.open(&path)
        })
        .await
        .map_err(join_failed)??;

        let (chunks, mut rx) = pipe::channel(WRITE_BUDGET);
        let (written_tx, written) = oneshot::channel();
        let path = file_path.clone();
        tokio::task::spawn_blocking(move || {
            let mut file = file;
            let mut append = || -> io::Result<()> {
                while let Some(batch) = rx.blocking_recv() {
                    for chunk in &batch.chunks {
                        file.write_all(chunk)?;
                    }
                }
                Ok(())
            };
            let outcome = append();
            // Close the channel before reporting, so a sender waiting for budget wakes.
            drop(rx);
            if written_tx.send(outcome.map(|()| file)).is_err() {
                // The writer was dropped without commit or abort: clean up.
                let _ = fs::remove_file(&path);
            }
        });
        Ok(LocalWriter { root: root.to_path_buf(), temp_key, file_path, chunks: Some(chunks), written: Some(written) })
    }

    /// Close the channel and wait for the worker: the written file, or why it failed.
    async fn close(&mut self) -> io::Result<File> {
        if let Some(chunks) = self.chunks.take() {
            // A closed channel means the worker failed: its error is reported below.
            let _ = chunks.close().await;
        }
        let written = self.written.take().ok_or_else(|| io::Error::other("the write was already closed"))?;
        written.await.map_err(|_| io::Error::other("the blob write worker stopped unexpectedly"))?
    }
}

/// A writer dropped before `commit` or `abort` (its request was cancelled: the
/// client went away, a shutdown deadline passed) removes its file. The result
/// channel closes first, so that the worker, seeing the end of the chunks, finds
/// nobody waiting for the file and removes it (whatever the order the fields
/// would be dropped in).
impl Drop for LocalWriter {
    fn drop(&mut self) {
        drop(self.written.take());
        drop(self.chunks.take());
    }
}

#[async_trait]
impl BlobWriter for LocalWriter {
    fn temp_key(&self) -> &str {
        &self.temp_key
    }

    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let sent = match &mut self.chunks {
            Some(chunks) => chunks.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The worker stopped: this write cannot complete any more. Report why, and
        // drop the partial temporary object now rather than at the next sweep.
        let failure = match self.close().await {
            Err(e) => e,
            Ok(_) => io::Error::other("the blob write worker stopped unexpectedly"),
        };
        let _ = tokio::fs::remove_file(&self.file_path).await;
        Err(failure)
    }

    async fn commit(mut self: Box<Self>, key: &str) -> io::Result<()> {
        let destination = self.root.join(layout::blob_location(key)?);
        let staged = self.file_path.clone();
        let file = match self.close().await {
            Ok(file) => file,
            Err(e) => {
                let _ = tokio::fs::remove_file(&staged).await;
                return Err(e);
            }
        };
        let published = tokio::task::spawn_blocking({
            let staged = staged.clone();
            move || publish(file, &staged, &destination)
        })
        .await
        .map_err(join_failed)
        .and_then(|r| r);
        if published.is_err() {
            let _ = tokio::fs::remove_file(&staged).await;
        }
        published
    }

    async fn abort(mut self: Box<Self>) {
        let _ = self.close().await;
        let _ = tokio::fs::remove_file(&self.file_path).await;
    }
}

/// Make `staged` durable, then move it to `destination` atomically and durably.
fn publish(file: File, staged: &Path, destination: &Path) -> io::Result<()> {
    file.sync_all()?;
    drop(file);
    let staging_dir = parent(staged)?;
    sync_dir(staging_dir)?;
    let blob_dir = parent(destination)?;
    if !blob_dir.is_dir() {
        create_private_dir_all(blob_dir)?;
        // The new shard directory's own entry must survive a crash too.
        sync_dir(parent(blob_dir)?)?;
    }
    fs::rename(staged, destination)?;
    sync_dir(blob_dir)?;
    sync_dir(staging_dir)
}

fn parent(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))
}

/// `create_dir_all`, with every directory it creates owner-only.
pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Stream the file at `path`, or `range` of it (clamped to its end; a non-empty range
/// starting at or past the end is `InvalidInput`).
pub(crate) async fn read(path: PathBuf, range: Option<Range<u64>>) -> io::Result<ByteStream> {
    let (file, len) = tokio::task::spawn_blocking(move || -> io::Result<(File, u64)> {
        let mut file = File::open(&path)?;
        let size = file.metadata()?.len();
        let range = resolve_range(range, size)?;
        file.seek(SeekFrom::Start(range.start))?;
        Ok((file, range.end - range.start))
    })
    .await
    .map_err(join_failed)??;

    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(READ_AHEAD_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        let mut remaining = len;
        while remaining > 0 {
            let want = remaining.min(READ_CHUNK);
            let mut buf = Vec::with_capacity(want as usize);
            let item = match (&mut file).take(want).read_to_end(&mut buf) {
                Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "blob is shorter than expected")),
                Ok(n) => {
                    remaining -= n as u64;
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            // A send error means the reader went away: stop reading.
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    Ok(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed())
}

pub(crate) fn resolve_range(range: Option<Range<u64>>, size: u64) -> io::Result<Range<u64>> {
    let Some(range) = range else {
        return Ok(0..size);
    };
    if range.start > range.end {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "byte range ends before it starts"));
    }
    if range.is_empty() {
        return Ok(range.start.min(size)..range.start.min(size));
    }
    if range.start >= size {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "byte range starts past the end of the blob"));
    }
    Ok(range.start..range.end.min(size))
}
