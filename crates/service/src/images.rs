//! Image metadata use cases: create, show, list, update, delete, deactivate,
//! reactivate, tags.

use std::collections::{BTreeMap, BTreeSet};

use imagery_core::policy;
use imagery_core::ports::CatalogError;
use imagery_core::query::{Filter, ListQuery, ListScope, SortDir, SortKey};
use imagery_core::rules::{self, PropertyRules};
use imagery_core::time::now;
use imagery_core::{Caller, Counted, DomainError, DomainResult, Field, Image, ImageStatus, Member, MemberStatus, Problem, Visibility};
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

/// How a dialect's cloud edits images: which custom-property rules apply, and
/// whether the dialect may set its own `imagery:` properties (the dialects that
/// keep attributes of their cloud there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditRules {
    pub properties: PropertyRules,
    pub reserved: bool,
    /// Names are unique within the project (claimed atomically).
    pub unique_names: bool,
}

impl EditRules {
    /// Glance, Huawei: Glance's property rules, no reserved properties.
    pub const GLANCE: EditRules = EditRules { properties: PropertyRules::GLANCE, reserved: false, unique_names: false };
    /// Nova's image metadata.
    pub const NOVA: EditRules = EditRules { properties: PropertyRules::NOVA, reserved: false, unique_names: false };
    /// Azure, which keeps its own attributes under `imagery:` (its names are
    /// unique per resource group, an alternate key the dialect owns).
    pub const AZURE: EditRules = EditRules { properties: PropertyRules::GLANCE, reserved: true, unique_names: false };
    /// Yandex: its own attributes under `imagery:`, names unique in the folder.
    pub const YANDEX: EditRules = EditRules { properties: PropertyRules::GLANCE, reserved: true, unique_names: true };

    /// The name `image` must hold uniquely under these rules, if any.
    fn unique_name<'a>(&self, image: &'a Image) -> Option<(&'a str, &'a str)> {
        match (self.unique_names, image.owner.as_deref(), image.name.as_deref()) {
            (true, Some(owner), Some(name)) if !name.is_empty() => Some((owner, name)),
            _ => None,
        }
    }
}

fn quota_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

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
        self.create_image_with(caller, new, EditRules::GLANCE).await
    }

    /// Create an image under a dialect's [`EditRules`].
    pub async fn create_image_with(&self, caller: &Caller, new: NewImage, how: EditRules) -> DomainResult<Image> {
        let owner = new.owner.clone().or_else(|| caller.project_id.clone());
        policy::require_create(caller, owner.as_deref())?;
        let visibility = new.visibility.unwrap_or(Visibility::Shared);
        policy::require_visibility(caller, None, visibility)?;
        if let Some(project) = owner.as_deref() {
            if let Some(limit) = self.config.quota_for(project).image_count {
                let usage = self.catalog.usage(project).await.map_err(backend)?;
                if usage.image_count >= limit {
                    return Err(DomainError::OverLimit(Problem::Quota { what: Counted::Images, limit }));
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
        self.validate_edit(caller, &base, &image, &how)?;
        if let Some((owner, name)) = how.unique_name(&image) {
            self.claim_name(owner, name, image.id).await?;
        }
        let inserted = match self.catalog.insert_image(&image).await {
            Ok(()) => Ok(image.clone()),
            Err(CatalogError::Duplicate(_)) => {
                Err(DomainError::Conflict(format!("Image with identifier {} already exists!", image.id).into()))
            }
            Err(e) => Err(backend(e)),
        };
        if let (Err(_), Some((owner, name))) = (&inserted, how.unique_name(&image)) {
            self.release_name(owner, name, image.id).await?;
        }
        inserted
    }

    /// Check that `after` is a legal edit of `before` by `caller`. The single place
    /// where attribute rules live: read-only fields, formats, limits, quotas,
    /// ownership and visibility policy.
    fn validate_edit(&self, caller: &Caller, before: &Image, after: &Image, how: &EditRules) -> DomainResult<()> {
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
            return Err(DomainError::Forbidden(Problem::ReadOnly { attribute: name.to_string() }));
        }
        if before.blob_key != after.blob_key {
            return Err(DomainError::Forbidden(Problem::Reserved { key: "locations".into() }));
        }
        if before.owner != after.owner && !caller.is_admin() {
            return Err(DomainError::Forbidden("Owner can't be updated by non admin.".into()));
        }
        if before.visibility != after.visibility {
            policy::require_visibility(caller, Some(before), after.visibility)?;
        }
        if after.name != before.name {
            if let Some(name) = &after.name {
                rules::check_name(name)?;
            }
        }
        if after.owner != before.owner {
            if let Some(owner) = &after.owner {
                rules::check_owner(owner)?;
            }
        }
        rules::check_int_attr(Field::MinDisk, after.min_disk)?;
        rules::check_int_attr(Field::MinRam, after.min_ram)?;
        let formats_changed = before.container_format != after.container_format || before.disk_format != after.disk_format;
        if formats_changed {
            if !matches!(before.status, ImageStatus::Queued | ImageStatus::Importing) {
                return Err(DomainError::Forbidden(
                    format!("Forbidden to modify container_format or disk_format of an image in status '{}'.", before.status).into(),
                ));
            }
            rules::check_format(Field::ContainerFormat, after.container_format.as_deref(), &self.config.container_formats)?;
            rules::check_format(Field::DiskFormat, after.disk_format.as_deref(), &self.config.disk_formats)?;
        }
        for tag in after.tags.difference(&before.tags) {
            rules::check_tag(tag)?;
        }
        if after.tags.len() > before.tags.len() && after.tags.len() > self.config.image_tag_quota {
            return Err(DomainError::OverLimit(Problem::Quota { what: Counted::Tags, limit: quota_i64(self.config.image_tag_quota) }));
        }
        let own_reserved = |key: &str| how.reserved && key.starts_with(imagery_core::image::RESERVED_PREFIX);
        for (key, value) in &after.properties {
            if before.properties.get(key) == Some(value) || own_reserved(key) {
                continue;
            }
            rules::check_property_key(key, &how.properties)?;
            rules::check_property_value(key, value, &how.properties)?;
        }
        for key in before.properties.keys().filter(|k| !after.properties.contains_key(*k)) {
            if !own_reserved(key) {
                rules::check_property_key(key, &PropertyRules::GLANCE)?;
            }
        }
        let user_props = |i: &Image| i.user_properties().count();
        if user_props(after) > user_props(before) && user_props(after) > self.config.image_property_quota {
            return Err(DomainError::OverLimit(Problem::Quota {
                what: Counted::Properties,
                limit: quota_i64(self.config.image_property_quota),
            }));
        }
        Ok(())
    }

    /// Apply `edit` to the image and store it, after every rule has been checked.
    /// `edit` may run more than once when a concurrent writer wins the race.
    pub async fn update_image<F>(&self, caller: &Caller, id: Uuid, edit: F) -> DomainResult<Image>
    where
        F: Fn(&mut Image) -> DomainResult<()>,
    {
        self.update_image_with(caller, id, EditRules::GLANCE, edit).await
    }

    /// Update an image under a dialect's [`EditRules`].
    pub async fn update_image_with<F>(&self, caller: &Caller, id: Uuid, how: EditRules, edit: F) -> DomainResult<Image>
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
            self.validate_edit(caller, &before, &after, &how)?;
            let renamed = after.name != before.name || after.owner != before.owner;
            let claim = if renamed { how.unique_name(&after).map(|(o, n)| (o.to_string(), n.to_string())) } else { None };
            if let Some((owner, name)) = &claim {
                self.claim_name(owner, name, id).await?;
            }
            after.updated_at = now();
            let written = self.catalog.update_image(&after).await;
            let claim = claim.as_ref().map(|(o, n)| (o.as_str(), n.as_str()));
            match (&written, claim, how.unique_name(&before)) {
                (Ok(_), _, Some((owner, name))) if renamed => self.release_name(owner, name, id).await?,
                (Err(_), Some((owner, name)), _) => self.release_name(owner, name, id).await?,
                _ => {}
            }
            match written {
                Ok(stored) => return Ok(stored),
                Err(CatalogError::Stale) => continue,
                Err(CatalogError::Missing(_)) => return Err(DomainError::image_not_found(id)),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Store a change decided by the service itself (uploads, imports, activation)
    /// that leaves the image in status `to`, retrying on concurrent metadata edits.
    /// `change` returns `Ok(false)` to give up without writing (the image moved on);
    /// the status machine ([`ImageStatus::can_become`]) then decides whether the
    /// image may go from where it is to `to` — no status changes any other way.
    pub(crate) async fn transition<F>(&self, id: Uuid, to: ImageStatus, change: F) -> DomainResult<Option<Image>>
    where
        F: Fn(&mut Image) -> DomainResult<bool>,
    {
        loop {
            let Some(mut image) = self.catalog.get_image(id).await.map_err(backend)? else {
                return Ok(None);
            };
            let from = image.status;
            if !change(&mut image)? {
                return Ok(None);
            }
            if from != to && !from.can_become(to) {
                return Err(DomainError::Conflict(Problem::Transition { from, to }));
            }
            image.status = to;
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
            if !image.status.can_become(ImageStatus::Deleted) {
                return Err(DomainError::Conflict(Problem::Transition { from: image.status, to: ImageStatus::Deleted }));
            }
            let t = now();
            image.status = ImageStatus::Deleted;
            image.deleted_at = Some(t);
            image.updated_at = t;
            match self.catalog.update_image(&image).await {
                Ok(stored) => {
                    // A unique name the image held is free again.
                    if let (Some(owner), Some(name)) = (stored.owner.as_deref(), stored.name.as_deref()) {
                        self.release_name(owner, name, id).await?;
                    }
                    return Ok(stored);
                }
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
        // Only an active image can be deactivated and only a deactivated one
        // reactivated (the machine has other ways into `active`).
        let from = match target {
            ImageStatus::Active => ImageStatus::Deactivated,
            _ => ImageStatus::Active,
        };
        let stored = self
            .transition(id, target, |img| {
                if img.status == target {
                    return Ok(false);
                }
                if img.status != from {
                    return Err(DomainError::Forbidden(format!("Not allowed to {verb} image in status '{}'", img.status).into()));
                }
                Ok(true)
            })
            .await?;
        match stored {
            Some(img) => Ok(img),
            None => self.visible_image(caller, id).await.map(|(i, _)| i),
        }
    }

    pub async fn add_tag(&self, caller: &Caller, id: Uuid, tag: &str) -> DomainResult<Image> {
        rules::check_tag(tag)?;
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
                Err(DomainError::NotFound(format!("Tag {tag} not found").into()))
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
        imagery_core::query::check_filters(&req.filters)?;
        if let Some(marker) = req.marker {
            let visible = self.visible_image(caller, marker).await;
            if visible.is_err() {
                return Err(DomainError::BadRequest(format!("Invalid marker. Image {marker} could not be found.").into()));
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
