//! Dispatch each [`Endpoint`]: the token side without a bearer token, ARM after
//! authentication, api-version and subscription checks (in ARM's order), and
//! the headers ARM puts on every response.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use imagery_identity::Identity;
use imagery_service::ImageService;

use crate::api_version::{self, ApiVersion};
use crate::auth::{self, Authenticated};
use crate::error::{ArmError, ArmResult};
use crate::router::{parse, Endpoint, RouteError};
use crate::subscriptions::{self, Access};
use crate::{images, operations, resource_groups, token};
use imagery_identity::RsaKeyRing;

/// What the Azure dialect needs. Build it with [`AzureState::new`] and adjust
/// the public fields.
#[derive(Clone)]
pub struct AzureState {
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    /// `https://host:port` (no trailing slash): both the token authority and the
    /// ARM endpoint clients are given; every URL this dialect hands out starts with it.
    pub public_url: String,
    /// The resource group where images created through other dialects appear
    /// (as `image-<uuid>`).
    pub default_resource_group: String,
    /// Location of that group and of images that never had one.
    pub default_location: String,
    /// Items per list page before a `nextLink`.
    pub page_size: usize,
    /// Token audiences accepted besides ARM's (`https://management.azure.com`,
    /// `https://management.core.windows.net`, with or without `/`) and `public_url`.
    pub extra_audiences: Vec<String>,
}

impl AzureState {
    pub fn new(service: Arc<ImageService>, identity: Arc<Identity>, public_url: impl Into<String>) -> AzureState {
        AzureState {
            service,
            identity,
            public_url: public_url.into().trim_end_matches('/').to_string(),
            default_resource_group: "imagery-default".into(),
            default_location: "westus".into(),
            page_size: 100,
            extra_audiences: Vec::new(),
        }
    }
}

/// The state handlers share: the configuration and the loaded signing keys.
pub(crate) struct Shared {
    pub state: AzureState,
    /// Identity's RSA signing keys (it owns and rotates them).
    pub keys: Arc<RsaKeyRing>,
}

impl Shared {
    pub fn public_url(&self) -> &str {
        self.state.public_url.trim_end_matches('/')
    }

    pub fn service(&self) -> &Arc<ImageService> {
        &self.state.service
    }

    pub fn identity(&self) -> &Arc<Identity> {
        &self.state.identity
    }

    pub fn page_size(&self) -> usize {
        self.state.page_size.clamp(1, 1000)
    }
}

/// Both the Entra ID token endpoints (`/{tenant}/…`) and ARM (`/subscriptions/…`),
/// at the root of one listener.
pub fn router(state: AzureState) -> Router {
    let keys = state.identity.rsa_signing_keys().clone();
    Router::new().fallback(handle).with_state(Arc::new(Shared { state, keys }))
}

/// One ARM request, as handlers see it.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub auth: Authenticated,
    pub version: ApiVersion,
    pub query: BTreeMap<String, String>,
    /// The request path as sent, the scope ARM names in 403s.
    pub path: String,
    pub action: &'static str,
}

impl Ctx {
    pub fn service(&self) -> &Arc<ImageService> {
        self.shared.service()
    }

    pub fn identity(&self) -> &Arc<Identity> {
        self.shared.identity()
    }

    pub fn public_url(&self) -> &str {
        self.shared.public_url()
    }

    /// 403 for this request's action over `scope`.
    pub fn authorization_failed(&self, scope: &str) -> ArmError {
        auth::authorization_failed(&self.auth, self.action, scope)
    }

    /// A Forbidden from the service is ARM's AuthorizationFailed; the rest keep their meaning.
    pub fn domain_error(&self, err: imagery_core::DomainError) -> ArmError {
        match err {
            imagery_core::DomainError::Forbidden(why) => {
                tracing::info!(reason = %why, action = self.action, "authorization failed");
                self.authorization_failed(&self.path)
            }
            other => ArmError::from_domain(other),
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let request_id = imagery_http_common::request_id::of(request.extensions()).0;
    let correlation = safe_header(request.headers(), "x-ms-correlation-request-id").unwrap_or_else(|| request_id.clone());
    let client_request_id = safe_header(request.headers(), "client-request-id");
    let method = request.method().clone();
    let endpoint = parse(&method, request.uri().path());
    let mut response = match endpoint {
        Ok(endpoint) if endpoint.is_token_side() => {
            let mut response = token::handle(&shared, endpoint, request).await;
            if let Some(id) = client_request_id {
                insert(&mut response, "client-request-id", &id);
            }
            insert(&mut response, "x-ms-request-id", &request_id);
            return response;
        }
        Ok(endpoint) => arm(shared, endpoint, request).await.unwrap_or_else(|e| e.render()),
        Err(RouteError::MethodNotAllowed) => ArmError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "HttpMethodNotSupported",
            format!("The requested resource does not support http method '{method}'."),
        )
        .render(),
        Err(RouteError::NotFound) => ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            "The resource type could not be found: no resource provider serves this path.",
        )
        .render(),
    };
    let remaining = match method {
        Method::GET | Method::HEAD => ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        Method::DELETE => ("x-ms-ratelimit-remaining-subscription-deletes", "14999"),
        _ => ("x-ms-ratelimit-remaining-subscription-writes", "1199"),
    };
    let routing = format!("IMAGERY:{}:{request_id}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    for (name, value) in [
        ("x-ms-request-id", request_id.as_str()),
        ("x-ms-correlation-request-id", correlation.as_str()),
        ("x-ms-routing-request-id", routing.as_str()),
        remaining,
        ("cache-control", "no-cache"),
        ("pragma", "no-cache"),
        ("expires", "-1"),
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ] {
        insert(&mut response, name, value);
    }
    response
}

/// A client-supplied id we may echo: short, GUID-ish characters only.
fn safe_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
}

pub(crate) fn insert(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

/// The query string as a map (first value wins), keys as sent.
fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

/// ARM's order: authentication (401), api-version (400), subscription (404),
/// access to it (401/403), then the handler.
async fn arm(shared: Arc<Shared>, endpoint: Endpoint, request: Request) -> ArmResult<Response> {
    let (parts, body) = request.into_parts();
    let authenticated = auth::authenticate(&shared, &parts.headers).await?;
    let query = query_map(parts.uri.query());
    let api_version = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("api-version")).map(|(_, v)| v.as_str());
    let version = api_version::check(endpoint.family(), api_version)?;
    let action = endpoint.action();
    let ctx = Ctx { shared, auth: authenticated, version, query, path: parts.uri.path().to_string(), action };
    let access = match endpoint.subscription() {
        Some(sub) => Some(subscriptions::access(&ctx, sub).await?),
        None => None,
    };
    route(&ctx, access, endpoint, body).await
}

async fn route(ctx: &Ctx, access: Option<Access>, endpoint: Endpoint, body: Body) -> ArmResult<Response> {
    use Endpoint::*;
    let Some(access) = access else {
        return match endpoint {
            ListTenants => subscriptions::list_tenants(ctx).await,
            ListSubscriptions => subscriptions::list(ctx).await,
            _ => Err(ArmError::new(StatusCode::NOT_FOUND, "InvalidResourceType", "The resource type could not be found.")),
        };
    };
    let a = &access;
    match endpoint {
        GetSubscription { .. } => subscriptions::show(ctx, a).await,
        ListResourceGroups { .. } => resource_groups::list(ctx, a).await,
        GetResourceGroup { rg, .. } => resource_groups::show(ctx, a, &rg).await,
        CheckResourceGroup { rg, .. } => resource_groups::check(ctx, a, &rg).await,
        PutResourceGroup { rg, .. } => resource_groups::put(ctx, a, &rg, body).await,
        PatchResourceGroup { rg, .. } => resource_groups::patch(ctx, a, &rg, body).await,
        DeleteResourceGroup { rg, .. } => resource_groups::delete(ctx, a, &rg).await,
        OperationResult { id, .. } => operations::group_deletion_result(ctx, a, &id).await,
        ListImages { .. } => images::list_subscription(ctx, a).await,
        ListImagesInGroup { rg, .. } => images::list_group(ctx, a, &rg).await,
        GetImage { rg, name, .. } => images::show(ctx, a, &rg, &name).await,
        PutImage { rg, name, .. } => images::put(ctx, a, &rg, &name, body).await,
        PatchImage { rg, name, .. } => images::patch(ctx, a, &rg, &name, body).await,
        DeleteImage { rg, name, .. } => images::delete(ctx, a, &rg, &name).await,
        ComputeOperation { location, id, .. } => operations::status(ctx, a, &location, &id).await,
        ListTenants | ListSubscriptions | OpenIdConfiguration { .. } | Token { .. } | Keys { .. } => {
            Err(ArmError::new(StatusCode::NOT_FOUND, "InvalidResourceType", "The resource type could not be found."))
        }
    }
}

/// Read a JSON request body (ARM bodies are small documents).
pub(crate) async fn json_body(body: Body) -> ArmResult<serde_json::Value> {
    use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
    let bytes = read_limited(body, MAX_DOCUMENT).await.map_err(|e| match e {
        BodyError::TooLarge => ArmError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", "The request body is too large."),
        BodyError::Unreadable => ArmError::invalid_content("the request body could not be read"),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ArmError::invalid_content("the request body is empty"));
    }
    serde_json::from_slice(&bytes).map_err(ArmError::invalid_content)
}
