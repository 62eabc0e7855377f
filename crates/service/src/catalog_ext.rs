//! What the Azure and Yandex dialects need beyond Glance's model, kept behind the
//! same policy: alternate keys (a Yandex id, an Azure name) bound to images, images
//! created from another image's bytes without copying them, and persisted
//! long-running operations.

use imagery_core::operation::OperationRecord;
use imagery_core::policy;
use imagery_core::ports::CatalogError;
use imagery_core::{Caller, DomainError, DomainResult, Image, ImageStatus};
use uuid::Uuid;

use crate::images::{EditRules, NewImage};
use crate::upload::{record, Admission, Budget};
use crate::{backend, ImageService};

impl ImageService {
    /// The stable alternate id of `target` in `namespace` (a Yandex image or folder
    /// id, an Azure subscription GUID), binding the first free candidate on first
    /// use. Candidates are derived deterministically, so every node agrees; any
    /// authenticated caller may cause one to be assigned (it reveals nothing).
    pub async fn alternate_id(
        &self,
        caller: &Caller,
        namespace: &str,
        target: &str,
        candidates: impl IntoIterator<Item = String>,
    ) -> DomainResult<String> {
        policy::require_authenticated(caller)?;
        if let Some(key) = self.catalog.alt_key_of(namespace, target).await.map_err(backend)? {
            return Ok(key);
        }
        for candidate in candidates {
            match self.catalog.insert_alt_key(namespace, &candidate, target).await {
                Ok(()) => return Ok(candidate),
                Err(CatalogError::Duplicate(_)) => {
                    // Another node bound it first (to the same target), or a collision.
                    if self.catalog.find_alt_key(namespace, &candidate).await.map_err(backend)?.as_deref() == Some(target) {
                        return Ok(candidate);
                    }
                    if let Some(key) = self.catalog.alt_key_of(namespace, target).await.map_err(backend)? {
                        return Ok(key);
                    }
                }
                Err(e) => return Err(backend(e)),
            }
        }
        Err(DomainError::Unavailable(format!("Could not allocate an id in {namespace} for {target}.").into()))
    }

    /// Bind `key` to `target` for `project` (an Azure image name in a resource
    /// group, a resource group): for members of the project, or admins.
    /// Duplicate → `Conflict`.
    pub async fn bind_key(&self, caller: &Caller, project: &str, namespace: &str, key: &str, target: &str) -> DomainResult<()> {
        policy::require_create(caller, Some(project))?;
        match self.catalog.insert_alt_key(namespace, key, target).await {
            Ok(()) => Ok(()),
            Err(CatalogError::Duplicate(_)) => Err(DomainError::Conflict(format!("{key} already exists.").into())),
            Err(e) => Err(backend(e)),
        }
    }

    /// Remove a binding of `project` (see [`bind_key`](Self::bind_key)); with
    /// `only_if_target`, only while it still names that target.
    pub async fn unbind_key(
        &self,
        caller: &Caller,
        project: &str,
        namespace: &str,
        key: &str,
        only_if_target: Option<&str>,
    ) -> DomainResult<bool> {
        policy::require_create(caller, Some(project))?;
        match only_if_target {
            Some(target) => self.catalog.delete_alt_key_if(namespace, key, target).await.map_err(backend),
            None => self.catalog.delete_alt_key(namespace, key).await.map_err(backend),
        }
    }

    /// What `key` names in `namespace`. Ids name things; whether the caller may see
    /// the thing is decided when it is loaded.
    pub async fn find_key(&self, caller: &Caller, namespace: &str, key: &str) -> DomainResult<Option<String>> {
        policy::require_authenticated(caller)?;
        self.catalog.find_alt_key(namespace, key).await.map_err(backend)
    }

    pub async fn key_of(&self, caller: &Caller, namespace: &str, target: &str) -> DomainResult<Option<String>> {
        policy::require_authenticated(caller)?;
        self.catalog.alt_key_of(namespace, target).await.map_err(backend)
    }

    /// Keys of a namespace with a prefix, ordered, for listings (e.g. one Azure
    /// resource group's images); readers only.
    pub async fn list_keys(
        &self,
        caller: &Caller,
        namespace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> DomainResult<Vec<(String, String)>> {
        policy::require_reader(caller)?;
        self.catalog.list_alt_keys(namespace, prefix, after, limit).await.map_err(backend)
    }

    /// A new image holding the same bytes as `source` (no copy: blobs are content
    /// addressed). The caller must be allowed to download the source; the bytes
    /// are admitted for the new image's formats, size cap and quota exactly as an
    /// upload of them would be, before anything is created, under the dialect's
    /// [`EditRules`].
    pub async fn create_image_from(&self, caller: &Caller, source: Uuid, new: NewImage, how: EditRules) -> DomainResult<Image> {
        let (src, _) = self.visible_image(caller, source).await?;
        policy::require_download(caller, &src)?;
        let data = match (&src.status, src.data()) {
            (ImageStatus::Active, Some(data)) => data,
            _ => return Err(DomainError::Conflict(format!("Image {source} has no data to copy (status '{}').", src.status).into())),
        };
        let mut new = new;
        new.disk_format = new.disk_format.or(src.disk_format.clone());
        new.container_format = new.container_format.or(src.container_format.clone());
        let inspection = self.inspect_stored(&data).await?;
        let admission = Admission::Image { container_format: new.container_format.as_deref(), disk_format: new.disk_format.as_deref() };
        let virtual_size = self.admit(admission, &inspection)?;
        let owner = new.owner.clone().or_else(|| caller.project_id.clone());
        let limits = self.write_limits(owner.as_deref(), Budget::Stored, None).await?;
        if u64::try_from(data.size).unwrap_or(u64::MAX) > limits.max_bytes {
            return Err(DomainError::OverLimit(limits.over_limit));
        }
        // The bytes are shared, not written: claim them so a collection cannot
        // remove them between the check above and the new image's activation.
        self.claim_blob(&data.blob_key).await?;
        let created = self.create_image_with(caller, new, how).await?;
        let data = imagery_core::ImageData { virtual_size, inspection: record(&inspection), ..data };
        let stored = self
            .transition(created.id, ImageStatus::Active, |img| {
                if img.status != ImageStatus::Queued {
                    return Ok(false);
                }
                img.attach_data(&data);
                Ok(true)
            })
            .await?;
        stored.ok_or_else(|| DomainError::Gone("The new image was deleted before its data was attached.".into()))
    }

    /// Record a long-running operation of the caller's project (or any, for an admin).
    pub async fn record_operation(&self, caller: &Caller, op: &OperationRecord) -> DomainResult<()> {
        policy::require_create(caller, Some(&op.project_id))?;
        self.catalog.insert_operation(op).await.map_err(backend)
    }

    pub async fn update_operation(&self, caller: &Caller, op: &OperationRecord) -> DomainResult<()> {
        policy::require_create(caller, Some(&op.project_id))?;
        self.catalog.update_operation(op).await.map_err(backend)
    }

    /// An operation of `dialect`, if it belongs to the caller's project (or the
    /// caller is an admin); anything else is not found.
    pub async fn operation(&self, caller: &Caller, dialect: &str, id: &str) -> DomainResult<OperationRecord> {
        let not_found = || DomainError::NotFound(format!("Operation {id} not found").into());
        let op = self.catalog.get_operation(dialect, id).await.map_err(backend)?.ok_or_else(not_found)?;
        if caller.is_admin() || caller.project() == Some(op.project_id.as_str()) {
            Ok(op)
        } else {
            Err(not_found())
        }
    }

    /// Operations on `target`, newest first — those of the caller's project (all,
    /// for an admin).
    pub async fn operations_of(
        &self,
        caller: &Caller,
        dialect: &str,
        target: &str,
        after: Option<&str>,
        limit: usize,
    ) -> DomainResult<Vec<OperationRecord>> {
        policy::require_reader(caller)?;
        let mut ops = self.catalog.list_operations(dialect, target, after, limit).await.map_err(backend)?;
        if !caller.is_admin() {
            ops.retain(|op| caller.project() == Some(op.project_id.as_str()));
        }
        Ok(ops)
    }

    /// The operation a retried request with this idempotency key already started,
    /// in the caller's own project.
    pub async fn operation_by_idempotency_key(
        &self,
        caller: &Caller,
        dialect: &str,
        project_id: &str,
        key: &str,
    ) -> DomainResult<Option<OperationRecord>> {
        if !caller.is_admin() && caller.project() != Some(project_id) {
            return Ok(None);
        }
        self.catalog.find_operation_by_idempotency_key(dialect, project_id, key).await.map_err(backend)
    }
}
