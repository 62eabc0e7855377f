//! Lets the other OpenStack dialects accept Keystone tokens through
//! `imagery-http-common`'s `TokenValidator`, validated in memory by `Identity`.

use std::sync::Arc;

use imagery_core::Caller;
use imagery_http_common::{AuthFailure, TokenValidator};
use imagery_identity::Identity;

#[derive(Debug, Clone)]
pub struct IdentityValidator(pub Arc<Identity>);

impl TokenValidator for IdentityValidator {
    fn validate(&self, token: &str) -> Result<Caller, AuthFailure> {
        self.0
            .validate(token)
            .map(|p| p.caller())
            .map_err(|_| AuthFailure::Invalid("The request you have made requires authentication.".into()))
    }
}
