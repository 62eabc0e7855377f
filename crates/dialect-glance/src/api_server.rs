//! Authenticate, dispatch each [`Endpoint`] to its handler, and stamp the common
//! headers on the way out.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http::header::HeaderValue;
use http::{HeaderMap, StatusCode};
use imagery_core::Caller;
use imagery_http_common::{request_id, Auth};
use imagery_service::ImageService;
use uuid::Uuid;

use crate::error::{accept_of, GlanceError, GlanceResult};
use crate::router::{is_public, parse, Endpoint, RouteError};
use crate::{image_data, images, info, members, tasks};

#[derive(Clone)]
pub struct GlanceState {
    pub service: Arc<ImageService>,
    pub auth: Auth,
    /// The Keystone URL put in `WWW-Authenticate` on 401.
    pub auth_uri: String,
    /// Public base URL of this API (scheme, host and mount prefix, no trailing
    /// slash). `None`: derived from the request's `Host` and `mount_prefix`.
    pub public_url: Option<String>,
    /// Where the server mounts this API (`""` at the root, `/image` devstack-style).
    pub mount_prefix: String,
    /// Whether the listener is TLS (for derived URLs).
    pub tls: bool,
}

/// One request's context, as the handlers see it.
pub(crate) struct Ctx {
    pub state: GlanceState,
    pub caller: Caller,
    pub headers: HeaderMap,
    pub query: Option<String>,
    /// The `x-openstack-request-id` this request is answered with.
    pub request_id: String,
}

impl Ctx {
    pub fn service(&self) -> &Arc<ImageService> {
        &self.state.service
    }

    pub fn base_url(&self) -> String {
        base_url(&self.state, &self.headers)
    }
}

pub(crate) fn base_url(state: &GlanceState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}{}", state.mount_prefix)
}

/// Glance image ids are UUIDs; anything else cannot name an image (404, not 400,
/// so name lookups by clients fall through to listing).
pub(crate) fn image_id(raw: &str) -> GlanceResult<Uuid> {
    if raw.len() == 36 {
        if let Ok(id) = Uuid::parse_str(raw) {
            return Ok(id);
        }
    }
    Err(GlanceError::not_found(format!("No image found with ID {raw}")))
}

pub fn router(state: GlanceState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<GlanceState>, request: Request) -> Response {
    let accept = accept_of(request.headers()).map(str::to_string);
    let rid = request_id::of(request.extensions()).openstack();
    let path = request.uri().path().to_string();
    let is_api = path.starts_with("/v2");
    let mut response = match dispatch(state, request).await {
        Ok(response) => response,
        Err(err) => err.render(accept.as_deref()),
    };
    if is_api {
        if let Ok(v) = HeaderValue::from_str(&rid) {
            response.headers_mut().insert("x-openstack-request-id", v);
        }
    }
    response
}

async fn dispatch(state: GlanceState, request: Request) -> GlanceResult<Response> {
    let (parts, body) = request.into_parts();
    let endpoint = match parse(&parts.method, parts.uri.path()) {
        Ok(ep) => ep,
        Err(RouteError::NotFound) => return Err(GlanceError::not_found("The resource could not be found.")),
        Err(RouteError::NotImplemented) => {
            return Err(GlanceError::new(StatusCode::NOT_IMPLEMENTED, "The server does not support this method."))
        }
        Err(RouteError::MethodNotAllowed(allow)) => {
            return Err(GlanceError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("The method {} is not allowed for this resource.", parts.method),
            )
            .with_header("allow", allow));
        }
    };
    if is_public(&endpoint) {
        return Ok(match endpoint {
            Endpoint::VersionsRoot => info::versions(&state, &parts.headers, StatusCode::MULTIPLE_CHOICES),
            Endpoint::Versions => info::versions(&state, &parts.headers, StatusCode::OK),
            _ => info::healthcheck(),
        });
    }
    let caller = state.auth.keystone_caller(&parts.headers).map_err(|f| GlanceError::unauthorized(&f, &state.auth_uri))?;
    if endpoint.rejects_body() && imagery_http_common::body::has_body(&parts.headers) {
        return Err(GlanceError::bad_request("A body is not expected with this request."));
    }
    let request_id = request_id::of(&parts.extensions).openstack();
    let ctx = Ctx { state, caller, headers: parts.headers, query: parts.uri.query().map(str::to_string), request_id };
    route(&ctx, endpoint, body).await
}

async fn route(ctx: &Ctx, endpoint: Endpoint, body: Body) -> GlanceResult<Response> {
    use Endpoint::*;
    match endpoint {
        ListImages => images::list(ctx).await,
        CreateImage => images::create(ctx, body).await,
        ShowImage { id } => images::show(ctx, &id).await,
        UpdateImage { id } => images::update(ctx, &id, body).await,
        DeleteImage { id } => images::delete(ctx, &id).await,
        Deactivate { id } => images::deactivate(ctx, &id).await,
        Reactivate { id } => images::reactivate(ctx, &id).await,
        AddTag { id, tag } => images::add_tag(ctx, &id, &tag).await,
        DeleteTag { id, tag } => images::delete_tag(ctx, &id, &tag).await,
        Upload { id } => image_data::upload(ctx, &id, body).await,
        Download { id } => image_data::download(ctx, &id).await,
        Stage { id } => image_data::stage(ctx, &id, body).await,
        Import { id } => image_data::import(ctx, &id, body).await,
        ImageTasks { id } => tasks::image_tasks(ctx, &id).await,
        ListTasks => tasks::list(ctx).await,
        CreateTask => tasks::create(ctx, body).await,
        ShowTask { id } => tasks::show(ctx, &id).await,
        DeleteTask { id } => tasks::delete(ctx, &id).await,
        ListMembers { id } => members::list(ctx, &id).await,
        CreateMember { id } => members::create(ctx, &id, body).await,
        ShowMember { id, member } => members::show(ctx, &id, &member).await,
        UpdateMember { id, member } => members::update(ctx, &id, &member, body).await,
        DeleteMember { id, member } => members::delete(ctx, &id, &member).await,
        Schema { name } => info::schema(ctx, &name),
        InfoImport => Ok(info::import_info(ctx)),
        InfoStores | InfoStoresDetail => Err(GlanceError::not_found("Multi backend is not supported at this site.")),
        InfoUsage => info::usage(ctx).await,
        VersionsRoot | Versions | Healthcheck => Err(GlanceError::not_found("The resource could not be found.")),
    }
}

/// A JSON response with Glance's content type.
pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Read and parse a JSON request body (Glance does not check its Content-Type).
pub(crate) async fn json_body(body: Body) -> GlanceResult<serde_json::Value> {
    let bytes = imagery_http_common::body::read_limited(body, imagery_http_common::body::MAX_DOCUMENT).await.map_err(|e| match e {
        imagery_http_common::body::BodyError::TooLarge => {
            GlanceError::new(StatusCode::PAYLOAD_TOO_LARGE, "The body of your request was too large for this server.")
        }
        imagery_http_common::body::BodyError::Unreadable => GlanceError::bad_request("The request body could not be read."),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(GlanceError::bad_request("Body expected in request."));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| GlanceError::bad_request("Malformed JSON in request body."))?;
    if !value.is_object() && !value.is_array() {
        return Err(GlanceError::bad_request("Expected a JSON object or array in the request body."));
    }
    Ok(value)
}
