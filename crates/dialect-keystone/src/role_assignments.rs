//! `GET /v3/role_assignments` with Keystone's filters (`user.id`,
//! `scope.project.id`, `scope.domain.id`, `role.id`), `effective` (adds implied
//! roles) and `include_names` (adds names), as `openstack role assignment list
//! --names` asks for it.

use std::collections::HashMap;

use axum::response::Response;
use imagery_identity::{policy, AssignmentEntry, AssignmentFilter, AssignmentTarget};
use serde_json::{json, Value};

use crate::api_server::ok;
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

pub(crate) async fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let (user_id, project_id, domain_id) = (ctx.query("user.id"), ctx.query("scope.project.id"), ctx.query("scope.domain.id"));
    let effective = ctx.flag("effective");
    if project_id.is_some() && domain_id.is_some() {
        return Err(KeystoneError::bad_request("Specify a domain or project, not both"));
    }
    if user_id.is_some() && ctx.query("group.id").is_some() {
        return Err(KeystoneError::bad_request("Specify a user or group, not both"));
    }
    if effective && ctx.query("group.id").is_some() {
        return Err(KeystoneError::bad_request("Combining effective and group filter will always result in an empty list."));
    }
    if !caller.is_admin() {
        policy::admin_or_user(&caller, user_id.unwrap_or(""), "identity:list_role_assignments")?;
    }
    // imagery has no groups, system grants or inherited grants.
    let unsupported_filter = ["group.id", "scope.system", "scope.OS-INHERIT:inherited_to"].iter().any(|k| ctx.query(k).is_some());
    let entries = if unsupported_filter {
        Vec::new()
    } else {
        let filter = AssignmentFilter {
            user_id: user_id.map(str::to_string),
            target_id: project_id.or(domain_id).map(str::to_string),
            role_id: ctx.query("role.id").map(str::to_string),
            effective,
        };
        ctx.identity().list_role_assignments(&filter).await?
    };
    let mut names = Names::new(ctx);
    let mut items = Vec::new();
    for entry in &entries {
        let Some(target) = names.target(&entry.target_id).await? else {
            continue;
        };
        let is_project = matches!(target, AssignmentTarget::Project(_));
        if (project_id.is_some() && !is_project) || (domain_id.is_some() && is_project) {
            continue;
        }
        items.push(render(ctx, entry, &target, ctx.flag("include_names"), &mut names).await?);
    }
    ok(views::collection(ctx, "role_assignments", items))
}

async fn render(
    ctx: &Ctx,
    entry: &AssignmentEntry,
    target: &AssignmentTarget,
    include_names: bool,
    names: &mut Names<'_>,
) -> KeystoneResult<Value> {
    let (kind, scope) = match target {
        AssignmentTarget::Project(p) if include_names => {
            let domain_name = names.domain_name(&p.domain_id).await?;
            ("projects", json!({"project": {"id": p.id, "name": p.name, "domain": {"id": p.domain_id, "name": domain_name}}}))
        }
        AssignmentTarget::Project(p) => ("projects", json!({"project": {"id": p.id}})),
        AssignmentTarget::Domain(d) if include_names => ("domains", json!({"domain": {"id": d.id, "name": d.name}})),
        AssignmentTarget::Domain(d) => ("domains", json!({"domain": {"id": d.id}})),
    };
    let user = if include_names {
        match names.user(&entry.user_id).await? {
            Some((name, domain_id)) => {
                let domain_name = names.domain_name(&domain_id).await?;
                json!({"id": entry.user_id, "name": name, "domain": {"id": domain_id, "name": domain_name}})
            }
            None => json!({"id": entry.user_id}),
        }
    } else {
        json!({"id": entry.user_id})
    };
    let role = match names.role_name(&entry.role_id).await? {
        Some(name) if include_names => json!({"id": entry.role_id, "name": name}),
        _ => json!({"id": entry.role_id}),
    };
    let granted_role = entry.implied_by.as_deref().unwrap_or(&entry.role_id);
    let mut links = json!({"assignment": ctx.v3(&format!("/{kind}/{}/users/{}/roles/{granted_role}", target.id(), entry.user_id))});
    if let Some(prior) = &entry.implied_by {
        // Keystone's own (inverted) rendering of the implication link.
        links["prior_role"] = json!(ctx.v3(&format!("/prior_role/{}/implies/{prior}", entry.role_id)));
    }
    Ok(json!({"role": role, "user": user, "scope": scope, "links": links}))
}

/// Lookups shared by all rows of one listing.
struct Names<'a> {
    ctx: &'a Ctx,
    targets: HashMap<String, Option<AssignmentTarget>>,
    users: HashMap<String, Option<(String, String)>>,
    domains: HashMap<String, String>,
    roles: Option<HashMap<String, String>>,
}

impl<'a> Names<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        Names { ctx, targets: HashMap::new(), users: HashMap::new(), domains: HashMap::new(), roles: None }
    }

    async fn target(&mut self, id: &str) -> KeystoneResult<Option<AssignmentTarget>> {
        if !self.targets.contains_key(id) {
            let target = self.ctx.identity().assignment_target(id).await?;
            self.targets.insert(id.to_string(), target);
        }
        Ok(self.targets.get(id).cloned().flatten())
    }

    async fn user(&mut self, id: &str) -> KeystoneResult<Option<(String, String)>> {
        if !self.users.contains_key(id) {
            let user = self.ctx.identity().get_user(id).await?.map(|u| (u.name, u.domain_id));
            self.users.insert(id.to_string(), user);
        }
        Ok(self.users.get(id).cloned().flatten())
    }

    async fn domain_name(&mut self, id: &str) -> KeystoneResult<String> {
        if !self.domains.contains_key(id) {
            let name = self.ctx.identity().get_domain(id).await?.map_or_else(|| id.to_string(), |d| d.name);
            self.domains.insert(id.to_string(), name);
        }
        Ok(self.domains.get(id).cloned().unwrap_or_default())
    }

    async fn role_name(&mut self, id: &str) -> KeystoneResult<Option<String>> {
        if self.roles.is_none() {
            let roles = self.ctx.identity().list_roles(None).await?;
            self.roles = Some(roles.into_iter().map(|r| (r.id, r.name)).collect());
        }
        Ok(self.roles.as_ref().and_then(|r| r.get(id).cloned()))
    }
}
