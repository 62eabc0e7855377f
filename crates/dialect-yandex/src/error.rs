//! Yandex errors: a `google.rpc.Status` (gRPC code + message), sent as the gRPC
//! status on gRPC and as `{"code","message","details"}` with the `google.rpc.Code`
//! HTTP mapping on REST. Domain errors map onto the codes here, once.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_core::{DomainError, Problem};
use imagery_identity::IdentityError;
use serde_json::json;
use tonic::Code;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YcError {
    pub code: Code,
    pub message: String,
}

pub type YcResult<T> = Result<T, YcError>;

impl YcError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        YcError { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn permission_denied() -> Self {
        Self::new(Code::PermissionDenied, "Permission denied")
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }

    pub fn unimplemented(what: &str) -> Self {
        Self::new(Code::Unimplemented, format!("{what} is not implemented by this server"))
    }

    pub fn image_not_found(id: &str) -> Self {
        Self::not_found(format!("Image {id} not found"))
    }

    /// The HTTP status of the `google.rpc.Code` mapping the Yandex docs repeat.
    pub fn http_status(&self) -> StatusCode {
        match self.code {
            Code::Ok => StatusCode::OK,
            Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }

    /// The REST body: `google.rpc.Status` in JSON, with the request id as a
    /// `google.rpc.RequestInfo` detail as Yandex sends it.
    pub fn rest_response(&self, request_id: &str) -> Response {
        let body = json!({
            "code": self.code as i32,
            "message": self.message,
            "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id}],
        });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.http_status();
        response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        imagery_http_common::limits::retry_after_on_503(&mut response);
        response
    }
}

impl From<YcError> for tonic::Status {
    fn from(err: YcError) -> Self {
        tonic::Status::new(err.code, err.message)
    }
}

impl From<DomainError> for YcError {
    fn from(err: DomainError) -> Self {
        match err.problem() {
            Problem::NameTaken { name } => return YcError::new(Code::AlreadyExists, format!("Image with name {name} already exists")),
            Problem::Protected { .. } => {
                return YcError::new(Code::FailedPrecondition, "The image is protected; unprotect it before deleting it")
            }
            Problem::SourceNotAllowed { uri } => {
                return YcError::invalid(format!("uri: {uri} is not on this server's list of allowed image sources"))
            }
            Problem::TooManyFilters { limit } => {
                return YcError::invalid(format!("invalid filter: too many conditions; a list may have at most {limit} filters"))
            }
            Problem::TooManyFilterValues { limit } => {
                return YcError::invalid(format!("invalid filter: too many values; a list may match at most {limit} values in all"))
            }
            _ => {}
        }
        let code = match &err {
            DomainError::NotFound(_) | DomainError::Gone(_) => Code::NotFound,
            DomainError::Forbidden(_) => Code::PermissionDenied,
            DomainError::BadRequest(_) | DomainError::InvalidImageData(_) => Code::InvalidArgument,
            DomainError::Conflict(_) => Code::FailedPrecondition,
            DomainError::OverLimit(_) => Code::ResourceExhausted,
            DomainError::RangeNotSatisfiable(_) => Code::OutOfRange,
            DomainError::Unauthenticated(_) => Code::Unauthenticated,
            DomainError::Unavailable(_) => Code::Unavailable,
        };
        YcError::new(code, err.to_string())
    }
}

impl From<IdentityError> for YcError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::Unauthenticated { .. } => YcError::unauthenticated("The token is invalid"),
            IdentityError::Backend(detail) => {
                tracing::error!(%detail, "identity backend failure");
                YcError::new(Code::Unavailable, "The identity service is temporarily unavailable.")
            }
            other => DomainError::from(other).into(),
        }
    }
}

/// The front door's refusals: a gRPC status (`RESOURCE_EXHAUSTED`,
/// `UNAVAILABLE`) on gRPC; on REST the JSON error body with the refusal's HTTP
/// status — budgets as `RESOURCE_EXHAUSTED`, an oversized request (413, 414, 431)
/// as `INVALID_ARGUMENT`, which the SDK's retry interceptor does not retry.
pub struct YandexRefusals;

impl imagery_http_common::limits::Refusals for YandexRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, request: &http::request::Parts) -> Response {
        use imagery_http_common::limits::Refusal;
        let grpc = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/grpc"));
        let code = match refusal {
            Refusal::Overloaded { .. } => Code::Unavailable,
            Refusal::RateLimited { .. } => Code::ResourceExhausted,
            Refusal::TooLarge { .. } | Refusal::UriTooLong { .. } | Refusal::HeadersTooLarge { .. } if !grpc => Code::InvalidArgument,
            _ => Code::ResourceExhausted,
        };
        let error = YcError::new(code, refusal.message());
        if grpc {
            let (parts, ()) = tonic::Status::from(error).into_http::<()>().into_parts();
            return Response::from_parts(parts, Body::empty());
        }
        let mut response = error.rest_response(&imagery_http_common::request_id::of(&request.extensions).0);
        *response.status_mut() = refusal.status();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_mapping_follows_google_rpc_code() {
        let cases = [
            (Code::Cancelled, 499),
            (Code::InvalidArgument, 400),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::Unauthenticated, 401),
        ];
        for (code, http) in cases {
            assert_eq!(YcError::new(code, "x").http_status().as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn oversized_lists_are_invalid_arguments() {
        let err = YcError::from(DomainError::BadRequest(Problem::TooManyFilters { limit: 64 }));
        assert_eq!(
            (err.code, err.message.as_str()),
            (Code::InvalidArgument, "invalid filter: too many conditions; a list may have at most 64 filters")
        );
    }

    #[tokio::test]
    async fn an_oversized_rest_request_gets_the_json_error_body() {
        use imagery_http_common::limits::{Refusal, Refusals};
        let (request, ()) = http::Request::get("/compute/v1/images?folderId=f").body(()).unwrap_or_default().into_parts();
        let response = YandexRefusals.render(&Refusal::UriTooLong { limit: 16384 }, &request);
        assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
        assert_eq!(response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/json"));
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["code"], 3, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("16384")), "{body}");
        assert!(body["details"].is_array(), "{body}");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = YcError::from(DomainError::Unavailable("catalog temporarily unavailable".into())).rest_response("req-1");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        assert!(!YcError::invalid("x").rest_response("req-1").headers().contains_key(http::header::RETRY_AFTER));
    }
}
