//! The listener's entry point: route, authenticate (signature or token), hand the
//! caller to the handler or to the dialect this one delegates to, and stamp
//! `X-Request-Id` on every response, failures included.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use imagery_core::Caller;
use imagery_dialect_compute::MAX_VERSION;
use imagery_dialect_glance::GlanceState;
use imagery_http_common::{Auth, RequestId};
use imagery_identity::Identity;
use imagery_service::ImageService;

use crate::error::HuaweiResult;
use crate::handoff::{self, HandedOff};
use crate::router::{self, Endpoint};
use crate::{auth, ecs, glance, images};

/// Everything the Huawei listener needs.
#[derive(Clone)]
pub struct HuaweiState {
    pub service: Arc<ImageService>,
    /// Access keys (AK/SK) and the principals they act as.
    pub identity: Arc<Identity>,
    /// How `X-Auth-Token` requests are authenticated: the server's Keystone token
    /// validator (`TrustHeaders` in development only).
    pub auth: Auth,
    /// Public base URL of this listener (scheme and host, no trailing slash), for
    /// links. `None`: derived from the request's `Host`.
    pub public_url: Option<String>,
    /// Whether the listener is TLS (for derived URLs).
    pub tls: bool,
    /// The Glance endpoint the ECS views' `alternate` links name. `None`: this
    /// listener, which serves IMS's Glance-compatible API at its root.
    pub image_endpoint: Option<String>,
    /// The newest compute microversion `/v2.1` accepts.
    pub compute_max_version: (u16, u16),
    /// How far `X-Sdk-Date` may be from the server's clock, either way (APIG: 15 minutes).
    pub signature_validity: Duration,
    /// How many live signatures one access key may have in the shared replay
    /// store (within the validity window) before its signed requests get 429.
    pub replay_budget_per_key: u32,
    /// Refuse a repeated signature on GET/HEAD too. Off by default: the SDK signs
    /// at one-second resolution, so identical reads within a second repeat it.
    pub reject_replayed_reads: bool,
}

impl HuaweiState {
    pub fn new(service: Arc<ImageService>, identity: Arc<Identity>, auth: Auth) -> Self {
        HuaweiState {
            service,
            identity,
            auth,
            public_url: None,
            tls: false,
            image_endpoint: None,
            compute_max_version: (MAX_VERSION.major, MAX_VERSION.minor),
            signature_validity: Duration::from_secs(15 * 60),
            replay_budget_per_key: 100_000,
            reject_replayed_reads: false,
        }
    }

    /// This listener's base URL as the client reached it.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

/// What every request shares: the configuration and the Glance
/// dialect this one delegates to.
pub(crate) struct Shared {
    pub state: HuaweiState,
    pub glance: Router,
}

/// One authenticated request, as the handlers see it.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub caller: Caller,
    pub parts: Parts,
}

impl Ctx<'_> {
    pub fn service(&self) -> &Arc<ImageService> {
        &self.shared.state.service
    }
}

/// The router for the root of one listener.
pub fn router(state: HuaweiState) -> Router {
    let glance = imagery_dialect_glance::router(GlanceState {
        service: state.service.clone(),
        auth: Auth::Tokens(Arc::new(HandedOff)),
        auth_uri: String::new(),
        public_url: state.public_url.clone(),
        mount_prefix: String::new(),
        tls: state.tls,
    });
    let shared = Shared { glance, state };
    Router::new().fallback(handle).with_state(Arc::new(shared))
}

async fn handle(State(shared): State<Arc<Shared>>, mut request: Request) -> Response {
    // Delegated dialects stamp their own headers from the same id.
    let request_id = match request.extensions().get::<RequestId>() {
        Some(id) => id.0.clone(),
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            request.extensions_mut().insert(RequestId(id.clone()));
            id
        }
    };
    let mut response = process(&shared, request).await.unwrap_or_else(|err| err.render(&request_id));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn process(shared: &Shared, request: Request) -> HuaweiResult<Response> {
    let endpoint = router::parse(request.method(), request.uri().path())?;
    let (parts, body) = request.into_parts();
    let (caller, body) = auth::authenticate(shared, &parts, body, &endpoint).await?;
    let ctx = Ctx { shared, caller: caller.clone(), parts };
    handoff::with_caller(caller, dispatch(ctx, endpoint, body)).await
}

async fn dispatch(ctx: Ctx<'_>, endpoint: Endpoint, body: Body) -> HuaweiResult<Response> {
    match endpoint {
        Endpoint::ListCloudImages => images::list(&ctx, images::Listing::Ims).await,
        Endpoint::ListImages => images::list(&ctx, images::Listing::Glance).await,
        Endpoint::ShowImage { id } => images::show(&ctx, &id).await,
        Endpoint::CreateImage => images::create(ctx, body).await,
        Endpoint::UpdateImage { id } | Endpoint::UpdateCloudImage { id } => images::update(ctx, &id, body).await,
        Endpoint::DeleteImage => {
            let mut parts = ctx.parts;
            parts.headers.remove(http::header::CONTENT_LENGTH);
            parts.headers.remove(http::header::TRANSFER_ENCODING);
            glance::forward(ctx.shared, parts, Body::empty()).await
        }
        Endpoint::Glance { .. } => glance::forward(ctx.shared, ctx.parts, body).await,
        Endpoint::Ecs => Ok(ecs::forward(ctx.shared, ctx.parts, body).await),
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
