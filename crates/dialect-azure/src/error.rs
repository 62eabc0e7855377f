//! The two error shapes of this dialect: ARM's `{"error": {code, message,
//! target, details}}` envelope, and Entra ID's OAuth2 error body on the token
//! endpoints.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_core::DomainError;
use serde_json::json;

#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

pub(crate) type ArmResult<T> = Result<T, ArmError>;

impl ArmError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ArmError { status, code: code.to_string(), message: message.into(), target: None, headers: Vec::new() }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Compute RP validation failure naming the offending property.
    pub fn invalid_parameter(target: &str, message: impl Into<String>) -> Self {
        ArmError { target: Some(target.to_string()), ..Self::bad_request("InvalidParameter", message) }
    }

    pub fn missing_parameter(target: &str) -> Self {
        Self::invalid_parameter(target, format!("Required parameter '{target}' is missing (null)."))
    }

    pub fn invalid_content(detail: impl std::fmt::Display) -> Self {
        Self::bad_request("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{detail}'."))
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn resource_group_not_found(rg: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
    }

    pub fn resource_not_found(resource_type: &str, name: &str, rg: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    pub fn subscription_not_found(sub: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "SubscriptionNotFound", format!("The subscription '{sub}' could not be found."))
    }

    /// A 401 with the `WWW-Authenticate` challenge ARM sends (never with
    /// `insufficient_claims`, which would make the SDK retry).
    pub fn unauthorized(code: &str, message: impl Into<String>, authority: &str) -> Self {
        let message = message.into();
        let description = message.replace('"', "'");
        let challenge = format!("Bearer authorization_uri=\"{authority}\", error=\"invalid_token\", error_description=\"{description}\"");
        Self::new(StatusCode::UNAUTHORIZED, code, message).with_header("www-authenticate", challenge)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message, "target": self.target, "details": []}})
    }

    pub fn render(&self) -> Response {
        let mut response = json_response(self.status, &self.body());
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, v);
            }
        }
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }

    /// A domain error with no better ARM meaning. Callers map `NotFound` and
    /// `Forbidden` themselves: those need the resource and the action.
    pub fn from_domain(err: DomainError) -> Self {
        let m = err.to_string();
        match err {
            DomainError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "NotFound", m),
            DomainError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "AuthorizationFailed", m),
            DomainError::BadRequest(_) => Self::bad_request("InvalidParameter", m),
            DomainError::Conflict(_) | DomainError::Gone(_) => Self::conflict("Conflict", m),
            DomainError::OverLimit(_) => Self::conflict("QuotaExceeded", m),
            DomainError::InvalidImageData(_) => Self::bad_request("InvalidParameter", m),
            DomainError::RangeNotSatisfiable(_) => Self::bad_request("InvalidParameter", m),
            DomainError::Unauthenticated(_) => Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", m),
            DomainError::Unavailable(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", m),
        }
    }
}

/// JSON with ARM's content type.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// An Entra ID token-endpoint error (`AADSTS…`), as MSAL parses it.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        OAuthError { status, error, code, description: description.into() }
    }

    pub fn invalid_request(code: u32, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", code, description)
    }

    pub fn render(&self) -> Response {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        let description = format!(
            "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
            self.code, self.description
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        let mut response = json_response(self.status, &body);
        response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }
}

/// The front door's refusals: ARM's `TooManyRequests`/`ServerBusy`/size errors,
/// Entra ID's OAuth error on the token endpoints; and the caller's real budgets
/// in `x-ms-ratelimit-remaining-subscription-*` on every ARM response.
pub struct AzureRefusals;

impl imagery_http_common::limits::Refusals for AzureRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, request: &http::request::Parts) -> Response {
        use imagery_http_common::limits::Refusal;
        let token_side = crate::router::parse(&request.method, request.uri.path()).is_ok_and(|e| e.is_token_side());
        if token_side {
            let (error, code) = match refusal {
                Refusal::RateLimited { .. } | Refusal::Overloaded { .. } => ("temporarily_unavailable", 50196),
                _ => ("invalid_request", 90020),
            };
            return OAuthError::new(refusal.status(), error, code, refusal.message()).render();
        }
        let code = match refusal {
            Refusal::RateLimited { .. } => "TooManyRequests",
            Refusal::Overloaded { .. } => "ServerBusy",
            Refusal::TooLarge { .. } => "RequestContentTooLarge",
            Refusal::UriTooLong { .. } => "RequestUriTooLong",
            Refusal::HeadersTooLarge { .. } => "RequestHeadersTooLarge",
        };
        ArmError::new(refusal.status(), code, refusal.message()).render()
    }

    fn annotate(&self, request: &http::request::Parts, response: &mut Response, remaining: imagery_http_common::limits::Remaining) {
        let (name, left) = match request.method {
            http::Method::GET | http::Method::HEAD => ("x-ms-ratelimit-remaining-subscription-reads", remaining.reads),
            http::Method::DELETE => ("x-ms-ratelimit-remaining-subscription-deletes", remaining.writes),
            _ => ("x-ms-ratelimit-remaining-subscription-writes", remaining.writes),
        };
        if let Some(left) = left {
            response.headers_mut().insert(name, HeaderValue::from(left));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = ArmError::from_domain(DomainError::Unavailable("catalog temporarily unavailable".into())).render();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        let token_side = OAuthError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", 90_033, "retry").render();
        assert!(token_side.headers().contains_key(http::header::RETRY_AFTER), "{:?}", token_side.headers());
        assert!(!ArmError::bad_request("InvalidParameter", "x").render().headers().contains_key(http::header::RETRY_AFTER));
    }
}
