//! Tenancy and ids: a Yandex folder is an imagery project (its id bound in the
//! `yandex.folder` namespace, folder id → project id), and an image's Yandex id is
//! bound in `yandex.image` (Yandex id → image UUID). Both are derived
//! deterministically (see [`crate::ids`]) and bound on first sight, so several
//! nodes agree and an id never changes.

use std::collections::HashMap;

use imagery_core::{DomainError, Image};
use imagery_service::ImageService;
use tonic::Code;
use uuid::Uuid;

use crate::api_server::Call;
use crate::error::{YcError, YcResult};
use crate::ids;
use crate::validation::Checks;

pub const FOLDER_NAMESPACE: &str = "yandex.folder";
pub const IMAGE_NAMESPACE: &str = "yandex.image";
/// The pseudo-folder of public images (`GetImageLatestByFamilyRequest(folder_id="standard-images")`).
pub const STANDARD_IMAGES: &str = "standard-images";

/// The key bound to `target`, binding the first free candidate if there is none.
async fn bound_key(service: &ImageService, namespace: &str, target: &str, candidates: impl Iterator<Item = String>) -> YcResult<String> {
    if let Some(key) = service.key_of(namespace, target).await? {
        return Ok(key);
    }
    for candidate in candidates {
        match service.bind_key_unchecked(namespace, &candidate, target).await {
            Ok(()) => return Ok(candidate),
            Err(DomainError::Conflict(_)) => {
                // Another node bound it first (to the same target), or a collision.
                if service.find_key(namespace, &candidate).await?.as_deref() == Some(target) {
                    return Ok(candidate);
                }
                if let Some(key) = service.key_of(namespace, target).await? {
                    return Ok(key);
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(YcError::new(Code::Internal, format!("Could not allocate an id in {namespace} for {target}")))
}

pub async fn image_key(service: &ImageService, image: Uuid) -> YcResult<String> {
    bound_key(service, IMAGE_NAMESPACE, &image.to_string(), ids::image_id_candidates(image)).await
}

pub async fn folder_key(service: &ImageService, project: &str) -> YcResult<String> {
    bound_key(service, FOLDER_NAMESPACE, project, ids::folder_id_candidates(project)).await
}

/// Yandex ids of images and folders met while rendering one response.
#[derive(Default)]
pub struct KeyCache {
    folders: HashMap<String, String>,
}

impl KeyCache {
    pub async fn folder(&mut self, service: &ImageService, project: &str) -> YcResult<String> {
        if let Some(id) = self.folders.get(project) {
            return Ok(id.clone());
        }
        let id = folder_key(service, project).await?;
        self.folders.insert(project.to_string(), id.clone());
        Ok(id)
    }
}

/// What a folder id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Folder {
    Project(String),
    /// Public images of every project.
    StandardImages,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The folder a request names, if the caller may act in it: its own project's,
/// or any for an admin. Anything else is `PERMISSION_DENIED`, whether or not the
/// folder exists, as Yandex answers.
pub async fn resolve_folder(call: &Call, folder_id: &str, access: Access) -> YcResult<Folder> {
    Checks::default().id("folder_id", folder_id).check()?;
    if folder_id == STANDARD_IMAGES {
        return match access {
            Access::Read => Ok(Folder::StandardImages),
            Access::Write => Err(YcError::permission_denied()),
        };
    }
    let service = call.service();
    let project = match service.find_key(FOLDER_NAMESPACE, folder_id).await? {
        Some(project) => Some(project),
        None => match call.caller.project() {
            // The caller's own folder, never rendered before: bind it now.
            Some(own) if ids::folder_id_candidates(own).any(|c| c == folder_id) => {
                folder_key(service, own).await?;
                Some(own.to_string())
            }
            // A project id is accepted where a folder id is expected.
            _ => call.state.identity.get_project(folder_id).await?.map(|p| p.id),
        },
    };
    match project {
        Some(project) if call.caller.is_admin() || call.caller.project() == Some(project.as_str()) => Ok(Folder::Project(project)),
        None if call.caller.is_admin() => Err(YcError::not_found(format!("Folder {folder_id} not found"))),
        _ => Err(YcError::permission_denied()),
    }
}

/// An image the caller may see, by Yandex id (or by canonical UUID). Unknown and
/// invisible images are both `NOT_FOUND`.
pub async fn resolve_image(call: &Call, image_id: &str) -> YcResult<Image> {
    Checks::default().id("image_id", image_id).check()?;
    let service = call.service();
    let uuid = match service.find_key(IMAGE_NAMESPACE, image_id).await? {
        Some(target) => Uuid::parse_str(&target).ok(),
        None if image_id.len() == 36 => Uuid::parse_str(image_id).ok(),
        None => None,
    };
    let uuid = uuid.ok_or_else(|| YcError::image_not_found(image_id))?;
    service.show_image(&call.caller, uuid).await.map_err(|e| match e {
        DomainError::NotFound(_) => YcError::image_not_found(image_id),
        other => other.into(),
    })
}
