//! Image data use cases: upload, download, glance-direct staging, interoperable
//! import, and the housekeeping that keeps the store consistent after crashes.

use std::sync::Arc;

use imagery_core::cluster::{node_lease, Job, GC_LEASE};
use imagery_core::policy;
use imagery_core::ports::ByteStream;
use imagery_core::query::{ListQuery, ListScope};
use imagery_core::time::now;
use imagery_core::{Caller, DomainError, DomainResult, Image, ImageData, ImageStatus, Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::{ImportInput, ImportSource, JobOrigin, IMPORT_JOB};
use crate::upload::{Admission, Budget};
use crate::{backend, io_failure, ImageService};

/// How long one garbage collection may hold the cluster-wide lease between renewals.
const GC_LEASE_TERM: chrono::Duration = chrono::Duration::minutes(10);

/// Reserved properties used by the data path.
const UPLOAD_NODE: &str = "upload_node";
const STAGED: &str = "staged";

/// A byte range as HTTP asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadRange {
    /// `bytes=a-b` (inclusive end).
    FromTo(u64, u64),
    /// `bytes=a-`
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

pub struct Download {
    pub image: Image,
    /// `None` when the image has no data yet.
    pub body: Option<ByteStream>,
    /// The satisfied range `(first, last)` inclusive, when a range was asked for.
    pub range: Option<(u64, u64)>,
    pub total_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportMethod {
    GlanceDirect,
    WebDownload { uri: String },
    CopyImage,
}

/// Data staged by glance-direct, waiting for `import`. Staging admitted it as
/// safe; whether it matches `disk_format` is decided at import, when the format
/// must be set. Records written by older versions carry extra fields, ignored.
#[derive(Serialize, Deserialize)]
struct Staged {
    data: ImageData,
}

/// Why the last import of an image failed (a reserved property), for dialects
/// that show a reason (Glance only shows `os_glance_failed_import`).
pub const IMPORT_ERROR: &str = "import_error";

impl ImageService {
    pub async fn upload(&self, caller: &Caller, id: Uuid, body: ByteStream, expected_size: Option<u64>) -> DomainResult<Image> {
        let (image, _) = self.visible_image(caller, id).await?;
        policy::require_modify(caller, &image)?;
        if image.container_format.is_none() || image.disk_format.is_none() {
            return Err(DomainError::BadRequest("Properties disk_format, container_format must be set prior to saving data.".into()));
        }
        if image.status != ImageStatus::Queued {
            return Err(DomainError::Conflict(Problem::Transition { from: image.status, to: ImageStatus::Saving }));
        }
        let limits = self.write_limits(image.owner.as_deref(), Budget::Stored, expected_size).await?;
        let node = self.config.node_id.clone();
        let _in_flight = self.in_flight.enter(id);
        let claimed = self
            .transition(id, ImageStatus::Saving, |img| {
                if img.status != ImageStatus::Queued {
                    return Err(DomainError::Conflict(Problem::Transition { from: img.status, to: ImageStatus::Saving }));
                }
                img.set_reserved(UPLOAD_NODE, node.clone());
                Ok(true)
            })
            .await?;
        if claimed.is_none() {
            return Err(DomainError::image_not_found(id));
        }
        match self.write_blob(body, limits, Admission::of(&image)).await {
            Ok(data) => self.finish_saving(id, &data).await,
            Err(err) => {
                self.return_to_queued(id, ImageStatus::Saving).await;
                Err(err)
            }
        }
    }

    /// saving → active with the stored data; 410 if the image was deleted meanwhile.
    async fn finish_saving(&self, id: Uuid, data: &ImageData) -> DomainResult<Image> {
        let stored = self
            .transition(id, ImageStatus::Active, |img| {
                if img.status != ImageStatus::Saving {
                    return Ok(false);
                }
                img.attach_data(data);
                img.remove_reserved(UPLOAD_NODE);
                Ok(true)
            })
            .await?;
        stored.ok_or_else(|| DomainError::Gone("Image was deleted during the upload; its data has been discarded.".into()))
    }

    async fn return_to_queued(&self, id: Uuid, from: ImageStatus) {
        let reset = self
            .transition(id, ImageStatus::Queued, |img| {
                if img.status != from {
                    return Ok(false);
                }
                img.reset_to_queued();
                img.remove_reserved(UPLOAD_NODE);
                img.remove_reserved(STAGED);
                Ok(true)
            })
            .await;
        if let Err(err) = reset {
            tracing::error!(%id, %err, "could not return image to queued after a failed upload");
        }
    }

    pub async fn download(&self, caller: &Caller, id: Uuid, range: Option<DownloadRange>) -> DomainResult<Download> {
        let (image, _) = self.visible_image(caller, id).await?;
        policy::require_download(caller, &image)?;
        let (Some(key), Some(size)) = (image.blob_key.clone(), image.size) else {
            return Ok(Download { image, body: None, range: None, total_size: 0 });
        };
        if !matches!(image.status, ImageStatus::Active | ImageStatus::Deactivated) {
            return Ok(Download { image, body: None, range: None, total_size: 0 });
        }
        let total = u64::try_from(size).unwrap_or(0);
        let span = match range {
            None => None,
            Some(r) => Some(resolve_range(r, total)?),
        };
        let body = self.blobs.read(&key, span.map(|(a, b)| a..b + 1)).await.map_err(|e| io_failure("read", e))?;
        let transfer = crate::telemetry::Transfer::start("download");
        let body: ByteStream = Box::pin(futures::StreamExt::map(body, move |chunk| {
            let _counted = &transfer;
            if let Ok(bytes) = &chunk {
                metrics::counter!("imagery_bytes_downloaded_total").increment(bytes.len() as u64);
            }
            chunk
        }));
        Ok(Download { image, body: Some(body), range: span, total_size: total })
    }

    /// glance-direct step one: keep the bytes aside (status `uploading`).
    pub async fn stage(&self, caller: &Caller, id: Uuid, body: ByteStream, expected_size: Option<u64>) -> DomainResult<Image> {
        self.require_import_method("glance-direct")?;
        let (image, _) = self.visible_image(caller, id).await?;
        policy::require_modify(caller, &image)?;
        if image.status != ImageStatus::Queued {
            return Err(DomainError::Conflict(Problem::Transition { from: image.status, to: ImageStatus::Uploading }));
        }
        let limits = self.write_limits(image.owner.as_deref(), Budget::Staged, expected_size).await?;
        let node = self.config.node_id.clone();
        let _in_flight = self.in_flight.enter(id);
        let claimed = self
            .transition(id, ImageStatus::Uploading, |img| {
                if img.status != ImageStatus::Queued {
                    return Err(DomainError::Conflict(Problem::Transition { from: img.status, to: ImageStatus::Uploading }));
                }
                img.set_reserved(UPLOAD_NODE, node.clone());
                Ok(true)
            })
            .await?;
        if claimed.is_none() {
            return Err(DomainError::image_not_found(id));
        }
        match self.write_blob(body, limits, Admission::Staging).await {
            Ok(data) => {
                let staged =
                    serde_json::to_string(&Staged { data: data.clone() }).map_err(|e| DomainError::Unavailable(e.to_string().into()))?;
                let stored = self
                    .transition(id, ImageStatus::Uploading, |img| {
                        if img.status != ImageStatus::Uploading {
                            return Ok(false);
                        }
                        // The staged blob is referenced like data, so garbage collection keeps it.
                        img.size = Some(data.size);
                        img.blob_key = Some(data.blob_key.clone());
                        img.set_reserved(STAGED, staged.clone());
                        img.remove_reserved(UPLOAD_NODE);
                        Ok(true)
                    })
                    .await?;
                stored.ok_or_else(|| DomainError::Gone("Image was deleted while its data was being staged.".into()))
            }
            Err(err) => {
                self.return_to_queued(id, ImageStatus::Uploading).await;
                Err(err)
            }
        }
    }

    fn require_import_method(&self, method: &str) -> DomainResult<()> {
        if self.config.import_methods.iter().any(|m| m == method) {
            Ok(())
        } else {
            Err(DomainError::BadRequest(format!("Import method {method} is not enabled.").into()))
        }
    }

    /// Start an interoperable import; the work finishes in the background (202).
    pub async fn import(self: &Arc<Self>, caller: &Caller, id: Uuid, method: ImportMethod) -> DomainResult<()> {
        self.import_from(caller, id, method, JobOrigin::default()).await.map(drop)
    }

    /// As [`import`](Self::import), recording where the request came from on its
    /// job; returns the job.
    pub async fn import_from(self: &Arc<Self>, caller: &Caller, id: Uuid, method: ImportMethod, origin: JobOrigin) -> DomainResult<Job> {
        let name = match &method {
            ImportMethod::GlanceDirect => "glance-direct",
            ImportMethod::WebDownload { .. } => "web-download",
            ImportMethod::CopyImage => "copy-image",
        };
        self.require_import_method(name)?;
        let (image, _) = self.visible_image(caller, id).await?;
        if method == ImportMethod::CopyImage {
            if !caller.is_admin() {
                return Err(DomainError::Forbidden("You are not authorized to complete copy_image action.".into()));
            }
            if image.status != ImageStatus::Active {
                return Err(DomainError::Conflict(format!("Image {id} is not active (status '{}').", image.status).into()));
            }
            return Err(DomainError::Conflict("This deployment has a single store and the image is already in it.".into()));
        }
        policy::require_modify(caller, &image)?;
        if image.container_format.is_none() || image.disk_format.is_none() {
            return Err(DomainError::Conflict(
                "The 'container_format' and 'disk_format' properties must be set on the image before import.".into(),
            ));
        }
        let needed = match method {
            ImportMethod::GlanceDirect => ImageStatus::Uploading,
            _ => ImageStatus::Queued,
        };
        if image.status != needed {
            return Err(DomainError::Conflict(
                format!("Image {id} is in status '{}'; {name} import needs '{}'.", image.status, needed).into(),
            ));
        }
        if let ImportMethod::WebDownload { uri } = &method {
            self.check_import_source(uri)?;
        }
        let claimed = self
            .transition(id, ImageStatus::Importing, |img| {
                if img.status != needed {
                    return Err(DomainError::Conflict(
                        format!("Image {id} changed status to '{}' before the import started.", img.status).into(),
                    ));
                }
                img.properties.remove("os_glance_failed_import");
                img.remove_reserved(IMPORT_ERROR);
                Ok(true)
            })
            .await?;
        if claimed.is_none() {
            return Err(DomainError::image_not_found(id));
        }
        let source = match method {
            ImportMethod::WebDownload { uri } => ImportSource::WebDownload { uri },
            _ => ImportSource::GlanceDirect,
        };
        let input = ImportInput { source, import_req: origin.request };
        let mut job = Job::new(IMPORT_JOB, serde_json::to_value(&input).unwrap_or_default(), now());
        job.image_id = Some(id);
        job.owner = image.owner.clone();
        job.request_id = origin.request_id;
        let job = match self.enqueue(caller, job).await {
            Ok(job) => job,
            Err(err) => {
                // Without its job nothing would ever finish the import: undo the claim.
                let _ = self
                    .transition(id, needed, |img| {
                        if img.status != ImageStatus::Importing {
                            return Ok(false);
                        }
                        Ok(true)
                    })
                    .await;
                return Err(err);
            }
        };
        Ok(job)
    }

    /// Run an import job (on whichever node claimed it); re-runnable from the start.
    pub(crate) async fn run_import(&self, job: &Job) -> DomainResult<serde_json::Value> {
        let id = job.image_id.ok_or_else(|| DomainError::BadRequest("An import job needs an image.".into()))?;
        let input: ImportInput = serde_json::from_value(job.input.clone())
            .map_err(|e| DomainError::BadRequest(format!("The import job's input is not valid: {e}").into()))?;
        let image = self.catalog.get_image(id).await.map_err(backend)?.ok_or_else(|| DomainError::image_not_found(id))?;
        if image.status != ImageStatus::Importing {
            return Err(DomainError::Conflict(format!("Image {id} is no longer importing (status '{}').", image.status).into()));
        }
        match input.source {
            ImportSource::WebDownload { uri } => self.import_from_web(id, &uri).await?,
            ImportSource::GlanceDirect => self.import_staged(id).await?,
        }
        Ok(serde_json::json!({ "image_id": id.to_string() }))
    }

    /// Glance's deprecated `import` task: an image with `image_properties` (its
    /// id is the task's, so a re-run after a takeover finds it) filled from
    /// `import_from` through the guarded fetcher, as web-download does.
    pub(crate) async fn run_legacy_import(&self, job: &Job) -> DomainResult<serde_json::Value> {
        let invalid = |what: &str| DomainError::BadRequest(format!("Invalid input: {what}").into());
        let from = job.input.get("import_from").and_then(|v| v.as_str()).ok_or_else(|| invalid("'import_from' is required"))?;
        let format =
            job.input.get("import_from_format").and_then(|v| v.as_str()).ok_or_else(|| invalid("'import_from_format' is required"))?;
        let props =
            job.input.get("image_properties").and_then(|v| v.as_object()).ok_or_else(|| invalid("'image_properties' is required"))?;
        self.check_import_source(from)?;
        let text = |key: &str| props.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let mut new = crate::NewImage {
            id: Some(job.id),
            name: text("name"),
            container_format: text("container_format").or_else(|| Some("bare".into())),
            disk_format: text("disk_format").or_else(|| Some(format.to_string())),
            owner: job.owner.clone(),
            ..crate::NewImage::default()
        };
        for (key, value) in props {
            if matches!(key.as_str(), "name" | "container_format" | "disk_format") {
                continue;
            }
            if let Some(value) = value.as_str() {
                new.properties.insert(key.clone(), value.to_string());
            }
        }
        let creator =
            Caller::new(job.user_id.clone(), job.owner.clone(), ["admin".to_string(), "member".to_string(), "reader".to_string()]);
        let image = match self.create_image(&creator, new).await {
            Ok(image) => image,
            // A re-run: the image was made by the first attempt.
            Err(DomainError::Conflict(_)) => {
                self.catalog.get_image(job.id).await.map_err(backend)?.ok_or_else(|| DomainError::image_not_found(job.id))?
            }
            Err(err) => return Err(err),
        };
        if image.status == ImageStatus::Queued {
            self.transition(image.id, ImageStatus::Importing, |img| Ok(img.status == ImageStatus::Queued)).await?;
        }
        if let Err(err) = self.import_from_web(image.id, from).await {
            self.fail_import(image.id, &err).await;
            return Err(err);
        }
        Ok(serde_json::json!({ "image_id": image.id.to_string() }))
    }

    /// A failed import: the image returns to `queued` with the reason.
    pub(crate) async fn fail_import(&self, id: Uuid, err: &DomainError) {
        tracing::warn!(%id, %err, "import failed; image returns to queued");
        let failed = self
            .transition(id, ImageStatus::Queued, |img| {
                if img.status != ImageStatus::Importing {
                    return Ok(false);
                }
                img.reset_to_queued();
                img.remove_reserved(STAGED);
                img.properties.insert("os_glance_failed_import".into(), "local".into());
                img.set_reserved(IMPORT_ERROR, err.to_string());
                Ok(true)
            })
            .await;
        if let Err(err) = failed {
            tracing::error!(%id, %err, "could not record the failed import");
        }
    }

    async fn import_staged(&self, id: Uuid) -> DomainResult<()> {
        let image = self.catalog.get_image(id).await.map_err(backend)?.ok_or_else(|| DomainError::image_not_found(id))?;
        let staged: Staged = image
            .reserved(STAGED)
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| DomainError::Conflict("No staged data to import.".into()))?;
        let inspection = self.inspect_stored(&staged.data).await?;
        let virtual_size = self.admit(Admission::of(&image), &inspection)?;
        self.activate_imported(id, ImageData { virtual_size, ..staged.data }).await
    }

    /// May an import fetch `uri`? The operator's allow-list decides (see
    /// [`crate::sources`]); every importer asks before it creates anything.
    pub fn check_import_source(&self, uri: &str) -> DomainResult<()> {
        if self.sources.allows(uri) {
            Ok(())
        } else {
            Err(DomainError::BadRequest(Problem::SourceNotAllowed { uri: uri.to_string() }))
        }
    }

    async fn import_from_web(&self, id: Uuid, uri: &str) -> DomainResult<()> {
        // `import` checked `uri` before this job started; `fetch_blob` guards the fetch (crate::fetch).
        let image = self.catalog.get_image(id).await.map_err(backend)?.ok_or_else(|| DomainError::image_not_found(id))?;
        let stored = self.fetch_blob(uri, image.owner.as_deref(), Admission::of(&image)).await?;
        self.activate_imported(id, stored).await
    }

    async fn activate_imported(&self, id: Uuid, data: ImageData) -> DomainResult<()> {
        let done = self
            .transition(id, ImageStatus::Active, |img| {
                if img.status != ImageStatus::Importing {
                    return Ok(false);
                }
                img.attach_data(&data);
                img.remove_reserved(STAGED);
                Ok(true)
            })
            .await?;
        done.map(|_| ()).ok_or_else(|| DomainError::Gone("Image was deleted during import.".into()))
    }

    /// At start: uploads and stagings this node's previous run left are dead (this
    /// run holds the node's lease, so no other process with this id is running, and
    /// it runs none of them); so are those of nodes whose lease expired. Their images go back to `queued`
    /// so the client can retry. Another live node's work is never touched.
    pub async fn recover_interrupted(&self, _system: &crate::SystemCaller) -> DomainResult<usize> {
        self.recover().await
    }

    /// Periodically, on every node: take over what nodes that died left (their
    /// lease expired): interrupted uploads back to `queued`, and imports whose job
    /// record is missing failed. This node's own uploads that no longer run here
    /// (their failure could not be recorded while the catalog was unreachable)
    /// are returned too, once the catalog is back. Jobs themselves are taken over by claiming them.
    pub async fn take_over_dead_nodes(&self, _system: &crate::SystemCaller) -> DomainResult<usize> {
        self.recover().await
    }

    /// One rule at start and later: the same sweep (a fresh process runs no write,
    /// so all of its node's marked uploads are dead).
    async fn recover(&self) -> DomainResult<usize> {
        let mut query = ListQuery::new(ListScope::everything(), 1000);
        query.filters = vec![imagery_core::query::status_filter(&[ImageStatus::Saving, ImageStatus::Uploading, ImageStatus::Importing])];
        let mut recovered = 0;
        let mut alive = std::collections::HashMap::<String, bool>::new();
        let me = self.config.node_id.as_str();
        loop {
            let page = self.catalog.list_images(&query).await.map_err(backend)?;
            for image in &page {
                if image.status == ImageStatus::Importing {
                    if self.orphaned_import(image).await? {
                        self.fail_import(image.id, &DomainError::Unavailable("The import was interrupted; start it again.".into())).await;
                        recovered += 1;
                    }
                    continue;
                }
                // A finished staging waits for its import; only a staging in progress has a node.
                if image.status == ImageStatus::Uploading && image.reserved(STAGED).is_some() {
                    continue;
                }
                let owner = image.reserved(UPLOAD_NODE).unwrap_or_default().to_string();
                let dead = if owner == me {
                    // Ours, but no upload of it runs in this process: a previous run's,
                    // or one whose failure could not be recorded (the catalog was down).
                    !self.in_flight.contains(image.id)
                } else {
                    match alive.get(&owner) {
                        Some(live) => !live,
                        None => {
                            let live = self.node_alive(&owner).await?;
                            alive.insert(owner.clone(), live);
                            !live
                        }
                    }
                };
                if dead {
                    if owner != me {
                        tracing::warn!(image = %image.id, status = %image.status, from = %owner,
                            "took over an interrupted upload from a node whose lease expired; the image returns to 'queued'");
                    }
                    self.return_to_queued(image.id, image.status).await;
                    recovered += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() == query.limit => query.marker = Some(last.id),
                _ => break,
            }
        }
        Ok(recovered)
    }

    /// Does a node hold a live heartbeat lease? (No id: an upload from before nodes had leases.)
    async fn node_alive(&self, node: &str) -> DomainResult<bool> {
        if node.is_empty() {
            return Ok(false);
        }
        let lease = self.catalog.get_lease(&node_lease(node)).await.map_err(backend)?;
        Ok(lease.is_some_and(|l| l.expires_at >= now()))
    }

    /// An importing image with no open job, for long enough that it is not an
    /// import being started right now.
    async fn orphaned_import(&self, image: &Image) -> DomainResult<bool> {
        if now() - image.updated_at < crate::jobs::ORPHAN_IMPORT_AFTER {
            return Ok(false);
        }
        let jobs = self.catalog.list_jobs_for_image(image.id).await.map_err(backend)?;
        Ok(!crate::jobs::has_open_job(&jobs))
    }

    /// Remove blobs no image references any more, once they are older than `grace`
    /// (a blob being committed right now is always fresh), and abandoned temporary
    /// objects. Returns (blobs removed, temporaries removed).
    /// One node at a time collects, cluster-wide (the `gc` lease); a node that
    /// finds it held does nothing and returns (0, 0).
    pub async fn collect_garbage(&self, _system: &crate::SystemCaller, grace: chrono::Duration) -> DomainResult<(usize, usize)> {
        let node = self.config.node_id.as_str();
        if !self.hold_gc_lease().await? {
            tracing::debug!("another node is collecting garbage");
            return Ok((0, 0));
        }
        let outcome = self.collect_garbage_holding_lease(grace).await;
        metrics::counter!("imagery_gc_runs_total", "outcome" => if outcome.is_ok() { "ok" } else { "error" }).increment(1);
        if let Err(err) = self.catalog.release_lease(GC_LEASE, node).await {
            tracing::warn!(%err, "could not release the garbage-collection lease; it expires by itself");
        }
        outcome
    }

    async fn hold_gc_lease(&self) -> DomainResult<bool> {
        let t = now();
        self.catalog.acquire_lease(GC_LEASE, &self.config.node_id, t, t + GC_LEASE_TERM).await.map_err(backend)
    }

    async fn collect_garbage_holding_lease(&self, grace: chrono::Duration) -> DomainResult<(usize, usize)> {
        let cutoff = now() - grace;
        let temporaries = self.blobs.sweep_temporary(cutoff).await.map_err(|e| io_failure("sweep", e))?;
        let mut removed = 0;
        for (n, blob) in self.blobs.list_blobs().await.map_err(|e| io_failure("list", e))?.into_iter().enumerate() {
            if n % 256 == 255 && !self.hold_gc_lease().await? {
                tracing::warn!("lost the garbage-collection lease; stopping this collection");
                break;
            }
            if blob.last_modified >= cutoff {
                continue;
            }
            // Decided inside the catalog, against references and claims as they are
            // now (not as the listing saw them); claims of the same bytes wait.
            if !self.catalog.begin_blob_deletion(&blob.key, cutoff, now()).await.map_err(backend)? {
                continue;
            }
            let deleted = self.blobs.delete(&blob.key).await.map_err(|e| io_failure("delete", e));
            self.catalog.end_blob_deletion(&blob.key).await.map_err(backend)?;
            deleted?;
            removed += 1;
            metrics::counter!("imagery_gc_reclaimed_blobs_total").increment(1);
            metrics::counter!("imagery_gc_reclaimed_bytes_total").increment(blob.size);
        }
        Ok((removed, temporaries))
    }
}

fn resolve_range(range: DownloadRange, total: u64) -> DomainResult<(u64, u64)> {
    let unsatisfiable =
        || DomainError::RangeNotSatisfiable(format!("Requested range is not satisfiable for an image of {total} bytes.").into());
    if total == 0 {
        return Err(unsatisfiable());
    }
    let (first, last) = match range {
        DownloadRange::FromTo(a, b) => (a, b.min(total - 1)),
        DownloadRange::From(a) => (a, total - 1),
        DownloadRange::Suffix(0) => return Err(unsatisfiable()),
        DownloadRange::Suffix(n) => (total.saturating_sub(n), total - 1),
    };
    if first >= total || first > last {
        return Err(unsatisfiable());
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(resolve_range(DownloadRange::FromTo(0, 9), 100), Ok((0, 9)));
        assert_eq!(resolve_range(DownloadRange::FromTo(90, 200), 100), Ok((90, 99)));
        assert_eq!(resolve_range(DownloadRange::From(50), 100), Ok((50, 99)));
        assert_eq!(resolve_range(DownloadRange::Suffix(10), 100), Ok((90, 99)));
        assert_eq!(resolve_range(DownloadRange::Suffix(1000), 100), Ok((0, 99)));
        assert!(resolve_range(DownloadRange::From(100), 100).is_err());
        assert!(resolve_range(DownloadRange::FromTo(5, 2), 100).is_err());
    }
}
