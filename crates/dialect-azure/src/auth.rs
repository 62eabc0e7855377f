//! Bearer tokens on ARM routes, checked as ARM does: present, RS256-signed by one
//! of our keys, unexpired, for an ARM audience, from our issuer; then the
//! imagery identity token inside says who it is (with identity's revocations).

use chrono::Utc;
use http::HeaderMap;
use imagery_identity::Principal;
use serde_json::Value;

use crate::api_server::Shared;
use crate::error::{ArmError, ArmResult};
use crate::ids::guid_or_id;
use crate::jwt;

/// The claim naming whom the token speaks for (a reference to the principal:
/// user, scope, roles, audit id — never a bearer credential, so a leaked ARM
/// token is not a Keystone or Glance token). Revocable through its audit id.
pub(crate) const PRINCIPAL_CLAIM: &str = "xms_imagery_principal";
/// How far in the future `nbf` may be (clock skew between nodes).
const NOT_BEFORE_SKEW_SECS: i64 = 300;

/// Audiences ARM accepts for management tokens.
const ARM_AUDIENCES: [&str; 4] = [
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
];

/// Who an ARM request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub principal: Principal,
    /// Client id (the access key id).
    pub appid: String,
    /// Object id (the user id as a GUID).
    pub oid: String,
}

/// Our issuer for a tenant, as the discovery document announces it.
pub(crate) fn issuer(public_url: &str, tid: &str) -> String {
    format!("{public_url}/{tid}/v2.0")
}

/// Is `aud` (a token audience or a scope's resource) one we serve?
pub(crate) fn accepted_audience(shared: &Shared, aud: &str) -> bool {
    let public = shared.public_url();
    ARM_AUDIENCES.contains(&aud)
        || aud.trim_end_matches('/') == public
        || shared.state.extra_audiences.iter().any(|a| a.trim_end_matches('/') == aud.trim_end_matches('/'))
}

fn unauthorized(shared: &Shared, code: &str, message: impl Into<String>) -> ArmError {
    ArmError::unauthorized(code, message, &format!("{}/", shared.public_url()))
}

fn invalid_token(shared: &Shared) -> ArmError {
    unauthorized(shared, "InvalidAuthenticationToken", "The access token is invalid.")
}

pub(crate) async fn authenticate(shared: &Shared, headers: &HeaderMap) -> ArmResult<Authenticated> {
    let Some(header) = headers.get(http::header::AUTHORIZATION) else {
        return Err(unauthorized(shared, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."));
    };
    let bearer = header.to_str().ok().and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    let Some(token) = bearer.filter(|t| !t.is_empty()) else {
        return Err(unauthorized(
            shared,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        ));
    };
    let unverified = jwt::split(&token).map_err(|_| invalid_token(shared))?;
    let verified = shared.keys.verifiers(unverified.kid.as_deref()).await.iter().any(|k| unverified.verified_by(k));
    if !verified {
        tracing::info!("bearer token signature does not verify with any Azure signing key");
        return Err(unauthorized(shared, "InvalidAuthenticationToken", "The access token is invalid: its signature does not verify."));
    }
    let claims = &unverified.claims;
    let now = Utc::now().timestamp();
    let exp = claims["exp"].as_i64().ok_or_else(|| invalid_token(shared))?;
    if exp <= now {
        let format = |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%m/%d/%Y %H:%M:%S").to_string()).unwrap_or_default();
        return Err(unauthorized(
            shared,
            "ExpiredAuthenticationToken",
            format!("The access token expiry UTC time '{}' is earlier than current UTC time '{}'.", format(exp), format(now)),
        ));
    }
    if claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + NOT_BEFORE_SKEW_SECS) {
        return Err(unauthorized(shared, "InvalidAuthenticationToken", "The access token is not yet valid."));
    }
    let aud = claims["aud"].as_str().unwrap_or("");
    if !accepted_audience(shared, aud) {
        return Err(unauthorized(
            shared,
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.",
                ARM_AUDIENCES.join("','")
            ),
        ));
    }
    let tid = claims["tid"].as_str().unwrap_or("").to_string();
    let iss = claims["iss"].as_str().unwrap_or("");
    if tid.is_empty() || (iss != issuer(shared.public_url(), &tid) && iss != format!("https://sts.windows.net/{tid}/")) {
        return Err(unauthorized(
            shared,
            "InvalidAuthenticationToken",
            format!("The access token is from an issuer this server does not trust: '{iss}'."),
        ));
    }
    // The token names whom it speaks for (signed with it); whether that is still
    // good — expiry, revocation — is decided by identity, as for every token.
    let principal: Principal = serde_json::from_value(claims[PRINCIPAL_CLAIM].clone()).map_err(|_| invalid_token(shared))?;
    shared.identity().check_principal(&principal).map_err(|e| {
        tracing::info!(error = %e, "an Azure access token speaks for a principal that is no longer valid");
        invalid_token(shared)
    })?;
    let oid = guid_or_id(&principal.user_id);
    if tid != guid_or_id(&principal.user_domain_id) || claims["oid"].as_str() != Some(oid.as_str()) {
        return Err(invalid_token(shared));
    }
    let appid = claims["appid"].as_str().map(str::to_string).unwrap_or_else(|| oid.clone());
    Ok(Authenticated { principal, appid, oid })
}

/// ARM's 403, naming the client, the action and the scope.
pub(crate) fn authorization_failed(auth: &Authenticated, action: &str, scope: &str) -> ArmError {
    ArmError::new(
        http::StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            auth.appid, auth.oid
        ),
    )
}

/// The claims of a token for `principal`, minted by the token endpoint.
pub(crate) fn claims(shared: &Shared, principal: &Principal, client_id: &str, audience: &str) -> Value {
    let tid = guid_or_id(&principal.user_domain_id);
    let oid = guid_or_id(&principal.user_id);
    let issuer = issuer(shared.public_url(), &tid);
    let now = Utc::now().timestamp();
    serde_json::json!({
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": principal.expires_at.timestamp(),
        "idp": issuer,
        "tid": tid,
        "oid": oid,
        "sub": oid,
        "appid": client_id,
        "appidacr": "1",
        "ver": "1.0",
        "uti": principal.audit_id,
        PRINCIPAL_CLAIM: principal,
    })
}
