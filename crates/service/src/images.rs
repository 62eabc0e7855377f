//! Image metadata use cases: create, show, list, update, delete, deactivate,
//! reactivate, tags.

use std::collections::{BTreeMap, BTreeSet};

use imagery_core::policy;
use imagery_core::ports::CatalogError;
use imagery_core::query::{Filter, ListQuery, ListScope, SortDir, SortKey};
use imagery_core::time::now;
use imagery_core::{Caller, DomainError, DomainResult, Image, ImageStatus, Member, MemberStatus, Visibility};
use uuid::Uuid;

use crate::{backend, ImageService};

/// What a caller may set when creating an image. Everything else is the server's.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    pub id: Option<Uuid>,
    pub name: Option<String>,
    pub visibility: Option<Visibility>,
    pub protected: bool,
    pub os_hidden: bool,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub tags: BTreeSet<String>,
    /// `None`: the caller's project.
    pub owner: Option<String>,
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityParam {
    Only(Visibility),
    All,
}

#[derive(Debug, Clone)]
pub struct ImageListRequest {
    pub visibility: Option<VisibilityParam>,
    /// `None` means any membership status (Glance's `member_status=all`).
    pub member_status: Option<MemberStatus>,
    pub os_hidden: Option<bool>,
    pub filters: Vec<Filter>,
    pub sort: Vec<(SortKey, SortDir)>,
    pub marker: Option<Uuid>,
    pub limit: usize,
}

impl Default for ImageListRequest {
    fn default() -> Self {
        ImageListRequest {
            visibility: None,
            member_status: Some(MemberStatus::Accepted),
            os_hidden: None,
            filters: Vec::new(),
            sort: vec![(SortKey::CreatedAt, SortDir::Desc)],
            marker: None,
            limit: 25,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub images: Vec<Image>,
    /// The catalog returned a full page: there may be more after the last image.
    pub full: bool,
}

const MAX_INT_ATTR: i64 = i32::MAX as i64;

impl ImageService {
    /// Load an image the caller may see; anything else is "not found".
    pub async fn visible_image(&self, caller: &Caller, id: Uuid) -> DomainResult<(Image, Option<Member>)> {
        let image = self.catalog.get_image(id).await.map_err(backend)?.ok_or_else(|| DomainError::image_not_found(id))?;
        let membership = self.membership(caller, &image).await?;
        if !policy::can_see(caller, &image, membership.as_ref()) {
            return Err(DomainError::image_not_found(id));
        }
        Ok((image, membership))
    }

    /// The caller project's member entry on a shared image it does not own.
    async fn membership(&self, caller: &Caller, image: &Image) -> DomainResult<Option<Member>> {
        match caller.project() {
            Some(p) if image.visibility == Visibility::Shared && !policy::is_owner(caller, image) && !caller.is_admin() => {
                self.catalog.get_member(image.id, p).await.map_err(backend)
            }
            _ => Ok(None),
        }
    }

    pub async fn show_image(&self, caller: &Caller, id: Uuid) -> DomainResult<Image> {
        policy::require_reader(caller)?;
        Ok(self.visible_image(caller, id).await?.0)
    }

    pub async fn create_image(&self, caller: &Caller, new: NewImage) -> DomainResult<Image> {
        self.create_image_with(caller, new, false).await
    }

    /// Create an image; `reserved` lets a dialect set its own `imagery:` properties.
    pub async fn create_image_with(&self, caller: &Caller, new: NewImage, reserved: bool) -> DomainResult<Image> {
        let owner = new.owner.clone().or_else(|| caller.project_id.clone());
        policy::require_create(caller, owner.as_deref())?;
        let visibility = new.visibility.unwrap_or(Visibility::Shared);
        policy::require_visibility(caller, None, visibility)?;
        if let Some(project) = owner.as_deref() {
            if let Some(limit) = self.config.quota_for(project).image_count {
                let usage = self.catalog.usage(project).await.map_err(backend)?;
                if usage.image_count >= limit {
                    return Err(DomainError::OverLimit(format!("Maximum number of images exceeded: the project may hold {limit} images.")));
                }
            }
        }
        let base = Image::new(new.id.unwrap_or_else(Uuid::new_v4), owner, now());
        let mut image = base.clone();
        image.name = new.name;
        image.visibility = visibility;
        image.protected = new.protected;
        image.os_hidden = new.os_hidden;
        image.container_format = new.container_format;
        image.disk_format = new.disk_format;
        image.min_disk = new.min_disk;
        image.min_ram = new.min_ram;
        image.tags = new.tags;
        image.properties = new.properties;
        self.validate_edit(caller, &base, &image, reserved)?;
        match self.catalog.insert_image(&image).await {
            Ok(()) => Ok(image),
            Err(CatalogError::Duplicate(_)) => Err(DomainError::Conflict(format!("Image with identifier {} already exists!", image.id))),
            Err(e) => Err(backend(e)),
        }
    }

    /// Check that `after` is a legal edit of `before` by `caller`. The single place
    /// where attribute rules live: read-only fields, formats, limits, quotas,
    /// ownership and visibility policy.
    fn validate_edit(&self, caller: &Caller, before: &Image, after: &Image, reserved: bool) -> DomainResult<()> {
        let read_only = [
            ("id", before.id != after.id),
            ("status", before.status != after.status),
            ("size", before.size != after.size),
            ("virtual_size", before.virtual_size != after.virtual_size),
            ("checksum", before.checksum != after.checksum),
            ("os_hash_algo", before.os_hash_algo != after.os_hash_algo),
            ("os_hash_value", before.os_hash_value != after.os_hash_value),
            ("created_at", before.created_at != after.created_at),
        ];
        if let Some((name, _)) = read_only.iter().find(|(_, changed)| *changed) {
            return Err(DomainError::Forbidden(format!("Attribute '{name}' is read-only.")));
        }
        if before.blob_key != after.blob_key {
            return Err(DomainError::Forbidden("Attribute 'locations' is reserved.".into()));
        }
        if before.owner != after.owner && !caller.is_admin() {
            return Err(DomainError::Forbidden("Owner can't be updated by non admin.".into()));
        }
        if before.visibility != after.visibility {
            policy::require_visibility(caller, Some(before), after.visibility)?;
        }
        if let Some(name) = &after.name {
            if name.chars().count() > 255 {
                return Err(DomainError::BadRequest("Name too long: it may have at most 255 characters.".into()));
            }
        }
        for (attr, value) in [("min_disk", after.min_disk), ("min_ram", after.min_ram)] {
            if !(0..=MAX_INT_ATTR).contains(&value) {
                return Err(DomainError::BadRequest(format!("Invalid value for {attr}: it must be between 0 and {MAX_INT_ATTR}.")));
            }
        }
        let formats_changed = before.container_format != after.container_format || before.disk_format != after.disk_format;
        if formats_changed {
            if !matches!(before.status, ImageStatus::Queued | ImageStatus::Importing) {
                return Err(DomainError::Forbidden(format!(
                    "Forbidden to modify container_format or disk_format of an image in status '{}'.",
                    before.status
                )));
            }
            check_format("container_format", &after.container_format, &self.config.container_formats)?;
            check_format("disk_format", &after.disk_format, &self.config.disk_formats)?;
        }
        for tag in after.tags.difference(&before.tags) {
            check_tag(tag)?;
        }
        if after.tags.len() > before.tags.len() && after.tags.len() > self.config.image_tag_quota {
            return Err(DomainError::OverLimit(format!(
                "Maximum number of tags exceeded: an image may have at most {} tags.",
                self.config.image_tag_quota
            )));
        }
        for (key, value) in &after.properties {
            if before.properties.get(key) == Some(value) {
                continue;
            }
            if reserved && key.starts_with(imagery_core::image::RESERVED_PREFIX) {
                continue;
            }
            policy::check_property_key(key)?;
        }
        for key in before.properties.keys().filter(|k| !after.properties.contains_key(*k)) {
            if !reserved || !key.starts_with(imagery_core::image::RESERVED_PREFIX) {
                policy::check_property_key(key)?;
            }
        }
        let user_props = |i: &Image| i.user_properties().count();
        if user_props(after) > user_props(before) && user_props(after) > self.config.image_property_quota {
            return Err(DomainError::OverLimit(format!(
                "Maximum number of properties exceeded: an image may have at most {} properties.",
                self.config.image_property_quota
            )));
        }
        Ok(())
    }

    /// Apply `edit` to the image and store it, after every rule has been checked.
    /// `edit` may run more than once when a concurrent writer wins the race.
    pub async fn update_image<F>(&self, caller: &Caller, id: Uuid, edit: F) -> DomainResult<Image>
    where
        F: Fn(&mut Image) -> DomainResult<()>,
    {
        self.update_image_with(caller, id, false, edit).await
    }

    pub async fn update_image_with<F>(&self, caller: &Caller, id: Uuid, reserved: bool, edit: F) -> DomainResult<Image>
    where
        F: Fn(&mut Image) -> DomainResult<()>,
    {
        loop {
            let (before, _) = self.visible_image(caller, id).await?;
            policy::require_modify(caller, &before)?;
            let mut after = before.clone();
            edit(&mut after)?;
            if after == before {
                return Ok(before);
            }
            self.validate_edit(caller, &before, &after, reserved)?;
            after.updated_at = now();
            match self.catalog.update_image(&after).await {
                Ok(stored) => return Ok(stored),
                Err(CatalogError::Stale) => continue,
                Err(CatalogError::Missing(_)) => return Err(DomainError::image_not_found(id)),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Store a state change decided by the service itself (uploads, imports),
    /// retrying on concurrent metadata edits. `change` returns `Ok(false)` to give up
    /// without writing (the image moved on).
    pub(crate) async fn transition<F>(&self, id: Uuid, change: F) -> DomainResult<Option<Image>>
    where
        F: Fn(&mut Image) -> DomainResult<bool>,
    {
        loop {
            let Some(mut image) = self.catalog.get_image(id).await.map_err(backend)? else {
                return Ok(None);
            };
            if !change(&mut image)? {
                return Ok(None);
            }
            image.updated_at = now();
            match self.catalog.update_image(&image).await {
                Ok(stored) => return Ok(Some(stored)),
                Err(CatalogError::Stale) => continue,
                Err(CatalogError::Missing(_)) => return Ok(None),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    pub async fn delete_image(&self, caller: &Caller, id: Uuid) -> DomainResult<Image> {
        loop {
            let (mut image, _) = self.visible_image(caller, id).await?;
            policy::require_delete(caller, &image)?;
            let t = now();
            image.status = ImageStatus::Deleted;
            image.deleted_at = Some(t);
            image.updated_at = t;
            match self.catalog.update_image(&image).await {
                Ok(stored) => return Ok(stored),
                Err(CatalogError::Stale) => continue,
                Err(CatalogError::Missing(_)) => return Err(DomainError::image_not_found(id)),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    pub async fn deactivate_image(&self, caller: &Caller, id: Uuid) -> DomainResult<Image> {
        self.set_activation(caller, id, ImageStatus::Deactivated).await
    }

    pub async fn reactivate_image(&self, caller: &Caller, id: Uuid) -> DomainResult<Image> {
        self.set_activation(caller, id, ImageStatus::Active).await
    }

    async fn set_activation(&self, caller: &Caller, id: Uuid, target: ImageStatus) -> DomainResult<Image> {
        let (image, _) = self.visible_image(caller, id).await?;
        policy::require_modify(caller, &image)?;
        let verb = if target == ImageStatus::Active { "reactivate" } else { "deactivate" };
        let stored = self
            .transition(id, |img| {
                if img.status == target {
                    return Ok(false);
                }
                let allowed = matches!(
                    (img.status, target),
                    (ImageStatus::Active, ImageStatus::Deactivated) | (ImageStatus::Deactivated, ImageStatus::Active)
                );
                if !allowed {
                    return Err(DomainError::Forbidden(format!("Not allowed to {verb} image in status '{}'", img.status)));
                }
                img.status = target;
                Ok(true)
            })
            .await?;
        match stored {
            Some(img) => Ok(img),
            None => self.visible_image(caller, id).await.map(|(i, _)| i),
        }
    }

    pub async fn add_tag(&self, caller: &Caller, id: Uuid, tag: &str) -> DomainResult<Image> {
        check_tag(tag)?;
        let tag = tag.to_string();
        self.update_image(caller, id, |img| {
            img.tags.insert(tag.clone());
            Ok(())
        })
        .await
    }

    pub async fn remove_tag(&self, caller: &Caller, id: Uuid, tag: &str) -> DomainResult<Image> {
        self.update_image(caller, id, |img| {
            if img.tags.remove(tag) {
                Ok(())
            } else {
                Err(DomainError::NotFound(format!("Tag {tag} not found")))
            }
        })
        .await
    }

    /// What a project consumes, for its own members or an admin.
    pub async fn project_usage(&self, caller: &Caller, project: &str) -> DomainResult<imagery_core::ports::Usage> {
        policy::require_reader(caller)?;
        if !caller.is_admin() && caller.project() != Some(project) {
            return Err(DomainError::Forbidden("You may only see the usage of your own project.".into()));
        }
        self.catalog.usage(project).await.map_err(backend)
    }

    pub async fn list_images(&self, caller: &Caller, req: ImageListRequest) -> DomainResult<ListPage> {
        policy::require_reader(caller)?;
        if let Some(marker) = req.marker {
            let visible = self.visible_image(caller, marker).await;
            if visible.is_err() {
                return Err(DomainError::BadRequest(format!("Invalid marker. Image {marker} could not be found.")));
            }
        }
        let scope = ListScope {
            is_admin: caller.is_admin(),
            project_id: caller.project_id.clone(),
            visibility: match req.visibility {
                Some(VisibilityParam::Only(v)) => Some(v),
                _ => None,
            },
            include_community: req.visibility == Some(VisibilityParam::All),
            member_status: req.member_status,
            os_hidden: Some(req.os_hidden.unwrap_or(false)),
        };
        let query = ListQuery { scope, filters: req.filters, sort: req.sort, marker: req.marker, limit: req.limit, include_deleted: false };
        let images = self.catalog.list_images(&query).await.map_err(backend)?;
        Ok(ListPage { full: images.len() == req.limit && req.limit > 0, images })
    }
}

fn check_format(attr: &str, value: &Option<String>, allowed: &[String]) -> DomainResult<()> {
    match value {
        Some(v) if !allowed.iter().any(|a| a == v) => {
            Err(DomainError::BadRequest(format!("Invalid value '{v}' for {attr}: it must be one of {}.", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

fn check_tag(tag: &str) -> DomainResult<()> {
    if tag.chars().count() > 255 {
        return Err(DomainError::BadRequest("Tag is too long: a tag may have at most 255 characters.".into()));
    }
    Ok(())
}
