//! IMS images: `GET /v2/cloudimages` and the Glance-compatible `GET /v2/images`
//! (one query language, two envelopes), `GET /v2/images/{id}` (the bare flat
//! object), and create / update, which the Glance dialect performs and whose
//! answer is then shown as IMS shows an image. `PATCH /v2/cloudimages/{id}` is
//! Glance's PATCH under another path that also accepts `application/json`.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, Uri};
use imagery_core::Image;
use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::api_server::{json_response, Ctx};
use crate::error::{HuaweiError, HuaweiResult};
use crate::query::{self, ListSpec, MAX_LIMIT};
use crate::{attributes, glance, views};

/// Images read per catalog page while filtering on derived attributes.
const BATCH: usize = 200;
/// Images examined at most for one page of a derived-attribute filter; the page
/// then ends early with a `next` marker so the client can go on.
const SCAN_BUDGET: usize = 10_000;

const PATCH_V21: &str = "application/openstack-images-v2.1-json-patch";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `{"images": [...], "page_info": {"next_marker"}}`, 500 per page.
    Ims,
    /// Glance's `{"images", "first", "next", "schema"}`, 25 per page.
    Glance,
}

fn image_id(raw: &str) -> HuaweiResult<Uuid> {
    Uuid::parse_str(raw).ok().filter(|_| raw.len() == 36).ok_or_else(HuaweiError::image_not_found)
}

/// One page of the images passing every filter, and where the next page starts.
async fn collect(ctx: &Ctx<'_>, spec: &ListSpec) -> HuaweiResult<(Vec<Image>, Option<Uuid>)> {
    if spec.matches_nothing || spec.page_size == 0 {
        return Ok((Vec::new(), None));
    }
    if !spec.needs_post_filter() {
        let page = ctx.service().list_images(&ctx.caller, spec.request.clone()).await?;
        let next = if page.full { page.images.last().map(|i| i.id) } else { None };
        return Ok((page.images, next));
    }
    let mut request = spec.request.clone();
    request.limit = spec.page_size.clamp(BATCH, MAX_LIMIT);
    let mut kept = Vec::new();
    let mut scanned = 0;
    loop {
        let page = ctx.service().list_images(&ctx.caller, request.clone()).await?;
        let Some(last) = page.images.last().map(|i| i.id) else {
            return Ok((kept, None));
        };
        scanned += page.images.len();
        let count = page.images.len();
        for (i, image) in page.images.into_iter().enumerate() {
            if !spec.keeps(&image, &ctx.caller) {
                continue;
            }
            let id = image.id;
            kept.push(image);
            if kept.len() == spec.page_size {
                let more = i + 1 < count || page.full;
                return Ok((kept, more.then_some(id)));
            }
        }
        if !page.full {
            return Ok((kept, None));
        }
        if scanned >= SCAN_BUDGET {
            return Ok((kept, Some(last)));
        }
        request.marker = Some(last);
    }
}

pub async fn list(ctx: &Ctx<'_>, listing: Listing) -> HuaweiResult<Response> {
    let default_limit = match listing {
        Listing::Ims => query::IMS_DEFAULT_LIMIT,
        Listing::Glance => query::GLANCE_DEFAULT_LIMIT,
    };
    let spec = query::parse(ctx.parts.uri.query(), default_limit)?;
    let (images, next) = collect(ctx, &spec).await?;
    let items: Vec<Value> = images.iter().map(|img| views::ims_image(img, &ctx.caller)).collect();
    let mut body = Map::new();
    body.insert("images".into(), Value::Array(items));
    match listing {
        Listing::Ims => {
            if let Some(marker) = next {
                body.insert("page_info".into(), json!({"next_marker": marker.to_string()}));
            }
        }
        Listing::Glance => {
            let without_marker: Vec<(String, String)> = spec.pairs.iter().filter(|(k, _)| k != "marker").cloned().collect();
            let encode = |items: &[(String, String)]| form_urlencoded::Serializer::new(String::new()).extend_pairs(items).finish();
            let first =
                if without_marker.is_empty() { "/v2/images".to_string() } else { format!("/v2/images?{}", encode(&without_marker)) };
            body.insert("first".into(), json!(first));
            body.insert("schema".into(), json!("/v2/schemas/images"));
            if let Some(marker) = next {
                let mut pairs = without_marker.clone();
                pairs.push(("marker".into(), marker.to_string()));
                body.insert("next".into(), json!(format!("/v2/images?{}", encode(&pairs))));
            }
        }
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

pub async fn show(ctx: &Ctx<'_>, id: &str) -> HuaweiResult<Response> {
    let id = image_id(id)?;
    let image = ctx.service().show_image(&ctx.caller, id).await?;
    Ok(json_response(StatusCode::OK, &views::ims_image(&image, &ctx.caller)))
}

/// Glance's answer to a create or update, shown as IMS shows the image (with the
/// Huawei attributes). Should the image be gone already, Glance's answer stands.
async fn as_ims_image(ctx: &Ctx<'_>, response: Response) -> HuaweiResult<Response> {
    if !response.status().is_success() {
        return Err(glance::ims_error(response).await);
    }
    let (mut head, body) = response.into_parts();
    let bytes = read_limited(body, MAX_DOCUMENT).await.unwrap_or_default();
    let id = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v.get("id").and_then(Value::as_str).and_then(|s| image_id(s).ok()));
    let image = match id {
        Some(id) => ctx.service().show_image(&ctx.caller, id).await.ok(),
        None => None,
    };
    head.headers.remove(http::header::CONTENT_LENGTH);
    let body = match image {
        Some(image) => Body::from(views::ims_image(&image, &ctx.caller).to_string()),
        None => Body::from(bytes),
    };
    Ok(Response::from_parts(head, body))
}

/// `POST /v2/images` (GlanceCreateImageMetadata).
pub async fn create(ctx: Ctx<'_>, body: Body) -> HuaweiResult<Response> {
    let response = glance::call(ctx.shared, ctx.parts.clone(), body).await;
    as_ims_image(&ctx, response).await
}

/// `PATCH /v2/images/{id}` and `PATCH /v2/cloudimages/{id}`: a JSON patch in
/// Glance's v2.1 dialect (also under `application/json`). Replacing an attribute
/// imagery derives stores it (it was shown, so it must be replaceable);
/// `__imagetype` cannot be written; `min_disk`, `min_ram` and `protected` may come
/// as strings, as the SDK's patch model sends every value.
pub async fn update(ctx: Ctx<'_>, id: &str, body: Body) -> HuaweiResult<Response> {
    let content_type = imagery_http_common::body::content_type(&ctx.parts.headers);
    let bytes = read_limited(body, MAX_DOCUMENT).await.map_err(|e| match e {
        BodyError::TooLarge => HuaweiError::ims(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
        BodyError::Unreadable => HuaweiError::bad_request("The request body could not be read."),
    })?;
    let mut parts = ctx.parts.clone();
    let body = match content_type.as_deref() {
        None | Some("application/json") | Some(PATCH_V21) => {
            parts.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(PATCH_V21));
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(ops) => Body::from(huawei_patch(ops)?.to_string()),
                // Glance words the complaint.
                Err(_) => Body::from(bytes),
            }
        }
        Some(_) => Body::from(bytes),
    };
    let path = format!("/v2/images/{}", percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC));
    parts.uri = path.parse::<Uri>().map_err(|_| HuaweiError::image_not_found())?;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let response = glance::call(ctx.shared, parts, body).await;
    as_ims_image(&ctx, response).await
}

fn huawei_patch(mut ops: Value) -> HuaweiResult<Value> {
    let Value::Array(items) = &mut ops else {
        return Ok(ops);
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        let key = item.get("path").and_then(Value::as_str).and_then(|p| p.strip_prefix('/')).unwrap_or("").to_string();
        if key == attributes::IMAGETYPE {
            return Err(HuaweiError::bad_request("__imagetype follows from the image's visibility and owner; it cannot be set."));
        }
        if attributes::DERIVED.contains(&key.as_str()) && item.get("op").and_then(Value::as_str) == Some("replace") {
            item.insert("op".into(), Value::String("add".into()));
        }
        // The SDK's patch model types every value as a string.
        let typed = match (key.as_str(), item.get("value")) {
            ("min_disk" | "min_ram", Some(Value::String(s))) => s.trim().parse::<i64>().ok().map(Value::from),
            ("protected", Some(Value::String(s))) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        };
        if let Some(value) = typed {
            item.insert("value".into(), value);
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches() {
        let ops = json!([
            {"op": "replace", "path": "/__os_type", "value": "Windows"},
            {"op": "replace", "path": "/name", "value": "n"},
            {"op": "remove", "path": "/__platform"}
        ]);
        let out = huawei_patch(ops).unwrap_or_else(|e| panic!("{e:?}"));
        let typed = json!([
            {"op": "replace", "path": "/min_ram", "value": "2048"},
            {"op": "replace", "path": "/protected", "value": "True"},
            {"op": "replace", "path": "/min_disk", "value": "lots"}
        ]);
        let typed = huawei_patch(typed).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((&typed[0]["value"], &typed[1]["value"], &typed[2]["value"]), (&json!(2048), &json!(true), &json!("lots")));
        assert_eq!(out[0]["op"], "add");
        assert_eq!(out[1]["op"], "replace");
        assert_eq!(out[2]["op"], "remove");
        assert_eq!(
            huawei_patch(json!([{"op": "add", "path": "/__imagetype", "value": "gold"}])).err().map(|e| e.code),
            Some("IMG.0001".into())
        );
        assert_eq!(huawei_patch(json!({"not": "a list"})).ok(), Some(json!({"not": "a list"})));
    }
}
