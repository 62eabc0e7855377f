//! `/v2/images/{id}/members[/{member_id}]`: sharing.

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use imagery_core::MemberStatus;
use serde_json::{json, Value};

use crate::api_server::{empty, image_id, json_body, json_response, Ctx};
use crate::error::{GlanceError, GlanceResult};
use crate::views;

pub async fn list(ctx: &Ctx, id: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let members = ctx.service().list_members(&ctx.caller, id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"members": members.iter().map(views::member).collect::<Vec<_>>(), "schema": "/v2/schemas/members"}),
    ))
}

pub async fn create(ctx: &Ctx, id: &str, body: Body) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let value = json_body(body).await?;
    let member = match value.get("member") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        Some(_) => return Err(GlanceError::bad_request("Member to be added not specified")),
        None => return Err(GlanceError::bad_request("Member to be added not specified")),
    };
    let m = ctx.service().add_member(&ctx.caller, id, &member).await?;
    Ok(json_response(StatusCode::OK, &views::member(&m)))
}

pub async fn show(ctx: &Ctx, id: &str, member: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let m = ctx.service().show_member(&ctx.caller, id, member).await?;
    Ok(json_response(StatusCode::OK, &views::member(&m)))
}

pub async fn update(ctx: &Ctx, id: &str, member: &str, body: Body) -> GlanceResult<Response> {
    let id = image_id(id)?;
    let value = json_body(body).await?;
    let status = match value.get("status") {
        None => return Err(GlanceError::bad_request("Status not specified")),
        Some(Value::String(s)) => s.parse::<MemberStatus>().map_err(|_| GlanceError::bad_request(format!("Invalid status: {s}")))?,
        Some(other) => return Err(GlanceError::bad_request(format!("Invalid status: {other}"))),
    };
    let m = ctx.service().set_member_status(&ctx.caller, id, member, status).await?;
    Ok(json_response(StatusCode::OK, &views::member(&m)))
}

pub async fn delete(ctx: &Ctx, id: &str, member: &str) -> GlanceResult<Response> {
    let id = image_id(id)?;
    ctx.service().remove_member(&ctx.caller, id, member).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
