//! The one error type every use case returns. Dialects map each variant to their
//! own status code and envelope; the message is written for the end user.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Missing, deleted, or invisible to the caller (never leaks existence).
    #[error("{0}")]
    NotFound(String),
    /// Visible to the caller but the action is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed or invalid input.
    #[error("{0}")]
    BadRequest(String),
    /// The resource's current state does not allow the action.
    #[error("{0}")]
    Conflict(String),
    /// A quota or size cap would be exceeded.
    #[error("{0}")]
    OverLimit(String),
    /// Uploaded bytes are not what the image claims (format mismatch, unsafe image).
    #[error("{0}")]
    InvalidImageData(String),
    /// A requested byte range lies outside the data.
    #[error("{0}")]
    RangeNotSatisfiable(String),
    /// The image went away while the request was running.
    #[error("{0}")]
    Gone(String),
    /// Authentication failed or is missing.
    #[error("{0}")]
    Unauthenticated(String),
    /// A backend (catalog, blob store) failed; details are logged, not shown.
    #[error("{0}")]
    Unavailable(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn image_not_found(id: impl std::fmt::Display) -> Self {
        DomainError::NotFound(format!("No image found with ID {id}"))
    }
}
