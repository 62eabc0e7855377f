//! `/v3/domains`: list, create, and show — by id or, as openstackclient asks
//! (`GET /v3/domains/Default`), by name.

use axum::response::Response;
use imagery_identity::{policy, DomainRef};
use serde::Deserialize;
use serde_json::json;

use crate::api_server::{created, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

#[derive(Deserialize)]
struct DomainBody {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

pub(crate) async fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_domains")?;
    let mut domains = ctx.identity().list_domains().await?;
    domains.retain(|d| ctx.query("name").is_none_or(|n| d.name == n) && ctx.bool_filter("enabled").is_none_or(|e| d.enabled == e));
    ok(views::collection(ctx, "domains", domains.iter().map(|d| views::domain(ctx, d)).collect()))
}

pub(crate) async fn create(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:create_domain")?;
    let body: DomainBody = ctx.json_member("domain")?;
    let name = body.name.ok_or_else(|| KeystoneError::expecting("name", "domain"))?;
    let domain = ctx.identity().create_domain(None, &name, body.description.as_deref().unwrap_or(""), body.enabled.unwrap_or(true)).await?;
    created(json!({"domain": views::domain(ctx, &domain)}))
}

pub(crate) async fn get(ctx: &Ctx, id_or_name: &str) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let identity = ctx.identity();
    let domain = match identity.lookup_domain(&DomainRef::Id(id_or_name.to_string())).await? {
        Some(domain) => Some(domain),
        None => identity.lookup_domain(&DomainRef::Name(id_or_name.to_string())).await?,
    };
    let domain = domain.ok_or_else(|| KeystoneError::not_found("domain", id_or_name))?;
    policy::admin_or_domain(&caller, &domain.id, "identity:get_domain")?;
    ok(json!({"domain": views::domain(ctx, &domain)}))
}
