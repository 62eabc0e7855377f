//! Glance tasks, rendered from the service's jobs (one job table for every
//! cloud's view of background work): `GET/POST /v2/tasks`, `GET/DELETE
//! /v2/tasks/{id}` (administrators only, as Glance's `tasks_api_access`), and an
//! image's import tasks (`GET /v2/images/{id}/tasks`, for whoever sees the image).

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use imagery_core::cluster::{Job, JobState};
use imagery_core::time::{iso_seconds, Timestamp};
use imagery_service::{JobOrigin, IMPORT_JOB, LEGACY_IMPORT_JOB};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::api_server::{image_id, json_body, json_response, Ctx};
use crate::error::{GlanceError, GlanceResult};

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// The task type Glance shows for a job kind.
fn task_type(job: &Job) -> &str {
    match job.kind.as_str() {
        IMPORT_JOB => "api_image_import",
        LEGACY_IMPORT_JOB => "import",
        other => other.strip_prefix("task:").unwrap_or(other),
    }
}

/// The job kind of a task type given to `POST /v2/tasks`.
fn job_kind(task_type: &str) -> String {
    match task_type {
        "import" => LEGACY_IMPORT_JOB.to_string(),
        other => format!("task:{other}"),
    }
}

/// What the task's `input` shows: an image import's as Glance records it
/// (`image_id`, the request as sent, the stores: one, unnamed), others as given.
fn task_input(job: &Job) -> Value {
    if job.kind != IMPORT_JOB {
        return job.input.clone();
    }
    let request = job.input.get("import_req").cloned().unwrap_or_else(|| {
        let method = job.input.get("method").cloned().unwrap_or(Value::Null);
        match job.input.get("uri") {
            Some(uri) => json!({"method": {"name": method, "uri": uri}}),
            None => json!({"method": {"name": method}}),
        }
    });
    json!({"image_id": job.image_id.map(|id| id.to_string()), "import_req": request, "backend": [null]})
}

fn task_self(job: &Job) -> String {
    format!("/v2/tasks/{}", job.id)
}

/// The full view (`GET /v2/tasks/{id}`, `POST` answer): optional fields only when set.
fn view(job: &Job) -> Value {
    let mut v = json!({
        "id": job.id.to_string(),
        "type": task_type(job),
        "status": job.state.as_str(),
        "input": task_input(job),
        "result": job.result.clone(),
        "message": job.message,
        "owner": job.owner,
        "created_at": iso_seconds(&job.created_at),
        "updated_at": iso_seconds(&job.updated_at),
        "self": task_self(job),
        "schema": "/v2/schemas/task",
    });
    if let Some(map) = v.as_object_mut() {
        optional(map, job);
    }
    v
}

fn optional(map: &mut Map<String, Value>, job: &Job) {
    if let Some(id) = job.image_id {
        map.insert("image_id".into(), json!(id.to_string()));
    }
    if let Some(r) = &job.request_id {
        map.insert("request_id".into(), json!(r));
    }
    if let Some(u) = &job.user_id {
        map.insert("user_id".into(), json!(u));
    }
    if let Some(e) = &job.expires_at {
        map.insert("expires_at".into(), json!(iso_seconds(e)));
    }
}

/// A list entry: no input, result or message.
fn stub(job: &Job) -> Value {
    let mut v = json!({
        "id": job.id.to_string(),
        "type": task_type(job),
        "status": job.state.as_str(),
        "owner": job.owner,
        "created_at": iso_seconds(&job.created_at),
        "updated_at": iso_seconds(&job.updated_at),
        "self": task_self(job),
        "schema": "/v2/schemas/task",
    });
    if let (Some(map), Some(e)) = (v.as_object_mut(), &job.expires_at) {
        map.insert("expires_at".into(), json!(iso_seconds(e)));
    }
    v
}

/// The database form `GET /v2/images/{id}/tasks` shows: every column, nulls
/// kept, times with microseconds and no zone.
fn raw(job: &Job) -> Value {
    let time = |t: &Timestamp| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    json!({
        "id": job.id.to_string(),
        "type": task_type(job),
        "status": job.state.as_str(),
        "owner": job.owner,
        "expires_at": job.expires_at.as_ref().map(time),
        "created_at": time(&job.created_at),
        "updated_at": time(&job.updated_at),
        "deleted_at": null,
        "deleted": false,
        "image_id": job.image_id.map(|id| id.to_string()),
        "request_id": job.request_id,
        "user_id": job.user_id,
        "input": task_input(job),
        "result": job.result.clone(),
        "message": job.message,
    })
}

pub async fn image_tasks(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let jobs = ctx.service().image_jobs(&ctx.caller, id).await?;
    Ok(json_response(StatusCode::OK, &json!({"tasks": jobs.iter().map(raw).collect::<Vec<_>>()})))
}

fn task_id(raw: &str) -> GlanceResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| GlanceError::not_found(format!("Task with identifier {raw} not found")))
}

pub async fn show(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    require_admin(ctx)?;
    let job = ctx.service().show_job(&ctx.caller, task_id(id)?).await?;
    Ok(json_response(StatusCode::OK, &view(&job)))
}

/// Tasks are never deleted by hand (they expire), but the policy is checked first.
pub async fn delete(ctx: &Ctx, _id: &str) -> GlanceResult<Response> {
    require_admin(ctx)?;
    Err(GlanceError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.",
    )
    .with_header("allow", "GET"))
}

/// Glance checks `tasks_api_access` before reading the request, so a caller who
/// may not use tasks gets 403 whatever else is wrong; the service checks again.
fn require_admin(ctx: &Ctx) -> GlanceResult<()> {
    if ctx.caller.is_admin() {
        Ok(())
    } else {
        Err(GlanceError::forbidden("You are not authorized to complete tasks_api_access action."))
    }
}

pub async fn list(ctx: &Ctx) -> GlanceResult<Response> {
    require_admin(ctx)?;
    let query = ctx.query.clone().unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let (mut limit, mut marker, mut descending, mut state, mut legacy_only) = (DEFAULT_LIMIT, None, true, None, false);
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => {
                limit = value.parse::<usize>().map_err(|_| GlanceError::bad_request("limit param must be an integer"))?.min(MAX_LIMIT);
            }
            "marker" => marker = Some(Uuid::parse_str(value).map_err(|_| GlanceError::bad_request("Invalid marker format"))?),
            "sort_dir" => {
                descending = match value.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err(GlanceError::bad_request(format!("Invalid sort direction: {value}"))),
                }
            }
            "sort_key" if matches!(value.as_str(), "created_at" | "updated_at" | "id" | "status" | "type") => {}
            "sort_key" => return Err(GlanceError::bad_request(format!("Invalid sort key: {value}."))),
            "status" => {
                state = Some(JobState::parse(value).ok_or_else(|| GlanceError::bad_request(format!("Invalid status value: {value}")))?)
            }
            "type" if value == "import" => legacy_only = true,
            "type" => return Err(GlanceError::bad_request(format!("Invalid type value: {value}"))),
            _ => {}
        }
    }
    let jobs = ctx.service().list_jobs(&ctx.caller, state, marker, descending, limit).await?;
    let jobs: Vec<&Job> = jobs.iter().filter(|j| !legacy_only || j.kind == LEGACY_IMPORT_JOB).collect();
    let without_marker: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "marker").cloned().collect();
    let encode = |items: &[(String, String)]| form_urlencoded::Serializer::new(String::new()).extend_pairs(items).finish();
    let first = if without_marker.is_empty() { "/v2/tasks".to_string() } else { format!("/v2/tasks?{}", encode(&without_marker)) };
    let mut body = json!({"tasks": jobs.iter().map(|j| stub(j)).collect::<Vec<_>>(), "first": first, "schema": "/v2/schemas/tasks"});
    if let (Some(last), true) = (jobs.last(), limit > 0 && jobs.len() == limit) {
        let mut next = without_marker.clone();
        next.push(("marker".into(), last.id.to_string()));
        if let Some(map) = body.as_object_mut() {
            map.insert("next".into(), json!(format!("/v2/tasks?{}", encode(&next))));
        }
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /v2/tasks`: Glance's deprecated task API, for administrators.
pub async fn create(ctx: &Ctx, body: Body) -> GlanceResult<Response> {
    require_admin(ctx)?;
    let value = json_body(body).await?;
    let object = value.as_object().ok_or_else(|| GlanceError::bad_request("Task must be a JSON object."))?;
    for key in object.keys() {
        if !matches!(key.as_str(), "type" | "input") {
            return Err(GlanceError::bad_request(format!("Additional properties are not allowed ('{key}' was unexpected)")));
        }
    }
    let kind = match object.get("type") {
        None => return Err(GlanceError::bad_request("Task 'type' is required")),
        Some(Value::String(t)) if matches!(t.as_str(), "import" | "api_image_import" | "location_import") => t.clone(),
        Some(other) => {
            return Err(GlanceError::bad_request(format!("{other} is not one of ['import', 'api_image_import', 'location_import']")))
        }
    };
    let input = match object.get("input") {
        None => return Err(GlanceError::bad_request("Task 'input' is required")),
        Some(v @ (Value::Object(_) | Value::Null)) => v.clone(),
        Some(other) => return Err(GlanceError::bad_request(format!("{other} is not of type 'object', 'null'"))),
    };
    if kind == "import" {
        let location = input.get("import_from").and_then(Value::as_str);
        let Some(location) = location else {
            return Err(GlanceError::bad_request("Invalid location: None"));
        };
        let scheme_ok = location.split_once("://").is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && !rest.is_empty());
        if !scheme_ok {
            return Err(GlanceError::bad_request(format!("Invalid location: {location}")));
        }
        if let Err(err) = ctx.service().check_import_source(location) {
            return Err(GlanceError::from(err));
        }
    }
    let origin = JobOrigin { request_id: Some(ctx.request_id.clone()), request: None };
    let job = ctx.service().create_task(&ctx.caller, &job_kind(&kind), input, origin).await?;
    let mut response = json_response(StatusCode::CREATED, &view(&job));
    if let Ok(location) = axum::http::HeaderValue::from_str(&format!("{}{}", ctx.base_url(), task_self(&job))) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}
