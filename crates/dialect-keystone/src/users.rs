//! `/v3/users`: user administration (create with password, show, list with
//! `name`/`domain_id`, update, delete), self-service password change, and the
//! projects a user has roles on.

use axum::response::Response;
use imagery_identity::{policy, NewUser, Secret, UserUpdate};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_server::{created, no_content, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::projects::default_domain;
use crate::views;

#[derive(Deserialize)]
struct UserBody {
    name: Option<String>,
    domain_id: Option<String>,
    password: Option<String>,
    enabled: Option<bool>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    default_project_id: Option<Value>,
}

#[derive(Deserialize)]
struct PasswordBody {
    password: Option<String>,
    original_password: Option<String>,
}

/// Keep `null` distinguishable from an absent member.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn default_project(value: Option<Value>) -> KeystoneResult<Option<Option<String>>> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s))),
        Some(_) => Err(KeystoneError::bad_request("Invalid input for field 'default_project_id': not a string.")),
    }
}

pub(crate) async fn list(ctx: &Ctx) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:list_users")?;
    let mut users = ctx.identity().list_users(ctx.query("domain_id"), ctx.query("name")).await?;
    if let Some(enabled) = ctx.bool_filter("enabled") {
        users.retain(|u| u.enabled == enabled);
    }
    ok(views::collection(ctx, "users", users.iter().map(|u| views::user(ctx, u)).collect()))
}

pub(crate) async fn create(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    policy::admin(&caller, "identity:create_user")?;
    let body: UserBody = ctx.json_member("user")?;
    let name = body.name.ok_or_else(|| KeystoneError::expecting("name", "user"))?;
    let new = NewUser {
        name,
        domain_id: body.domain_id.unwrap_or_else(|| default_domain(&caller)),
        password: body.password.map(Secret::new),
        enabled: body.enabled.unwrap_or(true),
        default_project_id: default_project(body.default_project_id)?.flatten(),
    };
    let user = ctx.identity().create_user(new).await?;
    created(json!({"user": views::user(ctx, &user)}))
}

pub(crate) async fn get(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    policy::admin_or_user(&ctx.caller()?, user_id, "identity:get_user")?;
    let user = ctx.identity().get_user(user_id).await?.ok_or_else(|| KeystoneError::not_found("user", user_id))?;
    ok(json!({"user": views::user(ctx, &user)}))
}

pub(crate) async fn update(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:update_user")?;
    let body: UserBody = ctx.json_member("user")?;
    let identity = ctx.identity();
    let current = identity.get_user(user_id).await?.ok_or_else(|| KeystoneError::not_found("user", user_id))?;
    if body.domain_id.as_ref().is_some_and(|d| *d != current.domain_id) {
        return Err(KeystoneError::bad_request("Update of `domain_id` is not allowed."));
    }
    let update = UserUpdate {
        name: body.name,
        password: body.password.map(Secret::new),
        enabled: body.enabled,
        default_project_id: default_project(body.default_project_id)?,
    };
    let user = identity.update_user(user_id, update).await?;
    ok(json!({"user": views::user(ctx, &user)}))
}

pub(crate) async fn delete(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    policy::admin(&ctx.caller()?, "identity:delete_user")?;
    ctx.identity().delete_user(user_id).await?;
    no_content()
}

/// `POST /v3/users/{id}/password`: like Keystone, needs no token — the original
/// password is the credential.
pub(crate) async fn change_password(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    let body: PasswordBody = ctx.json_member("user")?;
    let original = body.original_password.ok_or_else(|| KeystoneError::expecting("original_password", "user"))?;
    let password = body.password.ok_or_else(|| KeystoneError::expecting("password", "user"))?;
    ctx.identity().change_password(user_id, &Secret::new(original), Secret::new(password)).await?;
    no_content()
}

pub(crate) async fn projects(ctx: &Ctx, user_id: &str) -> KeystoneResult<Response> {
    policy::admin_or_user(&ctx.caller()?, user_id, "identity:list_user_projects")?;
    let identity = ctx.identity();
    if identity.get_user(user_id).await?.is_none() {
        return Err(KeystoneError::not_found("user", user_id));
    }
    let projects = identity.user_projects(user_id).await?;
    ok(views::collection(ctx, "projects", projects.iter().map(|p| views::project(ctx, p)).collect()))
}
