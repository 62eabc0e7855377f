//! Huawei's two error bodies: the API gateway's
//! `{"error_msg", "error_code": "APIGW.xxxx", "request_id"}` for authentication and
//! unknown APIs, and IMS's `{"error": {"code": "IMG.xxxx", "message"}}` for
//! everything the image service refuses — also for Glance-compatible routes whose
//! work the Glance dialect did (its errors are re-enveloped here).
//!
//! IMS documents IMG.0001 (bad request), IMG.0024 (bad `__imagetype`), IMG.0027
//! (no such image), IMG.0047 (only the owner may do this) and IMG.0161 (no
//! permission). Other refusals carry imagery's own `IMG.0<status>` codes (IMG.0403,
//! IMG.0409, …): the SDK treats codes as opaque strings.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_core::{Denial, DomainError, Problem};
use serde_json::json;

pub const IMAGE_NOT_FOUND: &str = "The image ID in the request does not exist.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    Gateway,
    Ims,
}

#[derive(Debug, Clone)]
pub struct HuaweiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    envelope: Envelope,
    headers: Vec<(&'static str, String)>,
}

pub type HuaweiResult<T> = Result<T, HuaweiError>;

/// The IMS code of a status with no more specific code.
fn ims_code(status: StatusCode) -> String {
    match status.as_u16() {
        400 => "IMG.0001".into(),
        other => format!("IMG.{other:04}"),
    }
}

impl HuaweiError {
    pub fn ims(status: StatusCode, message: impl Into<String>) -> Self {
        Self::ims_with_code(status, ims_code(status), message)
    }

    pub fn ims_with_code(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        HuaweiError { status, code: code.into(), message: message.into(), envelope: Envelope::Ims, headers: Vec::new() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::ims(StatusCode::BAD_REQUEST, message)
    }

    pub fn image_not_found() -> Self {
        Self::ims_with_code(StatusCode::NOT_FOUND, "IMG.0027", IMAGE_NOT_FOUND)
    }

    pub fn invalid_imagetype() -> Self {
        Self::ims_with_code(StatusCode::BAD_REQUEST, "IMG.0024", "The imagetype is invalid.")
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::ims(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for this resource.").with_header("allow", allow)
    }

    fn gateway(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        HuaweiError { status, code: code.into(), message: message.into(), envelope: Envelope::Gateway, headers: Vec::new() }
    }

    /// APIG's 401 for credentials it does not accept; `detail` completes
    /// "Incorrect IAM authentication information: …".
    pub fn unauthenticated(detail: &str) -> Self {
        Self::gateway(StatusCode::UNAUTHORIZED, "APIGW.0301", format!("Incorrect IAM authentication information: {detail}"))
    }

    pub fn unknown_api() -> Self {
        Self::gateway(StatusCode::NOT_FOUND, "APIGW.0101", "The API does not exist or has not been published in the environment")
    }

    pub fn throttled(message: impl Into<String>) -> Self {
        Self::gateway(StatusCode::TOO_MANY_REQUESTS, "APIGW.0308", message)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn render(&self, request_id: &str) -> Response {
        let body = match self.envelope {
            Envelope::Gateway => json!({"error_msg": self.message, "error_code": self.code, "request_id": request_id}),
            Envelope::Ims => json!({"error": {"code": self.code, "message": self.message}}),
        };
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(*name, v);
            }
        }
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }
}

impl From<DomainError> for HuaweiError {
    fn from(err: DomainError) -> Self {
        let status = match &err {
            DomainError::Gone(_) => return HuaweiError::image_not_found(),
            DomainError::Unauthenticated(_) => return HuaweiError::unauthenticated("verify aksk signature fail"),
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::OverLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DomainError::InvalidImageData(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DomainError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        HuaweiError::of_problem(status, err.problem(), err.to_string())
    }
}

impl HuaweiError {
    /// A domain refusal in IMS's codes: its catalogued ones where the rule has
    /// one, else `IMG.0<status>`.
    pub fn of_problem(status: StatusCode, problem: &Problem, message: String) -> Self {
        match problem {
            Problem::ImageNotFound(_) => HuaweiError::image_not_found(),
            Problem::Denied(Denial::Modify { .. } | Denial::Delete { .. }) => {
                HuaweiError::ims_with_code(StatusCode::FORBIDDEN, "IMG.0047", message)
            }
            Problem::Denied(_) | Problem::Protected { .. } => HuaweiError::ims_with_code(StatusCode::FORBIDDEN, "IMG.0161", message),
            _ => HuaweiError::ims(status, message),
        }
    }
}

/// The front door's refusals: throttling in the API gateway's envelope
/// (`APIGW.0308`), the rest as IMS codes.
pub struct HuaweiRefusals;

impl imagery_http_common::limits::Refusals for HuaweiRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, request: &http::request::Parts) -> Response {
        use imagery_http_common::limits::Refusal;
        let request_id = imagery_http_common::request_id::of(&request.extensions).0;
        let error = match refusal {
            Refusal::RateLimited { .. } => {
                HuaweiError::throttled(format!("The throttling threshold has been reached. {}", refusal.message()))
            }
            _ => HuaweiError::ims(refusal.status(), refusal.message()),
        };
        error.render(&request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(HuaweiError::bad_request("x").code, "IMG.0001");
        assert_eq!(HuaweiError::ims(StatusCode::FORBIDDEN, "x").code, "IMG.0403");
        assert_eq!(HuaweiError::from(DomainError::image_not_found("abc")).code, "IMG.0027");
        assert_eq!(HuaweiError::from(DomainError::NotFound("Tag t not found".into())).code, "IMG.0404");
        assert_eq!(HuaweiError::from(DomainError::Conflict("x".into())).status, StatusCode::CONFLICT);
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let error = HuaweiError::from(DomainError::Unavailable("catalog temporarily unavailable".into()));
        let response = error.render("req-1");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        assert!(!HuaweiError::bad_request("x").render("req-1").headers().contains_key(http::header::RETRY_AFTER));
    }
}
