//! `/v3/projects`: the project administration openstackclient performs (create,
//! show, list with `name`/`domain_id`, update, delete).

use axum::response::Response;
use imagery_identity::{policy, NewProject, Principal, ProjectUpdate, Scope};
use serde::Deserialize;
use serde_json::json;

use crate::api_server::{created, no_content, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

#[derive(Deserialize)]
struct ProjectBody {
    name: Option<String>,
    domain_id: Option<String>,
    parent_id: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    is_domain: Option<bool>,
}

pub(crate) async fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_projects")?;
    let identity = ctx.identity();
    let mut projects = if ctx.bool_filter("is_domain") == Some(true) {
        Vec::new()
    } else {
        identity.list_projects(ctx.query("domain_id"), ctx.query("name")).await?
    };
    if let Some(enabled) = ctx.bool_filter("enabled") {
        projects.retain(|p| p.enabled == enabled);
    }
    ok(views::collection(ctx, "projects", projects.iter().map(|p| views::project(ctx, p)).collect()))
}

/// Where a new entity goes without an explicit domain: the caller's scope domain.
pub(crate) fn default_domain(caller: &Principal) -> String {
    match &caller.scope {
        Scope::Project { domain_id, .. } => domain_id.clone(),
        Scope::Domain { id, .. } => id.clone(),
        Scope::Unscoped => caller.user_domain_id.clone(),
    }
}

pub(crate) async fn create(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    policy::admin(&caller, "identity:create_project")?;
    let body: ProjectBody = ctx.json_member("project")?;
    let name = body.name.ok_or_else(|| KeystoneError::expecting("name", "project"))?;
    if body.is_domain == Some(true) {
        return Err(KeystoneError::bad_request("Projects acting as domains are not supported; create a domain instead."));
    }
    let identity = ctx.identity();
    if let Some(parent_id) = &body.parent_id {
        if identity.get_domain(parent_id).await?.is_none() {
            return Err(KeystoneError::bad_request("Project hierarchies are not supported: parent_id must be the project's domain."));
        }
        if body.domain_id.as_ref().is_some_and(|d| d != parent_id) {
            return Err(KeystoneError::bad_request("The project's parent must be its domain."));
        }
    }
    let domain_id = body.domain_id.or(body.parent_id).unwrap_or_else(|| default_domain(&caller));
    let new = NewProject { name, domain_id, description: body.description.unwrap_or_default(), enabled: body.enabled.unwrap_or(true) };
    let project = identity.create_project(new).await?;
    created(json!({"project": views::project(ctx, &project)}))
}

pub(crate) async fn get(ctx: &Ctx, project_id: &str) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let project = ctx.identity().get_project(project_id).await?.ok_or_else(|| KeystoneError::not_found("project", project_id))?;
    let holds_role =
        policy::needs_role_lookup(&caller, &project.id) && !ctx.identity().roles_on(&caller.user_id, &project.id).await?.is_empty();
    policy::admin_or_project(&caller, &project.id, holds_role, "identity:get_project")?;
    ok(json!({"project": views::project(ctx, &project)}))
}

pub(crate) async fn update(ctx: &Ctx, project_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:update_project")?;
    let body: ProjectBody = ctx.json_member("project")?;
    let identity = ctx.identity();
    let current = identity.get_project(project_id).await?.ok_or_else(|| KeystoneError::not_found("project", project_id))?;
    if body.domain_id.as_ref().is_some_and(|d| *d != current.domain_id) {
        return Err(KeystoneError::bad_request("Update of `domain_id` is not allowed."));
    }
    if body.is_domain == Some(true) {
        return Err(KeystoneError::bad_request("Update of `is_domain` is not allowed."));
    }
    let update = ProjectUpdate { name: body.name, description: body.description, enabled: body.enabled };
    let project = identity.update_project(project_id, update).await?;
    ok(json!({"project": views::project(ctx, &project)}))
}

pub(crate) async fn delete(ctx: &Ctx, project_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:delete_project")?;
    ctx.identity().delete_project(project_id).await?;
    no_content()
}
