//! `/images/{id}/metadata[/{key}]`: an image's custom properties as Nova's
//! image-metadata resource — POST merges, PUT replaces them all, PUT on a key sets
//! one, DELETE on a key removes it — with Nova's body schema and messages. JSON or
//! legacy XML bodies.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use imagery_core::image::RESERVED_PREFIX;
use imagery_core::rules::{self, PropertyRules};
use imagery_core::{DomainError, Image, Problem};
use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
use imagery_service::EditRules;
use serde_json::{json, Map, Value};

use crate::api_server::{empty, image_id, Ctx};
use crate::error::{ComputeError, ComputeResult};
use crate::media::{self, BodyType};
use crate::views;
use crate::xml;

/// Property keys imagery or Glance own; a replace-all keeps them.
fn server_owned(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX) || key.starts_with("os_glance")
}

const INVALID_KEY: &str = "Invalid metadata key";
const QUOTA_EXCEEDED: &str = "Image metadata limit exceeded";

/// Nova's key pattern, `^[a-zA-Z0-9-_:. ]{1,255}$` (the one rule, with Nova's parameters).
fn valid_key(key: &str) -> bool {
    rules::check_property_key_syntax(key, &PropertyRules::NOVA).is_ok()
}

fn invalid(field: &str, value: &Value, why: String) -> ComputeError {
    ComputeError::bad_request(format!("Invalid input for field/attribute {field}. Value: {value}. {why}"))
}

/// Errors of a metadata write, in Nova's words.
fn write_error(err: DomainError) -> ComputeError {
    match err {
        DomainError::NotFound(Problem::PropertyNotFound { .. }) => ComputeError::not_found(INVALID_KEY),
        DomainError::OverLimit(_) => ComputeError::forbidden(QUOTA_EXCEEDED),
        other => ComputeError::from_image_lookup(other),
    }
}

/// Read the request body as JSON, or as XML when its `Content-Type` says so.
async fn read_body(ctx: &Ctx, body: Body) -> ComputeResult<Value> {
    let kind = media::body_type(&ctx.headers);
    if let BodyType::Unsupported(media) = &kind {
        tracing::debug!(%media, "unsupported request body type");
        return Err(ComputeError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type"));
    }
    let bytes = read_limited(body, MAX_DOCUMENT).await.map_err(|e| match e {
        BodyError::TooLarge => ComputeError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large."),
        BodyError::Unreadable => ComputeError::bad_request("Malformed message body: the body could not be read"),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    match kind {
        BodyType::Xml => {
            xml::parse_metadata_body(&bytes).map_err(|()| ComputeError::bad_request("Malformed message body: cannot understand XML"))
        }
        _ => serde_json::from_slice(&bytes).map_err(|_| ComputeError::bad_request("Malformed message body: cannot understand JSON")),
    }
}

/// The request's top-level object with `wrapper` in it; `/v2` tolerates other keys.
fn unwrap_body(ctx: &Ctx, body: Value, wrapper: &str) -> ComputeResult<Value> {
    let Value::Object(mut top) = body else {
        return Err(invalid("body", &body, format!("{body} is not of type 'object'")));
    };
    let Some(inner) = top.remove(wrapper) else {
        return Err(ComputeError::bad_request(format!("'{wrapper}' is a required property")));
    };
    if !ctx.legacy_v2() {
        if let Some(extra) = top.keys().next() {
            return Err(ComputeError::bad_request(format!("Additional properties are not allowed ('{extra}' was unexpected)")));
        }
    }
    Ok(inner)
}

/// `parameter_types.metadata`: string values of at most 255 characters under keys
/// matching the pattern.
fn check_metadata(field: &str, value: Value) -> ComputeResult<BTreeMap<String, String>> {
    let Value::Object(map) = value else {
        return Err(invalid(field, &value, format!("{value} is not of type 'object'")));
    };
    if let Some(bad) = map.keys().find(|k| !valid_key(k)) {
        let whole = Value::Object(map.clone());
        return Err(invalid(field, &whole, format!("Additional properties are not allowed ('{bad}' was unexpected)")));
    }
    let mut entries = BTreeMap::new();
    for (key, v) in map {
        let Value::String(s) = v else {
            return Err(invalid(&key, &v, format!("{v} is not of type 'string'")));
        };
        if rules::check_property_value(&key, &s, &PropertyRules::NOVA).is_err() {
            return Err(invalid(&key, &Value::String(s.clone()), format!("'{s}' is too long")));
        }
        entries.insert(key, s);
    }
    Ok(entries)
}

async fn metadata_body(ctx: &Ctx, body: Body) -> ComputeResult<BTreeMap<String, String>> {
    let value = read_body(ctx, body).await?;
    let entries = check_metadata("metadata", unwrap_body(ctx, value, "metadata")?)?;
    Ok(entries)
}

fn metadata_doc(metadata: Map<String, Value>) -> Value {
    json!({ "metadata": metadata })
}

fn user_property<'a>(image: &'a Image, key: &str) -> Option<&'a String> {
    image.properties.get(key).filter(|_| !key.starts_with(RESERVED_PREFIX))
}

pub async fn list(ctx: &Ctx, id: &str) -> ComputeResult<Response> {
    let id = image_id(id)?;
    let image = ctx.service().show_image(&ctx.caller, id).await.map_err(ComputeError::from_image_lookup)?;
    ctx.document(StatusCode::OK, &metadata_doc(views::metadata(&image)), xml::metadata)
}

pub async fn merge(ctx: &Ctx, id: &str, body: Body) -> ComputeResult<Response> {
    let entries = metadata_body(ctx, body).await?;
    let id = image_id(id)?;
    let image = ctx
        .service()
        .update_image_with(&ctx.caller, id, EditRules::NOVA, |img| {
            img.properties.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
        .await
        .map_err(write_error)?;
    ctx.document(StatusCode::OK, &metadata_doc(views::metadata(&image)), xml::metadata)
}

pub async fn replace(ctx: &Ctx, id: &str, body: Body) -> ComputeResult<Response> {
    let entries = metadata_body(ctx, body).await?;
    let id = image_id(id)?;
    ctx.service()
        .update_image_with(&ctx.caller, id, EditRules::NOVA, |img| {
            img.properties.retain(|k, _| server_owned(k));
            img.properties.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
        .await
        .map_err(write_error)?;
    let echoed: Map<String, Value> = entries.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    ctx.document(StatusCode::OK, &metadata_doc(echoed), xml::metadata)
}

pub async fn show(ctx: &Ctx, id: &str, key: &str) -> ComputeResult<Response> {
    let id = image_id(id)?;
    let image = ctx.service().show_image(&ctx.caller, id).await.map_err(ComputeError::from_image_lookup)?;
    let value = user_property(&image, key).ok_or_else(ComputeError::resource_not_found)?;
    let mut meta = Map::new();
    meta.insert(key.to_string(), views::metadata_value(key, value));
    ctx.document(StatusCode::OK, &json!({ "meta": meta }), xml::meta)
}

pub async fn set(ctx: &Ctx, id: &str, key: &str, body: Body) -> ComputeResult<Response> {
    let value = read_body(ctx, body).await?;
    let inner = unwrap_body(ctx, value, "meta")?;
    let count = inner.as_object().map(Map::len);
    match count {
        Some(0) => return Err(invalid("meta", &inner, format!("{inner} does not have enough properties"))),
        Some(n) if n > 1 => return Err(invalid("meta", &inner, format!("{inner} has too many properties"))),
        _ => {}
    }
    let entries = check_metadata("meta", inner)?;
    let Some(new_value) = entries.get(key).cloned() else {
        return Err(ComputeError::bad_request("Request body and URI mismatch"));
    };
    let id = image_id(id)?;
    ctx.service()
        .update_image_with(&ctx.caller, id, EditRules::NOVA, |img| {
            img.properties.insert(key.to_string(), new_value.clone());
            Ok(())
        })
        .await
        .map_err(write_error)?;
    let mut meta = Map::new();
    meta.insert(key.to_string(), Value::String(new_value));
    ctx.document(StatusCode::OK, &json!({ "meta": meta }), xml::meta)
}

pub async fn delete(ctx: &Ctx, id: &str, key: &str) -> ComputeResult<Response> {
    let id = image_id(id)?;
    ctx.service()
        .update_image_with(&ctx.caller, id, EditRules::NOVA, |img| {
            if user_property(img, key).is_none() {
                return Err(DomainError::NotFound(Problem::PropertyNotFound { key: key.to_string() }));
            }
            img.properties.remove(key);
            Ok(())
        })
        .await
        .map_err(write_error)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pattern() {
        assert!(valid_key("os_distro"));
        assert!(valid_key("a-b_c:d.e f"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("a/b"));
        assert!(!valid_key("é"));
    }

    #[test]
    fn schema() {
        let ok = check_metadata("metadata", json!({"a": "1"}));
        assert_eq!(ok.ok().map(|m| m.len()), Some(1));
        for bad in [json!([]), json!({"": "x"}), json!({"a": 1}), json!({"a": "x".repeat(256)})] {
            assert_eq!(check_metadata("metadata", bad).err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        }
    }
}
