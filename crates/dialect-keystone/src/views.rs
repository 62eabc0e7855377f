//! Keystone's JSON for each entity (with its `links.self`) and for collections
//! (`links {self, previous, next}`), and its timestamp formats.

use imagery_core::identity::{ApplicationCredential, Domain, Project, Role, User};
use imagery_core::time::Timestamp;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::service_catalog::{absolute_url, Endpoint, Service};

/// Token times: `2026-11-25T15:04:05.000000Z`.
pub(crate) fn token_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Entity times (application credential expiry): `2026-11-25T15:04:05.000000`.
pub(crate) fn entity_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub(crate) fn collection(ctx: &Ctx, key: &str, items: Vec<Value>) -> Value {
    json!({key: items, "links": {"self": ctx.self_url(), "previous": null, "next": null}})
}

pub(crate) fn domain(ctx: &Ctx, d: &Domain) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": {"self": ctx.v3(&format!("/domains/{}", d.id))},
    })
}

pub(crate) fn project(ctx: &Ctx, p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "description": p.description,
        "enabled": p.enabled,
        "parent_id": p.domain_id,
        "is_domain": false,
        "tags": [],
        "options": {},
        "links": {"self": ctx.v3(&format!("/projects/{}", p.id))},
    })
}

pub(crate) fn user(ctx: &Ctx, u: &User) -> Value {
    let mut v = json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": null,
        "options": {},
        "links": {"self": ctx.v3(&format!("/users/{}", u.id))},
    });
    if let Some(project_id) = &u.default_project_id {
        v["default_project_id"] = json!(project_id);
    }
    v
}

pub(crate) fn role(ctx: &Ctx, r: &Role) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "domain_id": null,
        "description": null,
        "options": {},
        "links": {"self": ctx.v3(&format!("/roles/{}", r.id))},
    })
}

pub(crate) fn app_credential(ctx: &Ctx, c: &ApplicationCredential, roles: &[Role]) -> Value {
    let roles: Vec<Value> = c
        .roles
        .iter()
        .map(|name| {
            let id = roles.iter().find(|r| &r.name == name).map_or(name.as_str(), |r| r.id.as_str());
            json!({"id": id, "name": name, "domain_id": null})
        })
        .collect();
    json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "project_id": c.project_id,
        "roles": roles,
        "expires_at": c.expires_at.as_ref().map(entity_time),
        "unrestricted": c.unrestricted,
        "access_rules": [],
        "links": {"self": ctx.v3(&format!("/users/{}/application_credentials/{}", c.user_id, c.id))},
    })
}

/// A catalog service; `description` is absent, as Keystone leaves it when none was set.
pub(crate) fn service(ctx: &Ctx, s: &Service<'_>) -> Value {
    json!({
        "id": s.id,
        "type": s.service_type,
        "name": s.name,
        "enabled": true,
        "links": {"self": ctx.v3(&format!("/services/{}", s.id))},
    })
}

/// A catalog endpoint: relative URLs are made absolute against the request's
/// origin (as in tokens); project placeholders are shown as configured.
pub(crate) fn endpoint(ctx: &Ctx, e: &Endpoint<'_>) -> Value {
    let region = &ctx.state.catalog.region;
    json!({
        "id": e.id,
        "interface": e.interface,
        "region": region,
        "region_id": region,
        "service_id": e.service_id,
        "url": absolute_url(e.url, &ctx.origin),
        "enabled": true,
        "links": {"self": ctx.v3(&format!("/endpoints/{}", e.id))},
    })
}

/// The catalog's region: top level, no description.
pub(crate) fn region(ctx: &Ctx, id: &str) -> Value {
    json!({
        "id": id,
        "description": "",
        "parent_region_id": null,
        "links": {"self": ctx.v3(&format!("/regions/{id}"))},
    })
}
