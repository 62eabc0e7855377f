//! `yandex.cloud.endpoint.ApiEndpointService`: endpoint discovery. Every API the
//! SDKs look up lives on this server, at the address clients dial it by.

use crate::error::{YcError, YcResult};
use crate::pb::yandex::cloud::endpoint as pb;

/// The service ids answered (the SDKs' aliases).
pub const SERVICE_IDS: [&str; 5] = ["compute", "operation", "iam", "endpoint", "resource-manager"];

pub fn list(public_address: &str) -> pb::ListApiEndpointsResponse {
    let endpoints = SERVICE_IDS.iter().map(|id| pb::ApiEndpoint { id: id.to_string(), address: public_address.to_string() }).collect();
    pb::ListApiEndpointsResponse { endpoints, next_page_token: String::new() }
}

pub fn get(public_address: &str, id: &str) -> YcResult<pb::ApiEndpoint> {
    if SERVICE_IDS.contains(&id) {
        Ok(pb::ApiEndpoint { id: id.to_string(), address: public_address.to_string() })
    } else {
        Err(YcError::not_found(format!("Endpoint {id} not found")))
    }
}
