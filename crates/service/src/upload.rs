//! The upload pipeline: one pass over the incoming bytes feeds the blob writer,
//! the hashers (MD5 and SHA-512 on their own threads) and the format inspector, in
//! constant memory. The bytes become visible under their content address only once
//! they are durable; the caller flips the catalog row afterwards.

use futures::StreamExt;
use imagery_core::ports::ByteStream;
use imagery_core::{DomainError, DomainResult, ImageData};
use imagery_inspect::{Inspection, Inspector};
use imagery_store::UploadHasher;

use crate::{io_failure, ImageService};

/// What a finished write produced.
pub(crate) struct StoredBytes {
    pub data: ImageData,
    pub inspection: Inspection,
}

pub(crate) struct WriteLimits {
    /// Stop with 413 beyond this many bytes.
    pub max_bytes: u64,
    /// The client's announced size (`x-openstack-image-size`), checked at the end.
    pub expected_size: Option<u64>,
    /// Message used when `max_bytes` is exceeded.
    pub over_limit_message: String,
}

impl ImageService {
    /// Stream `body` into a new blob. On any error nothing is published and the
    /// temporary object is removed.
    pub(crate) async fn write_blob(
        &self,
        mut body: ByteStream,
        limits: WriteLimits,
        on_start: impl FnOnce(&str),
    ) -> DomainResult<StoredBytes> {
        let mut writer = self.blobs.begin_write().await.map_err(|e| io_failure("begin write", e))?;
        on_start(writer.temp_key());
        let mut hasher = UploadHasher::new().map_err(|e| io_failure("start hashing", e))?;
        let mut inspector = Inspector::new();
        let mut total: u64 = 0;
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Ok(chunk)) => chunk,
                Some(Err(err)) => {
                    tracing::warn!(%err, "upload body ended with an error");
                    break Some(DomainError::BadRequest("The request body could not be read completely.".into()));
                }
            };
            if chunk.is_empty() {
                continue;
            }
            total += chunk.len() as u64;
            if total > limits.max_bytes {
                break Some(DomainError::OverLimit(limits.over_limit_message.clone()));
            }
            inspector.feed(&chunk);
            if let Err(err) = hasher.update(&chunk).await {
                break Some(io_failure("hash", err));
            }
            if let Err(err) = writer.write(chunk).await {
                break Some(io_failure("write", err));
            }
        };
        if let Some(err) = failure {
            writer.abort().await;
            return Err(err);
        }
        if let Some(expected) = limits.expected_size {
            if expected != total {
                writer.abort().await;
                return Err(DomainError::BadRequest(format!("Size mismatch: the request announced {expected} bytes but carried {total}.")));
            }
        }
        let digests = match hasher.finish().await {
            Ok(d) => d,
            Err(err) => {
                writer.abort().await;
                return Err(io_failure("hash", err));
            }
        };
        let inspection = inspector.finish(total);
        let blob_key = digests.sha512_hex.clone();
        if let Err(err) = writer.commit(&blob_key).await {
            return Err(io_failure("commit", err));
        }
        let data = ImageData {
            blob_key,
            size: total as i64,
            checksum: digests.md5_hex,
            os_hash_algo: "sha512".into(),
            os_hash_value: digests.sha512_hex,
            virtual_size: None,
        };
        Ok(StoredBytes { data, inspection })
    }

    /// Glance's format rule: the bytes must be what `disk_format` says (when the
    /// container is `bare`) and must pass the safety checks. Returns the virtual
    /// size to record.
    pub(crate) fn check_format(
        &self,
        container_format: Option<&str>,
        disk_format: Option<&str>,
        inspection: &Inspection,
    ) -> DomainResult<Option<i64>> {
        if container_format != Some("bare") {
            return Ok(None);
        }
        let declared = disk_format.unwrap_or("raw");
        match imagery_inspect::check_declared(declared, inspection) {
            Ok(virtual_size) => Ok(virtual_size.and_then(|v| i64::try_from(v).ok())),
            Err(msg) if self.config.require_image_format_match || msg.contains("safety") => Err(DomainError::InvalidImageData(msg)),
            Err(msg) => {
                tracing::warn!(%msg, "accepting image whose data does not match its disk_format");
                Ok(None)
            }
        }
    }
}
