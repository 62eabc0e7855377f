//! `/v3/services`: the services of the configured catalog (the ones tokens
//! carry), listed with Keystone's `type`/`name` filters or shown by id.
//! Keystone's rule (`identity:list_services`, `identity:get_service`) is a
//! system reader or an admin; imagery has no system scope, so it is an admin.

use axum::response::Response;
use imagery_identity::policy;
use serde_json::json;

use crate::api_server::ok;
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

pub(crate) fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_services")?;
    let (service_type, name) = (ctx.query("type"), ctx.query("name"));
    let services: Vec<_> = ctx
        .state
        .catalog
        .services()
        .iter()
        .filter(|s| service_type.is_none_or(|t| s.service_type == t) && name.is_none_or(|n| s.name == n))
        .map(|s| views::service(ctx, s))
        .collect();
    ok(views::collection(ctx, "services", services))
}

pub(crate) fn get(ctx: &Ctx, service_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:get_service")?;
    let services = ctx.state.catalog.services();
    let service = services.iter().find(|s| s.id == service_id).ok_or_else(|| KeystoneError::not_found("service", service_id))?;
    ok(json!({"service": views::service(ctx, service)}))
}
