//! `Microsoft.Compute/images`: get, create or replace, update, delete, and the
//! two lists. An image is found by its alternate key [`IMAGE_NAMESPACE`]
//! `<project>/<rg>/<name>` (lowercase), or, in the default group, by the name
//! `image-<uuid>` of an image made through another dialect. A source
//! (`osDisk.blobUri`, `snapshot.id` or `managedDisk.id`) naming an imagery
//! image — its Glance file URL `…/v2/images/{uuid}/file` or the ARM id of an
//! image — shares that image's bytes without copying them; any other source is
//! recorded as metadata only (the image then holds no data).

use axum::body::Body;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use imagery_core::query::{Filter, SortDir, SortKey, TextField};
use imagery_core::{DomainError, Image, Problem};
use imagery_service::{Action, EditRules, ImageListRequest, NewImage};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api_server::{json_body, Ctx};
use crate::api_version;
use crate::error::{empty, json_response, ArmError, ArmResult};
use crate::ids::valid_image_name;
use crate::model::{provisioning_state, AzureImage, Sources, NAME, RESOURCE_GROUP, SOURCE_IMAGE};
use crate::operations::{self, add_async_headers, Kind};
use crate::resource_groups::{self, is_default, Group};
use crate::subscriptions::{self, Access};
use crate::IMAGE_NAMESPACE;

const RESOURCE_TYPE: &str = "Microsoft.Compute/images";
/// Prefix of the names images from other dialects have in the default group.
const FOREIGN_PREFIX: &str = "image-";

/// An image as ARM addresses it.
struct Found {
    image: Image,
    /// Display name and group.
    name: String,
    rg: String,
    /// Its alternate key, if it was made (or renamed) through ARM.
    key: Option<String>,
}

fn image_key(project_id: &str, rg: &str, name: &str) -> String {
    format!("{project_id}/{}/{}", rg.to_lowercase(), name.to_lowercase())
}

/// The group and name an image shows under.
fn arm_name(ctx: &Ctx, image: &Image) -> (String, String) {
    match (image.reserved(RESOURCE_GROUP), image.reserved(NAME)) {
        (Some(rg), Some(name)) => (rg.to_string(), name.to_string()),
        _ => (ctx.shared.state.default_resource_group.clone(), format!("{FOREIGN_PREFIX}{}", image.id)),
    }
}

fn resource_id(access: &Access, rg: &str, name: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/{rg}/providers/{RESOURCE_TYPE}/{name}", access.sub)
}

fn view(ctx: &Ctx, access: &Access, image: &Image, provisioning: Option<&str>) -> Value {
    let (rg, name) = arm_name(ctx, image);
    let azure = AzureImage::of(image, &ctx.shared.state.default_location);
    let state = provisioning.unwrap_or_else(|| provisioning_state(image, &azure));
    azure.render(image, &resource_id(access, &rg, &name), &name, &ctx.version, state)
}

/// Load an image the caller may read; `None` when gone or invisible.
async fn load(ctx: &Ctx, access: &Access, id: Uuid) -> ArmResult<Option<Image>> {
    match ctx.service().show_image(&access.caller, id).await {
        Ok(image) if image.owner.as_deref() == Some(access.project_id()) => Ok(Some(image)),
        Ok(_) | Err(DomainError::NotFound(_)) => Ok(None),
        Err(e) => Err(ctx.domain_error(e)),
    }
}

async fn find(ctx: &Ctx, access: &Access, group: &Group, rg: &str, name: &str) -> ArmResult<Option<Found>> {
    let key = image_key(access.project_id(), rg, name);
    if let Some(target) = ctx.service().find_key(&access.caller, IMAGE_NAMESPACE, &key).await.map_err(ArmError::from_domain)? {
        if let Ok(id) = Uuid::parse_str(&target) {
            if let Some(image) = load(ctx, access, id).await? {
                let name = image.reserved(NAME).unwrap_or(name).to_string();
                let rg = image.reserved(RESOURCE_GROUP).unwrap_or(&group.name).to_string();
                return Ok(Some(Found { image, name, rg, key: Some(key) }));
            }
        }
    }
    if is_default(ctx, rg) {
        let foreign = name
            .get(..FOREIGN_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(FOREIGN_PREFIX))
            .and_then(|_| name.get(FOREIGN_PREFIX.len()..));
        if let Some(id) = foreign.and_then(|rest| Uuid::parse_str(rest).ok()) {
            if let Some(image) = load(ctx, access, id).await?.filter(|i| i.reserved(NAME).is_none()) {
                return Ok(Some(Found { name: format!("{FOREIGN_PREFIX}{}", image.id), rg: group.name.clone(), image, key: None }));
            }
        }
    }
    Ok(None)
}

pub(crate) async fn show(ctx: &Ctx, access: &Access, rg: &str, name: &str) -> ArmResult<Response> {
    let group = resource_groups::require(ctx, access, rg).await?;
    let found = find(ctx, access, &group, rg, name).await?.ok_or_else(|| ArmError::resource_not_found(RESOURCE_TYPE, name, rg))?;
    Ok(json_response(StatusCode::OK, &view(ctx, access, &found.image, None)))
}

/// A Forbidden is ARM's AuthorizationFailed; a missing source is the client's mistake.
fn source_error(ctx: &Ctx, err: DomainError, target: &str, source: &str) -> ArmError {
    match err {
        DomainError::NotFound(_) => ArmError::invalid_parameter(target, format!("The source image '{source}' was not found.")),
        DomainError::Conflict(why) | DomainError::InvalidImageData(why) => {
            ArmError::invalid_parameter(target, format!("The source image '{source}' cannot be used: {why}"))
        }
        other => ctx.domain_error(other),
    }
}

pub(crate) async fn put(ctx: &Ctx, access: &Access, rg: &str, name: &str, body: Body) -> ArmResult<Response> {
    let group = resource_groups::require(ctx, access, rg).await?;
    ctx.service().authorize(&access.caller, Action::Create { project: access.project_id() }).map_err(|e| ctx.domain_error(e))?;
    if !valid_image_name(name) {
        return Err(ArmError::bad_request(
            "InvalidResourceName",
            format!("Resource name {name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-'."),
        ));
    }
    let spec = AzureImage::from_put(&json_body(body).await?, &ctx.version)?;
    match find(ctx, access, &group, rg, name).await? {
        Some(found) => replace(ctx, access, found, spec).await,
        None => create(ctx, access, &group, rg, name, spec).await,
    }
}

async fn create(ctx: &Ctx, access: &Access, group: &Group, rg: &str, name: &str, spec: AzureImage) -> ArmResult<Response> {
    let source = resolve_source(ctx, access, &spec.sources).await?;
    let service = ctx.service();
    let id = Uuid::new_v4();
    let key = image_key(access.project_id(), rg, name);
    let busy = || ArmError::conflict("Conflict", format!("Another operation on image '{name}' is in progress; retry later."));
    // The operation is recorded before the name is taken, so a concurrent PUT
    // that finds the name bound to an image not created yet knows to wait.
    let op = operations::begin(ctx, access, Kind::CreateImage, &id.to_string(), &spec.location).await?;
    let taken = async {
        if let Some(target) = service.find_key(&access.caller, IMAGE_NAMESPACE, &key).await.map_err(ArmError::from_domain)? {
            let exists = match Uuid::parse_str(&target) {
                Ok(existing) => load(ctx, access, existing).await?.is_some(),
                Err(_) => false,
            };
            // A concurrent PUT created it, or is creating it, since we looked.
            if exists || operations::in_progress(ctx, access, &target).await? {
                return Err(busy());
            }
            // A key left behind by an image deleted elsewhere no longer names anything.
            service
                .unbind_key(&access.caller, access.project_id(), IMAGE_NAMESPACE, &key, Some(&target))
                .await
                .map_err(ArmError::from_domain)?;
        }
        service.bind_key(&access.caller, access.project_id(), IMAGE_NAMESPACE, &key, &id.to_string()).await.map_err(|e| match e {
            DomainError::Conflict(_) => busy(),
            other => ArmError::from_domain(other),
        })
    }
    .await;
    if let Err(e) = taken {
        operations::finish(&ctx.shared, &access.caller, op, Err(&e)).await;
        return Err(e);
    }
    let (mut properties, min_disk) = spec.properties();
    properties.insert(format!("{}{NAME}", imagery_core::image::RESERVED_PREFIX), name.to_string());
    properties.insert(format!("{}{RESOURCE_GROUP}", imagery_core::image::RESERVED_PREFIX), group.name.clone());
    if let Some((_, _, source_id)) = &source {
        properties.insert(format!("{}{SOURCE_IMAGE}", imagery_core::image::RESERVED_PREFIX), source_id.to_string());
    }
    let metadata_only = source.is_none();
    let new = NewImage {
        id: Some(id),
        name: Some(name.to_string()),
        min_disk,
        properties,
        container_format: metadata_only.then(|| "bare".to_string()),
        disk_format: metadata_only.then(|| "vhd".to_string()),
        ..NewImage::default()
    };
    let created = match &source {
        Some((target, value, source_id)) => service
            .create_image_from(&access.caller, *source_id, new, EditRules::AZURE)
            .await
            .map_err(|e| source_error(ctx, e, target, value)),
        None => service.create_image_with(&access.caller, new, EditRules::AZURE).await.map_err(|e| ctx.domain_error(e)),
    };
    match created {
        Ok(image) => {
            let op = operations::finish(&ctx.shared, &access.caller, op, Ok(())).await;
            tracing::info!(image_id = %image.id, name, rg, shared_bytes = !metadata_only, "Azure image created");
            let mut response = json_response(StatusCode::CREATED, &view(ctx, access, &image, Some("Creating")));
            add_async_headers(&mut response, ctx, access, &op, false);
            Ok(response)
        }
        Err(e) => {
            let _ = service.unbind_key(&access.caller, access.project_id(), IMAGE_NAMESPACE, &key, Some(&id.to_string())).await;
            operations::finish(&ctx.shared, &access.caller, op, Err(&e)).await;
            Err(e)
        }
    }
}

/// A PUT over an existing image: location and recorded sources are immutable.
async fn replace(ctx: &Ctx, access: &Access, found: Found, spec: AzureImage) -> ArmResult<Response> {
    let current = AzureImage::of(&found.image, &ctx.shared.state.default_location);
    let location_recorded = found.image.reserved("azure.location").is_some();
    if location_recorded && current.location != spec.location {
        return Err(ArmError::conflict(
            "InvalidResourceLocation",
            format!(
                "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{}'. Please select a new resource name.",
                found.name, current.location, found.rg, spec.location
            ),
        ));
    }
    if let Some(target) = current.sources.changed_by(&spec.sources) {
        return Err(property_change(target));
    }
    let mut spec = spec;
    fill_sources(&mut spec.sources, &current.sources);
    update(ctx, access, found, spec).await
}

fn property_change(target: &str) -> ArmError {
    ArmError {
        target: Some(target.to_string()),
        ..ArmError::conflict("PropertyChangeNotAllowed", format!("Changing property '{target}' is not allowed."))
    }
}

/// Keep recorded sources the request does not repeat.
fn fill_sources(new: &mut Sources, recorded: &Sources) {
    for (slot, old) in [
        (&mut new.blob_uri, &recorded.blob_uri),
        (&mut new.snapshot, &recorded.snapshot),
        (&mut new.managed_disk, &recorded.managed_disk),
        (&mut new.source_vm, &recorded.source_vm),
    ] {
        if slot.is_none() {
            slot.clone_from(old);
        }
    }
}

/// Store `spec` on the image as an update operation; 200 with `Updating`.
async fn update(ctx: &Ctx, access: &Access, found: Found, spec: AzureImage) -> ArmResult<Response> {
    let id = found.image.id;
    let op = operations::begin(ctx, access, Kind::UpdateImage, &id.to_string(), &spec.location).await?;
    let result = ctx
        .service()
        .update_image_with(&access.caller, id, EditRules::AZURE, |img| {
            spec.write(img);
            Ok(())
        })
        .await
        .map_err(|e| match e {
            DomainError::NotFound(_) => ArmError::resource_not_found(RESOURCE_TYPE, &found.name, &found.rg),
            other => ctx.domain_error(other),
        });
    match result {
        Ok(image) => {
            let op = operations::finish(&ctx.shared, &access.caller, op, Ok(())).await;
            let mut response = json_response(StatusCode::OK, &view(ctx, access, &image, Some("Updating")));
            add_async_headers(&mut response, ctx, access, &op, false);
            Ok(response)
        }
        Err(e) => {
            operations::finish(&ctx.shared, &access.caller, op, Err(&e)).await;
            Err(e)
        }
    }
}

pub(crate) async fn patch(ctx: &Ctx, access: &Access, rg: &str, name: &str, body: Body) -> ArmResult<Response> {
    if !ctx.version.has_patch() {
        return Err(api_version::invalid(ctx.version.as_str(), &api_version::compute_with_patch()));
    }
    let group = resource_groups::require(ctx, access, rg).await?;
    let body = json_body(body).await?;
    let found = find(ctx, access, &group, rg, name).await?.ok_or_else(|| ArmError::resource_not_found(RESOURCE_TYPE, name, rg))?;
    ctx.service().authorize(&access.caller, Action::Modify(&found.image)).map_err(|e| ctx.domain_error(e))?;
    let mut azure = AzureImage::of(&found.image, &ctx.shared.state.default_location);
    let sources = azure.apply_update(&body, &ctx.version)?;
    if let Some(target) = azure.sources.changed_by(&sources) {
        return Err(property_change(target));
    }
    azure.sources = sources;
    update(ctx, access, found, azure).await
}

pub(crate) async fn delete(ctx: &Ctx, access: &Access, rg: &str, name: &str) -> ArmResult<Response> {
    let group = resource_groups::require(ctx, access, rg).await?;
    let Some(found) = find(ctx, access, &group, rg, name).await? else {
        return Ok(empty(StatusCode::NO_CONTENT));
    };
    ctx.service().authorize(&access.caller, Action::Delete(&found.image)).map_err(|e| match e {
        DomainError::Forbidden(Problem::Protected { .. }) => {
            let id = resource_id(access, &found.rg, &found.name);
            ArmError::conflict(
                "ScopeLocked",
                format!("The scope '{id}' cannot perform delete operation because it is protected. Unprotect the image and try again."),
            )
        }
        other => ctx.domain_error(other),
    })?;
    let location = AzureImage::of(&found.image, &ctx.shared.state.default_location).location;
    let op = operations::begin(ctx, access, Kind::DeleteImage, &found.image.id.to_string(), &location).await?;
    let deleted = match ctx.service().delete_image(&access.caller, found.image.id).await {
        Ok(_) | Err(DomainError::NotFound(_)) => Ok(()),
        Err(e) => Err(ctx.domain_error(e)),
    };
    let deleted = match (deleted, &found.key) {
        (Ok(()), Some(key)) => ctx
            .service()
            .unbind_key(&access.caller, access.project_id(), IMAGE_NAMESPACE, key, Some(&found.image.id.to_string()))
            .await
            .map(|_| ())
            .map_err(ArmError::from_domain),
        (other, _) => other,
    };
    let op = operations::finish(&ctx.shared, &access.caller, op, deleted.as_ref().map(|_| ())).await;
    deleted?;
    let mut response = empty(StatusCode::ACCEPTED);
    add_async_headers(&mut response, ctx, access, &op, true);
    Ok(response)
}

// ----- lists -----

/// Where the next page starts: after an alternate key of the group, or after
/// an image (by uuid) of the project's catalog listing.
enum Continuation {
    Keys(String),
    Catalog(Option<Uuid>),
}

fn parse_skiptoken(ctx: &Ctx) -> ArmResult<Option<Continuation>> {
    let Some(token) = ctx.query.get("$skiptoken") else {
        return Ok(None);
    };
    let invalid = || ArmError::invalid_parameter("$skiptoken", "The continuation token is invalid.");
    let decoded = URL_SAFE_NO_PAD.decode(token).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    match decoded.split_once(':') {
        Some(("k", key)) => Ok(Some(Continuation::Keys(key.to_string()))),
        Some(("g", "")) => Ok(Some(Continuation::Catalog(None))),
        Some(("g", id)) => Ok(Some(Continuation::Catalog(Some(Uuid::parse_str(id).map_err(|_| invalid())?)))),
        _ => Err(invalid()),
    }
}

fn next_link(ctx: &Ctx, continuation: &Continuation) -> String {
    let token = match continuation {
        Continuation::Keys(key) => format!("k:{key}"),
        Continuation::Catalog(marker) => format!("g:{}", marker.map(|m| m.to_string()).unwrap_or_default()),
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("api-version", ctx.version.as_str());
    q.append_pair("$skiptoken", &URL_SAFE_NO_PAD.encode(token));
    format!("{}{}?{}", ctx.public_url(), ctx.path, q.finish())
}

/// One page of the project's own images from the catalog (newest first).
async fn catalog_page(ctx: &Ctx, access: &Access, marker: Option<Uuid>, limit: usize) -> ArmResult<(Vec<Image>, bool)> {
    let request = ImageListRequest {
        member_status: None,
        filters: vec![Filter::In(TextField::Owner, vec![access.project_id().to_string()])],
        sort: vec![(SortKey::CreatedAt, SortDir::Desc)],
        marker,
        limit,
        ..ImageListRequest::default()
    };
    let page = ctx.service().list_images(&access.caller, request).await.map_err(|e| match e {
        DomainError::BadRequest(_) => ArmError::invalid_parameter("$skiptoken", "The continuation token is invalid."),
        other => ctx.domain_error(other),
    })?;
    Ok((page.images, page.full))
}

fn page(value: Vec<Value>, next: Option<String>) -> Response {
    let mut body = json!({"value": value});
    if let Some(next) = next {
        body["nextLink"] = json!(next);
    }
    json_response(StatusCode::OK, &body)
}

pub(crate) async fn list_group(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Response> {
    resource_groups::require(ctx, access, rg).await?;
    ctx.service().authorize(&access.caller, Action::Read).map_err(|e| ctx.domain_error(e))?;
    let limit = ctx.shared.page_size();
    let continuation = parse_skiptoken(ctx)?;
    let mut value = Vec::new();
    let catalog_marker = match continuation {
        Some(Continuation::Catalog(marker)) => marker,
        start => {
            let after = match start {
                Some(Continuation::Keys(key)) => Some(key),
                _ => None,
            };
            let prefix = format!("{}/{}/", access.project_id(), rg.to_lowercase());
            let rows = ctx
                .service()
                .list_keys(&access.caller, IMAGE_NAMESPACE, &prefix, after.as_deref(), limit)
                .await
                .map_err(ArmError::from_domain)?;
            for (_, target) in &rows {
                if let Some(image) = match Uuid::parse_str(target) {
                    Ok(id) => load(ctx, access, id).await?,
                    Err(_) => None,
                } {
                    value.push(view(ctx, access, &image, None));
                }
            }
            if rows.len() == limit {
                let next = rows.last().map(|(key, _)| next_link(ctx, &Continuation::Keys(key.clone())));
                return Ok(page(value, next));
            }
            if !is_default(ctx, rg) {
                return Ok(page(value, None));
            }
            None
        }
    };
    // The default group also holds the project's images made elsewhere.
    let (images, full) = catalog_page(ctx, access, catalog_marker, limit.saturating_sub(value.len()).max(1)).await?;
    for image in images.iter().filter(|i| i.reserved(NAME).is_none()) {
        value.push(view(ctx, access, image, None));
    }
    let next = if full { images.last().map(|i| next_link(ctx, &Continuation::Catalog(Some(i.id)))) } else { None };
    Ok(page(value, next))
}

pub(crate) async fn list_subscription(ctx: &Ctx, access: &Access) -> ArmResult<Response> {
    ctx.service().authorize(&access.caller, Action::Read).map_err(|e| ctx.domain_error(e))?;
    let marker = match parse_skiptoken(ctx)? {
        None => None,
        Some(Continuation::Catalog(marker)) => marker,
        Some(Continuation::Keys(_)) => return Err(ArmError::invalid_parameter("$skiptoken", "The continuation token is invalid.")),
    };
    let (images, full) = catalog_page(ctx, access, marker, ctx.shared.page_size()).await?;
    let value = images.iter().map(|i| view(ctx, access, i, None)).collect();
    let next = if full { images.last().map(|i| next_link(ctx, &Continuation::Catalog(Some(i.id)))) } else { None };
    Ok(page(value, next))
}

// ----- sources -----

/// The imagery image a disk source names, if any: `(property, value, image id)`.
/// A source that names one the caller cannot use is the client's mistake.
async fn resolve_source(ctx: &Ctx, access: &Access, sources: &Sources) -> ArmResult<Option<(&'static str, String, Uuid)>> {
    for (target, value) in sources.disk_sources() {
        let id = if let Some(id) = glance_file_url(value) {
            id
        } else if let Some((sub, rg, name)) = arm_image_id(value) {
            match image_by_arm_id(ctx, access, &sub, &rg, &name).await {
                Some(id) => id,
                None => return Err(ArmError::invalid_parameter(target, format!("The source image '{value}' was not found."))),
            }
        } else {
            continue;
        };
        // Whether its bytes may be shared is the service's call, at create.
        ctx.service().show_image(&access.caller, id).await.map_err(|e| source_error(ctx, e, target, value))?;
        return Ok(Some((target, value.to_string(), id)));
    }
    Ok(None)
}

/// `…/v2/images/{uuid}/file` (any host, any mount prefix).
pub(crate) fn glance_file_url(value: &str) -> Option<Uuid> {
    let path = value.split(['?', '#']).next().unwrap_or(value).trim_end_matches('/');
    let mut segments = path.rsplit('/');
    let (file, id, images, version) = (segments.next()?, segments.next()?, segments.next()?, segments.next()?);
    let is_v2 = version == "v2" || version.starts_with("v2.");
    (file == "file" && images == "images" && is_v2).then(|| Uuid::parse_str(id).ok()).flatten()
}

/// `[https://host]/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`.
fn arm_image_id(value: &str) -> Option<(String, String, String)> {
    let lower = value.to_ascii_lowercase();
    let start = lower.find("subscriptions/")?;
    let segments: Vec<&str> = value[start..].trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        [s, sub, g, rg, p, c, i, name]
            if s.eq_ignore_ascii_case("subscriptions")
                && g.eq_ignore_ascii_case("resourceGroups")
                && p.eq_ignore_ascii_case("providers")
                && c.eq_ignore_ascii_case("Microsoft.Compute")
                && i.eq_ignore_ascii_case("images") =>
        {
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            Some((decode(sub), decode(rg), decode(name)))
        }
        _ => None,
    }
}

/// The image an ARM id names, as the caller sees that subscription.
async fn image_by_arm_id(ctx: &Ctx, access: &Access, sub: &str, rg: &str, name: &str) -> Option<Uuid> {
    let other;
    let access = if sub.eq_ignore_ascii_case(&access.sub) {
        access
    } else {
        other = subscriptions::access(ctx, sub).await.ok()?;
        &other
    };
    let group = resource_groups::find(ctx, access, rg).await.ok()??;
    find(ctx, access, &group, rg, name).await.ok()?.map(|f| f.image.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_references() {
        let id = Uuid::new_v4();
        assert_eq!(glance_file_url(&format!("https://h:9292/v2/images/{id}/file")), Some(id));
        assert_eq!(glance_file_url(&format!("http://h/image/v2/images/{id}/file?x=1")), Some(id));
        assert_eq!(glance_file_url(&format!("https://h/v2/images/{id}")), None);
        assert_eq!(glance_file_url("https://acct.blob.core.windows.net/vhds/os.vhd"), None);
        assert_eq!(
            arm_image_id("/subscriptions/s/resourceGroups/My%20RG/providers/Microsoft.Compute/images/img"),
            Some(("s".into(), "My RG".into(), "img".into()))
        );
        assert_eq!(
            arm_image_id("https://h/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/img/"),
            Some(("s".into(), "rg".into(), "img".into()))
        );
        assert_eq!(arm_image_id("subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/x"), None);
    }
}
