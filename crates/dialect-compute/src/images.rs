//! `/images`, `/images/detail`, `/images/{id}`: Nova's image proxy index, detail,
//! show and delete, with Nova's filters (`SUPPORTED_FILTERS` plus `property-*`)
//! and its `images_links` paging.

use std::collections::BTreeMap;

use axum::response::Response;
use http::StatusCode;
use imagery_core::query::{Cmp, Filter, IntField, TextField, TimeField};
use imagery_core::time::Timestamp;
use imagery_core::{DomainError, ImageStatus};
use imagery_service::ImageListRequest;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::api_server::{empty, image_id, Ctx};
use crate::error::{ComputeError, ComputeResult};
use crate::views;
use crate::xml;

/// Nova's `CONF.api.max_limit`: the page size without (or above) `limit`.
pub const MAX_LIMIT: usize = 1000;

/// `utils.validate_integer(value, name, min_value=0)`.
fn non_negative(name: &str, raw: &str) -> ComputeResult<i64> {
    let n: i64 = raw.trim().parse().map_err(|_| ComputeError::bad_request(format!("Invalid input received: {name} must be an integer")))?;
    if n < 0 {
        return Err(ComputeError::bad_request(format!("Invalid input received: {name} must be >= 0")));
    }
    Ok(n)
}

/// ISO 8601 as Glance's `parse_isotime` takes it: with or without an offset,
/// fractional seconds, or just a date (naive times are UTC).
fn parse_time(raw: &str) -> Option<Timestamp> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(raw, fmt) {
            return Some(t.with_timezone(&chrono::Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// The query as Nova reads it: one value per name (the last one wins), sorted by
/// name — the order the `next` link keeps.
fn query_params(query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

/// Translate Nova's list parameters into a service list request and the page size.
fn list_request(params: &BTreeMap<String, String>) -> ComputeResult<(ImageListRequest, usize)> {
    let mut req = ImageListRequest::default();
    let mut limit = MAX_LIMIT;
    let property = |key: &str, value: &str| Filter::Property(key.to_string(), value.to_string());
    for (key, value) in params {
        match key.as_str() {
            "name" => req.filters.push(Filter::In(TextField::Name, vec![value.clone()])),
            "status" => {
                let status = value.to_lowercase();
                if status.parse::<ImageStatus>().is_err() {
                    return Err(ComputeError::bad_request(format!("Invalid status value: {status}")));
                }
                req.filters.push(Filter::In(TextField::Status, vec![status]));
            }
            "changes-since" => {
                let since = parse_time(value).ok_or_else(|| ComputeError::bad_request(format!("Invalid changes-since value: {value}")))?;
                req.filters.push(Filter::Time(TimeField::UpdatedAt, Cmp::Gte, since));
            }
            // A server href (self or bookmark) works as well as a bare uuid.
            "server" => req.filters.push(property("instance_uuid", value.rsplit('/').next().unwrap_or(value))),
            "type" => req.filters.push(property("image_type", value)),
            "minRam" => req.filters.push(Filter::Int(IntField::MinRam, Cmp::Gte, non_negative(key, value)?)),
            "minDisk" => req.filters.push(Filter::Int(IntField::MinDisk, Cmp::Gte, non_negative(key, value)?)),
            "limit" => {
                // Nova drops a zero limit, like an absent one.
                let n = non_negative(key, value)?;
                if n > 0 {
                    limit = usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
                }
            }
            // Accepted and validated, but Glance v2 pages by marker only.
            "page_size" | "offset" => {
                non_negative(key, value)?;
            }
            // Nova drops an empty marker.
            "marker" if value.is_empty() => {}
            "marker" => {
                let marker = Uuid::parse_str(value)
                    .ok()
                    .filter(|_| value.len() == 36)
                    .ok_or_else(|| ComputeError::bad_request(format!("Invalid marker. Image {value} could not be found.")))?;
                req.marker = Some(marker);
            }
            other => {
                if let Some(name) = other.strip_prefix("property-").filter(|n| !n.is_empty()) {
                    req.filters.push(property(name, value));
                }
            }
        }
    }
    req.limit = limit;
    Ok((req, limit))
}

pub async fn list(ctx: &Ctx, detail: bool) -> ComputeResult<Response> {
    let params = query_params(ctx.query.as_deref());
    let (req, _) = list_request(&params)?;
    let page = ctx.service().list_images(&ctx.caller, req).await?;
    let links = ctx.links();
    let items: Vec<Value> = page
        .images
        .iter()
        .map(|img| Value::Object(if detail { ctx.image_detail(img, &links) } else { views::image_summary(img, &links) }))
        .collect();
    let mut body = Map::new();
    body.insert("images".into(), Value::Array(items));
    if page.full {
        if let Some(last) = page.images.last() {
            let mut next = params.clone();
            next.insert("marker".into(), last.id.to_string());
            let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&next).finish();
            let collection = links.collection(if detail { "images/detail" } else { "images" });
            body.insert("images_links".into(), json!([{"rel": "next", "href": format!("{collection}?{query}")}]));
        }
    }
    ctx.document(StatusCode::OK, &Value::Object(body), xml::images)
}

pub async fn show(ctx: &Ctx, id: &str) -> ComputeResult<Response> {
    let id = image_id(id)?;
    let image = ctx.service().show_image(&ctx.caller, id).await.map_err(ComputeError::from_image_lookup)?;
    let view = ctx.image_detail(&image, &ctx.links());
    ctx.document(StatusCode::OK, &json!({ "image": view }), xml::image)
}

pub async fn delete(ctx: &Ctx, id: &str) -> ComputeResult<Response> {
    let id = image_id(id)?;
    match ctx.service().delete_image(&ctx.caller, id).await {
        Ok(_) => Ok(empty(StatusCode::NO_CONTENT)),
        Err(DomainError::Forbidden(why)) => {
            tracing::debug!(%why, "delete refused");
            Err(ComputeError::forbidden("You are not allowed to delete the image."))
        }
        Err(other) => Err(ComputeError::from_image_lookup(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> ComputeResult<(ImageListRequest, usize)> {
        list_request(&query_params(Some(query)))
    }

    #[test]
    fn filters() {
        let (req, limit) =
            request("status=ACTIVE&server=http%3A%2F%2Fh%2Fv2.1%2Fp%2Fservers%2Fabc&type=snapshot&property-os_distro=ubuntu&junk=1")
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(limit, MAX_LIMIT);
        assert!(req.filters.contains(&Filter::In(TextField::Status, vec!["active".into()])));
        assert!(req.filters.contains(&Filter::Property("instance_uuid".into(), "abc".into())));
        assert!(req.filters.contains(&Filter::Property("image_type".into(), "snapshot".into())));
        assert!(req.filters.contains(&Filter::Property("os_distro".into(), "ubuntu".into())));
        assert_eq!(req.filters.len(), 4);
        assert_eq!(request("limit=0").map(|r| r.1).ok(), Some(MAX_LIMIT));
        assert_eq!(request("limit=5000").map(|r| r.1).ok(), Some(MAX_LIMIT));
        assert_eq!(request("limit=3").map(|r| r.1).ok(), Some(3));
        assert_eq!(request("limit=-1").err().map(|e| e.message), Some("Invalid input received: limit must be >= 0".into()));
        assert_eq!(request("limit=x").err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(request("status=bogus").err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(request("marker=nope").err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        assert!(parse_time("2024-01-01T00:00:00Z").is_some());
        assert!(parse_time("2024-01-01T00:00:00.123+02:00").is_some());
        assert!(parse_time("2024-01-01T00:00:00").is_some());
        assert!(parse_time("2024-01-01").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
