//! The Yandex view of a canonical image, and where the Yandex-only attributes
//! live: reserved properties `imagery:yandex.*` (description, family, labels,
//! product ids, pooled, hardware generation, NVIDIA driver, exact minimum disk
//! size). The OS type is Glance's standard `os_type` property; the name is the
//! Glance name.

use std::collections::BTreeMap;

use imagery_core::image::RESERVED_PREFIX;
use imagery_core::time::Timestamp;
use imagery_core::{Image, ImageStatus};

use crate::error::YcResult;
use crate::json;
use crate::keys::Ids;
use crate::pb::yandex::cloud::compute::v1 as compute;

pub const DESCRIPTION: &str = "yandex.description";
pub const FAMILY: &str = "yandex.family";
pub const LABELS: &str = "yandex.labels";
pub const PRODUCT_IDS: &str = "yandex.product_ids";
pub const POOLED: &str = "yandex.pooled";
pub const HARDWARE_GENERATION: &str = "yandex.hardware_generation";
pub const NVIDIA_DRIVER: &str = "yandex.nvidia_driver";
/// Exact bytes; the canonical `min_disk` keeps the ceiling in GiB.
pub const MIN_DISK_SIZE: &str = "yandex.min_disk_size";
/// Glance's standard property for the guest OS (`linux`, `windows`).
pub const OS_TYPE: &str = "os_type";

const GIB: i64 = 1 << 30;

/// The full property key of a reserved attribute.
pub fn reserved_key(name: &str) -> String {
    format!("{RESERVED_PREFIX}{name}")
}

/// Set a reserved attribute; an empty value removes it (proto3 defaults are absence).
pub fn set_reserved(properties: &mut BTreeMap<String, String>, name: &str, value: String) {
    if value.is_empty() {
        properties.remove(&reserved_key(name));
    } else {
        properties.insert(reserved_key(name), value);
    }
}

pub fn set_labels(properties: &mut BTreeMap<String, String>, labels: &BTreeMap<String, String>) {
    let encoded = if labels.is_empty() { String::new() } else { serde_json::to_string(labels).unwrap_or_default() };
    set_reserved(properties, LABELS, encoded);
}

/// Store an exact minimum disk size: bytes in the reserved property, the GiB
/// ceiling in the canonical `min_disk`. Returns that `min_disk`.
pub fn set_min_disk_size(properties: &mut BTreeMap<String, String>, bytes: i64) -> i64 {
    set_reserved(properties, MIN_DISK_SIZE, if bytes > 0 { bytes.to_string() } else { String::new() });
    ceil_gib(bytes)
}

pub fn ceil_gib(bytes: i64) -> i64 {
    if bytes <= 0 {
        0
    } else {
        (bytes - 1) / GIB + 1
    }
}

/// The exact minimum disk size in bytes: the stored bytes while they still agree
/// with `min_disk` (another dialect may have changed it since), else `min_disk` GiB.
pub fn min_disk_size(image: &Image) -> i64 {
    image
        .reserved(MIN_DISK_SIZE)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|bytes| ceil_gib(*bytes) == image.min_disk)
        .unwrap_or_else(|| image.min_disk.saturating_mul(GIB))
}

pub fn labels(image: &Image) -> BTreeMap<String, String> {
    image.reserved(LABELS).and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default()
}

pub fn product_ids(image: &Image) -> Vec<String> {
    image.reserved(PRODUCT_IDS).and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default()
}

pub fn hardware_generation(image: &Image) -> Option<compute::HardwareGeneration> {
    let stored: serde_json::Value = serde_json::from_str(image.reserved(HARDWARE_GENERATION)?).ok()?;
    json::parse_hardware_generation(stored).ok()
}

pub fn os(image: &Image) -> Option<compute::Os> {
    let os_type = match image.properties.get(OS_TYPE).map(|t| t.to_ascii_lowercase()).as_deref() {
        None | Some("linux") => compute::os::Type::Linux,
        Some("windows") => compute::os::Type::Windows,
        Some(_) => return None,
    };
    let nvidia = image.reserved(NVIDIA_DRIVER).map(|driver| compute::Nvidia { driver: driver.to_string() });
    Some(compute::Os { r#type: os_type as i32, nvidia })
}

/// An image's status as Yandex shows it: a failed import (Glance's `queued` with
/// the failure recorded) is `ERROR`.
pub fn image_status(image: &Image) -> compute::image::Status {
    if image.status == ImageStatus::Queued && image.reserved(imagery_service::IMPORT_ERROR).is_some() {
        return compute::image::Status::Error;
    }
    status(image.status)
}

/// The canonical status as Yandex names it.
pub fn status(status: ImageStatus) -> compute::image::Status {
    use compute::image::Status;
    match status {
        ImageStatus::Queued | ImageStatus::Saving | ImageStatus::Uploading | ImageStatus::Importing => Status::Creating,
        ImageStatus::Active | ImageStatus::Deactivated => Status::Ready,
        ImageStatus::Killed => Status::Error,
        ImageStatus::Deleted | ImageStatus::PendingDelete => Status::Deleting,
    }
}

pub fn timestamp(t: &Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// Render an image, binding its Yandex id and its folder's on first sight.
pub async fn image(ids: &mut Ids<'_>, image: &Image) -> YcResult<compute::Image> {
    let folder_id = match image.owner.as_deref() {
        Some(owner) => ids.folder(owner).await?,
        None => String::new(),
    };
    Ok(compute::Image {
        id: ids.image(image.id).await?,
        folder_id,
        created_at: Some(timestamp(&image.created_at)),
        name: image.name.clone().unwrap_or_default(),
        description: image.reserved(DESCRIPTION).unwrap_or_default().to_string(),
        labels: labels(image),
        family: image.reserved(FAMILY).unwrap_or_default().to_string(),
        size: image.virtual_size.or(image.size).unwrap_or(0),
        storage_size: image.size.unwrap_or(0),
        min_disk_size: min_disk_size(image),
        product_ids: product_ids(image),
        status: image_status(image) as i32,
        os: os(image),
        pooled: image.reserved(POOLED) == Some("true"),
        hardware_generation: hardware_generation(image),
        kms_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_disk_size_keeps_exact_bytes_while_consistent() {
        let mut image = Image::new(uuid::Uuid::new_v4(), Some("p".into()), imagery_core::time::now());
        image.min_disk = set_min_disk_size(&mut image.properties, 5 * 1024 * 1024);
        assert_eq!(image.min_disk, 1);
        assert_eq!(min_disk_size(&image), 5 * 1024 * 1024);
        image.min_disk = 3;
        assert_eq!(min_disk_size(&image), 3 * GIB);
        assert_eq!(ceil_gib(GIB), 1);
        assert_eq!(ceil_gib(GIB + 1), 2);
        assert_eq!(ceil_gib(0), 0);
    }

    #[test]
    fn status_mapping() {
        use compute::image::Status;
        let expected = [
            (ImageStatus::Queued, Status::Creating),
            (ImageStatus::Saving, Status::Creating),
            (ImageStatus::Uploading, Status::Creating),
            (ImageStatus::Importing, Status::Creating),
            (ImageStatus::Active, Status::Ready),
            (ImageStatus::Deactivated, Status::Ready),
            (ImageStatus::Killed, Status::Error),
            (ImageStatus::Deleted, Status::Deleting),
            (ImageStatus::PendingDelete, Status::Deleting),
        ];
        for (canonical, yandex) in expected {
            assert_eq!(status(canonical), yandex);
        }
    }
}
