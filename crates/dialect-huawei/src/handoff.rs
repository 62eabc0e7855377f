//! How a caller authenticated here (AK/SK signature or token) reaches the Glance
//! and compute dialects this crate delegates to: they are built with
//! [`HandedOff`] as their token validator, which answers with the caller of the
//! request being handled (a task-local set around the delegated call), never with
//! anything a client sent. The compute metadata hook reads the same caller.

use std::future::Future;

use http::{HeaderMap, HeaderValue};
use imagery_core::Caller;
use imagery_http_common::{AuthFailure, TokenValidator};

tokio::task_local! {
    static CALLER: Caller;
}

/// The `X-Auth-Token` value the delegated dialects see (it carries nothing).
const PLACEHOLDER: &str = "authenticated-by-the-huawei-dialect";

/// Identity headers a client may not pass through to a delegated dialect.
const IDENTITY_HEADERS: [&str; 10] = [
    "x-auth-token",
    "x-storage-token",
    "x-subject-token",
    "x-identity-status",
    "x-roles",
    "x-role",
    "x-user-id",
    "x-user",
    "x-tenant-id",
    "x-tenant",
];

pub struct HandedOff;

impl TokenValidator for HandedOff {
    fn validate(&self, _token: &str) -> Result<Caller, AuthFailure> {
        current().ok_or(AuthFailure::Missing)
    }
}

/// The caller of the request being handled, inside [`with_caller`].
pub fn current() -> Option<Caller> {
    CALLER.try_with(Caller::clone).ok()
}

pub async fn with_caller<F: Future>(caller: Caller, work: F) -> F::Output {
    CALLER.scope(caller, work).await
}

/// Replace the client's identity headers with the placeholder token.
pub fn prepare(headers: &mut HeaderMap) {
    for name in IDENTITY_HEADERS {
        headers.remove(name);
    }
    // `X-Project-Id` also names the caller's project to trusted-header setups.
    headers.remove("x-project-id");
    headers.insert("x-auth-token", HeaderValue::from_static(PLACEHOLDER));
}
