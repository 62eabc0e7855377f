//! The upload pipeline: one pass over the incoming bytes feeds the blob writer,
//! the hashers (MD5 and SHA-512 on their own threads) and the format inspector, in
//! constant memory. The bytes become visible under their content address only once
//! they are durable and admitted; the caller flips the catalog row afterwards.
//!
//! [`ImageService::admit`] is the one place that decides whether bytes may back an
//! image — on every path that brings bytes in (upload, stage, import, web-download,
//! an image made from another image's bytes, any dialect).

use futures::StreamExt;
use imagery_core::ports::ByteStream;
use imagery_core::time::now;
use imagery_core::{ByteLimit, DataRefusal, DomainError, DomainResult, Image, ImageData, Problem};
use imagery_inspect::{DiskFormat, Inspection, Inspector, Refusal};
use imagery_store::UploadHasher;
use serde::{Deserialize, Serialize};

use crate::{backend, io_failure, ImageService};

pub(crate) struct WriteLimits {
    /// Stop with 413 beyond this many bytes.
    pub max_bytes: u64,
    /// The client's announced size (`x-openstack-image-size`), checked at the end.
    pub expected_size: Option<u64>,
    /// What to say when `max_bytes` is exceeded.
    pub over_limit: Problem,
}

/// Which budget an incoming write counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Image data (`image_size_total`).
    Stored,
    /// glance-direct staging (`image_stage_total`).
    Staged,
}

/// What bytes must be to be kept.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Admission<'a> {
    /// Data of an image with these formats: safety always, the format match for `bare`.
    Image { container_format: Option<&'a str>, disk_format: Option<&'a str> },
    /// Staged bytes whose image's formats may still change: safety only (the
    /// match is decided at import).
    Staging,
}

impl<'a> Admission<'a> {
    pub fn of(image: &'a Image) -> Self {
        Admission::Image { container_format: image.container_format.as_deref(), disk_format: image.disk_format.as_deref() }
    }
}

/// What the inspector found, as recorded with the image ([`imagery_core::image::INSPECTION_KEY`]).
/// Only admitted bytes are ever recorded, so a record means "safe".
#[derive(Debug, Serialize, Deserialize)]
struct Recorded {
    format: String,
    virtual_size: Option<u64>,
}

pub(crate) fn record(inspection: &Inspection) -> Option<String> {
    serde_json::to_string(&Recorded { format: inspection.format.as_str().into(), virtual_size: inspection.virtual_size }).ok()
}

/// The inspection recorded with `data`, if there is a readable one.
pub(crate) fn recorded_inspection(data: &ImageData) -> Option<Inspection> {
    let recorded: Recorded = serde_json::from_str(data.inspection.as_deref()?).ok()?;
    Some(Inspection {
        format: DiskFormat::from_name(&recorded.format)?,
        virtual_size: recorded.virtual_size,
        safety: Ok(()),
        byte_count: u64::try_from(data.size).ok()?,
    })
}

fn data_refusal(refusal: Refusal) -> DataRefusal {
    match refusal {
        Refusal::Unsafe { format, reason } => DataRefusal::Unsafe { format: format.as_str().into(), reason },
        Refusal::Mismatch { declared, detected } => DataRefusal::Mismatch { declared, detected: detected.as_str().into() },
    }
}

/// How long a deletion lease protects a blob the collector is removing; one
/// older than this is presumed dead (its node crashed) and a claim takes over.
pub(crate) const DELETION_LEASE: std::time::Duration = std::time::Duration::from_secs(600);
const CLAIM_RETRY: std::time::Duration = std::time::Duration::from_millis(50);
const CLAIM_ATTEMPTS: usize = 600;

impl ImageService {
    /// The one verdict on bytes for an image: the inspector's safety checks for
    /// every container format, and Glance's format match for `bare` (enforced, or
    /// only logged when the operator turned `require_image_format_match` off).
    /// Returns the virtual size to record.
    pub(crate) fn admit(&self, admission: Admission<'_>, inspection: &Inspection) -> DomainResult<Option<i64>> {
        let verdict = match admission {
            Admission::Staging => imagery_inspect::check_safety(inspection).map(|()| None),
            Admission::Image { container_format, disk_format } => {
                imagery_inspect::judge(container_format.unwrap_or("bare"), disk_format.unwrap_or("raw"), inspection)
            }
        };
        match verdict {
            Ok(virtual_size) => Ok(virtual_size.and_then(|v| i64::try_from(v).ok())),
            Err(refusal @ Refusal::Unsafe { .. }) => {
                tracing::warn!(%refusal, format = %inspection.format, "refusing unsafe image data");
                Err(DomainError::InvalidImageData(Problem::ImageData(data_refusal(refusal))))
            }
            Err(refusal) if self.config.require_image_format_match => {
                Err(DomainError::InvalidImageData(Problem::ImageData(data_refusal(refusal))))
            }
            Err(refusal) => {
                tracing::warn!(%refusal, "accepting image whose data does not match its disk_format");
                Ok(None)
            }
        }
    }

    /// How many bytes may come in for an image of `owner` under the size cap and
    /// the project's quota for `budget`, and what to say beyond that.
    pub(crate) async fn write_limits(&self, owner: Option<&str>, budget: Budget, expected_size: Option<u64>) -> DomainResult<WriteLimits> {
        let cap = self.config.image_size_cap;
        let size_cap =
            || WriteLimits { max_bytes: cap, expected_size, over_limit: Problem::TooManyBytes { by: ByteLimit::SizeCap, limit: cap } };
        let Some(owner) = owner else {
            return Ok(size_cap());
        };
        let quotas = self.config.quota_for(owner);
        let (quota, by) = match budget {
            Budget::Stored => (quotas.image_size_total, ByteLimit::StorageQuota),
            Budget::Staged => (quotas.image_stage_total, ByteLimit::StagingQuota),
        };
        let Some(quota) = quota else {
            return Ok(size_cap());
        };
        let usage = self.catalog.usage(owner).await.map_err(backend)?;
        let used = match budget {
            Budget::Stored => usage.stored_bytes,
            Budget::Staged => usage.staged_bytes,
        };
        let left = u64::try_from(quota.saturating_sub(used)).unwrap_or(0);
        if left < cap {
            let limit = u64::try_from(quota).unwrap_or(0);
            return Ok(WriteLimits { max_bytes: left, expected_size, over_limit: Problem::TooManyBytes { by, limit } });
        }
        Ok(size_cap())
    }

    /// Stream `body` into a new blob, inspecting it on the way, and keep it only if
    /// [`admit`](Self::admit) accepts it. On any error nothing is published and the
    /// temporary object is removed.
    pub(crate) async fn write_blob(&self, mut body: ByteStream, limits: WriteLimits, admission: Admission<'_>) -> DomainResult<ImageData> {
        let mut writer = self.blobs.begin_write_sized(limits.expected_size).await.map_err(|e| io_failure("begin write", e))?;
        let mut hasher = UploadHasher::new().map_err(|e| io_failure("start hashing", e))?;
        let mut inspector = Inspector::new();
        let mut total: u64 = 0;
        let _in_flight = crate::telemetry::Transfer::start("upload");
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Ok(chunk)) => chunk,
                Some(Err(err)) => {
                    if let Some(failure) = crate::fetch::source_failure(&err) {
                        // A fetched source's own failure (stalled, too slow, broken off), naming its URL.
                        break Some(failure);
                    }
                    tracing::warn!(%err, "upload body ended with an error");
                    break Some(DomainError::BadRequest("The request body could not be read completely.".into()));
                }
            };
            if chunk.is_empty() {
                continue;
            }
            total += chunk.len() as u64;
            metrics::counter!("imagery_bytes_uploaded_total").increment(chunk.len() as u64);
            if total > limits.max_bytes {
                break Some(DomainError::OverLimit(limits.over_limit.clone()));
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
                return Err(DomainError::BadRequest(
                    format!("Size mismatch: the request announced {expected} bytes but carried {total}.").into(),
                ));
            }
        }
        let inspection = inspector.finish(total);
        let virtual_size = match self.admit(admission, &inspection) {
            Ok(v) => v,
            Err(err) => {
                writer.abort().await;
                return Err(err);
            }
        };
        let digests = match hasher.finish().await {
            Ok(d) => d,
            Err(err) => {
                writer.abort().await;
                return Err(io_failure("hash", err));
            }
        };
        let blob_key = digests.sha512_hex.clone();
        if let Err(err) = self.claim_blob(&blob_key).await {
            writer.abort().await;
            return Err(err);
        }
        if let Err(err) = writer.commit(&blob_key).await {
            return Err(io_failure("commit", err));
        }
        Ok(ImageData {
            blob_key,
            size: total as i64,
            checksum: digests.md5_hex,
            os_hash_algo: "sha512".into(),
            os_hash_value: digests.sha512_hex,
            virtual_size,
            inspection: record(&inspection),
        })
    }

    /// Claim `blob_key` before publishing (or sharing) bytes under it: a garbage
    /// collection deleting the same content address finishes first, then the
    /// bytes are published again — never deleted under a fresh image.
    pub(crate) async fn claim_blob(&self, blob_key: &str) -> DomainResult<()> {
        for _ in 0..CLAIM_ATTEMPTS {
            let t = now();
            let stale = t - chrono::Duration::from_std(DELETION_LEASE).unwrap_or(chrono::Duration::MAX);
            if self.catalog.claim_blob(blob_key, t, stale).await.map_err(backend)? {
                return Ok(());
            }
            tokio::time::sleep(CLAIM_RETRY).await;
        }
        Err(DomainError::Unavailable("The image store is busy removing identical data; retry the request.".into()))
    }

    /// Inspect bytes already in the store (data recorded before inspections were
    /// kept with images), streaming them once.
    pub(crate) async fn inspect_stored(&self, data: &ImageData) -> DomainResult<Inspection> {
        if let Some(found) = recorded_inspection(data) {
            return Ok(found);
        }
        let mut body = self.blobs.read(&data.blob_key, None).await.map_err(|e| io_failure("read", e))?;
        let mut inspector = Inspector::new();
        let mut total: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| io_failure("read", e))?;
            total += chunk.len() as u64;
            inspector.feed(&chunk);
        }
        Ok(inspector.finish(total))
    }
}
