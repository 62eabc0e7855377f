//! `/v3/users/{user_id}/application_credentials`: a user delegates (some of) its
//! roles on the token's project to a named secret; the secret is shown once.

use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use imagery_core::time::Timestamp;
use imagery_identity::{policy, IdentityError, NewAppCredential, RoleRef, Secret};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_server::{created, no_content, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views;

#[derive(Deserialize)]
struct AppCredentialBody {
    name: Option<String>,
    description: Option<String>,
    secret: Option<String>,
    expires_at: Option<String>,
    roles: Option<Vec<RoleBody>>,
    unrestricted: Option<bool>,
    access_rules: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct RoleBody {
    id: Option<String>,
    name: Option<String>,
}

/// Keystone accepts ISO 8601 with or without zone (naive means UTC).
fn parse_expiry(text: &str) -> KeystoneResult<Timestamp> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), format) {
            return Ok(t.and_utc());
        }
    }
    Err(KeystoneError::bad_request(format!("Invalid input for field 'expires_at': '{text}' is not an ISO 8601 date-time.")))
}

pub(crate) async fn create(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    if caller.user_id != user_id {
        return Err(IdentityError::forbidden_action("Cannot create an application credential for another user").into());
    }
    let body: AppCredentialBody = ctx.json_member("application_credential")?;
    let name = body.name.ok_or_else(|| KeystoneError::expecting("name", "application_credential"))?;
    if body.access_rules.is_some_and(|rules| !rules.is_empty()) {
        return Err(KeystoneError::bad_request("Access rules are not supported."));
    }
    let roles = match body.roles {
        None => None,
        Some(roles) => Some(
            roles
                .into_iter()
                .map(|r| match (r.id, r.name) {
                    (Some(id), _) => Ok(RoleRef::Id(id)),
                    (None, Some(name)) => Ok(RoleRef::Name(name)),
                    (None, None) => Err(KeystoneError::expecting("id or name", "role")),
                })
                .collect::<KeystoneResult<Vec<_>>>()?,
        ),
    };
    let new = NewAppCredential {
        name,
        description: body.description.unwrap_or_default(),
        secret: body.secret.map(Secret::new),
        expires_at: body.expires_at.as_deref().map(parse_expiry).transpose()?,
        roles,
        unrestricted: body.unrestricted.unwrap_or(false),
    };
    let identity = ctx.identity();
    let (credential, secret) = identity.create_app_credential(&caller, new).await?;
    let mut view = views::app_credential(ctx, &credential, &identity.list_roles(None).await?);
    view["secret"] = json!(secret);
    created(json!({"application_credential": view}))
}

pub(crate) async fn list(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    policy::admin_or_user(&ctx.caller()?, user_id, "identity:list_application_credentials")?;
    let identity = ctx.identity();
    let mut credentials = identity.list_app_credentials(user_id).await?;
    credentials.retain(|c| ctx.query("name").is_none_or(|n| c.name == n));
    let roles = identity.list_roles(None).await?;
    ok(views::collection(ctx, "application_credentials", credentials.iter().map(|c| views::app_credential(ctx, c, &roles)).collect()))
}

pub(crate) async fn get(ctx: &Ctx, user_id: &str, credential_id: &str) -> KeystoneResult<Response> {
    policy::admin_or_user(&ctx.caller()?, user_id, "identity:get_application_credential")?;
    let identity = ctx.identity();
    let credential =
        identity.get_app_credential(credential_id).await?.filter(|c| c.user_id == user_id).ok_or_else(|| not_found(credential_id))?;
    ok(json!({"application_credential": views::app_credential(ctx, &credential, &identity.list_roles(None).await?)}))
}

pub(crate) async fn delete(ctx: &Ctx, user_id: &str, credential_id: &str) -> KeystoneResult<Response> {
    policy::admin_or_user(&ctx.caller()?, user_id, "identity:delete_application_credential")?;
    let identity = ctx.identity();
    if identity.get_app_credential(credential_id).await?.filter(|c| c.user_id == user_id).is_none() {
        return Err(not_found(credential_id));
    }
    identity.delete_app_credential(credential_id).await?;
    no_content()
}

fn not_found(id: &str) -> KeystoneError {
    KeystoneError::new(http::StatusCode::NOT_FOUND, format!("Could not find Application Credential: {id}."))
}
