//! The gRPC services (tonic): each method authenticates from the call metadata
//! (except discovery and IAM token exchange) and runs the same use case as REST.

use tonic::{Request, Response, Status};

use crate::api_server::{Call, YandexState};
use crate::pb::yandex::cloud::access;
use crate::pb::yandex::cloud::compute::v1 as compute;
use crate::pb::yandex::cloud::endpoint as endpoint_pb;
use crate::pb::yandex::cloud::iam::v1 as iam_pb;
use crate::pb::yandex::cloud::operation as operation_pb;
use crate::{auth, endpoints, iam, images, operations};
use compute::image_service_server::{ImageService, ImageServiceServer};
use endpoint_pb::api_endpoint_service_server::{ApiEndpointService, ApiEndpointServiceServer};
use iam_pb::iam_token_service_server::{IamTokenService, IamTokenServiceServer};
use operation_pb::operation_service_server::{OperationService, OperationServiceServer};

/// The four services as one axum router (tonic's `Routes`; unknown methods are `UNIMPLEMENTED`).
pub fn routes(state: YandexState) -> axum::Router {
    tonic::service::Routes::new(ImageServiceServer::new(Grpc(state.clone())))
        .add_service(OperationServiceServer::new(Grpc(state.clone())))
        .add_service(ApiEndpointServiceServer::new(Grpc(state.clone())))
        .add_service(IamTokenServiceServer::new(Grpc(state)))
        .prepare()
        .into_axum_router()
}

pub struct Grpc(YandexState);

impl Grpc {
    /// Authenticate a call; `mutating` calls also carry their idempotency key.
    fn call<T>(&self, request: Request<T>, mutating: bool) -> Result<(Call, T), Status> {
        let metadata = request.metadata();
        let text =
            |name: &str| metadata.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let caller = auth::caller(&self.0.identity, text("authorization").as_deref())?;
        let idempotency_key = if mutating { text("idempotency-key") } else { None };
        Ok((Call { state: self.0.clone(), caller, idempotency_key }, request.into_inner()))
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ImageService for Grpc {
    async fn get(&self, request: Request<compute::GetImageRequest>) -> Reply<compute::Image> {
        let (call, request) = self.call(request, false)?;
        Ok(Response::new(images::get(&call, request).await?))
    }

    async fn get_latest_by_family(&self, request: Request<compute::GetImageLatestByFamilyRequest>) -> Reply<compute::Image> {
        let (call, request) = self.call(request, false)?;
        Ok(Response::new(images::get_latest_by_family(&call, request).await?))
    }

    async fn list(&self, request: Request<compute::ListImagesRequest>) -> Reply<compute::ListImagesResponse> {
        let (call, request) = self.call(request, false)?;
        Ok(Response::new(images::list(&call, request).await?))
    }

    async fn create(&self, request: Request<compute::CreateImageRequest>) -> Reply<operation_pb::Operation> {
        let (call, request) = self.call(request, true)?;
        Ok(Response::new(images::create(&call, request).await?.to_proto()))
    }

    async fn update(&self, request: Request<compute::UpdateImageRequest>) -> Reply<operation_pb::Operation> {
        let (call, request) = self.call(request, true)?;
        Ok(Response::new(images::update(&call, request).await?.to_proto()))
    }

    async fn delete(&self, request: Request<compute::DeleteImageRequest>) -> Reply<operation_pb::Operation> {
        let (call, request) = self.call(request, true)?;
        Ok(Response::new(images::delete(&call, request).await?.to_proto()))
    }

    async fn list_operations(&self, request: Request<compute::ListImageOperationsRequest>) -> Reply<compute::ListImageOperationsResponse> {
        let (call, request) = self.call(request, false)?;
        let (operations, next_page_token) = images::list_operations(&call, request).await?;
        Ok(Response::new(compute::ListImageOperationsResponse {
            operations: operations.iter().map(operations::OperationView::to_proto).collect(),
            next_page_token,
        }))
    }

    async fn list_access_bindings(&self, request: Request<access::ListAccessBindingsRequest>) -> Reply<access::ListAccessBindingsResponse> {
        self.call(request, false)?;
        Err(crate::error::YcError::unimplemented("ImageService.ListAccessBindings").into())
    }

    async fn set_access_bindings(&self, request: Request<access::SetAccessBindingsRequest>) -> Reply<operation_pb::Operation> {
        self.call(request, true)?;
        Err(crate::error::YcError::unimplemented("ImageService.SetAccessBindings").into())
    }

    async fn update_access_bindings(&self, request: Request<access::UpdateAccessBindingsRequest>) -> Reply<operation_pb::Operation> {
        self.call(request, true)?;
        Err(crate::error::YcError::unimplemented("ImageService.UpdateAccessBindings").into())
    }
}

#[tonic::async_trait]
impl OperationService for Grpc {
    async fn get(&self, request: Request<operation_pb::GetOperationRequest>) -> Reply<operation_pb::Operation> {
        let (call, request) = self.call(request, false)?;
        Ok(Response::new(operations::get(&call, &request.operation_id).await?.to_proto()))
    }

    async fn cancel(&self, request: Request<operation_pb::CancelOperationRequest>) -> Reply<operation_pb::Operation> {
        let (call, request) = self.call(request, false)?;
        Ok(Response::new(operations::cancel(&call, &request.operation_id).await?.to_proto()))
    }
}

#[tonic::async_trait]
impl ApiEndpointService for Grpc {
    async fn get(&self, request: Request<endpoint_pb::GetApiEndpointRequest>) -> Reply<endpoint_pb::ApiEndpoint> {
        Ok(Response::new(endpoints::get(&self.0.public_address, &request.into_inner().api_endpoint_id)?))
    }

    async fn list(&self, _request: Request<endpoint_pb::ListApiEndpointsRequest>) -> Reply<endpoint_pb::ListApiEndpointsResponse> {
        Ok(Response::new(endpoints::list(&self.0.public_address)))
    }
}

#[tonic::async_trait]
impl IamTokenService for Grpc {
    async fn create(&self, request: Request<iam_pb::CreateIamTokenRequest>) -> Reply<iam_pb::CreateIamTokenResponse> {
        Ok(Response::new(iam::create(&self.0.identity, request.into_inner()).await?))
    }

    async fn create_for_service_account(
        &self,
        _request: Request<iam_pb::CreateIamTokenForServiceAccountRequest>,
    ) -> Reply<iam_pb::CreateIamTokenResponse> {
        Err(crate::error::YcError::unimplemented("IamTokenService.CreateForServiceAccount").into())
    }

    async fn revoke(&self, request: Request<iam_pb::RevokeIamTokenRequest>) -> Reply<iam_pb::RevokeIamTokenResponse> {
        Ok(Response::new(iam::revoke(&self.0.identity, request.into_inner()).await?))
    }
}
