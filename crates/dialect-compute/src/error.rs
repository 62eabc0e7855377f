//! Nova faults: `{"<faultName>": {"code", "message"}}` (or its XML form) with the
//! fault name taken from the status, keystonemiddleware's own 401 body, and the
//! mapping from domain errors to compute status codes.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_core::DomainError;
use imagery_http_common::AuthFailure;
use serde_json::json;

use crate::media::Format;
use crate::xml;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    /// Nova's fault wrapper.
    Fault,
    /// keystonemiddleware's `{"error": {...}}` (JSON whatever was asked).
    Keystone,
}

#[derive(Debug, Clone)]
pub struct ComputeError {
    pub status: StatusCode,
    pub message: String,
    pub headers: Vec<(&'static str, String)>,
    envelope: Envelope,
}

pub type ComputeResult<T> = Result<T, ComputeError>;

/// Nova's `Fault._fault_names`.
pub fn fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// The message of a bare `HTTPNotFound()`.
pub const RESOURCE_NOT_FOUND: &str = "The resource could not be found.";
pub const IMAGE_NOT_FOUND: &str = "Image not found.";

impl ComputeError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ComputeError { status, message: message.into(), headers: Vec::new(), envelope: Envelope::Fault }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn resource_not_found() -> Self {
        Self::not_found(RESOURCE_NOT_FOUND)
    }

    pub fn image_not_found() -> Self {
        Self::not_found(IMAGE_NOT_FOUND)
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "The method specified is not allowed for this resource.").with_header("allow", allow)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// keystonemiddleware's 401, with the `WWW-Authenticate` challenge.
    pub fn unauthorized(failure: &AuthFailure, auth_uri: &str) -> Self {
        if let AuthFailure::Invalid(why) = failure {
            tracing::debug!(%why, "token rejected");
        }
        ComputeError {
            status: StatusCode::UNAUTHORIZED,
            message: "The request you have made requires authentication.".into(),
            headers: vec![("www-authenticate", format!("Keystone uri=\"{auth_uri}\""))],
            envelope: Envelope::Keystone,
        }
    }

    /// A domain error on an image the request named: "not found" in Nova's words.
    pub fn from_image_lookup(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(_) | DomainError::Gone(_) => Self::image_not_found(),
            other => other.into(),
        }
    }

    pub fn render(&self, format: Format) -> Response {
        let code = self.status.as_u16();
        let retry_after = self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).map(|(_, v)| v.as_str());
        let (content_type, body) = match (self.envelope, format) {
            (Envelope::Keystone, _) => {
                let body = json!({"error": {"code": code, "title": "Unauthorized", "message": self.message}});
                ("application/json", body.to_string().into_bytes())
            }
            (Envelope::Fault, Format::Json) => {
                let mut inner = json!({"code": code, "message": self.message});
                if let (Some(retry), Some(obj)) = (retry_after.filter(|_| code == 413 || code == 429), inner.as_object_mut()) {
                    obj.insert("retryAfter".into(), json!(retry));
                }
                (format.fault_content_type(), json!({ fault_name(self.status): inner }).to_string().into_bytes())
            }
            (Envelope::Fault, Format::Xml) => {
                let retry = retry_after.filter(|_| code == 413 || code == 429);
                match xml::fault(fault_name(self.status), code, &self.message, retry).to_document() {
                    Ok(bytes) => (format.fault_content_type(), bytes),
                    Err(_) => return ComputeError::new(StatusCode::INTERNAL_SERVER_ERROR, "Unexpected API Error.").render(Format::Json),
                }
            }
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(*name, v);
            }
        }
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }
}

impl From<DomainError> for ComputeError {
    fn from(err: DomainError) -> Self {
        let status = match &err {
            DomainError::NotFound(_) | DomainError::Gone(_) => StatusCode::NOT_FOUND,
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::BadRequest(_) | DomainError::InvalidImageData(_) | DomainError::RangeNotSatisfiable(_) => StatusCode::BAD_REQUEST,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::OverLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ComputeError::new(status, err.to_string())
    }
}

/// The front door's refusals (429, 503, 413, 414, 431) as Nova faults, in the
/// format the request accepts (`overLimit` with `retryAfter` for 413/429).
pub struct ComputeRefusals;

impl imagery_http_common::limits::Refusals for ComputeRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, request: &http::request::Parts) -> Response {
        let format = if request.uri.path().ends_with(".xml") {
            Format::Xml
        } else {
            crate::media::from_accept(&request.headers).unwrap_or(Format::Json)
        };
        let mut error = ComputeError::new(refusal.status(), refusal.message());
        if let Some(secs) = refusal.retry_after() {
            error = error.with_header("retry-after", secs.to_string());
        }
        error.render(format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(fault_name(StatusCode::NOT_FOUND), "itemNotFound");
        assert_eq!(fault_name(StatusCode::NOT_ACCEPTABLE), "computeFault");
        assert_eq!(fault_name(StatusCode::TOO_MANY_REQUESTS), "overLimit");
        assert_eq!(ComputeError::from(DomainError::Conflict("x".into())).status, StatusCode::CONFLICT);
        assert_eq!(ComputeError::from_image_lookup(DomainError::NotFound("No image found with ID x".into())).message, IMAGE_NOT_FOUND);
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        for format in [Format::Json, Format::Xml] {
            let response = ComputeError::from(DomainError::Unavailable("catalog temporarily unavailable".into())).render(format);
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        }
        let response = ComputeError::from(DomainError::Conflict("x".into())).render(Format::Json);
        assert!(!response.headers().contains_key(http::header::RETRY_AFTER));
    }
}
