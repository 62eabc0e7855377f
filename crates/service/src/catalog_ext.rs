//! What the Azure and Yandex dialects need beyond Glance's model, kept behind the
//! same policy: alternate keys (a Yandex id, an Azure name) bound to images, images
//! created from another image's bytes without copying them, and persisted
//! long-running operations.

use imagery_core::operation::OperationRecord;
use imagery_core::policy;
use imagery_core::ports::CatalogError;
use imagery_core::time::now;
use imagery_core::{Caller, DomainError, DomainResult, Image, ImageStatus};
use uuid::Uuid;

use crate::images::NewImage;
use crate::upload::{record, Admission, Budget};
use crate::{backend, ImageService};

impl ImageService {
    /// Bind a key to any target (projects' alternate ids, images the service just
    /// created). Duplicate → Conflict.
    pub async fn bind_key_unchecked(&self, namespace: &str, key: &str, target: &str) -> DomainResult<()> {
        match self.catalog.insert_alt_key(namespace, key, target).await {
            Ok(()) => Ok(()),
            Err(CatalogError::Duplicate(_)) => Err(DomainError::Conflict(format!("{key} already exists."))),
            Err(e) => Err(backend(e)),
        }
    }

    pub async fn find_key(&self, namespace: &str, key: &str) -> DomainResult<Option<String>> {
        self.catalog.find_alt_key(namespace, key).await.map_err(backend)
    }

    pub async fn key_of(&self, namespace: &str, target: &str) -> DomainResult<Option<String>> {
        self.catalog.alt_key_of(namespace, target).await.map_err(backend)
    }

    pub async fn unbind_key(&self, namespace: &str, key: &str) -> DomainResult<bool> {
        self.catalog.delete_alt_key(namespace, key).await.map_err(backend)
    }

    /// Keys of a namespace with a prefix, ordered, for listings (e.g. one Azure
    /// resource group's images).
    pub async fn list_keys(&self, namespace: &str, prefix: &str, after: Option<&str>, limit: usize) -> DomainResult<Vec<(String, String)>> {
        self.catalog.list_alt_keys(namespace, prefix, after, limit).await.map_err(backend)
    }

    /// A new image holding the same bytes as `source` (no copy: blobs are content
    /// addressed). The caller must be allowed to download the source; the bytes
    /// are admitted for the new image's formats, size cap and quota exactly as an
    /// upload of them would be, before anything is created. `reserved` lets the
    /// dialect set its own `imagery:` properties on the new image.
    pub async fn create_image_from(&self, caller: &Caller, source: Uuid, new: NewImage, reserved: bool) -> DomainResult<Image> {
        let (src, _) = self.visible_image(caller, source).await?;
        policy::require_download(caller, &src)?;
        let data = match (&src.status, src.data()) {
            (ImageStatus::Active, Some(data)) => data,
            _ => return Err(DomainError::Conflict(format!("Image {source} has no data to copy (status '{}').", src.status))),
        };
        let mut new = new;
        new.disk_format = new.disk_format.or(src.disk_format.clone());
        new.container_format = new.container_format.or(src.container_format.clone());
        let inspection = self.inspect_stored(&data).await?;
        let admission = Admission::Image { container_format: new.container_format.as_deref(), disk_format: new.disk_format.as_deref() };
        let virtual_size = self.admit(admission, &inspection)?;
        let mut probe = Image::new(Uuid::nil(), new.owner.clone().or_else(|| caller.project_id.clone()), now());
        probe.size = Some(data.size);
        let limits = self.write_limits(&probe, Budget::Stored, None).await?;
        if u64::try_from(data.size).unwrap_or(u64::MAX) > limits.max_bytes {
            return Err(DomainError::OverLimit(limits.over_limit_message));
        }
        let created = self.create_image_with(caller, new, reserved).await?;
        let data = imagery_core::ImageData { virtual_size, inspection: record(&inspection), ..data };
        let stored = self
            .transition(created.id, |img| {
                if img.status != ImageStatus::Queued {
                    return Ok(false);
                }
                img.attach_data(&data);
                img.status = ImageStatus::Active;
                Ok(true)
            })
            .await?;
        stored.ok_or_else(|| DomainError::Gone("The new image was deleted before its data was attached.".into()))
    }

    /// Mark an image as failed (Azure `Failed`, Yandex `ERROR`): `killed` in Glance terms.
    pub async fn mark_image_failed(&self, image_id: Uuid) -> DomainResult<()> {
        self.transition(image_id, |img| {
            if !img.status.can_become(ImageStatus::Killed) && img.status != ImageStatus::Queued {
                return Ok(false);
            }
            img.status = ImageStatus::Killed;
            Ok(true)
        })
        .await
        .map(|_| ())
    }

    pub async fn record_operation(&self, op: &OperationRecord) -> DomainResult<()> {
        self.catalog.insert_operation(op).await.map_err(backend)
    }

    pub async fn update_operation(&self, op: &OperationRecord) -> DomainResult<()> {
        self.catalog.update_operation(op).await.map_err(backend)
    }

    /// An operation of `dialect`, if it belongs to the caller's project (or the
    /// caller is an admin); anything else is not found.
    pub async fn operation(&self, caller: &Caller, dialect: &str, id: &str) -> DomainResult<OperationRecord> {
        let not_found = || DomainError::NotFound(format!("Operation {id} not found"));
        let op = self.catalog.get_operation(dialect, id).await.map_err(backend)?.ok_or_else(not_found)?;
        if caller.is_admin() || caller.project() == Some(op.project_id.as_str()) {
            Ok(op)
        } else {
            Err(not_found())
        }
    }

    pub async fn operations_of(
        &self,
        dialect: &str,
        target: &str,
        after: Option<&str>,
        limit: usize,
    ) -> DomainResult<Vec<OperationRecord>> {
        self.catalog.list_operations(dialect, target, after, limit).await.map_err(backend)
    }

    pub async fn operation_by_idempotency_key(&self, dialect: &str, project_id: &str, key: &str) -> DomainResult<Option<OperationRecord>> {
        self.catalog.find_operation_by_idempotency_key(dialect, project_id, key).await.map_err(backend)
    }
}
