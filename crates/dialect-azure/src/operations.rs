//! Long-running operations as ARM clients poll them. Image PUT/PATCH/DELETE
//! answer with `Azure-AsyncOperation` (and `Location` for DELETE) pointing at
//! `…/providers/Microsoft.Compute/locations/{loc}/operations/{id}`; resource
//! group deletion answers with `Location: …/operationresults/{id}`. Operations
//! are persisted through the service (dialect `azure`), so a poll answers after
//! a restart; an operation left unfinished by a crash is resumed (group
//! deletion, which is idempotent) or reported failed (image operations).

use std::sync::Arc;

use axum::response::Response;
use http::StatusCode;
use imagery_core::operation::OperationRecord;
use imagery_core::time::{now, Timestamp};
use imagery_core::{Caller, DomainError, Problem};
use imagery_service::Action;
use serde_json::json;

use crate::api_server::{insert, Ctx, Shared};
use crate::error::{empty, json_response, ArmError, ArmResult};
use crate::ids::arm_time;
use crate::subscriptions::Access;
use crate::{IMAGE_NAMESPACE, OPERATION_DIALECT, RESOURCE_GROUP_NAMESPACE};

/// What clients wait between polls (ARM's SDKs sleep 30 s without it).
const RETRY_AFTER: &str = "1";
/// An image operation not finished after this long was interrupted.
const IMAGE_OPERATION_TIMEOUT_SECS: i64 = 120;
/// A group deletion not touched for this long is resumed by the next poll.
const GROUP_DELETION_RESUME_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    CreateImage,
    UpdateImage,
    DeleteImage,
    DeleteGroup,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::CreateImage => "image.create",
            Kind::UpdateImage => "image.update",
            Kind::DeleteImage => "image.delete",
            Kind::DeleteGroup => "group.delete",
        }
    }
}

/// Start recording an operation on `target` (an image uuid or a group key).
pub(crate) async fn begin(ctx: &Ctx, access: &Access, kind: Kind, target: &str, location: &str) -> ArmResult<OperationRecord> {
    let t = now();
    let op = OperationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        dialect: OPERATION_DIALECT.into(),
        project_id: access.project_id().to_string(),
        target: Some(target.to_string()),
        description: kind.as_str().into(),
        created_by: access.caller.user_id.clone().unwrap_or_default(),
        created_at: t,
        modified_at: t,
        done: false,
        payload: json!({
            "status": "InProgress",
            "location": location,
            "roles": access.caller.roles.iter().collect::<Vec<_>>(),
        }),
        idempotency_key: None,
    };
    ctx.service().record_operation(&access.caller, &op).await.map_err(ArmError::from_domain)?;
    Ok(op)
}

/// Record how an operation ended. Failing to record it is logged: the work is done.
pub(crate) async fn finish(shared: &Shared, caller: &Caller, mut op: OperationRecord, outcome: Result<(), &ArmError>) -> OperationRecord {
    let t = now();
    op.done = true;
    op.modified_at = t;
    op.payload["endTime"] = json!(t.timestamp_micros());
    match outcome {
        Ok(()) => op.payload["status"] = json!("Succeeded"),
        Err(e) => {
            op.payload["status"] = json!("Failed");
            op.payload["error"] = json!({"code": e.code, "message": e.message, "target": e.target});
            op.payload["httpStatus"] = json!(e.status.as_u16());
        }
    }
    if let Err(e) = shared.service().update_operation(caller, &op).await {
        tracing::error!(operation = %op.id, error = %e, "could not record the end of an Azure operation");
    }
    op
}

/// Is an operation on `target` still running (and recent enough to be alive)?
pub(crate) async fn in_progress(ctx: &Ctx, access: &Access, target: &str) -> ArmResult<bool> {
    let ops = ctx.service().operations_of(&access.caller, OPERATION_DIALECT, target, None, 5).await.map_err(ArmError::from_domain)?;
    Ok(ops.iter().any(|op| !op.done && (now() - op.modified_at).num_seconds() <= IMAGE_OPERATION_TIMEOUT_SECS))
}

fn operation_url(ctx: &Ctx, access: &Access, op: &OperationRecord) -> String {
    let location = op.payload["location"].as_str().unwrap_or("westus");
    format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{location}/operations/{}?api-version={}",
        ctx.public_url(),
        access.sub,
        op.id,
        ctx.version.as_str()
    )
}

/// `Azure-AsyncOperation` and `Retry-After` (and `Location` for deletions).
pub(crate) fn add_async_headers(response: &mut Response, ctx: &Ctx, access: &Access, op: &OperationRecord, with_location: bool) {
    let url = operation_url(ctx, access, op);
    if with_location {
        insert(response, "location", &url.replacen("?api-version=", "?monitor=true&api-version=", 1));
    }
    insert(response, "azure-asyncoperation", &url);
    insert(response, "retry-after", RETRY_AFTER);
}

fn time_of(op: &OperationRecord, field: &str) -> Option<Timestamp> {
    op.payload[field].as_i64().map(imagery_core::time::from_micros)
}

/// `GET …/locations/{loc}/operations/{id}`: the status resource (200), or with
/// `monitor=true` the Location protocol (202 while running, then the outcome).
pub(crate) async fn status(ctx: &Ctx, access: &Access, _location: &str, id: &str) -> ArmResult<Response> {
    let op = load(ctx, access, id).await?;
    let op = if op.done || op.description == Kind::DeleteGroup.as_str() {
        op
    } else if (now() - op.modified_at).num_seconds() > IMAGE_OPERATION_TIMEOUT_SECS {
        let interrupted = ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalOperationError",
            "The operation was interrupted before it completed. Retry the request.",
        );
        finish(&ctx.shared, &access.caller, op, Err(&interrupted)).await
    } else {
        op
    };
    if ctx.query.get("monitor").is_some_and(|m| m.eq_ignore_ascii_case("true")) {
        return Ok(monitor_response(ctx, &op));
    }
    let status = op.payload["status"].as_str().unwrap_or("InProgress");
    let mut body = json!({"startTime": arm_time(&op.created_at), "status": status, "name": op.id});
    if let Some(end) = time_of(&op, "endTime") {
        body["endTime"] = json!(arm_time(&end));
    }
    if op.payload.get("error").is_some() {
        body["error"] = op.payload["error"].clone();
    }
    let mut response = json_response(StatusCode::OK, &body);
    if !op.done {
        insert(&mut response, "retry-after", RETRY_AFTER);
    }
    Ok(response)
}

async fn load(ctx: &Ctx, access: &Access, id: &str) -> ArmResult<OperationRecord> {
    let not_found = || ArmError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The operation '{id}' could not be found."));
    let op = ctx.service().operation(&access.caller, OPERATION_DIALECT, id).await.map_err(|e| match e {
        DomainError::NotFound(_) => not_found(),
        other => ArmError::from_domain(other),
    })?;
    if op.project_id != access.project.id {
        return Err(not_found());
    }
    Ok(op)
}

/// The Location protocol: 202 while running; then 200 (done) or the error.
fn monitor_response(ctx: &Ctx, op: &OperationRecord) -> Response {
    if !op.done {
        let mut response = empty(StatusCode::ACCEPTED);
        let url = format!("{}{}?{}", ctx.public_url(), ctx.path, query_string(ctx));
        insert(&mut response, "location", &url);
        insert(&mut response, "retry-after", RETRY_AFTER);
        return response;
    }
    match op.payload["status"].as_str() {
        Some("Succeeded") => empty(StatusCode::OK),
        _ => {
            let status = op.payload["httpStatus"]
                .as_u64()
                .and_then(|s| StatusCode::from_u16(s as u16).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error = &op.payload["error"];
            let mut e =
                ArmError::new(status, error["code"].as_str().unwrap_or("InternalOperationError"), error["message"].as_str().unwrap_or(""));
            e.target = error["target"].as_str().map(str::to_string);
            e.render()
        }
    }
}

fn query_string(ctx: &Ctx) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &ctx.query {
        q.append_pair(k, v);
    }
    q.finish()
}

// ----- resource group deletion -----

/// The key of a group in [`RESOURCE_GROUP_NAMESPACE`].
pub(crate) fn group_key(project_id: &str, rg: &str) -> String {
    format!("{project_id}/{}", rg.to_lowercase())
}

/// Start deleting a group with its images, in the background; answer 202 with
/// the `Location` monitor.
pub(crate) async fn start_group_deletion(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Response> {
    let op = begin(ctx, access, Kind::DeleteGroup, &group_key(access.project_id(), rg), "").await?;
    spawn_group_deletion(ctx.shared.clone(), op.clone(), access.caller.clone());
    let mut response = empty(StatusCode::ACCEPTED);
    let url = format!("{}/subscriptions/{}/operationresults/{}?api-version={}", ctx.public_url(), access.sub, op.id, ctx.version.as_str());
    insert(&mut response, "location", &url);
    insert(&mut response, "retry-after", RETRY_AFTER);
    Ok(response)
}

fn spawn_group_deletion(shared: Arc<Shared>, op: OperationRecord, caller: Caller) {
    tokio::spawn(async move {
        let outcome = delete_group(&shared, &op, &caller).await;
        if let Err(e) = &outcome {
            tracing::warn!(operation = %op.id, code = %e.code, message = %e.message, "resource group deletion failed");
        }
        finish(&shared, &caller, op, outcome.as_ref().map(|_| ())).await;
    });
}

/// Delete every image of the group, then the group. Idempotent, so a resumed
/// deletion simply goes on.
async fn delete_group(shared: &Shared, op: &OperationRecord, caller: &Caller) -> Result<(), ArmError> {
    let group = op.target.clone().unwrap_or_default();
    let service = shared.service();
    let prefix = format!("{group}/");
    loop {
        let batch = service.list_keys(caller, IMAGE_NAMESPACE, &prefix, None, 100).await.map_err(ArmError::from_domain)?;
        if batch.is_empty() {
            break;
        }
        for (key, target) in batch {
            if let Ok(id) = uuid::Uuid::parse_str(&target) {
                match service.show_image(caller, id).await {
                    Ok(image) => {
                        service.authorize(caller, Action::Delete(&image)).map_err(|e| match e {
                            DomainError::Forbidden(Problem::Protected { .. }) => ArmError::conflict(
                                "ScopeLocked",
                                format!(
                                    "The resource group cannot be deleted: image '{}' is protected.",
                                    image.name.clone().unwrap_or_default()
                                ),
                            ),
                            other => ArmError::from_domain(other),
                        })?;
                        match service.delete_image(caller, id).await {
                            Ok(_) | Err(DomainError::NotFound(_)) => {}
                            Err(e) => return Err(ArmError::from_domain(e)),
                        }
                    }
                    Err(DomainError::NotFound(_)) => {}
                    Err(e) => return Err(ArmError::from_domain(e)),
                }
            }
            service.unbind_key(caller, &op.project_id, IMAGE_NAMESPACE, &key, Some(&target)).await.map_err(ArmError::from_domain)?;
        }
    }
    service.unbind_key(caller, &op.project_id, RESOURCE_GROUP_NAMESPACE, &group, None).await.map_err(ArmError::from_domain)?;
    Ok(())
}

/// `GET /subscriptions/{sub}/operationresults/{id}`: the group deletion monitor.
pub(crate) async fn group_deletion_result(ctx: &Ctx, access: &Access, id: &str) -> ArmResult<Response> {
    let mut op = load(ctx, access, id).await?;
    if op.description != Kind::DeleteGroup.as_str() {
        return Err(ArmError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The operation '{id}' could not be found.")));
    }
    if !op.done && (now() - op.modified_at).num_seconds() > GROUP_DELETION_RESUME_SECS {
        // The node that ran it went away: take it over.
        // It goes on as the caller who started it (a poller may only be a reader).
        let roles: Vec<String> =
            op.payload["roles"].as_array().map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
        let caller = Caller::new(Some(op.created_by.clone()), Some(op.project_id.clone()), roles);
        op.modified_at = now();
        ctx.service().update_operation(&caller, &op).await.map_err(ArmError::from_domain)?;
        tracing::info!(operation = %op.id, "resuming an interrupted resource group deletion");
        spawn_group_deletion(ctx.shared.clone(), op.clone(), caller);
    }
    Ok(monitor_response(ctx, &op))
}
