//! Writes through object_store to S3 (and the in-memory store): a streaming multipart
//! upload of the temporary object `staging/<uuid>`, cut into parts by a
//! [`PartPlan`] chosen from the declared size, with a few parts in flight; on commit
//! the upload is completed (durable from then on), copied to the content address and
//! the temporary object deleted.
//!
//! An object smaller than one part (8 MiB at least) never starts a multipart upload:
//! it is buffered and committed with one PUT straight to its content address, atomic
//! on S3 — no temporary object, no copy.
//!
//! The copy is a single CopyObject up to 5 GiB and a multipart copy (UploadPartCopy,
//! server-side ranges) above. Copying is what keeps commits atomic: the content
//! address is known only once the last byte is hashed, and S3 has no rename, so the
//! object is uploaded under a temporary name and appears under its final name whole,
//! or not at all. (On Garage a copy only references the stored blocks.)
//!
//! Aborting, dropping the writer, or any failure aborts the multipart upload; those a
//! crash leaves behind are aborted by `sweep_temporary` once idle past the grace period.
//!
//! Memory per write: the part being filled plus at most 64 MiB of parts in flight
//! (always at least one part): 40 MiB for an upload in 8 MiB parts, about 234 MiB
//! for a declared 1 TiB (117 MiB parts).

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use imagery_core::ports::BlobWriter;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, PutPayload};
use tokio::task::JoinSet;

use crate::error::{join_failed, to_io};
use crate::layout;
use crate::parts::{self, CopyPlan, PartPlan};
use crate::s3::S3Bucket;

pub(crate) struct MultipartWriter {
    store: Arc<dyn ObjectStore>,
    /// Set for S3: large objects are committed by multipart copy.
    s3: Option<(Arc<S3Bucket>, CopyPlan)>,
    temp_key: String,
    /// Started with the first full part.
    upload: Option<Box<dyn MultipartUpload>>,
    /// Committed or aborted: no more writes.
    closed: bool,
    plan: PartPlan,
    /// Chunks of the part being filled.
    filling: Vec<Bytes>,
    filled: u64,
    /// Parts handed to the upload so far.
    parts: u32,
    in_flight: JoinSet<object_store::Result<()>>,
    written: u64,
}

impl MultipartWriter {
    pub(crate) fn begin(store: Arc<dyn ObjectStore>, s3: Option<(Arc<S3Bucket>, CopyPlan)>, expected_size: Option<u64>) -> Self {
        MultipartWriter {
            store,
            s3,
            temp_key: layout::staging_location(uuid::Uuid::new_v4()),
            upload: None,
            closed: false,
            plan: PartPlan::for_size(expected_size),
            filling: Vec::new(),
            filled: 0,
            parts: 0,
            in_flight: JoinSet::new(),
            written: 0,
        }
    }

    /// Hand the filled part to the upload, waiting while too many are in flight.
    async fn send_part(&mut self, part: Vec<Bytes>) -> io::Result<()> {
        if self.parts >= parts::MAX_PARTS {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("the upload exceeds the {} parts of one S3 multipart upload", parts::MAX_PARTS),
            ));
        }
        let limit = self.plan.parts_in_flight(self.parts);
        while self.in_flight.len() >= limit {
            self.settle_one().await?;
        }
        if self.upload.is_none() {
            self.upload = Some(self.store.put_multipart(&Path::from(self.temp_key.as_str())).await.map_err(to_io)?);
        }
        let upload = self.upload.as_mut().ok_or_else(closed)?;
        let payload: PutPayload = part.into_iter().collect();
        self.in_flight.spawn(upload.put_part(payload));
        self.parts += 1;
        Ok(())
    }

    /// Wait for one part in flight; its failure fails the write.
    async fn settle_one(&mut self) -> io::Result<()> {
        match self.in_flight.join_next().await {
            None => Ok(()),
            Some(joined) => joined.map_err(join_failed)?.map_err(to_io),
        }
    }

    /// Send what is buffered as the last part, wait for every part and complete the
    /// upload: from here on the temporary object is durable.
    async fn finish(&mut self) -> io::Result<()> {
        if self.filled > 0 {
            let last = std::mem::take(&mut self.filling);
            self.filled = 0;
            self.send_part(last).await?;
        }
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        let mut upload = self.upload.take().ok_or_else(closed)?;
        if let Err(e) = upload.complete().await {
            let _ = upload.abort().await;
            return Err(to_io(e));
        }
        Ok(())
    }

    /// Abort the multipart upload, if still open.
    async fn abort_upload(&mut self) {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        if let Some(mut upload) = self.upload.take() {
            if let Err(e) = upload.abort().await {
                tracing::warn!(temp_key = %self.temp_key, error = %e, "could not abort a multipart upload; the sweep will");
            }
        }
    }

    async fn delete_staged(&mut self) {
        match self.store.delete(&Path::from(self.temp_key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            // The blob is published or the write failed either way; the sweep removes it later.
            Err(e) => tracing::warn!(temp_key = %self.temp_key, error = %e, "could not delete a temporary object"),
        }
    }

    async fn publish(&mut self, destination: &str) -> io::Result<()> {
        let staged = Path::from(self.temp_key.as_str());
        match &self.s3 {
            Some((s3, plan)) if plan.is_multipart(self.written) => {
                s3.multipart_copy(&self.temp_key, destination, self.written, plan.part_size(self.written)).await
            }
            _ => self.store.copy(&staged, &Path::from(destination)).await.map_err(to_io),
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the write was already closed")
}

#[async_trait]
impl BlobWriter for MultipartWriter {
    fn temp_key(&self) -> &str {
        &self.temp_key
    }

    async fn write(&mut self, mut chunk: Bytes) -> io::Result<()> {
        if self.closed {
            return Err(closed());
        }
        self.written += chunk.len() as u64;
        while !chunk.is_empty() {
            let room = self.plan.part_size(self.parts) - self.filled;
            let take = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
            let piece = chunk.split_to(take);
            self.filled += piece.len() as u64;
            self.filling.push(piece);
            if self.filled == self.plan.part_size(self.parts) {
                let part = std::mem::take(&mut self.filling);
                self.filled = 0;
                if let Err(e) = self.send_part(part).await {
                    // This write is over: later calls must not start a new upload.
                    self.closed = true;
                    self.abort_upload().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, key: &str) -> io::Result<()> {
        if self.closed {
            return Err(closed());
        }
        self.closed = true;
        let destination = layout::blob_location(key)?;
        if self.upload.is_none() {
            // Smaller than one part: one atomic PUT, straight to the content address.
            let payload: PutPayload = std::mem::take(&mut self.filling).into_iter().collect();
            return self.store.put(&Path::from(destination), payload).await.map(|_| ()).map_err(to_io);
        }
        if let Err(e) = self.finish().await {
            self.abort_upload().await;
            return Err(e);
        }
        let published = self.publish(&destination).await;
        self.delete_staged().await;
        published
    }

    async fn abort(mut self: Box<Self>) {
        self.closed = true;
        self.abort_upload().await;
    }
}

impl Drop for MultipartWriter {
    fn drop(&mut self) {
        self.in_flight.abort_all();
        if let Some(mut upload) = self.upload.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = upload.abort().await;
                });
            }
        }
    }
}
