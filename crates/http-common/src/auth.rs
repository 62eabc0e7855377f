//! Who is calling, for the dialects that authenticate with Keystone tokens
//! (`X-Auth-Token`): Glance, Nova, Huawei's Nova-compatible APIs. A development
//! mode trusts identity headers the way Glance trusts keystonemiddleware.

use std::sync::Arc;

use http::HeaderMap;
use imagery_core::Caller;

/// Why a request could not be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid(String),
}

/// Something that turns a bearer/Keystone token into a caller without I/O.
pub trait TokenValidator: Send + Sync + 'static {
    fn validate(&self, token: &str) -> Result<Caller, AuthFailure>;
}

#[derive(Clone)]
pub enum Auth {
    /// Development only: take the caller from `X-Project-Id`, `X-User-Id`,
    /// `X-Roles` and `X-Identity-Status: Confirmed`, as Glance behind keystonemiddleware.
    TrustHeaders,
    /// Validate `X-Auth-Token` with the identity service.
    Tokens(Arc<dyn TokenValidator>),
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok())).map(str::trim).filter(|v| !v.is_empty())
}

impl Auth {
    pub fn keystone_caller(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        match self {
            Auth::TrustHeaders => {
                if header(headers, &["x-identity-status"]).map(|s| s.eq_ignore_ascii_case("confirmed")) != Some(true) {
                    return Err(AuthFailure::Missing);
                }
                let roles = header(headers, &["x-roles", "x-role"]).unwrap_or("");
                Ok(Caller::new(
                    header(headers, &["x-user-id", "x-user"]).map(str::to_string),
                    header(headers, &["x-project-id", "x-tenant-id", "x-tenant"]).map(str::to_string),
                    roles.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
                ))
            }
            Auth::Tokens(validator) => {
                let token = header(headers, &["x-auth-token", "x-storage-token"]).ok_or(AuthFailure::Missing)?;
                let caller = validator.validate(token);
                if caller.is_err() {
                    metrics::counter!("imagery_auth_failures_total", "method" => "token").increment(1);
                }
                caller
            }
        }
    }
}
