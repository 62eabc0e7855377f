//! `/v2/images/{id}/file`, `/stage` and `/import`: bytes in and out.

use axum::body::Body;
use axum::response::Response;
use futures::TryStreamExt;
use http::{HeaderValue, StatusCode};
use imagery_core::ports::ByteStream;
use imagery_service::{DownloadRange, ImportMethod, JobOrigin};
use serde_json::Value;

use crate::api_server::{empty, image_id, json_body, Ctx};
use crate::error::{GlanceError, GlanceResult};

fn require_octet_stream(ctx: &Ctx) -> GlanceResult<()> {
    match imagery_http_common::body::content_type(&ctx.headers).as_deref() {
        Some("application/octet-stream") => Ok(()),
        other => Err(GlanceError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("The request media type {} is not supported by this server.", other.unwrap_or("")),
        )),
    }
}

fn announced_size(ctx: &Ctx) -> GlanceResult<Option<u64>> {
    match ctx.headers.get("x-openstack-image-size").and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| GlanceError::bad_request(format!("Invalid image size '{raw}': it must be an integer."))),
    }
}

fn stream_of(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

pub async fn upload(ctx: &Ctx, id: &str, body: Body) -> GlanceResult<Response> {
    let id = image_id(id)?;
    require_octet_stream(ctx)?;
    let size = announced_size(ctx)?;
    ctx.service().upload(&ctx.caller, id, stream_of(body), size).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn stage(ctx: &Ctx, id: &str, body: Body) -> GlanceResult<Response> {
    let id = image_id(id)?;
    if !ctx.service().config().import_methods.iter().any(|m| m == "glance-direct") {
        return Err(GlanceError::not_found("The glance-direct import method is not enabled."));
    }
    require_octet_stream(ctx)?;
    let size = announced_size(ctx)?;
    ctx.service().stage(&ctx.caller, id, stream_of(body), size).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`; several ranges → 400; nonsense → 416.
fn parse_range(raw: &str) -> GlanceResult<DownloadRange> {
    let unsatisfiable = || GlanceError::new(StatusCode::RANGE_NOT_SATISFIABLE, "Requested range not satisfiable");
    let spec = raw.trim().strip_prefix("bytes=").ok_or_else(unsatisfiable)?;
    if spec.contains(',') {
        return Err(GlanceError::bad_request("Multiple ranges are not supported."));
    }
    let (a, b) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| unsatisfiable());
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => Ok(DownloadRange::Suffix(num(b)?)),
        (false, true) => Ok(DownloadRange::From(num(a)?)),
        (false, false) => Ok(DownloadRange::FromTo(num(a)?, num(b)?)),
        (true, true) => Err(unsatisfiable()),
    }
}

/// A legacy request `Content-Range: bytes a-b/*` asks for a range too.
fn content_range_request(raw: &str) -> GlanceResult<DownloadRange> {
    let spec = raw.trim().strip_prefix("bytes ").unwrap_or(raw).split('/').next().unwrap_or("");
    parse_range(&format!("bytes={spec}"))
}

pub async fn download(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let range = match (ctx.headers.get(http::header::RANGE), ctx.headers.get(http::header::CONTENT_RANGE)) {
        (Some(r), _) => Some(parse_range(r.to_str().unwrap_or(""))?),
        (None, Some(cr)) => Some(content_range_request(cr.to_str().unwrap_or(""))?),
        (None, None) => None,
    };
    let download = ctx.service().download(&ctx.caller, id, range).await?;
    let Some(stream) = download.body else {
        return Ok(empty(StatusCode::NO_CONTENT));
    };
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let length = match download.range {
        Some((first, last)) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{}", download.total_size)) {
                response.headers_mut().insert(http::header::CONTENT_RANGE, v);
            }
            last - first + 1
        }
        None => {
            if let Some(md5) = download.image.checksum.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
                response.headers_mut().insert("content-md5", md5);
            }
            download.total_size
        }
    };
    response.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

pub async fn import(ctx: &Ctx, id: &str, body: Body) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let value = json_body(body).await?;
    let method = value
        .get("method")
        .and_then(Value::as_object)
        .ok_or_else(|| GlanceError::bad_request("Import request requires a 'method' field."))?;
    let name = method
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| GlanceError::bad_request("Import request requires a 'method' field with a 'name'."))?;
    for flag in ["all_stores", "all_stores_must_succeed"] {
        if let Some(v) = value.get(flag) {
            if !v.is_boolean() {
                return Err(GlanceError::bad_request(format!("'{flag}' must be a boolean.")));
            }
        }
    }
    if value.get("all_stores_must_succeed") == Some(&Value::Bool(false)) {
        return Err(GlanceError::bad_request("This deployment has a single store: 'all_stores_must_succeed' cannot be false."));
    }
    let method = match name {
        "glance-direct" => ImportMethod::GlanceDirect,
        "web-download" => {
            let uri =
                method.get("uri").and_then(Value::as_str).ok_or_else(|| GlanceError::bad_request("web-download requires a 'uri'."))?;
            ImportMethod::WebDownload { uri: uri.to_string() }
        }
        "copy-image" => ImportMethod::CopyImage,
        other => return Err(GlanceError::bad_request(format!("Import method {other} is not valid."))),
    };
    // The task records the request as sent and the request id the client sees.
    let origin = JobOrigin { request_id: Some(ctx.request_id.clone()), request: Some(value.clone()) };
    ctx.service().import_from(&ctx.caller, id, method, origin).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9").ok(), Some(DownloadRange::FromTo(0, 9)));
        assert_eq!(parse_range("bytes=5-").ok(), Some(DownloadRange::From(5)));
        assert_eq!(parse_range("bytes=-5").ok(), Some(DownloadRange::Suffix(5)));
        assert_eq!(parse_range("bytes=0-1,4-5").err().map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        assert_eq!(parse_range("lines=1-2").err().map(|e| e.status), Some(StatusCode::RANGE_NOT_SATISFIABLE));
    }
}
