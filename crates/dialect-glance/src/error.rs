//! Glance's error responses: webob HTTP exceptions whose body format follows the
//! request's `Accept` header (JSON, HTML or plain text), with the domain errors
//! mapped to Glance's status codes.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use imagery_core::{DomainError, Field, Problem};
use imagery_http_common::AuthFailure;

#[derive(Debug, Clone)]
pub struct GlanceError {
    pub status: StatusCode,
    pub message: String,
    pub headers: Vec<(&'static str, String)>,
    /// The domain rule behind the refusal, if one was: rendered responses carry it
    /// as an extension, so a dialect that hands requests to Glance (Huawei) can
    /// word it its own way without reading the message.
    pub problem: Option<Problem>,
}

pub type GlanceResult<T> = Result<T, GlanceError>;

impl GlanceError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        GlanceError { status, message: message.into(), headers: Vec::new(), problem: None }
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

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn unauthorized(failure: &AuthFailure, auth_uri: &str) -> Self {
        let message = match failure {
            AuthFailure::Missing => "The request you have made requires authentication.".to_string(),
            AuthFailure::Invalid(why) => {
                format!("The request you have made requires authentication. {why}")
            }
        };
        Self::new(StatusCode::UNAUTHORIZED, message).with_header("www-authenticate", format!("Keystone uri=\"{auth_uri}\""))
    }

    /// Render for a client that sent `accept`.
    pub fn render(&self, accept: Option<&str>) -> Response {
        let status = self.status;
        let reason = status.canonical_reason().unwrap_or("Error");
        let code = format!("{} {}", status.as_u16(), reason);
        let (content_type, body) = match preferred_format(accept) {
            Format::Json => {
                let message = format!("{}<br /><br />\n\n\n", self.message);
                let body = serde_json::json!({"message": message, "code": code, "title": reason});
                ("application/json", body.to_string())
            }
            Format::Html => (
                "text/html; charset=UTF-8",
                format!(
                    "<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n  {}<br /><br />\n\n\n\n </body>\n</html>",
                    html_escape(&self.message)
                ),
            ),
            Format::Plain => ("text/plain; charset=UTF-8", format!("{code}\n\n{}\n\n   ", self.message)),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        if let Some(problem) = &self.problem {
            response.extensions_mut().insert(problem.clone());
        }
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

enum Format {
    Json,
    Html,
    Plain,
}

/// webob's `best_match(['text/html', 'application/json'])`: ties go to HTML.
fn preferred_format(accept: Option<&str>) -> Format {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Format::Plain;
    };
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        match media.as_str() {
            "*/*" => {
                html = html.max(q);
                json = json.max(q);
            }
            "text/*" | "text/html" => html = html.max(q),
            "application/*" | "application/json" => json = json.max(q),
            _ => {}
        }
    }
    if html > 0.0 && html >= json {
        Format::Html
    } else if json > 0.0 {
        Format::Json
    } else {
        Format::Plain
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl From<DomainError> for GlanceError {
    fn from(err: DomainError) -> Self {
        let status = match &err {
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DomainError::Conflict(_) => StatusCode::CONFLICT,
            DomainError::OverLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DomainError::InvalidImageData(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DomainError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            DomainError::Gone(_) => StatusCode::GONE,
            DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        GlanceError { problem: Some(err.problem().clone()), ..GlanceError::new(status, glance_message(err.problem())) }
    }
}

/// A domain problem in Glance's words: attribute rules as its image schema words
/// them, everything else as the domain says it.
fn glance_message(problem: &Problem) -> String {
    let schema = |attr: &str, why: String| format!("Provided object does not match schema 'image': {why} Failed validating '{attr}'.");
    match problem {
        Problem::TooLong { field: field @ (Field::Name | Field::Owner), max, .. } => {
            schema(field.as_str(), format!("the {field} is longer than {max} characters."))
        }
        Problem::TooLong { field: Field::Tag, max, .. } => schema("tags", format!("a tag is longer than {max} characters.")),
        Problem::OutOfRange { field, value, min, .. } if value < min => {
            schema(field.as_str(), format!("{value} is less than the minimum of {min}."))
        }
        Problem::OutOfRange { field, value, max, .. } => schema(field.as_str(), format!("{value} is greater than the maximum of {max}.")),
        Problem::NotOneOf { field, value, allowed } => schema(field.as_str(), format!("'{value}' is not one of {allowed:?}.")),
        Problem::BadCharacters { field: field @ (Field::Name | Field::Tag | Field::Owner), value } => {
            schema(field.as_str(), format!("{value:?} contains control characters."))
        }
        other => other.to_string(),
    }
}

pub fn accept_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// The front door's refusals (429, 503, 413, 414, 431) as webob words them.
pub struct GlanceRefusals;

impl imagery_http_common::limits::Refusals for GlanceRefusals {
    fn render(&self, refusal: &imagery_http_common::limits::Refusal, request: &http::request::Parts) -> Response {
        GlanceError::new(refusal.status(), refusal.message()).render(accept_of(&request.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_when_to_retry() {
        let error = GlanceError::from(DomainError::Unavailable("catalog temporarily unavailable".into()));
        let response = error.render(Some("application/json"));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(http::header::RETRY_AFTER), "{:?}", response.headers());
        let response = GlanceError::from(DomainError::BadRequest("x".into())).render(None);
        assert!(!response.headers().contains_key(http::header::RETRY_AFTER));
    }
}
