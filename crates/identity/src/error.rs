//! The identity error: what went wrong, phrased as Keystone phrases it. A failed
//! authentication hides its reason from the caller (it is logged instead).

use imagery_core::ports::CatalogError;
use imagery_core::DomainError;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// Bad credentials, unknown user, disabled account, no role on the scope,
    /// invalid/expired/revoked token. `reason` is for the log only.
    #[error("The request you have made requires authentication.")]
    Unauthenticated { reason: String },
    /// Authenticated but not allowed; the message is complete.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// The catalog failed; details are logged, never shown.
    #[error("identity backend error: {0}")]
    Backend(String),
    /// Too many password hashes are already running or waiting: try again shortly.
    #[error("The server is busy verifying other credentials; retry shortly.")]
    Busy,
}

pub type IdentityResult<T> = Result<T, IdentityError>;

impl IdentityError {
    pub(crate) fn unauthenticated(reason: impl Into<String>) -> Self {
        IdentityError::Unauthenticated { reason: reason.into() }
    }

    /// Keystone's `ForbiddenAction` for a policy rule such as `identity:create_project`.
    pub fn forbidden_action(action: &str) -> Self {
        IdentityError::Forbidden(format!("You are not authorized to perform the requested action: {action}."))
    }

    pub(crate) fn not_found(kind: &str, id: &str) -> Self {
        IdentityError::NotFound(format!("Could not find {kind}: {id}."))
    }

    pub(crate) fn conflict(kind: &str, details: impl std::fmt::Display) -> Self {
        IdentityError::Conflict(format!("Conflict occurred attempting to store {kind} - {details}."))
    }
}

impl From<CatalogError> for IdentityError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Duplicate(what) => IdentityError::Conflict(format!("Conflict occurred attempting to store {what}.")),
            CatalogError::Missing(what) => IdentityError::NotFound(format!("Could not find: {what}.")),
            CatalogError::Stale | CatalogError::Backend(_) => IdentityError::Backend(e.to_string()),
        }
    }
}

impl From<IdentityError> for DomainError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Unauthenticated { .. } => DomainError::Unauthenticated(e.to_string().into()),
            IdentityError::Forbidden(m) => DomainError::Forbidden(m.into()),
            IdentityError::NotFound(m) => DomainError::NotFound(m.into()),
            IdentityError::Conflict(m) => DomainError::Conflict(m.into()),
            IdentityError::BadRequest(m) => DomainError::BadRequest(m.into()),
            IdentityError::Backend(m) => DomainError::Unavailable(m.into()),
            IdentityError::Busy => DomainError::Unavailable(e.to_string().into()),
        }
    }
}
