//! `/v3/regions`: the catalog's one region. Keystone lets any valid token read
//! regions (`identity:list_regions` and `identity:get_region` are empty rules),
//! so only authentication is checked here.

use axum::response::Response;
use serde_json::json;

use crate::api_server::ok;
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

pub(crate) fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    ctx.caller()?;
    let region = &ctx.state.catalog.region;
    // Every region is top level: a parent filter matches none of them.
    let regions = if ctx.query("parent_region_id").is_some() { Vec::new() } else { vec![views::region(ctx, region)] };
    ok(views::collection(ctx, "regions", regions))
}

pub(crate) fn get(ctx: &Ctx, region_id: &str) -> KeystoneResult<Response> {
    ctx.caller()?;
    let region = &ctx.state.catalog.region;
    if region != region_id {
        return Err(KeystoneError::not_found("region", region_id));
    }
    ok(json!({"region": views::region(ctx, region)}))
}
