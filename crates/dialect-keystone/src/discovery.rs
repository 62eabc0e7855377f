//! Version discovery, exactly as Keystone answers it: `GET /` is 300 with the
//! version list (and `Location`), `GET /v3` is 200 with the v3 document.

use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::api_server::{json, ok};
use crate::context::Ctx;
use crate::error::KeystoneResult;

fn v3(ctx: &Ctx) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": ctx.v3("/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

pub(crate) fn versions(ctx: &Ctx) -> KeystoneResult<Response> {
    let mut response = json(StatusCode::MULTIPLE_CHOICES, json!({"versions": {"values": [v3(ctx)]}}));
    if let Ok(location) = HeaderValue::from_str(&ctx.v3("/")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub(crate) fn version_v3(ctx: &Ctx) -> KeystoneResult<Response> {
    ok(json!({"version": v3(ctx)}))
}
