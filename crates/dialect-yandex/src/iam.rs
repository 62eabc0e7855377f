//! `yandex.cloud.iam.v1.IamTokenService`: IAM tokens (the identity core's signed
//! `t1.…` tokens, which already have the Yandex shape) in exchange for
//!
//! - an OAuth token, which imagery defines as `y0_<access key id>_<access key
//!   secret>` (one opaque string, as the SDKs send it); or
//! - a service-account key JWT: `PS256`, `kid` = access key id, signed with the
//!   private key whose public half (PEM) the access key holds, `iss` = the key's
//!   user id, at most one hour between `iat` and `exp` (checked arithmetic),
//!   `iat` within the clock skew, `aud` ending in `/iam/v1/tokens` (its host is
//!   whatever endpoint the SDK was given), and a `jti`, when present, used once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imagery_core::time::now;
use imagery_identity::{Identity, Principal};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde::Deserialize;

use crate::error::{YcError, YcResult};
use crate::pb::yandex::cloud::iam::v1 as iam;
use crate::validation::Checks;
use crate::views::timestamp;

/// The prefix of imagery's OAuth tokens (Yandex OAuth tokens start with `y0_` too).
pub const OAUTH_PREFIX: &str = "y0_";
/// Clock skew tolerated on JWT times, in seconds.
const LEEWAY: i64 = 300;
/// The longest JWT lifetime Yandex accepts.
const MAX_JWT_LIFETIME: i64 = 3600;

fn rejected(reason: &str) -> YcError {
    tracing::warn!(reason, "IAM token exchange refused");
    YcError::unauthenticated("The token is invalid")
}

pub async fn create(identity: &Identity, request: iam::CreateIamTokenRequest) -> YcResult<iam::CreateIamTokenResponse> {
    use iam::create_iam_token_request::Identity as Credential;
    let principal = match request.identity {
        None => return Err(YcError::invalid("validation failed:\n  - identity: one of yandex_passport_oauth_token, jwt is required")),
        Some(Credential::YandexPassportOauthToken(token)) => {
            Checks::default().max_len("yandex_passport_oauth_token", &token, 4000).check()?;
            oauth_principal(identity, &token).await?
        }
        Some(Credential::Jwt(jwt)) => {
            Checks::default().max_len("jwt", &jwt, 8000).check()?;
            jwt_principal(identity, &jwt).await?
        }
    };
    let iam_token = identity.mint_token(&principal)?;
    Ok(iam::CreateIamTokenResponse { iam_token, expires_at: Some(timestamp(&principal.expires_at)) })
}

pub async fn revoke(identity: &Identity, request: iam::RevokeIamTokenRequest) -> YcResult<iam::RevokeIamTokenResponse> {
    Checks::default().required("iam_token", &request.iam_token).max_len("iam_token", &request.iam_token, 4096).check()?;
    let principal = identity.revoke(&request.iam_token).await?;
    Ok(iam::RevokeIamTokenResponse { subject_id: principal.user_id })
}

async fn oauth_principal(identity: &Identity, token: &str) -> YcResult<Principal> {
    let (key_id, secret) =
        token.trim().strip_prefix(OAUTH_PREFIX).and_then(|rest| rest.split_once('_')).ok_or_else(|| rejected("malformed OAuth token"))?;
    identity.authenticate_access_key(key_id, secret).await.map_err(YcError::from)
}

#[derive(Deserialize)]
struct JwtHeader {
    alg: String,
    kid: String,
}

#[derive(Deserialize)]
struct JwtClaims {
    iss: String,
    iat: i64,
    exp: i64,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    jti: Option<String>,
}

/// The token exchange's path, which every `aud` names (the host is whatever
/// endpoint the SDK was given, so only the path is checked).
const AUDIENCE_PATH: &str = "/iam/v1/tokens";
/// How many live `jti`s one key may have (replay protection's budget).
const JTI_BUDGET: u32 = 10_000;

/// `aud` as Yandex accepts it: a string (or a list holding one) ending in the
/// token exchange's path.
fn audience_ok(aud: Option<&serde_json::Value>) -> bool {
    let ends = |v: &serde_json::Value| v.as_str().is_some_and(|a| a.trim_end_matches('/').ends_with(AUDIENCE_PATH));
    match aud {
        Some(serde_json::Value::Array(list)) => list.iter().any(ends),
        Some(v) => ends(v),
        None => false,
    }
}

fn decode_part<T: for<'de> Deserialize<'de>>(part: &str) -> YcResult<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| rejected("JWT part is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| rejected("JWT part is not the expected JSON"))
}

async fn jwt_principal(identity: &Identity, jwt: &str) -> YcResult<Principal> {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(rejected("JWT must have three parts"));
    };
    let head: JwtHeader = decode_part(header)?;
    if head.alg != "PS256" {
        return Err(rejected("JWT algorithm must be PS256"));
    }
    let key = identity.access_key(&head.kid).await?.ok_or_else(|| rejected("no access key with the JWT's kid"))?;
    let pem = key.public_key.as_deref().ok_or_else(|| rejected("the access key has no public key"))?;
    let signature = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')).map_err(|_| rejected("JWT signature is not base64url"))?;
    let signed = jwt.trim().get(..header.len() + 1 + claims.len()).ok_or_else(|| rejected("malformed JWT"))?;
    if !verify_ps256(pem, signed.as_bytes(), &signature) {
        return Err(rejected("JWT signature does not verify"));
    }
    let claims: JwtClaims = decode_part(claims)?;
    let t = now().timestamp();
    let lifetime = claims.exp.checked_sub(claims.iat);
    let too_long = lifetime.is_none_or(|l| !(0..=MAX_JWT_LIFETIME + LEEWAY).contains(&l));
    if claims.exp <= t.saturating_sub(LEEWAY) || claims.iat > t.saturating_add(LEEWAY) || too_long {
        return Err(rejected("JWT is expired, not yet valid, or lives longer than an hour"));
    }
    if !audience_ok(claims.aud.as_ref()) {
        return Err(rejected("JWT audience is not the IAM token endpoint"));
    }
    if claims.iss != key.user_id {
        return Err(rejected("JWT issuer is not the access key's user"));
    }
    if let Some(jti) = claims.jti.as_deref() {
        // A JWT id may be used once, on any node (shared through the catalog).
        let expires = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(now);
        match identity.remember_signature(&format!("jwt:{}", head.kid), jti, expires, JTI_BUDGET).await.map_err(YcError::from)? {
            imagery_core::cluster::Seen::Fresh => {}
            imagery_core::cluster::Seen::Replayed => return Err(rejected("JWT id (jti) already used")),
            imagery_core::cluster::Seen::OverBudget => return Err(rejected("too many live JWT ids for this key")),
        }
    }
    identity.access_key_principal(&key).await.map_err(YcError::from)
}

/// RSASSA-PSS with SHA-256 (salt length = 32), against an SPKI or PKCS#1 PEM key.
fn verify_ps256(pem: &str, message: &[u8], signature: &[u8]) -> bool {
    let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim()).or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()));
    let Ok(key) = key else {
        return false;
    };
    let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
        return false;
    };
    rsa::pss::VerifyingKey::<sha2::Sha256>::new(key).verify(message, &signature).is_ok()
}

#[cfg(test)]
#[path = "fuzz.rs"]
mod fuzz;
