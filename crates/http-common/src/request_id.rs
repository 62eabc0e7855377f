//! One id per request, chosen by the server (or taken from a client-supplied
//! `X-Openstack-Request-ID`), recorded in the tracing span so every log line of the
//! request carries it. Each dialect renders it in its own header.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request's id, a UUID string without prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// `req-<uuid>`, the OpenStack rendering.
    pub fn openstack(&self) -> String {
        if self.0.starts_with("req-") {
            self.0.clone()
        } else {
            format!("req-{}", self.0)
        }
    }
}

/// Middleware: attach a `RequestId` and run the request inside a span that names it.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let incoming = request
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string);
    let id = incoming.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path());
    request.extensions_mut().insert(RequestId(id));
    async move {
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), "done");
        response
    }
    .instrument(span)
    .await
}

/// The id of a request that went through [`assign`] (a fresh one otherwise).
pub fn of(request_parts: &http::Extensions) -> RequestId {
    request_parts.get::<RequestId>().cloned().unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
}
