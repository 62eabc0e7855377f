//! Tenancy and ids: a Yandex folder is an imagery project (its id bound in the
//! `yandex.folder` namespace, folder id → project id), and an image's Yandex id is
//! bound in `yandex.image` (Yandex id → image UUID). Both are derived
//! deterministically (see [`crate::ids`]) and bound on first sight, so several
//! nodes agree and an id never changes.

use std::collections::HashMap;

use imagery_core::{Caller, DomainError, Image};
use imagery_service::ImageService;
use uuid::Uuid;

use crate::api_server::Call;
use crate::error::{YcError, YcResult};
use crate::ids;
use crate::validation::Checks;

pub const FOLDER_NAMESPACE: &str = "yandex.folder";
pub const IMAGE_NAMESPACE: &str = "yandex.image";
/// The pseudo-folder of public images (`GetImageLatestByFamilyRequest(folder_id="standard-images")`).
pub const STANDARD_IMAGES: &str = "standard-images";

/// The Yandex ids of images and folders, as `caller` meets them while one
/// request is answered (folder ids cached for the request).
pub struct Ids<'a> {
    service: &'a ImageService,
    caller: &'a Caller,
    folders: HashMap<String, String>,
}

impl<'a> Ids<'a> {
    pub fn new(service: &'a ImageService, caller: &'a Caller) -> Self {
        Ids { service, caller, folders: HashMap::new() }
    }

    pub fn of(call: &'a Call) -> Self {
        Ids::new(call.service(), &call.caller)
    }

    pub async fn image(&self, image: Uuid) -> YcResult<String> {
        let target = image.to_string();
        Ok(self.service.alternate_id(self.caller, IMAGE_NAMESPACE, &target, ids::image_id_candidates(image)).await?)
    }

    pub async fn folder(&mut self, project: &str) -> YcResult<String> {
        if let Some(id) = self.folders.get(project) {
            return Ok(id.clone());
        }
        let id = self.service.alternate_id(self.caller, FOLDER_NAMESPACE, project, ids::folder_id_candidates(project)).await?;
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
    let project = match service.find_key(&call.caller, FOLDER_NAMESPACE, folder_id).await? {
        Some(project) => Some(project),
        None => match call.caller.project() {
            // The caller's own folder, never rendered before: bind it now.
            Some(own) if ids::folder_id_candidates(own).any(|c| c == folder_id) => {
                Ids::of(call).folder(own).await?;
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
    let uuid = match service.find_key(&call.caller, IMAGE_NAMESPACE, image_id).await? {
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
