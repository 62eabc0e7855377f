//! Subscriptions are projects. A subscription id is the project id as a GUID
//! when the id is 32 hex digits; any other project id gets a GUID bound in
//! [`SUBSCRIPTION_NAMESPACE`]. A principal may use a subscription whose project
//! it holds a role on (its token's own project, any project where its user has
//! a role, or every project for an admin), with those roles.

use std::collections::BTreeSet;

use axum::response::Response;
use http::StatusCode;
use imagery_core::identity::Project;
use imagery_core::Caller;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api_server::Ctx;
use crate::error::{json_response, ArmError, ArmResult};
use crate::ids::{guid_of_hex, guid_or_id, hex_of_guid, is_guid};
use crate::SUBSCRIPTION_NAMESPACE;

/// A caller acting inside one subscription.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub caller: Caller,
    pub project: Project,
    /// The canonical (lowercase GUID) subscription id.
    pub sub: String,
}

impl Access {
    pub fn project_id(&self) -> &str {
        &self.project.id
    }
}

/// The subscription id of a project (binding one for non-hex project ids).
pub(crate) async fn subscription_id(ctx: &Ctx, project_id: &str) -> ArmResult<String> {
    if let Some(guid) = guid_of_hex(project_id) {
        return Ok(guid);
    }
    let digest = Sha256::digest(format!("imagery-azure-subscription:{project_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let guid = uuid::Uuid::from_bytes(bytes).to_string();
    let caller = ctx.auth.principal.caller();
    ctx.service().alternate_id(&caller, SUBSCRIPTION_NAMESPACE, project_id, [guid]).await.map_err(ArmError::from_domain)
}

/// The project a subscription id names, if any.
async fn project_of(ctx: &Ctx, sub: &str) -> ArmResult<Option<Project>> {
    let lower = sub.to_ascii_lowercase();
    let caller = ctx.auth.principal.caller();
    let bound = ctx.service().find_key(&caller, SUBSCRIPTION_NAMESPACE, &lower).await.map_err(ArmError::from_domain)?;
    let Some(project_id) = bound.or_else(|| hex_of_guid(&lower)) else {
        return Ok(None);
    };
    ctx.identity().get_project(&project_id).await.map_err(|e| ArmError::from_domain(e.into()))
}

/// May the caller use subscription `sub`, and with which roles?
pub(crate) async fn access(ctx: &Ctx, sub: &str) -> ArmResult<Access> {
    if !is_guid(sub) {
        return Err(ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        ));
    }
    let project = match project_of(ctx, sub).await? {
        Some(p) if p.enabled => p,
        _ => return Err(ArmError::subscription_not_found(sub)),
    };
    let principal = &ctx.auth.principal;
    let roles = if principal.project_id() == Some(project.id.as_str()) || principal.is_admin() {
        principal.roles.clone()
    } else {
        ctx.identity().role_names_on(&principal.user_id, &project.id).await.map_err(|e| ArmError::from_domain(e.into()))?
    };
    let canonical = sub.to_ascii_lowercase();
    if roles.is_empty() {
        if project.domain_id != principal.user_domain_id {
            return Err(ArmError::unauthorized(
                "InvalidAuthenticationTokenTenant",
                format!(
                    "The access token is from the wrong issuer. It must match the tenant '{}' associated with this subscription. Please use the authority (URL) '{}/{}' to get the token.",
                    guid_or_id(&project.domain_id),
                    ctx.public_url(),
                    guid_or_id(&project.domain_id)
                ),
                &format!("{}/", ctx.public_url()),
            ));
        }
        return Err(ctx.authorization_failed(&format!("/subscriptions/{canonical}")));
    }
    let mut caller = Caller::new(Some(principal.user_id.clone()), Some(project.id.clone()), roles);
    caller.user_name = Some(principal.user_name.clone());
    Ok(Access { caller, project, sub: canonical })
}

async fn render(ctx: &Ctx, project: &Project) -> ArmResult<Value> {
    let sub = subscription_id(ctx, &project.id).await?;
    Ok(json!({
        "id": format!("/subscriptions/{sub}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": guid_or_id(&project.domain_id),
        "displayName": project.name,
        "state": if project.enabled { "Enabled" } else { "Disabled" },
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    }))
}

pub(crate) async fn show(ctx: &Ctx, access: &Access) -> ArmResult<Response> {
    Ok(json_response(StatusCode::OK, &render(ctx, &access.project).await?))
}

/// `GET /subscriptions`: the projects the caller holds a role on (all for an admin).
pub(crate) async fn list(ctx: &Ctx) -> ArmResult<Response> {
    let principal = &ctx.auth.principal;
    let identity = ctx.identity();
    let to_arm = |e: imagery_identity::IdentityError| ArmError::from_domain(e.into());
    let projects = if principal.is_admin() {
        identity.list_projects(None, None).await.map_err(to_arm)?
    } else {
        let mut projects = identity.user_projects(&principal.user_id).await.map_err(to_arm)?;
        if let Some(own) = principal.project_id() {
            if !projects.iter().any(|p| p.id == own) {
                projects.extend(identity.get_project(own).await.map_err(to_arm)?);
            }
        }
        projects
    };
    let mut value = Vec::new();
    for project in projects.iter().filter(|p| p.enabled) {
        value.push(render(ctx, project).await?);
    }
    Ok(json_response(StatusCode::OK, &json!({"value": value, "count": {"type": "Total", "value": value.len()}})))
}

/// `GET /tenants`: the caller's own tenant (its user's domain).
pub(crate) async fn list_tenants(ctx: &Ctx) -> ArmResult<Response> {
    let principal = &ctx.auth.principal;
    let mut tenants = BTreeSet::new();
    tenants.insert((guid_or_id(&principal.user_domain_id), principal.user_domain_name.clone()));
    let value: Vec<Value> = tenants
        .into_iter()
        .map(|(tid, name)| {
            json!({"id": format!("/tenants/{tid}"), "tenantId": tid, "tenantCategory": "Home", "displayName": name, "defaultDomain": name})
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"value": value})))
}
