//! `/v3/roles` and role grants on projects and domains
//! (`/v3/{projects|domains}/{id}/users/{user}/roles/{role}`). A role *name* in
//! the id slot is a 404, so openstackclient falls back to `?name=`.

use axum::response::Response;
use http::StatusCode;
use imagery_identity::{policy, AssignmentTarget};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_server::{created, no_content, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::router::GrantTarget;
use crate::views;

#[derive(Deserialize)]
struct RoleBody {
    name: Option<String>,
    #[serde(default)]
    domain_id: Option<Value>,
}

pub(crate) async fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_roles")?;
    let roles = ctx.identity().list_roles(ctx.query("name")).await?;
    ok(views::collection(ctx, "roles", roles.iter().map(|r| views::role(ctx, r)).collect()))
}

pub(crate) async fn create(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:create_role")?;
    let body: RoleBody = ctx.json_member("role")?;
    let name = body.name.ok_or_else(|| KeystoneError::expecting("name", "role"))?;
    if body.domain_id.is_some_and(|d| !d.is_null()) {
        return Err(KeystoneError::bad_request("Domain-specific roles are not supported."));
    }
    let role = ctx.identity().create_role(&name).await?;
    created(json!({"role": views::role(ctx, &role)}))
}

pub(crate) async fn get(ctx: &Ctx, role_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:get_role")?;
    let role = ctx.identity().get_role(role_id).await?.ok_or_else(|| KeystoneError::not_found("role", role_id))?;
    ok(json!({"role": views::role(ctx, &role)}))
}

/// The target must exist and be of the kind the path names.
async fn target_id<'a>(ctx: &Ctx, target: &'a GrantTarget) -> KeystoneResult<&'a str> {
    let identity = ctx.identity();
    match target {
        GrantTarget::Project(id) => match identity.assignment_target(id).await? {
            Some(AssignmentTarget::Project(_)) => Ok(id),
            _ => Err(KeystoneError::not_found("project", id)),
        },
        GrantTarget::Domain(id) => match identity.get_domain(id).await? {
            Some(_) => Ok(id),
            None => Err(KeystoneError::not_found("domain", id)),
        },
    }
}

pub(crate) async fn list_grants(ctx: &Ctx, target: &GrantTarget, user_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_grants")?;
    let target_id = target_id(ctx, target).await?;
    let identity = ctx.identity();
    if identity.get_user(user_id).await?.is_none() {
        return Err(KeystoneError::not_found("user", user_id));
    }
    let roles = identity.roles_on(user_id, target_id).await?;
    ok(views::collection(ctx, "roles", roles.iter().map(|r| views::role(ctx, r)).collect()))
}

pub(crate) async fn create_grant(ctx: &Ctx, target: &GrantTarget, user_id: &str, role_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:create_grant")?;
    let target_id = target_id(ctx, target).await?;
    ctx.identity().grant_role(user_id, target_id, role_id).await?;
    no_content()
}

pub(crate) async fn check_grant(ctx: &Ctx, target: &GrantTarget, user_id: &str, role_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:check_grant")?;
    let target_id = target_id(ctx, target).await?;
    if ctx.identity().check_role(user_id, target_id, role_id).await? {
        no_content()
    } else {
        Err(KeystoneError::new(
            StatusCode::NOT_FOUND,
            format!(
                "Could not find role assignment with role: {role_id}, user or group: {user_id}, project, domain, or system: {target_id}."
            ),
        ))
    }
}

pub(crate) async fn revoke_grant(ctx: &Ctx, target: &GrantTarget, user_id: &str, role_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:revoke_grant")?;
    let target_id = target_id(ctx, target).await?;
    ctx.identity().revoke_role(user_id, target_id, role_id).await?;
    no_content()
}
