//! The one router of this dialect: gRPC (`content-type: application/grpc…`) goes
//! to the tonic services, everything else to the REST transcoding below, which
//! authenticates, parses each [`Endpoint`] into the same protobuf request the
//! gRPC side receives, and renders the answer as Yandex's REST does.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use http::{HeaderMap, HeaderValue, StatusCode};
use imagery_core::Caller;
use imagery_http_common::request_id::{self, RequestId};
use imagery_identity::Identity;
use imagery_service::ImageService;
use serde_json::{json, Value};
use tonic::Code;
use tower::ServiceExt;

use crate::error::{YcError, YcResult};
use crate::pb::yandex::cloud::compute::v1 as compute;
use crate::pb::yandex::cloud::iam::v1 as iam_pb;
use crate::router::{parse, Endpoint, RouteError};
use crate::{auth, endpoints, grpc, iam, images, json, operations};

/// Everything the dialect needs; cheap to clone.
#[derive(Clone)]
pub struct YandexState {
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    /// `host:port` as clients dial this server (e.g. `localhost:9443`): endpoint
    /// discovery answers it for every API, and the TLS certificate must match it.
    pub public_address: String,
}

/// One authenticated call, whichever wire it came on.
pub struct Call {
    pub state: YandexState,
    pub caller: Caller,
    /// `Idempotency-Key` (REST) / `idempotency-key` (gRPC) of a mutating call.
    pub idempotency_key: Option<String>,
}

impl Call {
    pub fn service(&self) -> &Arc<ImageService> {
        &self.state.service
    }
}

/// REST and gRPC at the root of one listener (HTTP/1.1 and HTTP/2).
pub fn router(state: YandexState) -> Router {
    let grpc = grpc::routes(state.clone());
    let rest = Router::new().fallback(handle).with_state(state);
    Router::new().fallback(move |mut request: Request| {
        let id = request_id::of(request.extensions());
        request.extensions_mut().insert(id.clone());
        let target = if is_grpc(request.headers()) { grpc.clone() } else { rest.clone() };
        async move {
            let mut response = match target.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if let Ok(value) = HeaderValue::from_str(&id.0) {
                response.headers_mut().insert("x-server-request-id", value);
            }
            response
        }
    })
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/grpc"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

async fn handle(State(state): State<YandexState>, request: Request) -> Response {
    let id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    match dispatch(state, request).await {
        Ok(value) => json_response(&value),
        Err(err) => err.rest_response(&id),
    }
}

fn json_response(value: &Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Query parameters, looked up by camelCase or snake_case name.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        Query(query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default())
    }

    fn string(&self, camel: &str) -> String {
        let snake = json::camel_to_snake(camel);
        self.0.iter().find(|(k, _)| *k == camel || *k == snake).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    fn int64(&self, camel: &str) -> YcResult<i64> {
        let value = self.string(camel);
        if value.is_empty() {
            return Ok(0);
        }
        value.trim().parse().map_err(|_| YcError::invalid(format!("invalid value for {camel}: expected an int64")))
    }
}

async fn json_body(body: Body) -> YcResult<Value> {
    use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
    let bytes = read_limited(body, MAX_DOCUMENT).await.map_err(|e| match e {
        BodyError::TooLarge => YcError::new(Code::ResourceExhausted, "The request body is too large"),
        BodyError::Unreadable => YcError::invalid("The request body could not be read"),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| YcError::invalid(format!("The request body is not valid JSON: {e}")))
}

fn operations_page(operations: &[operations::OperationView], next_page_token: &str) -> Value {
    let mut page = serde_json::Map::new();
    if !operations.is_empty() {
        page.insert("operations".into(), Value::Array(operations.iter().map(json::operation).collect()));
    }
    if !next_page_token.is_empty() {
        page.insert("nextPageToken".into(), Value::String(next_page_token.into()));
    }
    Value::Object(page)
}

async fn dispatch(state: YandexState, request: Request) -> YcResult<Value> {
    let (parts, body) = request.into_parts();
    let endpoint = parse(&parts.method, parts.uri.path()).map_err(|e| match e {
        RouteError::NotFound => YcError::not_found(format!("{} {} not found", parts.method, parts.uri.path())),
        RouteError::MethodNotAllowed => {
            YcError::new(Code::Unimplemented, format!("Method {} is not allowed on {}", parts.method, parts.uri.path()))
        }
    })?;
    let query = Query::parse(parts.uri.query());
    if !endpoint.needs_token() {
        return public(&state, endpoint, body).await;
    }
    let caller = auth::caller(&state.identity, header(&parts.headers, "authorization"))?;
    let idempotency_key = if endpoint.reads_only() { None } else { header(&parts.headers, "idempotency-key").map(str::to_string) };
    let call = Call { state, caller, idempotency_key };
    Ok(match endpoint {
        Endpoint::GetImage { id } => json::image(&images::get(&call, compute::GetImageRequest { image_id: id }).await?),
        Endpoint::GetImageLatestByFamily => {
            let request = compute::GetImageLatestByFamilyRequest { folder_id: query.string("folderId"), family: query.string("family") };
            json::image(&images::get_latest_by_family(&call, request).await?)
        }
        Endpoint::ListImages => {
            let request = compute::ListImagesRequest {
                folder_id: query.string("folderId"),
                page_size: query.int64("pageSize")?,
                page_token: query.string("pageToken"),
                filter: query.string("filter"),
                order_by: query.string("orderBy"),
            };
            let response = images::list(&call, request).await?;
            let mut page = serde_json::Map::new();
            if !response.images.is_empty() {
                page.insert("images".into(), Value::Array(response.images.iter().map(json::image).collect()));
            }
            if !response.next_page_token.is_empty() {
                page.insert("nextPageToken".into(), Value::String(response.next_page_token));
            }
            Value::Object(page)
        }
        Endpoint::CreateImage => {
            let request = json::parse_create_image(json_body(body).await?)?;
            json::operation(&images::create(&call, request).await?)
        }
        Endpoint::UpdateImage { id } => {
            let request = json::parse_update_image(id, json_body(body).await?)?;
            json::operation(&images::update(&call, request).await?)
        }
        Endpoint::DeleteImage { id } => json::operation(&images::delete(&call, compute::DeleteImageRequest { image_id: id }).await?),
        Endpoint::ListImageOperations { id } => {
            let request = compute::ListImageOperationsRequest {
                image_id: id,
                page_size: query.int64("pageSize")?,
                page_token: query.string("pageToken"),
            };
            let (operations, next) = images::list_operations(&call, request).await?;
            operations_page(&operations, &next)
        }
        Endpoint::ImageAccessBindings { verb } => return Err(YcError::unimplemented(&format!("ImageService.{verb}"))),
        Endpoint::GetOperation { id } => json::operation(&operations::get(&call, &id).await?),
        Endpoint::CancelOperation { id } => json::operation(&operations::cancel(&call, &id).await?),
        Endpoint::DiscoveryList
        | Endpoint::DiscoveryGet { .. }
        | Endpoint::CreateIamToken
        | Endpoint::RevokeIamToken
        | Endpoint::CreateIamTokenForServiceAccount => return public(&call.state, endpoint, Body::empty()).await,
    })
}

/// Discovery and IAM token exchange: no token needed, as in Yandex.
async fn public(state: &YandexState, endpoint: Endpoint, body: Body) -> YcResult<Value> {
    let endpoint_json = |e: &crate::pb::yandex::cloud::endpoint::ApiEndpoint| json!({"id": e.id, "address": e.address});
    Ok(match endpoint {
        Endpoint::DiscoveryList => {
            let list = endpoints::list(&state.public_address);
            json!({ "endpoints": list.endpoints.iter().map(endpoint_json).collect::<Vec<_>>() })
        }
        Endpoint::DiscoveryGet { id } => endpoint_json(&endpoints::get(&state.public_address, &id)?),
        Endpoint::CreateIamToken => {
            let request = json::parse_create_iam_token(json_body(body).await?)?;
            json::iam_token(&iam::create(&state.identity, request).await?)
        }
        Endpoint::RevokeIamToken => {
            let mut obj = json::Obj::new(json_body(body).await?, "RevokeIamTokenRequest")?;
            let iam_token = obj.string("iamToken")?;
            obj.finish()?;
            let response = iam::revoke(&state.identity, iam_pb::RevokeIamTokenRequest { iam_token }).await?;
            json!({ "subjectId": response.subject_id })
        }
        Endpoint::CreateIamTokenForServiceAccount => return Err(YcError::unimplemented("IamTokenService.CreateForServiceAccount")),
        _ => return Err(YcError::new(Code::Internal, "misrouted request")),
    })
}
