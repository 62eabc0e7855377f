//! Version discovery, health, schemas and the `/v2/info/*` documents.

use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::api_server::{base_url, json_response, Ctx, GlanceState};
use crate::error::{GlanceError, GlanceResult};
use crate::schemas;

/// The versions Glance advertises in its default configuration, in its order.
const VERSIONS: [(&str, &str); 14] = [
    ("v2.15", "SUPPORTED"),
    ("v2.9", "SUPPORTED"),
    ("v2.17", "CURRENT"),
    ("v2.16", "SUPPORTED"),
    ("v2.7", "SUPPORTED"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
    ("v2.12", "SUPPORTED"),
    ("v2.11", "SUPPORTED"),
];

pub fn versions(state: &GlanceState, headers: &HeaderMap, status: StatusCode) -> Response {
    let href = format!("{}/v2/", base_url(state, headers));
    let values: Vec<Value> =
        VERSIONS.iter().map(|(id, st)| json!({"id": id, "status": st, "links": [{"rel": "self", "href": href}]})).collect();
    json_response(status, &json!({"versions": values}))
}

pub fn healthcheck() -> Response {
    let mut response = Response::new(axum::body::Body::from("OK"));
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=UTF-8"));
    response
}

pub fn schema(ctx: &Ctx, name: &str) -> GlanceResult<Response> {
    let config = ctx.service().config();
    schemas::by_name(name, &config.container_formats, &config.disk_formats)
        .map(|v| json_response(StatusCode::OK, &v))
        .ok_or_else(|| GlanceError::not_found("The resource could not be found."))
}

pub fn import_info(ctx: &Ctx) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"import-methods": {"description": "Import methods available.", "type": "array", "value": ctx.service().config().import_methods}}),
    )
}

/// Quota usage, as Glance reports it when unified limits are on.
pub async fn usage(ctx: &Ctx) -> GlanceResult<Response> {
    let Some(project) = ctx.caller.project_id.clone() else {
        return Ok(json_response(StatusCode::OK, &json!({"usage": {}})));
    };
    let usage = ctx.service().project_usage(&ctx.caller, &project).await?;
    let quota = ctx.service().config().quota_for(&project).clone();
    let mib = |b: i64| b / (1024 * 1024);
    let limit = |l: Option<i64>| l.unwrap_or(-1);
    Ok(json_response(
        StatusCode::OK,
        &json!({"usage": {
            "image_size_total": {"limit": quota.image_size_total.map(mib).unwrap_or(-1), "usage": mib(usage.stored_bytes)},
            "image_stage_total": {"limit": quota.image_stage_total.map(mib).unwrap_or(-1), "usage": mib(usage.staged_bytes)},
            "image_count_total": {"limit": limit(quota.image_count), "usage": usage.image_count}
        }}),
    ))
}
