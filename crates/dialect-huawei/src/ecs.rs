//! ECS's "native OpenStack" image API is Nova's image proxy: the compute dialect
//! serves it, and a metadata hook adds Huawei's attributes to each image's
//! `metadata` in the detail views. The `/metadata` resource itself stays exactly
//! the stored properties (the compute dialect never applies the hook there).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::request::Parts;
use imagery_dialect_compute::{ComputeState, MetadataHook};
use imagery_http_common::Auth;
use tower::ServiceExt;

use crate::api_server::Shared;
use crate::{attributes, handoff};

fn metadata_hook() -> MetadataHook {
    Arc::new(|image, metadata| attributes::merge_into(metadata, image, handoff::current().as_ref()))
}

/// Run a request through the compute dialect.
pub async fn forward(shared: &Shared, mut parts: Parts, body: Body) -> Response {
    let state = &shared.state;
    let base = state.base_url(&parts.headers);
    let image_endpoint = state.image_endpoint.clone().unwrap_or_else(|| base.clone());
    let mut compute = ComputeState::new(state.service.clone(), Auth::Tokens(Arc::new(handoff::HandedOff)), "", image_endpoint);
    compute.public_url = Some(base);
    compute.tls = state.tls;
    compute.max_version = state.compute_max_version;
    compute.metadata_hook = Some(metadata_hook());
    handoff::prepare(&mut parts.headers);
    match imagery_dialect_compute::router(compute).oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
