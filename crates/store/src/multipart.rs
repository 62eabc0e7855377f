//! Writes through any object_store backend (S3, in-memory): a streaming multipart
//! upload of the temporary object in fixed-size parts with at most two parts in
//! flight, then a copy to the final key and a delete of the temporary one on commit.
//! Memory per write is bounded by three parts (S3's 5 MiB minimum part size each).
//!
//! A completed multipart upload is durable, and only then is the blob copied into
//! place. Uploads dropped before commit are aborted in the background; uploads a
//! crash leaves incomplete are invisible to listings and need the bucket's
//! "abort incomplete multipart uploads" lifecycle rule.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use imagery_core::ports::BlobWriter;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};

use crate::error::to_io;
use crate::layout;

const PART_SIZE: usize = 5 << 20;
const PARTS_IN_FLIGHT: usize = 2;

pub(crate) struct MultipartWriter {
    store: Arc<dyn ObjectStore>,
    temp_key: String,
    upload: Option<WriteMultipart>,
}

impl MultipartWriter {
    pub(crate) async fn begin(store: Arc<dyn ObjectStore>) -> io::Result<Self> {
        let temp_key = layout::staging_location(uuid::Uuid::new_v4());
        let upload = store.put_multipart(&Path::from(temp_key.as_str())).await.map_err(to_io)?;
        Ok(MultipartWriter { store, temp_key, upload: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)) })
    }

    fn upload(&mut self) -> io::Result<&mut WriteMultipart> {
        self.upload.as_mut().ok_or_else(|| io::Error::other("the write was already closed"))
    }
}

#[async_trait]
impl BlobWriter for MultipartWriter {
    fn temp_key(&self) -> &str {
        &self.temp_key
    }

    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let upload = self.upload()?;
        upload.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(to_io)?;
        upload.put(chunk);
        Ok(())
    }

    async fn commit(mut self: Box<Self>, key: &str) -> io::Result<()> {
        let destination = Path::from(layout::blob_location(key)?);
        let staged = Path::from(self.temp_key.as_str());
        let upload = self.upload.take().ok_or_else(|| io::Error::other("the write was already closed"))?;
        upload.finish().await.map_err(to_io)?;
        if let Err(e) = self.store.copy(&staged, &destination).await {
            let _ = self.store.delete(&staged).await;
            return Err(to_io(e));
        }
        match self.store.delete(&staged).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            // The blob is published; the leftover temporary object is swept later.
            Err(e) => {
                tracing::warn!(temp_key = %self.temp_key, error = %e, "could not delete a committed temporary object");
                Ok(())
            }
        }
    }

    async fn abort(mut self: Box<Self>) {
        if let Some(upload) = self.upload.take() {
            let _ = upload.abort().await;
        }
        let _ = self.store.delete(&Path::from(self.temp_key.as_str())).await;
    }
}

impl Drop for MultipartWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = upload.abort().await;
                });
            }
        }
    }
}
