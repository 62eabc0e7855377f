//! `/v2/images` and `/v2/images/{id}`: create, list, show, JSON-patch update,
//! delete, deactivate/reactivate and tags.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_core::rules;
use imagery_core::{DomainError, DomainResult, Image, Problem, Visibility};
use imagery_service::NewImage;
use serde_json::Value;
use uuid::Uuid;

use crate::api_server::{empty, image_id, json_body, json_response, Ctx};
use crate::error::{GlanceError, GlanceResult};
use crate::list_query::{parse_list_request, ListOptions};
use crate::views;

/// Base attributes: never custom properties, never removable.
const BASE: [&str; 10] =
    ["name", "visibility", "protected", "os_hidden", "container_format", "disk_format", "min_disk", "min_ram", "owner", "tags"];
/// Schema-typed custom properties whose value must be null or a UUID.
const UUID_PROPS: [&str; 2] = ["kernel_id", "ramdisk_id"];

/// A JSON value of the wrong type for Glance's image schema.
fn invalid(attr: &str, why: &str) -> DomainError {
    DomainError::BadRequest(format!("Provided object does not match schema 'image': {why} Failed validating '{attr}'.").into())
}

/// Apply one base attribute or custom property value (as JSON) to an image. Only
/// the JSON types are checked here (the schema's job); every rule on the values
/// is the service's.
fn set_attribute(image: &mut Image, key: &str, value: &Value) -> DomainResult<()> {
    let string_or_null = |v: &Value| -> DomainResult<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(invalid(key, &format!("{v} is not of type 'null', 'string'."))),
        }
    };
    let boolean = |v: &Value| v.as_bool().ok_or_else(|| invalid(key, &format!("{v} is not of type 'boolean'.")));
    let integer = |v: &Value| -> DomainResult<i64> {
        match v.as_i64() {
            Some(n) => Ok(n),
            // Integers beyond 64 bits are out of the schema's range too.
            None if v.is_number() && v.as_f64().is_some_and(|f| f.fract() == 0.0) => Ok(i64::MAX),
            None => Err(invalid(key, &format!("{v} is not of type 'integer'."))),
        }
    };
    match key {
        "name" => image.name = string_or_null(value)?,
        "visibility" => {
            let v = value.as_str().and_then(|s| s.parse::<Visibility>().ok());
            image.visibility =
                v.ok_or_else(|| invalid(key, &format!("{value} is not one of ['community', 'public', 'private', 'shared'].")))?;
        }
        "protected" => image.protected = boolean(value)?,
        "os_hidden" => image.os_hidden = boolean(value)?,
        "min_disk" => image.min_disk = integer(value)?,
        "min_ram" => image.min_ram = integer(value)?,
        "owner" => image.owner = string_or_null(value)?,
        "container_format" => image.container_format = string_or_null(value)?,
        "disk_format" => image.disk_format = string_or_null(value)?,
        "tags" => {
            let items = value.as_array().ok_or_else(|| invalid(key, &format!("{value} is not of type 'array'.")))?;
            let mut tags = BTreeSet::new();
            for item in items {
                let tag = item.as_str().ok_or_else(|| invalid(key, &format!("{item} is not of type 'string'.")))?;
                tags.insert(tag.to_string());
            }
            image.tags = tags;
        }
        _ => {
            if UUID_PROPS.contains(&key) {
                match value {
                    Value::Null => {
                        image.properties.remove(key);
                        return Ok(());
                    }
                    Value::String(s) if Uuid::parse_str(s).is_ok() && s.len() == 36 => {}
                    _ => return Err(invalid(key, &format!("{value} does not match the UUID pattern."))),
                }
            }
            if key == "cinder_encryption_key_deletion_policy" && !matches!(value.as_str(), Some("on_image_deletion" | "do_not_delete")) {
                return Err(invalid(key, &format!("{value} is not one of ['on_image_deletion', 'do_not_delete'].")));
            }
            let s = value.as_str().ok_or_else(|| invalid(key, &format!("{value} is not of type 'string'.")))?;
            image.properties.insert(key.to_string(), s.to_string());
        }
    }
    Ok(())
}

pub async fn create(ctx: &Ctx, body: Body) -> GlanceResult<Response> {
    let value = json_body(body).await?;
    let Value::Object(fields) = value else {
        return Err(GlanceError::bad_request("Expected a JSON object describing the image."));
    };
    let mut id = None;
    // Collect the attributes on a scratch image, then hand them to the service.
    let mut scratch = Image::new(Uuid::nil(), ctx.caller.project_id.clone(), imagery_core::time::now());
    let mut owner_given = false;
    for (key, value) in &fields {
        rules::check_writable(key, true)?;
        if key == "id" {
            let raw = value.as_str().ok_or_else(|| GlanceError::from(invalid("id", &format!("{value} is not of type 'string'."))))?;
            let parsed = Uuid::parse_str(raw)
                .ok()
                .filter(|_| raw.len() == 36)
                .ok_or_else(|| GlanceError::from(invalid("id", &format!("'{raw}' does not match the UUID pattern."))))?;
            id = Some(parsed);
            continue;
        }
        if key == "owner" {
            owner_given = true;
        }
        set_attribute(&mut scratch, key, value)?;
    }
    let new = NewImage {
        id,
        name: scratch.name,
        visibility: fields.contains_key("visibility").then_some(scratch.visibility),
        protected: scratch.protected,
        os_hidden: scratch.os_hidden,
        container_format: scratch.container_format,
        disk_format: scratch.disk_format,
        min_disk: scratch.min_disk,
        min_ram: scratch.min_ram,
        tags: scratch.tags,
        owner: if owner_given { scratch.owner } else { None },
        properties: scratch.properties,
    };
    let image = ctx.service().create_image(&ctx.caller, new).await?;
    let mut response = json_response(StatusCode::CREATED, &views::ImageView(&image));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/v2/images/{}", ctx.base_url(), image.id)) {
        headers.insert(http::header::LOCATION, v);
    }
    let methods = ctx.service().config().import_methods.join(",");
    if let Ok(v) = HeaderValue::from_str(&methods) {
        headers.insert("openstack-image-import-methods", v);
    }
    Ok(response)
}

pub async fn show(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let image = ctx.service().show_image(&ctx.caller, id).await?;
    Ok(json_response(StatusCode::OK, &views::ImageView(&image)))
}

pub async fn delete(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().delete_image(&ctx.caller, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn deactivate(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().deactivate_image(&ctx.caller, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn reactivate(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().reactivate_image(&ctx.caller, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn add_tag(ctx: &Ctx, id: &str, tag: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().add_tag(&ctx.caller, id, tag).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn delete_tag(ctx: &Ctx, id: &str, tag: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().remove_tag(&ctx.caller, id, tag).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- PATCH

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
struct PatchOp {
    op: Op,
    key: String,
    value: Option<Value>,
}

const PATCH_V21: &str = "application/openstack-images-v2.1-json-patch";
const PATCH_V20: &str = "application/openstack-images-v2.0-json-patch";

/// Decode a one-segment JSON pointer (`/name`), honouring `~0` and `~1`.
fn pointer_key(path: &str) -> GlanceResult<String> {
    let bad = || GlanceError::bad_request(format!("Invalid JSON pointer for this resource: '{path}'"));
    let rest = path.strip_prefix('/').ok_or_else(|| GlanceError::bad_request(format!("Pointer `{path}` does not start with \"/\".")))?;
    if rest.is_empty() || rest.ends_with('/') || rest.contains("//") {
        return Err(GlanceError::bad_request(format!("Pointer `{path}` contains adjacent \"/\" or ends with \"/\".")));
    }
    if rest.contains('/') {
        return Err(bad());
    }
    let mut key = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => key.push('~'),
                Some('1') => key.push('/'),
                _ => {
                    return Err(GlanceError::bad_request(format!(
                        "Pointer `{path}` contains \"~\" not part of a recognized escape sequence."
                    )))
                }
            }
        } else {
            key.push(c);
        }
    }
    Ok(key)
}

fn parse_patch(body: Value, draft4: bool) -> GlanceResult<Vec<PatchOp>> {
    let Value::Array(items) = body else {
        return Err(GlanceError::bad_request("Request body must be a JSON array of operation objects."));
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(obj) = item else {
            return Err(GlanceError::bad_request("Operations must be JSON objects."));
        };
        let (op, path) = if draft4 {
            let found: Vec<(Op, &Value)> = [("add", Op::Add), ("replace", Op::Replace), ("remove", Op::Remove)]
                .into_iter()
                .filter_map(|(name, op)| obj.get(name).map(|p| (op, p)))
                .collect();
            match found.as_slice() {
                [(op, path)] => (*op, *path),
                [] => {
                    return Err(GlanceError::bad_request(
                        "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".",
                    ))
                }
                _ => {
                    return Err(GlanceError::bad_request(
                        "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".",
                    ))
                }
            }
        } else {
            let op = match obj.get("op").and_then(Value::as_str) {
                Some("add") => Op::Add,
                Some("replace") => Op::Replace,
                Some("remove") => Op::Remove,
                Some(other) => return Err(GlanceError::bad_request(format!("Invalid operation: `{other}`."))),
                None => {
                    return Err(GlanceError::bad_request(
                        "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
                    ))
                }
            };
            let path = obj.get("path").ok_or_else(|| GlanceError::bad_request("Unable to find 'path' in JSON Schema change"))?;
            (op, path)
        };
        let path = path.as_str().ok_or_else(|| GlanceError::bad_request("Operation path must be a string."))?;
        let key = pointer_key(path)?;
        let value = match op {
            Op::Remove => None,
            _ => Some(
                obj.get("value")
                    .cloned()
                    .ok_or_else(|| GlanceError::bad_request("Operation \"add\" requires a member named \"value\"."))?,
            ),
        };
        ops.push(PatchOp { op, key, value });
    }
    Ok(ops)
}

fn apply_patch(image: &mut Image, ops: &[PatchOp], draft4: bool) -> DomainResult<()> {
    for op in ops {
        let key = op.key.as_str();
        let is_base = BASE.contains(&key);
        match op.op {
            Op::Remove => {
                if is_base {
                    return Err(DomainError::Forbidden(format!("Property {key} may not be removed.").into()));
                }
                if image.properties.remove(key).is_none() {
                    return Err(DomainError::Conflict(Problem::PropertyNotFound { key: key.to_string() }));
                }
            }
            Op::Add | Op::Replace => {
                let value = op.value.as_ref().unwrap_or(&Value::Null);
                if !is_base {
                    let exists = image.properties.contains_key(key);
                    if op.op == Op::Replace && !exists {
                        return Err(DomainError::Conflict(Problem::PropertyNotFound { key: key.to_string() }));
                    }
                    if op.op == Op::Add && draft4 && exists {
                        return Err(DomainError::Conflict(format!("Property {key} already present.").into()));
                    }
                }
                set_attribute(image, key, value)?;
            }
        }
    }
    Ok(())
}

pub async fn update(ctx: &Ctx, id: &str, body: Body) -> GlanceResult<Response> {
    let content_type = imagery_http_common::body::content_type(&ctx.headers);
    let draft4 = match content_type.as_deref() {
        Some(PATCH_V21) => false,
        Some(PATCH_V20) => true,
        other => {
            return Err(GlanceError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("The request media type {} is not supported by this server. Image PATCH expects Content-Type one of: {PATCH_V20}, {PATCH_V21}", other.unwrap_or("")),
            )
            .with_header("accept-patch", format!("{PATCH_V20}, {PATCH_V21}")));
        }
    };
    let id = image_id(id)?;
    let ops = parse_patch(json_body(body).await?, draft4)?;
    for op in &ops {
        rules::check_writable(&op.key, false)?;
    }
    if ops.is_empty() {
        return show(ctx, &id.to_string()).await;
    }
    let image = ctx.service().update_image(&ctx.caller, id, |img| apply_patch(img, &ops, draft4)).await?;
    Ok(json_response(StatusCode::OK, &views::ImageView(&image)))
}

// ---------------------------------------------------------------- list

pub async fn list(ctx: &Ctx) -> GlanceResult<Response> {
    let query = ctx.query.clone().unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let req = parse_list_request(&pairs, &ListOptions::GLANCE, &mut |_, _| Ok(false))?;
    let limit = req.limit;
    let page = ctx.service().list_images(&ctx.caller, req).await?;
    let without_marker: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "marker").cloned().collect();
    let encode = |items: &[(String, String)]| form_urlencoded::Serializer::new(String::new()).extend_pairs(items).finish();
    let first = if without_marker.is_empty() { "/v2/images".to_string() } else { format!("/v2/images?{}", encode(&without_marker)) };
    let next = match page.images.last() {
        Some(last) if page.full && limit > 0 => {
            let mut next = without_marker.clone();
            next.push(("marker".into(), last.id.to_string()));
            Some(format!("/v2/images?{}", encode(&next)))
        }
        _ => None,
    };
    let body = views::ImageList { images: page.images.iter().map(views::ImageView).collect(), first, schema: "/v2/schemas/images", next };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
#[path = "fuzz.rs"]
mod fuzz;
