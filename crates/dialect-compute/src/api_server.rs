//! Negotiate the microversion and the media type, authenticate, check the project
//! in the URL, dispatch each [`Endpoint`] to its handler, and stamp the request-id
//! and microversion headers on every response, faults included.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http::header::HeaderValue;
use http::{HeaderMap, StatusCode};
use imagery_core::{Caller, Image};
use imagery_http_common::{request_id, Auth};
use imagery_service::ImageService;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ComputeError, ComputeResult};
use crate::media::{self, Format};
use crate::microversion::{self, Microversion, VersionError, MAX_VERSION, MIN_VERSION};
use crate::router::{parse, ApiVersion, Endpoint, Route, RouteError};
use crate::views::{self, Links};
use crate::xml::{self, Element};
use crate::{images, metadata, versions};

/// Adds keys to an image's `metadata` in the detail view (a Nova-compatible
/// dialect's vendor extensions, e.g. Huawei's `__*` keys). The metadata resource
/// itself always shows the stored properties only.
pub type MetadataHook = Arc<dyn Fn(&Image, &mut Map<String, Value>) + Send + Sync>;

#[derive(Clone)]
pub struct ComputeState {
    pub service: Arc<ImageService>,
    pub auth: Auth,
    /// The Keystone URL put in `WWW-Authenticate` on 401.
    pub auth_uri: String,
    /// Public base URL of this API (scheme, host and mount prefix, no trailing
    /// slash). `None`: derived from the request's `Host` and `mount_prefix`.
    pub public_url: Option<String>,
    /// Where the server mounts this API (`""` at the root, `/compute` devstack-style).
    pub mount_prefix: String,
    /// Whether the listener is TLS (for derived URLs).
    pub tls: bool,
    /// Public image (Glance) endpoint for the `alternate` links, e.g. `http://h:9292`.
    pub image_endpoint: String,
    /// The newest microversion `/v2.1` advertises and accepts (Nova: 2.104).
    pub max_version: (u16, u16),
    pub metadata_hook: Option<MetadataHook>,
}

impl ComputeState {
    /// A state with the usual defaults: mounted at the root, URLs derived from
    /// `Host`, plain HTTP, Nova's maximum microversion, no metadata hook.
    pub fn new(service: Arc<ImageService>, auth: Auth, auth_uri: impl Into<String>, image_endpoint: impl Into<String>) -> Self {
        ComputeState {
            service,
            auth,
            auth_uri: auth_uri.into(),
            public_url: None,
            mount_prefix: String::new(),
            tls: false,
            image_endpoint: image_endpoint.into(),
            max_version: (MAX_VERSION.major, MAX_VERSION.minor),
            metadata_hook: None,
        }
    }

    pub(crate) fn max(&self) -> Microversion {
        let max = Microversion::new(self.max_version.0, self.max_version.1);
        max.max(MIN_VERSION)
    }
}

/// One authenticated API request, as the handlers see it.
pub(crate) struct Ctx {
    pub state: ComputeState,
    pub caller: Caller,
    pub version: ApiVersion,
    pub project_id: Option<String>,
    pub format: Format,
    pub headers: HeaderMap,
    pub query: Option<String>,
}

impl Ctx {
    pub fn service(&self) -> &Arc<ImageService> {
        &self.state.service
    }

    /// `/v2` relaxes body validation (extra top-level keys are dropped).
    pub fn legacy_v2(&self) -> bool {
        self.version == ApiVersion::V2
    }

    pub fn links(&self) -> Links {
        Links {
            compute_base: base_url(&self.state, &self.headers),
            version: self.version.segment().to_string(),
            project_id: self.project_id.clone(),
            image_endpoint: self.state.image_endpoint.trim_end_matches('/').to_string(),
        }
    }

    /// The detail view, with the state's metadata hook applied.
    pub fn image_detail(&self, image: &Image, links: &Links) -> Map<String, Value> {
        let mut metadata = views::metadata(image);
        if let Some(hook) = &self.state.metadata_hook {
            hook(image, &mut metadata);
        }
        views::image_detail_with(image, links, metadata)
    }

    /// A document in the negotiated format.
    pub fn document(&self, status: StatusCode, doc: &Value, to_xml: fn(&Value) -> Element) -> ComputeResult<Response> {
        document(self.format, status, doc, to_xml)
    }
}

pub(crate) fn document(format: Format, status: StatusCode, doc: &Value, to_xml: fn(&Value) -> Element) -> ComputeResult<Response> {
    let bytes = match format {
        Format::Json => doc.to_string().into_bytes(),
        Format::Xml => to_xml(doc).to_document().map_err(|err| {
            tracing::error!(%err, "XML rendering failed");
            ComputeError::new(StatusCode::INTERNAL_SERVER_ERROR, "Unexpected API Error.")
        })?,
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    Ok(response)
}

pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The compute root as clients reach it: `public_url`, or scheme + `Host` + mount prefix.
pub(crate) fn base_url(state: &ComputeState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}{}", state.mount_prefix.trim_end_matches('/'))
}

/// Image ids are UUIDs; anything else names no image (404, never 400).
pub(crate) fn image_id(raw: &str) -> ComputeResult<Uuid> {
    match Uuid::parse_str(raw) {
        Ok(id) if raw.len() == 36 => Ok(id),
        _ => Err(ComputeError::image_not_found()),
    }
}

pub fn router(state: ComputeState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// What a `/v2.1` response echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// Outside `/v2.1` (and all of `/v2`): nothing.
    Nothing,
    /// The header could not be parsed: only `Vary`.
    VaryOnly,
    Version(Microversion),
}

async fn handle(State(state): State<ComputeState>, request: Request) -> Response {
    let request_id = request_id::of(request.extensions()).openstack();
    let mut echo = Echo::Nothing;
    let mut response = process(state, request, &mut echo).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-openstack-request-id", v.clone());
        headers.insert("x-compute-request-id", v);
    }
    if echo != Echo::Nothing {
        headers.insert(http::header::VARY, HeaderValue::from_static(microversion::VARY));
    }
    if let Echo::Version(v) = echo {
        if let Ok(value) = HeaderValue::from_str(&format!("compute {v}")) {
            headers.insert(microversion::HEADER, value);
        }
        if let Ok(value) = HeaderValue::from_str(&v.to_string()) {
            headers.insert(microversion::LEGACY_HEADER, value);
        }
    }
    response
}

async fn process(state: ComputeState, request: Request, echo: &mut Echo) -> Response {
    let (parts, body) = request.into_parts();
    let route = parse(&parts.method, parts.uri.path());
    let api = match &route {
        Ok(route) => route.version,
        Err(err) => err.version(),
    };
    let accepted = match route.as_ref().ok().and_then(|r| r.format) {
        Some(format) => Ok(format),
        None => media::from_accept(&parts.headers),
    };
    // Faults go out in the negotiated format, JSON when nothing acceptable was asked for.
    let fault_format = accepted.clone().unwrap_or(Format::Json);
    let max = state.max();
    let mut requested = MIN_VERSION;
    if api == Some(ApiVersion::V21) {
        *echo = Echo::VaryOnly;
        match microversion::negotiate(&parts.headers, max) {
            Ok(v) => {
                requested = v;
                *echo = Echo::Version(v);
            }
            Err(err) => {
                let status = match err {
                    VersionError::Malformed(_) => StatusCode::BAD_REQUEST,
                    VersionError::Unsupported(v) => {
                        *echo = Echo::Version(v);
                        StatusCode::NOT_ACCEPTABLE
                    }
                };
                return ComputeError::new(status, err.message(max)).render(fault_format);
            }
        }
    }
    let format = match accepted {
        Ok(format) => format,
        Err(accept) => {
            let message = format!("Accept header '{accept}' is not supported: use application/json or application/xml.");
            return ComputeError::new(StatusCode::NOT_ACCEPTABLE, message).render(Format::Json);
        }
    };
    let base = base_url(&state, &parts.headers);
    let outcome = match route {
        Ok(route) if !route.needs_auth() => versions::public(&route, &base, parts.uri.path(), max, format),
        Err(RouteError::MethodNotAllowed { version: None, allow, .. }) => Err(ComputeError::method_not_allowed(allow)),
        route => authenticated(state, route, parts.headers, parts.uri.query().map(str::to_string), body, requested, format).await,
    };
    outcome.unwrap_or_else(|err| err.render(format))
}

async fn authenticated(
    state: ComputeState,
    route: Result<Route, RouteError>,
    headers: HeaderMap,
    query: Option<String>,
    body: Body,
    requested: Microversion,
    format: Format,
) -> ComputeResult<Response> {
    let caller = state.auth.keystone_caller(&headers).map_err(|f| ComputeError::unauthorized(&f, &state.auth_uri))?;
    let route = match route {
        Ok(route) => route,
        Err(RouteError::NotFound { .. }) => return Err(ComputeError::resource_not_found()),
        Err(RouteError::MethodNotAllowed { allow, .. }) => return Err(ComputeError::method_not_allowed(allow)),
    };
    if route.endpoint.max_microversion().is_some_and(|cap| requested > cap) {
        return Err(ComputeError::resource_not_found());
    }
    let Some(version) = route.version else {
        return Err(ComputeError::resource_not_found());
    };
    if let Some(project) = &route.project_id {
        // Admins may address any project's URL; Nova itself refuses even them.
        if caller.project() != Some(project.as_str()) && !caller.is_admin() {
            return Err(ComputeError::bad_request(format!(
                "Malformed request URL: URL's project_id '{project}' doesn't match Context's project_id '{}'",
                caller.project().unwrap_or("None")
            )));
        }
    }
    let ctx = Ctx { state, caller, version, project_id: route.project_id, format, headers, query };
    dispatch(&ctx, route.endpoint, body).await
}

async fn dispatch(ctx: &Ctx, endpoint: Endpoint, body: Body) -> ComputeResult<Response> {
    use Endpoint::*;
    match endpoint {
        VersionDoc => {
            let base = base_url(&ctx.state, &ctx.headers);
            document(ctx.format, StatusCode::OK, &versions::version_doc(&base, ctx.version, ctx.state.max()), xml::version)
        }
        ListImages => images::list(ctx, false).await,
        ListImagesDetail => images::list(ctx, true).await,
        ShowImage { id } => images::show(ctx, &id).await,
        DeleteImage { id } => images::delete(ctx, &id).await,
        ListMetadata { id } => metadata::list(ctx, &id).await,
        MergeMetadata { id } => metadata::merge(ctx, &id, body).await,
        ReplaceMetadata { id } => metadata::replace(ctx, &id, body).await,
        ShowMeta { id, key } => metadata::show(ctx, &id, &key).await,
        SetMeta { id, key } => metadata::set(ctx, &id, &key, body).await,
        DeleteMeta { id, key } => metadata::delete(ctx, &id, &key).await,
        Versions | Choices | RedirectToSlash => Err(ComputeError::resource_not_found()),
    }
}
