//! `yandex.cloud.compute.v1.ImageService`: Get, GetLatestByFamily, List, Create,
//! Update, Delete, ListOperations, on both wires. Requests arrive as protobuf
//! messages (REST bodies are transcoded first) and every decision is the service's.

use std::collections::{BTreeMap, BTreeSet};

use imagery_core::query::{Filter, SortDir, SortKey, TextField};
use imagery_core::{Image, ImageStatus, Visibility};
use imagery_service::{EditRules, ImageListRequest, ImportMethod, NewImage, VisibilityParam};
use uuid::Uuid;

use crate::api_server::Call;
use crate::error::{YcError, YcResult};
use crate::filter::{parse_filter, parse_order_by, NameCondition};
use crate::keys::{self, Access, Folder, Ids};
use crate::operations::{self, OpKind, OperationView, Outcome};
use crate::pb::yandex::cloud::compute::v1 as compute;
use crate::validation::{self, Checks};
use crate::views::{self, reserved_key, set_labels, set_min_disk_size, set_reserved};
use compute::create_image_request::Source;

pub async fn get(call: &Call, request: compute::GetImageRequest) -> YcResult<compute::Image> {
    let image = keys::resolve_image(call, &request.image_id).await?;
    views::image(&mut Ids::of(call), &image).await
}

pub async fn get_latest_by_family(call: &Call, request: compute::GetImageLatestByFamilyRequest) -> YcResult<compute::Image> {
    Checks::default().required("family", &request.family).family("family", &request.family).check()?;
    let folder = keys::resolve_folder(call, &request.folder_id, Access::Read).await?;
    let mut list = folder_listing(&folder, 1);
    list.filters.push(Filter::Property(reserved_key(views::FAMILY), request.family.clone()));
    list.filters.push(imagery_core::query::status_filter(&[ImageStatus::Active]));
    list.sort = vec![(SortKey::CreatedAt, SortDir::Desc)];
    let page = call.service().list_images(&call.caller, list).await?;
    let image = page.images.first().ok_or_else(|| YcError::not_found(format!("Image \"{}\" not found", request.family)))?;
    views::image(&mut Ids::of(call), image).await
}

/// The catalog listing of one folder: a project's own images, or every public one.
fn folder_listing(folder: &Folder, limit: usize) -> ImageListRequest {
    let mut list = ImageListRequest { limit, member_status: None, ..ImageListRequest::default() };
    match folder {
        Folder::Project(project) => list.filters.push(Filter::In(TextField::Owner, vec![project.clone()])),
        Folder::StandardImages => list.visibility = Some(VisibilityParam::Only(Visibility::Public)),
    }
    list
}

fn page_token(token: &str) -> YcResult<Option<Uuid>> {
    if token.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(token).map(Some).map_err(|_| YcError::invalid("invalid page_token"))
}

pub async fn list(call: &Call, request: compute::ListImagesRequest) -> YcResult<compute::ListImagesResponse> {
    Checks::default()
        .page(request.page_size, &request.page_token)
        .max_len("filter", &request.filter, 1000)
        .max_len("order_by", &request.order_by, 100)
        .check()?;
    let conditions = parse_filter(&request.filter)?;
    let sort = parse_order_by(&request.order_by)?;
    let folder = keys::resolve_folder(call, &request.folder_id, Access::Read).await?;
    let page_size = validation::page_size(request.page_size);
    // Positive conditions narrow the catalog query; negated ones are applied here.
    let (negated, positive): (Vec<NameCondition>, Vec<NameCondition>) = conditions.into_iter().partition(|c| c.negated);
    let mut listing = folder_listing(&folder, page_size + 1);
    listing.sort = sort;
    listing.marker = page_token(&request.page_token)?;
    listing.filters.extend(positive.into_iter().map(|c| Filter::In(TextField::Name, c.values)));
    let mut found: Vec<Image> = Vec::new();
    loop {
        let page = call.service().list_images(&call.caller, listing.clone()).await?;
        let exhausted = !page.full;
        listing.marker = page.images.last().map(|i| i.id);
        found.extend(page.images.into_iter().filter(|i| {
            let name = i.name.as_deref().unwrap_or("");
            negated.iter().all(|c| c.matches(name))
        }));
        if found.len() > page_size || exhausted || listing.marker.is_none() {
            break;
        }
    }
    let next_page_token = if found.len() > page_size {
        found.truncate(page_size);
        found.last().map(|i| i.id.simple().to_string()).unwrap_or_default()
    } else {
        String::new()
    };
    let mut ids = Ids::of(call);
    let mut images = Vec::with_capacity(found.len());
    for image in &found {
        images.push(views::image(&mut ids, image).await?);
    }
    Ok(compute::ListImagesResponse { images, next_page_token })
}

/// The disk format an import from `uri` declares, from the path's extension
/// (anything unknown is `raw`, which accepts any safe data).
fn disk_format_of(uri: &str) -> &'static str {
    let path = uri.split(['?', '#']).next().unwrap_or("").to_ascii_lowercase();
    match path.rsplit('.').next().unwrap_or("") {
        "qcow2" | "qcow" => "qcow2",
        "vmdk" => "vmdk",
        "vhd" => "vhd",
        "vhdx" => "vhdx",
        "iso" => "iso",
        _ => "raw",
    }
}

pub async fn create(call: &Call, request: compute::CreateImageRequest) -> YcResult<OperationView> {
    let mut checks = Checks::default();
    checks
        .id("folder_id", &request.folder_id)
        .name("name", &request.name)
        .description("description", &request.description)
        .labels("labels", &request.labels)
        .family("family", &request.family)
        .min_disk_size("min_disk_size", request.min_disk_size);
    for product_id in &request.product_ids {
        checks.max_len("product_ids", product_id, imagery_core::rules::yandex::MAX_PRODUCT_ID);
    }
    match &request.source {
        None => {
            checks.required("source", "");
        }
        Some(Source::ImageId(id)) => {
            checks.id("image_id", id);
        }
        Some(Source::DiskId(id)) => {
            checks.id("disk_id", id);
        }
        Some(Source::SnapshotId(id)) => {
            checks.id("snapshot_id", id);
        }
        Some(Source::Uri(uri)) => {
            checks.required("uri", uri);
        }
    }
    checks.check()?;
    let Folder::Project(project) = keys::resolve_folder(call, &request.folder_id, Access::Write).await? else {
        return Err(YcError::permission_denied());
    };
    if let Some(existing) = operations::repeated(call, &project).await? {
        return Ok(existing);
    }
    let service = call.service();
    let mut new =
        NewImage { name: (!request.name.is_empty()).then(|| request.name.clone()), owner: Some(project.clone()), ..NewImage::default() };
    let properties = &mut new.properties;
    set_reserved(properties, views::DESCRIPTION, request.description.clone());
    set_reserved(properties, views::FAMILY, request.family.clone());
    set_labels(properties, &request.labels);
    set_reserved(properties, views::POOLED, if request.pooled { "true".into() } else { String::new() });
    let (image, outcome, source_uri) = match request.source.clone() {
        Some(Source::ImageId(source_id)) => {
            let source = keys::resolve_image(call, &source_id).await?;
            describe(&mut new, &request, Some(&source));
            let image = service.create_image_from(&call.caller, source.id, new, EditRules::YANDEX).await?;
            let view = views::image(&mut Ids::of(call), &image).await?;
            (image, Outcome::Image(Box::new(view)), None)
        }
        Some(Source::Uri(uri)) => {
            service.check_import_source(&uri)?;
            describe(&mut new, &request, None);
            new.container_format = Some("bare".into());
            new.disk_format = Some(disk_format_of(&uri).into());
            let image = service.create_image_with(&call.caller, new, EditRules::YANDEX).await?;
            Ids::of(call).image(image.id).await?;
            if let Err(err) = service.import(&call.caller, image.id, ImportMethod::WebDownload { uri: uri.clone() }).await {
                // Leave nothing behind: the create failed as a whole.
                if let Err(cleanup) = service.delete_image(&call.caller, image.id).await {
                    tracing::warn!(image = %image.id, %cleanup, "could not remove the image of a failed import");
                }
                return Err(err.into());
            }
            (image, Outcome::Pending, Some(uri))
        }
        // Disks and snapshots do not exist in imagery: the source is not found,
        // and nothing is created (no image stuck in ERROR, no operation).
        Some(Source::DiskId(id)) => return Err(YcError::not_found(format!("Disk {id} not found"))),
        Some(Source::SnapshotId(id)) => return Err(YcError::not_found(format!("Snapshot {id} not found"))),
        None => return Err(YcError::invalid("validation failed:\n  - source: field is required")),
    };
    let image_id = Ids::of(call).image(image.id).await?;
    operations::record(call, &project, image.id, OpKind::Create, &image_id, outcome, source_uri).await
}

/// OS, product ids, hardware generation and minimum disk size as requested, or
/// (for an image source) inherited from the source when not given.
fn describe(new: &mut NewImage, request: &compute::CreateImageRequest, source: Option<&Image>) {
    let properties = &mut new.properties;
    match (&request.os, source) {
        (Some(os), _) => {
            match compute::os::Type::try_from(os.r#type) {
                Ok(compute::os::Type::Linux) => {
                    properties.insert(views::OS_TYPE.into(), "linux".into());
                }
                Ok(compute::os::Type::Windows) => {
                    properties.insert(views::OS_TYPE.into(), "windows".into());
                }
                _ => {}
            }
            set_reserved(properties, views::NVIDIA_DRIVER, os.nvidia.as_ref().map(|n| n.driver.clone()).unwrap_or_default());
        }
        (None, Some(source)) => {
            if let Some(os_type) = source.properties.get(views::OS_TYPE) {
                properties.insert(views::OS_TYPE.into(), os_type.clone());
            }
            set_reserved(properties, views::NVIDIA_DRIVER, source.reserved(views::NVIDIA_DRIVER).unwrap_or_default().to_string());
        }
        (None, None) => {}
    }
    let product_ids = match source {
        Some(source) if request.product_ids.is_empty() => views::product_ids(source),
        _ => request.product_ids.clone(),
    };
    let encoded = if product_ids.is_empty() { String::new() } else { serde_json::to_string(&product_ids).unwrap_or_default() };
    set_reserved(properties, views::PRODUCT_IDS, encoded);
    let generation = request.hardware_generation.clone().or_else(|| source.and_then(views::hardware_generation));
    let encoded = generation.map(|g| crate::json::hardware_generation(&g).to_string()).unwrap_or_default();
    set_reserved(properties, views::HARDWARE_GENERATION, encoded);
    let min_disk_size = match source {
        Some(source) if request.min_disk_size == 0 => views::min_disk_size(source),
        _ => request.min_disk_size,
    };
    new.min_disk = set_min_disk_size(&mut new.properties, min_disk_size);
}

/// The updatable fields, by their proto names.
const UPDATABLE: [&str; 4] = ["name", "description", "min_disk_size", "labels"];

pub async fn update(call: &Call, request: compute::UpdateImageRequest) -> YcResult<OperationView> {
    let paths: BTreeSet<String> = match &request.update_mask {
        Some(mask) if !mask.paths.is_empty() => mask.paths.iter().map(|p| crate::json::camel_to_snake(p.trim())).collect(),
        // No mask: every updatable field is set from the request.
        _ => UPDATABLE.iter().map(|p| p.to_string()).collect(),
    };
    if let Some(unknown) = paths.iter().find(|p| !UPDATABLE.contains(&p.as_str())) {
        return Err(YcError::invalid(format!("update_mask: field {unknown:?} cannot be updated (updatable: {})", UPDATABLE.join(", "))));
    }
    let masked = |field: &str| paths.contains(field);
    let mut checks = Checks::default();
    checks.id("image_id", &request.image_id);
    if masked("name") {
        checks.name("name", &request.name);
    }
    if masked("description") {
        checks.description("description", &request.description);
    }
    if masked("min_disk_size") {
        checks.min_disk_size("min_disk_size", request.min_disk_size);
    }
    if masked("labels") {
        checks.labels("labels", &request.labels);
    }
    checks.check()?;
    if let Some(existing) = repeated_retry(call).await? {
        return Ok(existing);
    }
    let image = keys::resolve_image(call, &request.image_id).await?;
    let project = image.owner.clone().unwrap_or_default();
    if let Some(existing) = operations::repeated(call, &project).await? {
        return Ok(existing);
    }
    let service = call.service();
    let updated = service
        .update_image_with(&call.caller, image.id, EditRules::YANDEX, |img| {
            let properties: &mut BTreeMap<String, String> = &mut img.properties;
            if masked("description") {
                set_reserved(properties, views::DESCRIPTION, request.description.clone());
            }
            if masked("labels") {
                set_labels(properties, &request.labels);
            }
            if masked("min_disk_size") {
                img.min_disk = set_min_disk_size(&mut img.properties, request.min_disk_size);
            }
            if masked("name") {
                img.name = (!request.name.is_empty()).then(|| request.name.clone());
            }
            Ok(())
        })
        .await?;
    let view = views::image(&mut Ids::of(call), &updated).await?;
    let image_id = view.id.clone();
    operations::record(call, &project, image.id, OpKind::Update, &image_id, Outcome::Image(Box::new(view)), None).await
}

pub async fn delete(call: &Call, request: compute::DeleteImageRequest) -> YcResult<OperationView> {
    if let Some(existing) = repeated_retry(call).await? {
        return Ok(existing);
    }
    let image = keys::resolve_image(call, &request.image_id).await?;
    let project = image.owner.clone().unwrap_or_default();
    if let Some(existing) = operations::repeated(call, &project).await? {
        return Ok(existing);
    }
    let service = call.service();
    service.delete_image(&call.caller, image.id).await?;
    let image_id = Ids::of(call).image(image.id).await?;
    operations::record(call, &project, image.id, OpKind::Delete, &image_id, Outcome::Empty, None).await
}

/// A retry of a call that already acted, looked up before the image (which the
/// first attempt may have deleted) in the caller's own project.
async fn repeated_retry(call: &Call) -> YcResult<Option<OperationView>> {
    match call.caller.project() {
        Some(project) => operations::repeated(call, project).await,
        None => Ok(None),
    }
}

pub async fn list_operations(call: &Call, request: compute::ListImageOperationsRequest) -> YcResult<(Vec<OperationView>, String)> {
    let image = keys::resolve_image(call, &request.image_id).await?;
    operations::of_image(call, image.id, request.page_size, &request.page_token).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_format_from_uri() {
        assert_eq!(disk_format_of("https://s3/bucket/debian.qcow2?X-Amz-Signature=abc"), "qcow2");
        assert_eq!(disk_format_of("https://s3/bucket/disk.VMDK"), "vmdk");
        assert_eq!(disk_format_of("https://s3/bucket/disk.img"), "raw");
        assert_eq!(disk_format_of("https://s3/bucket/disk"), "raw");
    }
}
