//! Requests IMS serves exactly as Glance does go to the Glance dialect, as the
//! caller authenticated here; its errors come back in IMS's envelope.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::request::Parts;
use http::HeaderValue;
use imagery_http_common::body::read_limited;
use serde_json::Value;
use tower::ServiceExt;

use crate::api_server::Shared;
use crate::error::{HuaweiError, HuaweiResult};
use crate::handoff;

/// Glance error bodies are short; anything longer is not one.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Run a request through the Glance dialect.
pub async fn call(shared: &Shared, mut parts: Parts, body: Body) -> Response {
    handoff::prepare(&mut parts.headers);
    // Glance words its errors in JSON only when asked to.
    parts.headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
    match shared.glance.clone().oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Run a request through the Glance dialect; a refusal becomes an IMS error.
pub async fn forward(shared: &Shared, parts: Parts, body: Body) -> HuaweiResult<Response> {
    let response = call(shared, parts, body).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        return Err(ims_error(response).await);
    }
    Ok(response)
}

/// Glance's `{"message": "…<br /><br />\n\n\n", "code": "404 Not Found", "title"}`
/// as an IMS error with the same status.
pub async fn ims_error(response: Response) -> HuaweiError {
    let status = response.status();
    let keep: Vec<(&'static str, String)> = ["allow", "accept-patch"]
        .into_iter()
        .filter_map(|name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| (name, v.to_string())))
        .collect();
    let problem = response.extensions().get::<imagery_core::Problem>().cloned();
    let bytes = read_limited(response.into_body(), MAX_ERROR_BODY).await.unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .map(|m| m.split("<br />").next().unwrap_or("").trim().to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_string());
    let mut error = match problem {
        Some(problem) => HuaweiError::of_problem(status, &problem, message),
        None => HuaweiError::ims(status, message),
    };
    for (name, value) in keep {
        error = error.with_header(name, value);
    }
    error
}
