//! Resource groups (`Microsoft.Resources/resourceGroups`): named groups inside a
//! subscription, stored as alternate keys [`RESOURCE_GROUP_NAMESPACE`]
//! `<project_id>/<rg lowercase>` whose target is the group's JSON (display
//! name, location, tags, managedBy). The configured default group always exists
//! (it holds the images made through other dialects) and cannot be deleted.
//! Changing a group's tags replaces its key (delete, then insert): a reader
//! racing that change may briefly miss the group.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use imagery_core::DomainError;
use imagery_service::Action;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api_server::{json_body, Ctx};
use crate::error::{empty, json_response, ArmError, ArmResult};
use crate::ids::{normalize_location, valid_resource_group_name};
use crate::model::tags;
use crate::operations::{group_key, start_group_deletion};
use crate::subscriptions::Access;
use crate::RESOURCE_GROUP_NAMESPACE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Group {
    pub name: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "managedBy", skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

pub(crate) fn is_default(ctx: &Ctx, rg: &str) -> bool {
    rg.eq_ignore_ascii_case(&ctx.shared.state.default_resource_group)
}

fn default_group(ctx: &Ctx) -> Group {
    let state = &ctx.shared.state;
    Group {
        name: state.default_resource_group.clone(),
        location: normalize_location(&state.default_location),
        tags: None,
        managed_by: None,
    }
}

fn parse_stored(target: &str, rg: &str, ctx: &Ctx) -> Group {
    serde_json::from_str(target).unwrap_or_else(|_| Group {
        name: rg.to_string(),
        location: ctx.shared.state.default_location.clone(),
        tags: None,
        managed_by: None,
    })
}

/// The stored group, or the default group's defaults.
pub(crate) async fn find(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Option<Group>> {
    let stored = ctx
        .service()
        .find_key(&access.caller, RESOURCE_GROUP_NAMESPACE, &group_key(access.project_id(), rg))
        .await
        .map_err(ArmError::from_domain)?;
    Ok(match stored {
        Some(target) => Some(parse_stored(&target, rg, ctx)),
        None if is_default(ctx, rg) => Some(default_group(ctx)),
        None => None,
    })
}

/// The group, or ARM's `ResourceGroupNotFound`.
pub(crate) async fn require(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Group> {
    find(ctx, access, rg).await?.ok_or_else(|| ArmError::resource_group_not_found(rg))
}

fn render(access: &Access, group: &Group) -> Value {
    let mut value = json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", access.sub, group.name),
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "properties": {"provisioningState": "Succeeded"},
    });
    if let Some(tags) = &group.tags {
        value["tags"] = json!(tags);
    }
    if let Some(managed_by) = &group.managed_by {
        value["managedBy"] = json!(managed_by);
    }
    value
}

fn require_read(ctx: &Ctx, access: &Access) -> ArmResult<()> {
    ctx.service().authorize(&access.caller, Action::Read).map_err(|e| ctx.domain_error(e))
}

fn require_write(ctx: &Ctx, access: &Access) -> ArmResult<()> {
    ctx.service().authorize(&access.caller, Action::Create { project: access.project_id() }).map_err(|e| ctx.domain_error(e))
}

pub(crate) async fn show(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Response> {
    require_read(ctx, access)?;
    let group = require(ctx, access, rg).await?;
    Ok(json_response(StatusCode::OK, &render(access, &group)))
}

/// `HEAD` (check_existence): 204 or 404, no body.
pub(crate) async fn check(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Response> {
    require_read(ctx, access)?;
    Ok(match find(ctx, access, rg).await? {
        Some(_) => empty(StatusCode::NO_CONTENT),
        None => empty(StatusCode::NOT_FOUND),
    })
}

/// Pages of the subscription's groups; the default group leads the first page
/// unless it was stored explicitly.
pub(crate) async fn list(ctx: &Ctx, access: &Access) -> ArmResult<Response> {
    require_read(ctx, access)?;
    let limit = match ctx.query.get("$top") {
        Some(top) => top.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
            ArmError::invalid_parameter(
                "$top",
                format!("The value '{top}' of query parameter '$top' is invalid: it must be an integer from 1 to 1000."),
            )
        })?,
        None => ctx.shared.page_size(),
    };
    let after = match ctx.query.get("$skiptoken") {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ArmError::invalid_parameter("$skiptoken", "The continuation token is invalid."))?,
        ),
        None => None,
    };
    let prefix = format!("{}/", access.project_id());
    let mut value = Vec::new();
    if after.is_none() {
        let default_key = group_key(access.project_id(), &ctx.shared.state.default_resource_group);
        if ctx.service().find_key(&access.caller, RESOURCE_GROUP_NAMESPACE, &default_key).await.map_err(ArmError::from_domain)?.is_none() {
            value.push(render(access, &default_group(ctx)));
        }
    }
    let rows = ctx
        .service()
        .list_keys(&access.caller, RESOURCE_GROUP_NAMESPACE, &prefix, after.as_deref(), limit)
        .await
        .map_err(ArmError::from_domain)?;
    for (key, target) in &rows {
        let rg = key.strip_prefix(&prefix).unwrap_or(key);
        value.push(render(access, &parse_stored(target, rg, ctx)));
    }
    let mut body = json!({"value": value});
    if rows.len() == limit {
        if let Some((last, _)) = rows.last() {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("api-version", ctx.version.as_str());
            if ctx.query.contains_key("$top") {
                q.append_pair("$top", &limit.to_string());
            }
            q.append_pair("$skiptoken", &URL_SAFE_NO_PAD.encode(last));
            body["nextLink"] = json!(format!("{}/subscriptions/{}/resourcegroups?{}", ctx.public_url(), access.sub, q.finish()));
        }
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// Store `group` under `rg`, replacing what is there.
async fn store(ctx: &Ctx, access: &Access, rg: &str, group: &Group, replace: bool) -> ArmResult<bool> {
    let key = group_key(access.project_id(), rg);
    let target = json!(group).to_string();
    if replace {
        ctx.service()
            .unbind_key(&access.caller, access.project_id(), RESOURCE_GROUP_NAMESPACE, &key, None)
            .await
            .map_err(ArmError::from_domain)?;
    }
    match ctx.service().bind_key(&access.caller, access.project_id(), RESOURCE_GROUP_NAMESPACE, &key, &target).await {
        Ok(()) => Ok(true),
        Err(DomainError::Conflict(_)) => Ok(false),
        Err(e) => Err(ArmError::from_domain(e)),
    }
}

pub(crate) async fn put(ctx: &Ctx, access: &Access, rg: &str, body: Body) -> ArmResult<Response> {
    require_write(ctx, access)?;
    if !valid_resource_group_name(rg) {
        return Err(ArmError::bad_request(
            "InvalidResourceGroup",
            format!("The provided resource group name '{rg}' has these invalid characters or length: it may contain 1 to 90 letters, digits, '_', '(', ')', '-' and '.', and may not end with '.'."),
        ));
    }
    let body = json_body(body).await?;
    let object = body.as_object().ok_or_else(|| ArmError::invalid_content("the request body must be a JSON object"))?;
    let location = match object.get("location") {
        Some(Value::String(l)) if !l.trim().is_empty() => normalize_location(l),
        _ => return Err(ArmError::bad_request("LocationRequired", "The location property is required for this definition.")),
    };
    let managed_by = match object.get("managedBy") {
        Some(Value::String(m)) if !m.is_empty() => Some(m.clone()),
        _ => None,
    };
    let wanted = Group { name: rg.to_string(), location, tags: tags(object.get("tags"))?, managed_by };
    for _ in 0..3 {
        let stored = ctx
            .service()
            .find_key(&access.caller, RESOURCE_GROUP_NAMESPACE, &group_key(access.project_id(), rg))
            .await
            .map_err(ArmError::from_domain)?;
        let existing = match &stored {
            Some(target) => Some(parse_stored(target, rg, ctx)),
            None if is_default(ctx, rg) => Some(default_group(ctx)),
            None => None,
        };
        let Some(existing) = existing else {
            if store(ctx, access, rg, &wanted, false).await? {
                return Ok(json_response(StatusCode::CREATED, &render(access, &wanted)));
            }
            continue;
        };
        if existing.location != wanted.location {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{}'. The Resource group already exists in location '{}'.",
                    wanted.location, existing.location
                ),
            ));
        }
        let updated = Group { name: existing.name.clone(), ..wanted.clone() };
        if updated != existing || stored.is_none() {
            store(ctx, access, rg, &updated, stored.is_some()).await?;
        }
        return Ok(json_response(StatusCode::OK, &render(access, &updated)));
    }
    Err(ArmError::conflict("Conflict", "The resource group is being changed by another request; retry."))
}

pub(crate) async fn patch(ctx: &Ctx, access: &Access, rg: &str, body: Body) -> ArmResult<Response> {
    require_write(ctx, access)?;
    let mut group = require(ctx, access, rg).await?;
    let body = json_body(body).await?;
    let object = body.as_object().ok_or_else(|| ArmError::invalid_content("the request body must be a JSON object"))?;
    if object.contains_key("tags") {
        group.tags = tags(object.get("tags"))?;
    }
    if let Some(Value::String(m)) = object.get("managedBy") {
        group.managed_by = Some(m.clone()).filter(|m| !m.is_empty());
    }
    let stored = ctx
        .service()
        .find_key(&access.caller, RESOURCE_GROUP_NAMESPACE, &group_key(access.project_id(), rg))
        .await
        .map_err(ArmError::from_domain)?;
    store(ctx, access, rg, &group, stored.is_some()).await?;
    Ok(json_response(StatusCode::OK, &render(access, &group)))
}

pub(crate) async fn delete(ctx: &Ctx, access: &Access, rg: &str) -> ArmResult<Response> {
    require_write(ctx, access)?;
    require(ctx, access, rg).await?;
    if is_default(ctx, rg) {
        return Err(ArmError::conflict(
            "Conflict",
            format!("The resource group '{rg}' holds the images created through other APIs and cannot be deleted."),
        ));
    }
    start_group_deletion(ctx, access, rg).await
}
