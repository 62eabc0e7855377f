//! Entra ID as azure-identity (MSAL) uses it with `ClientSecretCredential`: the
//! tenant's OpenID discovery document, the client-credentials token endpoint
//! (v2, and v1 for older tools), and the JWKS. A service principal is an access
//! key: client id = key id, client secret = key secret, tenant = its user's domain.

use axum::extract::Request;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderValue, StatusCode};
use imagery_core::identity::Domain;
use imagery_identity::{DomainRef, IdentityError};
use serde_json::json;

use crate::api_server::Shared;
use crate::auth;
use crate::error::{json_response, OAuthError};
use crate::ids::{guid_or_id, hex_of_guid};
use crate::router::Endpoint;

/// Largest token request accepted.
const MAX_FORM: usize = 64 * 1024;

pub(crate) async fn handle(shared: &Shared, endpoint: Endpoint, request: Request) -> Response {
    let result = match endpoint {
        Endpoint::OpenIdConfiguration { tenant, v2 } => openid_configuration(shared, &tenant, v2).await,
        Endpoint::Keys { tenant } => keys(shared, &tenant).await,
        Endpoint::Token { tenant, v2 } => token(shared, &tenant, v2, request).await,
        _ => Err(OAuthError::invalid_request(900_561, "The endpoint only accepts token requests.")),
    };
    result.unwrap_or_else(|e| e.render())
}

fn unavailable(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "token endpoint backend failure");
    OAuthError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        90_033,
        "The service is temporarily unavailable; retry the request.",
    )
}

fn tenant_not_found(tenant: &str) -> OAuthError {
    OAuthError::invalid_request(
        90_002,
        format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
}

/// The domain a tenant names: by id, by GUID rendering of its id, or by name.
async fn find_tenant(shared: &Shared, tenant: &str) -> Result<Domain, OAuthError> {
    let identity = shared.identity();
    let mut candidates = vec![DomainRef::Id(tenant.to_string()), DomainRef::Name(tenant.to_string())];
    if let Some(hex) = hex_of_guid(tenant) {
        candidates.insert(0, DomainRef::Id(hex));
    }
    for candidate in candidates {
        if let Some(domain) = identity.lookup_domain(&candidate).await.map_err(unavailable)? {
            if domain.enabled {
                return Ok(domain);
            }
        }
    }
    Err(tenant_not_found(tenant))
}

async fn openid_configuration(shared: &Shared, tenant: &str, v2: bool) -> Result<Response, OAuthError> {
    let domain = find_tenant(shared, tenant).await?;
    let tid = guid_or_id(&domain.id);
    let base = format!("{}/{tid}", shared.public_url());
    let (oauth, issuer) = if v2 {
        (format!("{base}/oauth2/v2.0"), auth::issuer(shared.public_url(), &tid))
    } else {
        (format!("{base}/oauth2"), format!("https://sts.windows.net/{tid}/"))
    };
    let jwks = if v2 { format!("{base}/discovery/v2.0/keys") } else { format!("{base}/discovery/keys") };
    let document = json!({
        "token_endpoint": format!("{oauth}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": jwks,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{oauth}/authorize"),
        "device_authorization_endpoint": format!("{oauth}/devicecode"),
        "end_session_endpoint": format!("{oauth}/logout"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "ver"],
        "tenant_region_scope": null,
        "cloud_instance_name": "imagery",
        "cloud_graph_host_name": null,
        "msgraph_host": null,
        "rbac_url": shared.public_url(),
    });
    Ok(json_response(StatusCode::OK, &document))
}

async fn keys(shared: &Shared, tenant: &str) -> Result<Response, OAuthError> {
    if !tenant.eq_ignore_ascii_case("common") && !tenant.eq_ignore_ascii_case("organizations") {
        find_tenant(shared, tenant).await?;
    }
    let jwks = shared.keys.jwks().await.map_err(unavailable)?;
    Ok(json_response(StatusCode::OK, &jwks))
}

async fn token(shared: &Shared, tenant: &str, v2: bool, request: Request) -> Result<Response, OAuthError> {
    let (parts, body) = request.into_parts();
    let bytes = imagery_http_common::body::read_limited(body, MAX_FORM)
        .await
        .map_err(|_| OAuthError::invalid_request(900_144, "The request body could not be read or is too large."))?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let param = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let missing =
        |name: &str| OAuthError::invalid_request(900_144, format!("The request body must contain the following parameter: '{name}'."));
    let domain = find_tenant(shared, tenant).await?;

    let grant_type = param("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{grant_type}'. This server issues tokens for the client_credentials grant only."),
        ));
    }
    let basic = basic_credentials(parts.headers.get(http::header::AUTHORIZATION));
    let client_id = param("client_id").or_else(|| basic.as_ref().map(|(id, _)| id.clone())).ok_or_else(|| missing("client_id"))?;
    let secret = param("client_secret").or_else(|| basic.map(|(_, secret)| secret)).ok_or_else(|| {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        )
    })?;
    let audience = if v2 {
        let scope = param("scope").ok_or_else(|| missing("scope"))?;
        resource_of_scope(shared, &scope)?
    } else {
        let resource = param("resource").ok_or_else(|| missing("resource"))?;
        check_resource(shared, &resource)?;
        resource
    };

    let principal = match shared.identity().authenticate_access_key(&client_id, &secret).await {
        Ok(principal) => principal,
        Err(IdentityError::Unauthenticated { .. }) => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            ))
        }
        Err(e) => return Err(unavailable(e)),
    };
    if principal.user_domain_id != domain.id {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant."
            ),
        ));
    }
    let key = shared.keys.signer().await.map_err(unavailable)?;
    let claims = auth::claims(shared, &principal, &client_id, &audience);
    let access_token = crate::jwt::encode(&key, &claims).ok_or_else(|| unavailable("RS256 signing failed"))?;
    let now = chrono::Utc::now().timestamp();
    let expires_in = (principal.expires_at.timestamp() - now).max(0);
    tracing::info!(client_id = %client_id, user_id = %principal.user_id, "Azure access token issued");
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    });
    if !v2 {
        body["expires_on"] = json!((now + expires_in).to_string());
        body["not_before"] = json!(now.to_string());
        body["resource"] = json!(audience);
        body["expires_in"] = json!(expires_in.to_string());
        body["ext_expires_in"] = json!(expires_in.to_string());
    }
    let mut response = json_response(StatusCode::OK, &body);
    response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    response.headers_mut().insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `client_secret_basic`: `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(header: Option<&HeaderValue>) -> Option<(String, String)> {
    let value = header?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    Some((unescape(id), unescape(secret)))
}

/// The audience a v2 `scope` asks for: the resource of its `/.default` scope.
fn resource_of_scope(shared: &Shared, scope: &str) -> Result<String, OAuthError> {
    const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];
    let scopes: Vec<&str> = scope.split_whitespace().filter(|s| !OIDC_SCOPES.contains(s)).collect();
    let Some(resource) = scopes.iter().find_map(|s| s.strip_suffix("/.default")) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    check_resource(shared, resource)?;
    Ok(resource.to_string())
}

fn check_resource(shared: &Shared, resource: &str) -> Result<(), OAuthError> {
    if auth::accepted_audience(shared, resource) || auth::accepted_audience(shared, resource.trim_end_matches('/')) {
        return Ok(());
    }
    Err(OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_resource",
        500_011,
        format!("The resource principal named {resource} was not found in the tenant. This server issues tokens for Azure Resource Manager only."),
    ))
}

#[cfg(test)]
#[path = "fuzz.rs"]
mod fuzz;
