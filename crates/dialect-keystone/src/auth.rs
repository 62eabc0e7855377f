//! `/v3/auth/*`: issuing tokens (password, token, application credential; project,
//! domain or no scope), validating, checking and revoking them, and the scopes
//! and catalog available to a token.

use axum::response::Response;
use http::{HeaderValue, StatusCode};
use imagery_identity::{policy, AppCredentialRef, AuthMethod, DomainRef, Principal, ProjectRef, Scope, ScopeRequest, Secret, UserRef};
use serde_json::{json, Map, Value};

use crate::api_server::{created, no_content, ok};
use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::views::{self, token_time};

const SUBJECT_TOKEN: &str = "x-subject-token";

pub(crate) async fn issue_token(ctx: &Ctx) -> KeystoneResult<Response> {
    let body = ctx.json_value()?;
    let auth = object(body.get("auth"), "auth", "request body")?;
    let identity = object(auth.get("identity"), "identity", "auth")?;
    let (method, scope) = (parse_method(identity)?, parse_scope(auth.get("scope"))?);
    let issued = ctx.identity().authenticate(method, scope).await?;
    let body = token_body(ctx, &issued.principal, !ctx.query.iter().any(|(k, _)| k == "nocatalog")).await?;
    let mut response = created(body)?;
    with_subject_token(&mut response, &issued.token)?;
    Ok(response)
}

/// `GET` (with body) and `HEAD` (without) of `/v3/auth/tokens`.
pub(crate) async fn validate_token(ctx: &Ctx, with_body: bool) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let (token, subject) = subject(ctx)?;
    let action = if with_body { "identity:validate_token" } else { "identity:check_token" };
    policy::token_subject(&caller, &subject, action)?;
    let body = if with_body { token_body(ctx, &subject, !ctx.query.iter().any(|(k, _)| k == "nocatalog")).await? } else { json!({}) };
    let mut response = ok(body)?;
    with_subject_token(&mut response, token)?;
    Ok(response)
}

pub(crate) async fn revoke_token(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let (token, subject) = subject(ctx)?;
    policy::token_subject(&caller, &subject, "identity:revoke_token")?;
    ctx.identity().revoke(token).await.map_err(|_| KeystoneError::not_found("token", token))?;
    no_content()
}

pub(crate) async fn projects(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let projects = ctx.identity().user_projects(&caller.user_id).await?;
    let items = projects.iter().filter(|p| p.enabled).map(|p| views::project(ctx, p)).collect();
    ok(views::collection(ctx, "projects", items))
}

pub(crate) async fn domains(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let domains = ctx.identity().user_domains(&caller.user_id).await?;
    let items = domains.iter().filter(|d| d.enabled).map(|d| views::domain(ctx, d)).collect();
    ok(views::collection(ctx, "domains", items))
}

pub(crate) fn catalog(ctx: &Ctx) -> KeystoneResult<Response> {
    let caller = ctx.caller()?;
    let project_id =
        caller.project_id().ok_or_else(|| KeystoneError::forbidden("A project-scoped token is required to produce a service catalog."))?;
    ok(json!({"catalog": ctx.state.catalog.render(&ctx.origin, Some(project_id)), "links": {"self": ctx.v3("/auth/catalog")}}))
}

/// The token body Keystone renders for a principal.
pub(crate) async fn token_body(ctx: &Ctx, p: &Principal, include_catalog: bool) -> KeystoneResult<Value> {
    let mut token = json!({
        "methods": p.methods,
        "user": {
            "domain": {"id": p.user_domain_id, "name": p.user_domain_name},
            "id": p.user_id,
            "name": p.user_name,
            "password_expires_at": null,
        },
        "audit_ids": p.audit_ids(),
        "expires_at": token_time(&p.expires_at),
        "issued_at": token_time(&p.issued_at),
    });
    let roles = || async {
        let roles = ctx.identity().roles_named(&p.roles).await?;
        Ok::<_, KeystoneError>(Value::Array(roles.into_iter().map(|r| json!({"id": r.id, "name": r.name})).collect()))
    };
    match &p.scope {
        Scope::Project { id, name, domain_id, domain_name } => {
            token["project"] = json!({"domain": {"id": domain_id, "name": domain_name}, "id": id, "name": name});
            token["is_domain"] = json!(false);
            token["roles"] = roles().await?;
        }
        Scope::Domain { id, name } => {
            token["domain"] = json!({"id": id, "name": name});
            token["roles"] = roles().await?;
        }
        Scope::Unscoped => {}
    }
    if include_catalog && p.scope != Scope::Unscoped {
        token["catalog"] = ctx.state.catalog.render(&ctx.origin, p.project_id());
    }
    if let Some(credential_id) = &p.app_credential_id {
        if let Some(credential) = ctx.identity().get_app_credential(credential_id).await? {
            token["application_credential"] = json!({"id": credential.id, "name": credential.name, "restricted": !credential.unrestricted});
        }
    }
    Ok(json!({ "token": token }))
}

/// The token in `X-Subject-Token` and whom it speaks for; invalid → 404.
fn subject(ctx: &Ctx) -> KeystoneResult<(&str, Principal)> {
    let token = ctx.header(SUBJECT_TOKEN).ok_or_else(|| KeystoneError::expecting("X-Subject-Token", "request headers"))?;
    let principal = ctx.identity().validate(token).map_err(|_| KeystoneError::not_found("token", token))?;
    Ok((token, principal))
}

fn with_subject_token(response: &mut Response, token: &str) -> KeystoneResult<()> {
    let value = HeaderValue::from_str(token).map_err(|_| {
        KeystoneError::new(StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error prevented the server from fulfilling your request.")
    })?;
    response.headers_mut().insert(SUBJECT_TOKEN, value);
    Ok(())
}

// ----- request parsing -----

type Object = Map<String, Value>;

fn object<'a>(value: Option<&'a Value>, attribute: &str, target: &str) -> KeystoneResult<&'a Object> {
    value.and_then(Value::as_object).ok_or_else(|| KeystoneError::expecting(attribute, target))
}

/// A string member: absent/null → `None`, another type → 400.
fn string(object: &Object, key: &str, target: &str) -> KeystoneResult<Option<String>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(KeystoneError::bad_request(format!("Invalid input for field '{target}/{key}': not a string."))),
    }
}

fn parse_method(identity: &Object) -> KeystoneResult<AuthMethod> {
    let methods = identity.get("methods").and_then(Value::as_array).ok_or_else(|| KeystoneError::expecting("methods", "identity"))?;
    let mut names: Vec<&str> = Vec::new();
    for m in methods {
        let name = m.as_str().ok_or_else(|| KeystoneError::bad_request("Invalid input for field 'identity/methods': not a string."))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let [name] = names.as_slice() else {
        if names.is_empty() {
            return Err(KeystoneError::expecting("methods", "identity"));
        }
        return Err(KeystoneError::unauthorized_with("Authenticating with more than one method is not supported."));
    };
    let data = |key: &str| object(identity.get(key), key, "identity");
    match *name {
        "password" => {
            let password = data("password")?;
            let user = parse_user(password.get("user"), "password")?;
            let user_object = object(password.get("user"), "user", "password")?;
            let secret = string(user_object, "password", "user")?.ok_or_else(|| KeystoneError::expecting("password", "user"))?;
            Ok(AuthMethod::Password { user, password: Secret::new(secret) })
        }
        "token" => {
            let token = string(data("token")?, "id", "token")?.ok_or_else(|| KeystoneError::expecting("id", "token"))?;
            Ok(AuthMethod::Token { token })
        }
        "application_credential" => {
            let credential = data("application_credential")?;
            let secret = string(credential, "secret", "application_credential")?
                .ok_or_else(|| KeystoneError::expecting("secret", "application_credential"))?;
            let reference = match string(credential, "id", "application_credential")? {
                Some(id) => AppCredentialRef::Id(id),
                None => {
                    let name = string(credential, "name", "application_credential")?
                        .ok_or_else(|| KeystoneError::expecting("id or name", "application_credential"))?;
                    AppCredentialRef::Name { name, user: parse_user(credential.get("user"), "application_credential")? }
                }
            };
            Ok(AuthMethod::ApplicationCredential { credential: reference, secret: Secret::new(secret) })
        }
        _ => Err(KeystoneError::unauthorized_with("Attempted to authenticate with an unsupported method.")),
    }
}

fn parse_user(value: Option<&Value>, target: &str) -> KeystoneResult<UserRef> {
    let user = object(value, "user", target)?;
    if let Some(id) = string(user, "id", "user")? {
        return Ok(UserRef::Id(id));
    }
    let name = string(user, "name", "user")?.ok_or_else(|| KeystoneError::expecting("id or name", "user"))?;
    Ok(UserRef::Name { name, domain: parse_domain(user.get("domain"), "user")? })
}

fn parse_domain(value: Option<&Value>, target: &str) -> KeystoneResult<DomainRef> {
    let domain = object(value, "domain", target)?;
    if let Some(id) = string(domain, "id", "domain")? {
        return Ok(DomainRef::Id(id));
    }
    let name = string(domain, "name", "domain")?.ok_or_else(|| KeystoneError::expecting("id or name", "domain"))?;
    Ok(DomainRef::Name(name))
}

fn parse_scope(value: Option<&Value>) -> KeystoneResult<ScopeRequest> {
    let scope = match value {
        None | Some(Value::Null) => return Ok(ScopeRequest::Default),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(Value::Object(scope)) => scope,
        Some(_) => return Err(KeystoneError::bad_request("Invalid input for field 'scope'.")),
    };
    match (scope.get("project"), scope.get("domain")) {
        (Some(_), Some(_)) => Err(KeystoneError::bad_request("Specify a domain or project, not both")),
        (Some(project), None) => {
            let project = object(Some(project), "project", "scope")?;
            if let Some(id) = string(project, "id", "project")? {
                return Ok(ScopeRequest::Project(ProjectRef::Id(id)));
            }
            let name = string(project, "name", "project")?.ok_or_else(|| KeystoneError::expecting("id or name", "project"))?;
            Ok(ScopeRequest::Project(ProjectRef::Name { name, domain: parse_domain(project.get("domain"), "project")? }))
        }
        (None, Some(domain)) => Ok(ScopeRequest::Domain(parse_domain(Some(domain), "scope")?)),
        // System scope and trusts need assignments imagery does not have.
        (None, None) if scope.contains_key("system") || scope.contains_key("OS-TRUST:trust") => Err(KeystoneError::unauthorized()),
        (None, None) => Ok(ScopeRequest::Default),
    }
}
