//! Every gRPC method through the generated tonic clients over h2c: discovery, IAM
//! tokens (OAuth and service-account JWT), ImageService, OperationService, and
//! the error codes the SDKs act on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{disk_bytes, start, Env};
use compute::image_service_client::ImageServiceClient;
use endpoint_pb::api_endpoint_service_client::ApiEndpointServiceClient;
use iam::iam_token_service_client::IamTokenServiceClient;
use imagery_core::identity::AccessKey;
use imagery_dialect_yandex::pb::google::rpc::Status as RpcStatus;
use imagery_dialect_yandex::pb::yandex::cloud::access::{ListAccessBindingsRequest, SetAccessBindingsRequest, UpdateAccessBindingsRequest};
use imagery_dialect_yandex::pb::yandex::cloud::compute::v1 as compute;
use imagery_dialect_yandex::pb::yandex::cloud::endpoint as endpoint_pb;
use imagery_dialect_yandex::pb::yandex::cloud::iam::v1 as iam;
use imagery_dialect_yandex::pb::yandex::cloud::operation as operation_pb;
use operation_pb::operation_service_client::OperationServiceClient;
use prost::Message;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use tonic::transport::Channel;
use tonic::{Code, Request};

async fn channel(env: &Env) -> Channel {
    Channel::from_shared(env.base.clone()).expect("uri").connect().await.expect("h2c connect")
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn with_key<T>(mut request: Request<T>, key: &str) -> Request<T> {
    if let Ok(value) = key.parse() {
        request.metadata_mut().insert("idempotency-key", value);
    }
    request
}

fn code<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match result {
        Ok(response) => panic!("expected an error, got {response:?}"),
        Err(status) => {
            assert!(!status.message().is_empty(), "{status:?}");
            status.code()
        }
    }
}

fn unpack_image(op: &operation_pb::Operation) -> compute::Image {
    match &op.result {
        Some(operation_pb::operation::Result::Response(any)) => {
            assert_eq!(any.type_url, "type.googleapis.com/yandex.cloud.compute.v1.Image");
            compute::Image::decode(any.value.as_slice()).expect("Image")
        }
        other => panic!("no image response: {other:?}"),
    }
}

fn metadata_image_id(op: &operation_pb::Operation, type_name: &str) -> String {
    let any = op.metadata.clone().expect("metadata");
    assert_eq!(any.type_url, format!("type.googleapis.com/yandex.cloud.compute.v1.{type_name}"));
    compute::CreateImageMetadata::decode(any.value.as_slice()).expect("metadata").image_id
}

#[tokio::test]
async fn discovery_is_unauthenticated_and_points_every_api_here() {
    let env = start().await;
    let mut client = ApiEndpointServiceClient::new(channel(&env).await);
    let list = client.list(endpoint_pb::ListApiEndpointsRequest::default()).await.expect("list").into_inner();
    let port = env.base.rsplit(':').next().unwrap_or_default();
    let ids: Vec<&str> = list.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["compute", "operation", "iam", "endpoint", "resource-manager"]);
    assert!(list.endpoints.iter().all(|e| e.address == format!("localhost:{port}")));
    let one = client.get(endpoint_pb::GetApiEndpointRequest { api_endpoint_id: "iam".into() }).await.expect("get").into_inner();
    assert_eq!(one.id, "iam");
    assert_eq!(code(client.get(endpoint_pb::GetApiEndpointRequest { api_endpoint_id: "x".into() }).await), Code::NotFound);
}

#[tokio::test]
async fn iam_tokens_from_oauth_and_service_account_jwt() {
    let env = start().await;
    let channel = channel(&env).await;
    let mut tokens = IamTokenServiceClient::new(channel.clone());
    let mut images = ImageServiceClient::new(channel);
    use iam::create_iam_token_request::Identity;
    let oauth = iam::CreateIamTokenRequest { identity: Some(Identity::YandexPassportOauthToken(env.alice.oauth())) };
    let issued = tokens.create(oauth).await.expect("oauth exchange").into_inner();
    assert!(issued.iam_token.starts_with("t1."));
    assert!(issued.expires_at.is_some_and(|t| t.seconds > chrono::Utc::now().timestamp()));
    let list = compute::ListImagesRequest { folder_id: env.alice.folder.clone(), ..Default::default() };
    images.list(authed(list.clone(), &issued.iam_token)).await.expect("token works");

    // A service-account key: the access key holds the public half, the client signs a PS256 JWT.
    let mut rng = rand::thread_rng();
    let private = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("rsa key");
    let pem = private.to_public_key().to_public_key_pem(LineEnding::LF).expect("pem");
    let key = AccessKey {
        id: "ajesakey000000000001".into(),
        secret: "unused-secret".into(),
        user_id: env.bob.user_id.clone(),
        project_id: Some(env.bob.project_id.clone()),
        description: "service account key".into(),
        created_at: imagery_core::time::now(),
        public_key: Some(pem),
    };
    env.catalog.insert_access_key(&key).await.expect("insert key");
    let signer = rsa::pss::SigningKey::<sha2::Sha256>::new(private);
    let signed = |kid: &str, alg: &str, claims: serde_json::Value| {
        let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"typ": "JWT", "alg": alg, "kid": kid}).to_string());
        let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = signer.sign_with_rng(&mut rand::thread_rng(), signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    };
    let jwt = |kid: &str, iss: &str, iat: i64, exp: i64, alg: &str| {
        signed(kid, alg, serde_json::json!({"iss": iss, "aud": "https://iam.localhost/iam/v1/tokens", "iat": iat, "exp": exp}))
    };
    let now = chrono::Utc::now().timestamp();
    let good = jwt(&key.id, &env.bob.user_id, now, now + 3600, "PS256");
    let issued =
        tokens.create(iam::CreateIamTokenRequest { identity: Some(Identity::Jwt(good.clone())) }).await.expect("jwt exchange").into_inner();
    let bob_list = compute::ListImagesRequest { folder_id: env.bob.folder.clone(), ..Default::default() };
    images.list(authed(bob_list, &issued.iam_token)).await.expect("bob's token");
    assert_eq!(code(images.list(authed(list, &issued.iam_token)).await), Code::PermissionDenied);

    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for bad in [
        tampered,
        jwt(&key.id, &env.bob.user_id, now - 7200, now - 3600, "PS256"),
        jwt(&key.id, &env.bob.user_id, now, now + 7200, "PS256"),
        jwt(&key.id, "someone-else", now, now + 3600, "PS256"),
        jwt(&key.id, &env.bob.user_id, now, now + 3600, "RS256"),
        jwt(&env.alice.key.id, &env.alice.user_id, now, now + 3600, "PS256"),
        jwt("nokey", &env.bob.user_id, now, now + 3600, "PS256"),
        "a.b".into(),
        // The audience must be the token exchange (any host: the SDK names its endpoint).
        signed(
            &key.id,
            "PS256",
            serde_json::json!({"iss": env.bob.user_id, "aud": "https://evil.example/other", "iat": now, "exp": now + 60}),
        ),
        signed(&key.id, "PS256", serde_json::json!({"iss": env.bob.user_id, "iat": now, "exp": now + 60})),
        // exp − iat must not overflow.
        signed(
            &key.id,
            "PS256",
            serde_json::json!({"iss": env.bob.user_id, "aud": "https://iam.x/iam/v1/tokens", "iat": i64::MIN, "exp": i64::MAX}),
        ),
    ] {
        let result = tokens.create(iam::CreateIamTokenRequest { identity: Some(Identity::Jwt(bad)) }).await;
        assert_eq!(code(result), Code::Unauthenticated);
    }
    // A jti is used once (on any node: the catalog remembers it); without one the SDK's JWTs keep working.
    let with_jti = signed(
        &key.id,
        "PS256",
        serde_json::json!({"iss": env.bob.user_id, "aud": ["https://iam.localhost:9443/iam/v1/tokens"], "iat": now, "exp": now + 600, "jti": "once"}),
    );
    tokens.create(iam::CreateIamTokenRequest { identity: Some(Identity::Jwt(with_jti.clone())) }).await.expect("first use");
    assert_eq!(code(tokens.create(iam::CreateIamTokenRequest { identity: Some(Identity::Jwt(with_jti)) }).await), Code::Unauthenticated);
    tokens.create(iam::CreateIamTokenRequest { identity: Some(Identity::Jwt(good.clone())) }).await.expect("no jti: reusable");
    assert_eq!(code(tokens.create(iam::CreateIamTokenRequest { identity: None }).await), Code::InvalidArgument);
    let bad_oauth = iam::CreateIamTokenRequest { identity: Some(Identity::YandexPassportOauthToken("y0_x_y".into())) };
    assert_eq!(code(tokens.create(bad_oauth).await), Code::Unauthenticated);
    let for_sa = iam::CreateIamTokenForServiceAccountRequest { service_account_id: "x".into() };
    assert_eq!(code(tokens.create_for_service_account(for_sa).await), Code::Unimplemented);
    let revoked = tokens.revoke(iam::RevokeIamTokenRequest { iam_token: issued.iam_token.clone() }).await.expect("revoke").into_inner();
    assert_eq!(revoked.subject_id, env.bob.user_id);
    let bob_list = compute::ListImagesRequest { folder_id: env.bob.folder.clone(), ..Default::default() };
    assert_eq!(code(images.list(authed(bob_list, &issued.iam_token)).await), Code::Unauthenticated);
}

#[tokio::test]
async fn image_service_and_operation_lifecycle() {
    let env = start().await;
    let channel = channel(&env).await;
    let mut images = ImageServiceClient::new(channel.clone());
    let mut operations = OperationServiceClient::new(channel);
    let token = env.alice.token.clone();
    let source = env.glance_image(&env.alice, "glance-made", disk_bytes()).await;

    // The Glance image is listed with a stable Yandex id.
    let list = compute::ListImagesRequest { folder_id: env.alice.folder.clone(), ..Default::default() };
    let listed = images.list(authed(list.clone(), &token)).await.expect("list").into_inner();
    assert_eq!(listed.images.len(), 1);
    let glance_view = listed.images[0].clone();
    assert_eq!(glance_view.name, "glance-made");
    assert_eq!(glance_view.status, compute::image::Status::Ready as i32);
    assert_eq!(glance_view.storage_size, disk_bytes().len() as i64);
    assert_eq!(glance_view.folder_id, env.alice.folder);
    let got = images.get(authed(compute::GetImageRequest { image_id: glance_view.id.clone() }, &token)).await.expect("get").into_inner();
    assert_eq!(got, glance_view);

    // Create from it, then poll the operation as the SDK's waiter does.
    let create = compute::CreateImageRequest {
        folder_id: env.alice.folder.clone(),
        name: "grpc-copy".into(),
        family: "grpc-family".into(),
        min_disk_size: 10 << 30,
        labels: [("k".to_string(), "v".to_string())].into_iter().collect(),
        os: Some(compute::Os { r#type: compute::os::Type::Linux as i32, nvidia: None }),
        hardware_generation: Some(compute::HardwareGeneration {
            features: Some(compute::hardware_generation::Features::Generation2Features(Default::default())),
        }),
        source: Some(compute::create_image_request::Source::ImageId(glance_view.id.clone())),
        ..Default::default()
    };
    let op = images.create(with_key(authed(create.clone(), &token), "grpc-create-1")).await.expect("create").into_inner();
    let created_id = metadata_image_id(&op, "CreateImageMetadata");
    assert_eq!(op.description, "Create image");
    assert_eq!(op.created_by, env.alice.user_id);
    let polled = operations
        .get(with_key(authed(operation_pb::GetOperationRequest { operation_id: op.id.clone() }, &token), "poll-key"))
        .await
        .expect("poll")
        .into_inner();
    assert!(polled.done);
    assert_eq!(polled, op);
    let image = unpack_image(&polled);
    assert_eq!(image.id, created_id);
    assert_eq!(image.min_disk_size, 10 << 30);
    assert_eq!(image.family, "grpc-family");
    assert!(matches!(
        image.hardware_generation.as_ref().and_then(|g| g.features.clone()),
        Some(compute::hardware_generation::Features::Generation2Features(_))
    ));
    // Zero copy: the Glance view of the copy holds the source's bytes.
    let copy_uuid = env.service.find_key(&env.alice.caller, "yandex.image", &created_id).await.ok().flatten().unwrap_or_default();
    let copy = env.service.show_image(&env.alice.caller, copy_uuid.parse().unwrap_or_default()).await.expect("copy");
    assert_eq!(copy.os_hash_value, source.os_hash_value);
    assert_eq!(copy.min_disk, 10);
    // The same idempotency key returns the same operation.
    let again = images.create(with_key(authed(create, &token), "grpc-create-1")).await.expect("repeat").into_inner();
    assert_eq!(again, op);

    let latest = compute::GetImageLatestByFamilyRequest { folder_id: env.alice.folder.clone(), family: "grpc-family".into() };
    let latest = images.get_latest_by_family(authed(latest, &token)).await.expect("latest").into_inner();
    assert_eq!(latest.id, created_id);

    // Update with a field mask (snake_case paths, as Terraform sends).
    let update = compute::UpdateImageRequest {
        image_id: created_id.clone(),
        update_mask: Some(prost_types::FieldMask { paths: vec!["description".into(), "labels".into()] }),
        description: "described".into(),
        name: "not-applied".into(),
        ..Default::default()
    };
    let op = images.update(authed(update, &token)).await.expect("update").into_inner();
    assert_eq!(metadata_image_id(&op, "UpdateImageMetadata"), created_id);
    let updated = unpack_image(&op);
    assert_eq!(updated.description, "described");
    assert!(updated.labels.is_empty());
    assert_eq!(updated.name, "grpc-copy");
    let bad_mask = compute::UpdateImageRequest {
        image_id: created_id.clone(),
        update_mask: Some(prost_types::FieldMask { paths: vec!["family".into()] }),
        ..Default::default()
    };
    assert_eq!(code(images.update(authed(bad_mask, &token)).await), Code::InvalidArgument);

    let ops = compute::ListImageOperationsRequest { image_id: created_id.clone(), ..Default::default() };
    let ops = images.list_operations(authed(ops, &token)).await.expect("operations").into_inner();
    let descriptions: Vec<&str> = ops.operations.iter().map(|o| o.description.as_str()).collect();
    assert_eq!(descriptions, ["Update image", "Create image"]);
    assert!(ops.next_page_token.is_empty());

    let cancel = operation_pb::CancelOperationRequest { operation_id: op.id.clone() };
    let cancelled = operations.cancel(authed(cancel, &token)).await.expect("cancel of a done op").into_inner();
    assert_eq!(cancelled, op);

    let op =
        images.delete(authed(compute::DeleteImageRequest { image_id: created_id.clone() }, &token)).await.expect("delete").into_inner();
    assert!(op.done);
    assert_eq!(metadata_image_id(&op, "DeleteImageMetadata"), created_id);
    match &op.result {
        Some(operation_pb::operation::Result::Response(any)) => {
            assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.Empty");
            assert!(any.value.is_empty());
        }
        other => panic!("delete result: {other:?}"),
    }
    assert_eq!(code(images.get(authed(compute::GetImageRequest { image_id: created_id }, &token)).await), Code::NotFound);
    let listed = images.list(authed(list, &token)).await.expect("list").into_inner();
    assert_eq!(listed.images.len(), 1);
}

#[tokio::test]
async fn grpc_errors() {
    let env = start().await;
    let channel = channel(&env).await;
    let mut images = ImageServiceClient::new(channel.clone());
    let mut operations = OperationServiceClient::new(channel);
    let alice = env.alice.token.clone();
    let image = env.glance_image(&env.alice, "mine", disk_bytes()).await;
    let list = compute::ListImagesRequest { folder_id: env.alice.folder.clone(), ..Default::default() };

    // Authentication: none, garbage, tampered.
    assert_eq!(code(images.list(Request::new(list.clone())).await), Code::Unauthenticated);
    assert_eq!(code(images.list(authed(list.clone(), "t1.garbage.sig")).await), Code::Unauthenticated);
    assert_eq!(code(images.list(authed(list.clone(), &format!("{alice}x"))).await), Code::Unauthenticated);
    let get_op = operation_pb::GetOperationRequest { operation_id: "fd8aaaaaaaaaaaaaaaaa".into() };
    assert_eq!(code(operations.get(Request::new(get_op.clone())).await), Code::Unauthenticated);

    // Validation.
    for bad in [
        compute::ListImagesRequest { page_size: 1001, ..list.clone() },
        compute::ListImagesRequest { filter: "name ~ 'x'".into(), ..list.clone() },
        compute::ListImagesRequest { order_by: "size desc".into(), ..list.clone() },
        compute::ListImagesRequest { folder_id: String::new(), ..list.clone() },
    ] {
        assert_eq!(code(images.list(authed(bad, &alice)).await), Code::InvalidArgument);
    }
    let source = Some(compute::create_image_request::Source::ImageId(image.id.to_string()));
    for bad in [
        compute::CreateImageRequest {
            folder_id: env.alice.folder.clone(),
            name: "Bad Name".into(),
            source: source.clone(),
            ..Default::default()
        },
        compute::CreateImageRequest {
            folder_id: env.alice.folder.clone(),
            family: "-x".into(),
            source: source.clone(),
            ..Default::default()
        },
        compute::CreateImageRequest {
            folder_id: env.alice.folder.clone(),
            labels: [("BAD".to_string(), String::new())].into_iter().collect(),
            source: source.clone(),
            ..Default::default()
        },
        compute::CreateImageRequest { folder_id: env.alice.folder.clone(), ..Default::default() },
        compute::CreateImageRequest {
            folder_id: env.alice.folder.clone(),
            source: Some(compute::create_image_request::Source::Uri("http://not-allowed/x".into())),
            ..Default::default()
        },
    ] {
        assert_eq!(code(images.create(authed(bad, &alice)).await), Code::InvalidArgument);
    }
    assert_eq!(code(operations.get(authed(operation_pb::GetOperationRequest::default(), &alice)).await), Code::InvalidArgument);

    // Not found, permission denied, unimplemented.
    assert_eq!(
        code(images.get(authed(compute::GetImageRequest { image_id: "fd8nothere0000000000".into() }, &alice)).await),
        Code::NotFound
    );
    assert_eq!(code(images.get(authed(compute::GetImageRequest { image_id: image.id.to_string() }, &env.bob.token)).await), Code::NotFound);
    assert_eq!(code(operations.get(authed(get_op, &alice)).await), Code::NotFound);
    let disk = compute::CreateImageRequest {
        folder_id: env.alice.folder.clone(),
        source: Some(compute::create_image_request::Source::DiskId("fhmdisk".into())),
        ..Default::default()
    };
    assert_eq!(code(images.create(authed(disk, &alice)).await), Code::NotFound);
    assert_eq!(code(images.list(authed(list.clone(), &env.bob.token)).await), Code::PermissionDenied);
    let elsewhere = compute::CreateImageRequest { folder_id: env.alice.folder.clone(), source, ..Default::default() };
    assert_eq!(code(images.create(authed(elsewhere, &env.bob.token)).await), Code::PermissionDenied);
    let bindings = ListAccessBindingsRequest { resource_id: image.id.to_string(), ..Default::default() };
    assert_eq!(code(images.list_access_bindings(authed(bindings, &alice)).await), Code::Unimplemented);
    let set = SetAccessBindingsRequest { resource_id: image.id.to_string(), ..Default::default() };
    assert_eq!(code(images.set_access_bindings(authed(set, &alice)).await), Code::Unimplemented);
    let update = UpdateAccessBindingsRequest { resource_id: image.id.to_string(), ..Default::default() };
    assert_eq!(code(images.update_access_bindings(authed(update, &alice)).await), Code::Unimplemented);
    let family = compute::GetImageLatestByFamilyRequest { folder_id: env.alice.folder.clone(), family: "no-such-family".into() };
    assert_eq!(code(images.get_latest_by_family(authed(family, &alice)).await), Code::NotFound);
    // An error inside a finished operation is a google.rpc.Status.
    let status = RpcStatus { code: 9, message: "m".into(), details: vec![] };
    assert_eq!(RpcStatus::decode(status.encode_to_vec().as_slice()).ok(), Some(status));
}

#[tokio::test]
async fn import_from_a_uri_can_be_cancelled_over_grpc() {
    let env = start().await;
    let channel = channel(&env).await;
    let mut images = ImageServiceClient::new(channel.clone());
    let mut operations = OperationServiceClient::new(channel);
    let token = env.alice.token.clone();
    let create = |name: &str, file: &str| compute::CreateImageRequest {
        folder_id: env.alice.folder.clone(),
        name: name.into(),
        source: Some(compute::create_image_request::Source::Uri(format!("{}/{file}", env.files))),
        ..Default::default()
    };
    let op = images.create(authed(create("slow", "slow.raw"), &token)).await.expect("create").into_inner();
    assert!(!op.done && op.result.is_none(), "{op:?}");
    let image_id = metadata_image_id(&op, "CreateImageMetadata");
    let shown = images.get(authed(compute::GetImageRequest { image_id: image_id.clone() }, &token)).await.expect("get").into_inner();
    assert_eq!(shown.status, compute::image::Status::Creating as i32);
    let cancel = operation_pb::CancelOperationRequest { operation_id: op.id.clone() };
    let cancelled = operations.cancel(authed(cancel, &token)).await.expect("cancel").into_inner();
    assert!(cancelled.done);
    assert!(matches!(&cancelled.result, Some(operation_pb::operation::Result::Error(status)) if status.code == Code::Cancelled as i32));
    assert_eq!(code(images.get(authed(compute::GetImageRequest { image_id }, &token)).await), Code::NotFound);

    let op = images.create(authed(create("fast", "ok.raw"), &token)).await.expect("create").into_inner();
    let mut polled = op.clone();
    for _ in 0..400 {
        let get = operation_pb::GetOperationRequest { operation_id: op.id.clone() };
        polled = operations.get(authed(get, &token)).await.expect("poll").into_inner();
        if polled.done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let image = unpack_image(&polled);
    assert_eq!(image.status, compute::image::Status::Ready as i32);
    assert_eq!(image.storage_size, disk_bytes().len() as i64);
}

/// Bytes as they are, to send what no client library would.
#[derive(Debug, Default, Clone)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = bytes::Buf::chunk(src).to_vec();
        bytes::Buf::advance(src, bytes.len());
        Ok(Some(bytes))
    }
}

#[tokio::test]
async fn undecodable_messages_are_invalid_argument() {
    let env = start().await;
    let mut grpc = tonic::client::Grpc::new(channel(&env).await);
    for method in ["/yandex.cloud.compute.v1.ImageService/Get", "/yandex.cloud.iam.v1.IamTokenService/Create"] {
        grpc.ready().await.expect("ready");
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
        // A field whose wire type does not exist, then a truncated varint.
        let garbage = vec![0x0f, 0xff, 0xff, 0xff];
        let status = grpc.unary(authed(garbage, &env.alice.token), path, RawCodec).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{method}: {status:?}");
        assert!(!status.message().contains("DecodeError") && !status.message().contains("yandex."), "{method}: {status:?}");
    }
}
