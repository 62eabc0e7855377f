//! The axum entry point: every request is parsed into an `Endpoint`, dispatched
//! to its handler, and answered with Keystone's headers (`x-openstack-request-id`,
//! `Vary: X-Auth-Token`) and, on error, its envelope.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use http::{header, HeaderValue, Method, StatusCode};
use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
use imagery_http_common::request_id;
use serde_json::Value;

use crate::context::Ctx;
use crate::error::{KeystoneError, KeystoneResult};
use crate::router::{Endpoint, RouteError};
use crate::{
    app_credentials, auth, discovery, domains, endpoints, projects, regions, role_assignments, roles, services, users, KeystoneState,
};

/// The Keystone router, serving paths relative to the identity root.
pub fn router(state: KeystoneState) -> Router {
    Router::new().route("/", any(handle)).route("/{*path}", any(handle)).fallback(handle).with_state(state)
}

async fn handle(State(state): State<KeystoneState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = request_id::of(&parts.extensions).openstack();
    let is_head = parts.method == Method::HEAD;
    let body = if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
        match read_limited(body, MAX_DOCUMENT).await {
            Ok(bytes) => Ok(bytes),
            Err(BodyError::TooLarge) => Err(KeystoneError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large.")),
            Err(BodyError::Unreadable) => Err(KeystoneError::bad_request("The request body could not be read.")),
        }
    } else {
        Ok(Default::default())
    };
    let ctx = Ctx::new(state, &parts, body.clone().unwrap_or_default());
    let result = match body {
        Ok(_) => match Endpoint::parse(&parts.method, parts.uri.path()) {
            Ok(endpoint) => dispatch(&ctx, endpoint).await,
            Err(RouteError::NotFound) => Err(KeystoneError::no_route()),
            Err(RouteError::MethodNotAllowed) => Err(KeystoneError::method_not_allowed()),
        },
        Err(e) => Err(e),
    };
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error_response(&ctx, &error),
    };
    if is_head {
        *response.body_mut() = Body::empty();
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-openstack-request-id", value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("X-Auth-Token"));
    response
}

fn error_response(ctx: &Ctx, error: &KeystoneError) -> Response {
    let mut response = error.response();
    if error.status == StatusCode::UNAUTHORIZED {
        if let Ok(value) = HeaderValue::from_str(&format!("Keystone uri=\"{}\"", ctx.base)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
}

pub(crate) fn ok(body: Value) -> KeystoneResult<Response> {
    Ok(json(StatusCode::OK, body))
}

pub(crate) fn created(body: Value) -> KeystoneResult<Response> {
    Ok(json(StatusCode::CREATED, body))
}

pub(crate) fn no_content() -> KeystoneResult<Response> {
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn dispatch(ctx: &Ctx, endpoint: Endpoint) -> KeystoneResult<Response> {
    use Endpoint::*;
    match endpoint {
        Versions => discovery::versions(ctx),
        VersionV3 => discovery::version_v3(ctx),

        IssueToken => auth::issue_token(ctx).await,
        ValidateToken => auth::validate_token(ctx, true).await,
        CheckToken => auth::validate_token(ctx, false).await,
        RevokeToken => auth::revoke_token(ctx).await,
        AuthProjects => auth::projects(ctx).await,
        AuthDomains => auth::domains(ctx).await,
        AuthCatalog => auth::catalog(ctx),

        ListDomains => domains::list(ctx).await,
        CreateDomain => domains::create(ctx).await,
        GetDomain { domain } => domains::get(ctx, &domain).await,

        ListProjects => projects::list(ctx).await,
        CreateProject => projects::create(ctx).await,
        GetProject { project_id } => projects::get(ctx, &project_id).await,
        UpdateProject { project_id } => projects::update(ctx, &project_id).await,
        DeleteProject { project_id } => projects::delete(ctx, &project_id).await,

        ListUsers => users::list(ctx).await,
        CreateUser => users::create(ctx).await,
        GetUser { user_id } => users::get(ctx, &user_id).await,
        UpdateUser { user_id } => users::update(ctx, &user_id).await,
        DeleteUser { user_id } => users::delete(ctx, &user_id).await,
        ChangePassword { user_id } => users::change_password(ctx, &user_id).await,
        ListUserProjects { user_id } => users::projects(ctx, &user_id).await,

        ListRoles => roles::list(ctx).await,
        CreateRole => roles::create(ctx).await,
        GetRole { role_id } => roles::get(ctx, &role_id).await,
        ListGrants { target, user_id } => roles::list_grants(ctx, &target, &user_id).await,
        CreateGrant { target, user_id, role_id } => roles::create_grant(ctx, &target, &user_id, &role_id).await,
        CheckGrant { target, user_id, role_id } => roles::check_grant(ctx, &target, &user_id, &role_id).await,
        RevokeGrant { target, user_id, role_id } => roles::revoke_grant(ctx, &target, &user_id, &role_id).await,
        ListRoleAssignments => role_assignments::list(ctx).await,

        ListAppCredentials { user_id } => app_credentials::list(ctx, &user_id).await,
        CreateAppCredential { user_id } => app_credentials::create(ctx, &user_id).await,
        GetAppCredential { user_id, credential_id } => app_credentials::get(ctx, &user_id, &credential_id).await,
        DeleteAppCredential { user_id, credential_id } => app_credentials::delete(ctx, &user_id, &credential_id).await,

        ListServices => services::list(ctx),
        GetService { service_id } => services::get(ctx, &service_id),
        ListEndpoints => endpoints::list(ctx),
        GetEndpoint { endpoint_id } => endpoints::get(ctx, &endpoint_id),
        ListRegions => regions::list(ctx),
        GetRegion { region_id } => regions::get(ctx, &region_id),
    }
}
