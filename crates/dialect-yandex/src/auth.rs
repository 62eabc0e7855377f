//! Who is calling: `Authorization: Bearer <IAM token>` (gRPC metadata
//! `authorization`) on every call except endpoint discovery and IAM token
//! exchange, validated by the identity core without touching the catalog.

use imagery_core::Caller;
use imagery_identity::Identity;

use crate::error::{YcError, YcResult};

/// The caller an `Authorization` header value speaks for.
pub fn caller(identity: &Identity, authorization: Option<&str>) -> YcResult<Caller> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| YcError::unauthenticated("Authorization header is missing"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => return Err(YcError::unauthenticated("Authorization header must be 'Bearer <IAM token>'")),
    };
    identity.validate(token).map(|principal| principal.caller()).map_err(|_| YcError::unauthenticated("Token is invalid or has expired."))
}
