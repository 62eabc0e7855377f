//! `/v3/endpoints`: the endpoints of the configured catalog, with the same ids
//! and URLs tokens carry (project placeholders shown as configured, as
//! Keystone does), filtered by `interface`, `service_id` and `region_id`.
//! Keystone's rule is a system reader or an admin; imagery has no system
//! scope, so it is an admin.

use axum::response::Response;
use imagery_identity::policy;
use serde_json::json;

use crate::api_server::ok;
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

pub(crate) fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_endpoints")?;
    let catalog = &ctx.state.catalog;
    let (interface, service_id, region_id) = (ctx.query("interface"), ctx.query("service_id"), ctx.query("region_id"));
    let endpoints: Vec<_> = if region_id.is_some_and(|r| r != catalog.region) {
        Vec::new()
    } else {
        catalog
            .endpoints()
            .iter()
            .filter(|e| interface.is_none_or(|i| e.interface == i) && service_id.is_none_or(|s| e.service_id == s))
            .map(|e| views::endpoint(ctx, e))
            .collect()
    };
    ok(views::collection(ctx, "endpoints", endpoints))
}

pub(crate) fn get(ctx: &Ctx, endpoint_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:get_endpoint")?;
    let endpoints = ctx.state.catalog.endpoints();
    let endpoint = endpoints.iter().find(|e| e.id == endpoint_id).ok_or_else(|| KeystoneError::not_found("endpoint", endpoint_id))?;
    ok(json!({"endpoint": views::endpoint(ctx, endpoint)}))
}
