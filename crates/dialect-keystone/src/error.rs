//! Keystone's error envelope, `{"error": {"code", "title", "message"}}`, and how
//! identity errors map onto it. A 401 also carries `WWW-Authenticate: Keystone
//! uri="<identity root>"` (added by `api_server`, which knows the root).

use http::StatusCode;
use imagery_identity::IdentityError;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoneError {
    pub status: StatusCode,
    pub message: String,
}

pub type KeystoneResult<T> = Result<T, KeystoneError>;

pub(crate) const UNAUTHORIZED: &str = "The request you have made requires authentication.";
const UNEXPECTED: &str = "An unexpected error prevented the server from fulfilling your request.";

impl KeystoneError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        KeystoneError { status, message: message.into() }
    }

    pub fn unauthorized() -> Self {
        KeystoneError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
    }

    /// A 401 whose message Keystone shows as is (unsupported method and the like).
    pub fn unauthorized_with(message: impl Into<String>) -> Self {
        KeystoneError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        KeystoneError::new(StatusCode::BAD_REQUEST, message)
    }

    /// Keystone's `ValidationError`: "Expecting to find {attribute} in {target}. …"
    pub fn expecting(attribute: &str, target: &str) -> Self {
        KeystoneError::bad_request(format!(
            "Expecting to find {attribute} in {target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."
        ))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        KeystoneError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        KeystoneError::new(StatusCode::NOT_FOUND, format!("Could not find {kind}: {id}."))
    }

    pub fn no_route() -> Self {
        KeystoneError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    }

    pub fn method_not_allowed() -> Self {
        KeystoneError::new(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.")
    }

    /// The title Keystone (Python's `http.client.responses`) gives a status.
    pub fn title(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            413 => "Request Entity Too Large",
            414 => "Request-URI Too Long",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            415 => "Unsupported Media Type",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.status.as_u16(), "title": self.title(), "message": self.message}})
    }

    /// The JSON response; a 503 says when to retry.
    pub fn response(&self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body().to_string()));
        *response.status_mut() = self.status;
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }
}

impl From<IdentityError> for KeystoneError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Unauthenticated { .. } => KeystoneError::unauthorized(),
            IdentityError::Forbidden(m) => KeystoneError::forbidden(m),
            IdentityError::NotFound(m) => KeystoneError::new(StatusCode::NOT_FOUND, m),
            IdentityError::Conflict(m) => KeystoneError::new(StatusCode::CONFLICT, m),
            IdentityError::BadRequest(m) => KeystoneError::bad_request(m),
            IdentityError::Backend(detail) => {
                tracing::error!(%detail, "identity backend failure");
                KeystoneError::new(StatusCode::INTERNAL_SERVER_ERROR, UNEXPECTED)
            }
            busy @ IdentityError::Busy => KeystoneError::new(StatusCode::SERVICE_UNAVAILABLE, busy.to_string()),
        }
    }
}

/// The front door's refusals (429, 503, 413, 414, 431) in Keystone's envelope.
pub struct KeystoneRefusals;

impl imagery_http_common::limits::Refusals for KeystoneRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, _request: &http::request::Parts) -> axum::response::Response {
        KeystoneError::new(refusal.status(), refusal.message()).response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = KeystoneError::from(IdentityError::Busy).response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        assert!(!KeystoneError::unauthorized().response().headers().contains_key(http::header::RETRY_AFTER));
    }
}
