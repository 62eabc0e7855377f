//! AK/SK `SDK-HMAC-SHA256` signatures and `X-Auth-Token` on the Huawei listener:
//! the reference canonical request, valid and broken signatures, clock skew,
//! missing headers, replays, unknown keys, the project header, tokens, and bodies
//! (hashed JSON, unsigned streamed image data, declared hashes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use imagery_core::Visibility;
use imagery_dialect_huawei::signature::{self, RequestToVerify};
use reqwest::Method;
use serde_json::json;

/// §4.1's verified canonical request for ListImages, rebuilt by the test signer
/// and by the server's verifier.
#[test]
fn canonical_request_of_the_reference_example() {
    let expected = "GET\n/v2/cloudimages/\n__imagetype=gold&__platform=Ubuntu&limit=2&name=Ubuntu%2022.04&sort_key=name&status=active\ncontent-type:application/json\nhost:127.0.0.1:18777\nuser-agent:huaweicloud-usdk-python/3.0; os/Linux…; app/…\nx-project-id:0123456789abcdef0123456789abcdef\nx-sdk-date:20261122T225012Z\n\ncontent-type;host;user-agent;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers: BTreeMap<String, String> = [
        ("content-type", "application/json"),
        ("host", "127.0.0.1:18777"),
        ("user-agent", "huaweicloud-usdk-python/3.0; os/Linux…; app/…"),
        ("x-project-id", "0123456789abcdef0123456789abcdef"),
        ("x-sdk-date", "20261122T225012Z"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let query = sdk_query(&[
        ("status", "active"),
        ("__platform", "Ubuntu"),
        ("name", "Ubuntu 22.04"),
        ("sort_key", "name"),
        ("__imagetype", "gold"),
        ("limit", "2"),
    ]);
    let (signed, canonical) = sdk_canonical_request("GET", "/v2/cloudimages", &query, &headers, EMPTY_SHA256);
    assert_eq!(signed, "content-type;host;user-agent;x-project-id;x-sdk-date");
    assert_eq!(canonical, expected);

    // The server rebuilds it from the request as received.
    let received: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let server = signature::canonical_request(&RequestToVerify {
        method: "GET",
        raw_path: "/v2/cloudimages",
        raw_query: Some(&query),
        signed_headers: &received,
        body_hash: EMPTY_SHA256,
    });
    assert_eq!(server, expected);
    let string_to_sign = signature::string_to_sign("20261122T225012Z", &server);
    assert_eq!(signature::signature("secret", &string_to_sign), sdk_sign("secret", "20261122T225012Z", expected));
}

#[tokio::test]
async fn a_valid_signature_is_accepted_and_every_response_has_a_request_id() {
    let api = start().await;
    let reply = api.get(&api.alice, "/v2/cloudimages", &[("limit", "2"), ("name", "Ubuntu 22.04"), ("__imagetype", "gold")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("x-request-id").is_some_and(|id| !id.is_empty()));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({"images": []}));
    // Failures carry it too, in the body as well.
    let unsigned = api.send(api.client.get(format!("{}/v2/cloudimages", api.base))).await;
    assert!(unsigned.gateway_401().contains("x-auth-token not found"));
    // Paths that need encoding, and query values with spaces and reserved characters.
    let odd = api.get(&api.alice, "/v2/images/not%20an%20id", &[]).await;
    assert_eq!(odd.ims_error(404), "IMG.0027");
    let reply = api.get(&api.alice, "/v2/cloudimages", &[("name", "a+b/c d~é"), ("tag", "x=y&z")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn a_wrong_secret_or_an_unknown_key_is_refused() {
    let api = start().await;
    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.secret = "not-the-secret".into();
    let msg = api.go(&req).await.gateway_401();
    assert_eq!(msg, "Incorrect IAM authentication information: verify aksk signature fail");

    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.access = "NOSUCHACCESSKEY00000".into();
    assert!(api.go(&req).await.gateway_401().contains("verify aksk signature fail"));

    // Someone else's key with this secret, or a deleted key.
    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.access = api.bob.key.id.clone();
    req.headers.insert("x-project-id".into(), api.bob.project.clone());
    api.go(&req).await.gateway_401();
    api.identity.delete_access_key(&api.alice.key.id).await.expect("delete key");
    api.go(&api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[])).await.gateway_401();
}

#[tokio::test]
async fn anything_changed_after_signing_breaks_the_signature() {
    let api = start().await;
    let req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[("limit", "2")]);
    // The query.
    let tampered = api.build(&req).query(&[("limit", "3")]);
    api.send(tampered).await.gateway_401();
    // A signed header.
    let mut built = api.build(&req).build().expect("request");
    built.headers_mut().insert("user-agent", "curl/8".parse().expect("header"));
    api.send(reqwest::RequestBuilder::from_parts(api.client.clone(), built)).await.gateway_401();
    // The path.
    let mut built = api.build(&req).build().expect("request");
    *built.url_mut() = format!("{}/v2/images?limit=2", api.base).parse().expect("url");
    api.send(reqwest::RequestBuilder::from_parts(api.client.clone(), built)).await.gateway_401();
    // The body: signed for one, sent with another.
    let mut create = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    create.body = json!({"name": "signed"}).to_string().into_bytes();
    let mut built = api.build(&create).build().expect("request");
    *built.body_mut() = Some(json!({"name": "other!"}).to_string().into());
    api.send(reqwest::RequestBuilder::from_parts(api.client.clone(), built)).await.gateway_401();
    // A declared body hash that is not the body's.
    let mut declared = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    declared.body = json!({"name": "declared"}).to_string().into_bytes();
    declared.content_sha256 = Some(sha256_hex(b"something else"));
    api.go(&declared).await.gateway_401();
    declared.content_sha256 = Some(sha256_hex(&declared.body));
    assert_eq!(api.go(&declared).await.status, 201);
    declared.content_sha256 = Some("not-a-hash".into());
    api.go(&declared).await.gateway_401();
}

#[tokio::test]
async fn the_signing_date_must_be_within_fifteen_minutes() {
    let api = start().await;
    for offset in [-20 * 60, 20 * 60] {
        let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
        req.date = sdk_date(offset);
        let msg = api.go(&req).await.gateway_401();
        assert_eq!(msg, "Incorrect IAM authentication information: signature expired");
    }
    for offset in [-14 * 60, 14 * 60] {
        let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
        req.date = sdk_date(offset);
        assert_eq!(api.go(&req).await.status, 200);
    }
    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.date = "2026-11-22 22:50:12".into();
    api.go(&req).await.gateway_401();
}

#[tokio::test]
async fn missing_or_unsigned_headers_are_refused() {
    let api = start().await;
    // No X-Sdk-Date at all.
    let mut built = api.build(&api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[])).build().expect("request");
    built.headers_mut().remove("x-sdk-date");
    api.send(reqwest::RequestBuilder::from_parts(api.client.clone(), built)).await.gateway_401();
    // A signed header that is not sent.
    let mut built = api.build(&api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[])).build().expect("request");
    built.headers_mut().remove("x-project-id");
    api.send(reqwest::RequestBuilder::from_parts(api.client.clone(), built)).await.gateway_401();
    // X-Sdk-Date sent but not signed: its freshness would mean nothing.
    let req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    let mut headers = req.headers.clone();
    let query = "";
    let (signed, canonical) = sdk_canonical_request("GET", &req.path, query, &headers, EMPTY_SHA256);
    let sig = sdk_sign(&req.secret, &req.date, &canonical);
    headers.insert("x-sdk-date".into(), req.date.clone());
    let mut builder = api.client.get(format!("{}/v2/cloudimages", api.base));
    for (k, v) in headers.iter().filter(|(k, _)| k.as_str() != "host") {
        builder = builder.header(k, v);
    }
    let builder =
        builder.header("Authorization", format!("SDK-HMAC-SHA256 Access={}, SignedHeaders={signed}, Signature={sig}", req.access));
    api.send(builder).await.gateway_401();
    // Malformed Authorization headers.
    for value in ["SDK-HMAC-SHA256 Access=x", "SDK-HMAC-SHA256", "Basic Zm9vOmJhcg=="] {
        let reply = api.send(api.client.get(format!("{}/v2/cloudimages", api.base)).header("Authorization", value)).await;
        reply.gateway_401();
    }
}

#[tokio::test]
async fn a_replayed_write_is_refused_but_repeated_reads_are_not() {
    let api = start().await;
    let mut create = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    create.body = json!({"name": "once", "disk_format": "raw", "container_format": "bare"}).to_string().into_bytes();
    assert_eq!(api.go(&create).await.status, 201);
    let msg = api.go(&create).await.gateway_401();
    assert!(msg.contains("replayed"), "{msg}");
    assert_eq!(api.service.list_images(&api.alice.caller(&["member"]), Default::default()).await.map(|p| p.images.len()).ok(), Some(1));
    // The SDK signs at one-second resolution: the same read twice in a second is legitimate.
    let list = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    assert_eq!(api.go(&list).await.status, 200);
    assert_eq!(api.go(&list).await.status, 200);
}

#[tokio::test]
async fn replayed_reads_can_be_refused_too() {
    let api = start_with(|s| s.reject_replayed_reads = true).await;
    let list = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    assert_eq!(api.go(&list).await.status, 200);
    api.go(&list).await.gateway_401();
}

#[tokio::test]
async fn a_key_over_its_replay_budget_is_throttled_alone() {
    let api = start_with(|s| s.replay_budget_per_key = 1).await;
    let tag = |t: &str| api.signed(&api.alice, Method::PUT, &format!("/v2/images/00000000-0000-0000-0000-00000000000{t}/tags/x"), &[]);
    assert_eq!(api.go(&tag("1")).await.ims_error(404), "IMG.0027");
    let reply = api.go(&tag("2")).await;
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert_eq!(reply.json()["error_code"], "APIGW.0308");
    // Another key's budget is its own.
    let mut other = api.signed(&api.bob, Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000003/tags/x", &[]);
    other.date = sdk_date(0);
    assert_eq!(api.go(&other).await.ims_error(404), "IMG.0027");
}

/// Two nodes behind one balancer share the replay store (the catalog): a write
/// captured on its way to one node is refused by the other.
#[tokio::test]
async fn a_write_replayed_to_another_node_is_refused() {
    let api = start().await;
    let state = imagery_dialect_huawei::HuaweiState::new(
        api.service.clone(),
        api.identity.clone(),
        imagery_http_common::Auth::Tokens(std::sync::Arc::new(Tokens(api.identity.clone()))),
    );
    let (other, _server) = imagery_test_support::world::serve(imagery_dialect_huawei::router(state)).await;
    let mut create = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    create.body = json!({"name": "once", "disk_format": "raw", "container_format": "bare"}).to_string().into_bytes();
    assert_eq!(api.go(&create).await.status, 201);
    let replayed = api.send(api.build_at(&format!("http://{other}"), &create)).await;
    assert!(replayed.gateway_401().contains("replayed"));
    // A fresh signature for the other node is fine.
    let mut second = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    second.body = json!({"name": "twice", "disk_format": "raw", "container_format": "bare"}).to_string().into_bytes();
    assert_eq!(api.send(api.build_at(&format!("http://{other}"), &second)).await.status, 201);
}

#[tokio::test]
async fn the_project_header_must_be_the_keys_project() {
    let api = start().await;
    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.headers.insert("x-project-id".into(), api.bob.project.clone());
    assert!(api.go(&req).await.gateway_401().contains("X-Project-Id"));
    // Without it, the key's project is used.
    let mut req = api.signed(&api.alice, Method::GET, "/v2/cloudimages", &[]);
    req.headers.remove("x-project-id");
    assert_eq!(api.go(&req).await.status, 200);
}

#[tokio::test]
async fn keystone_tokens_are_accepted() {
    let api = start().await;
    let image = api.image(&api.alice, &["member"], "tokened", Visibility::Private, &[]).await;
    let token = api.token(&api.alice).await;
    let reply = api.send(api.client.get(format!("{}/v2/images/{}", api.base, image.id)).header("X-Auth-Token", &token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["__imagetype"], "private");
    let ecs = api
        .send(api.client.get(format!("{}/v2.1/{}/images/{}", api.base, api.alice.project, image.id)).header("X-Auth-Token", &token))
        .await;
    assert_eq!(ecs.status, 200, "{}", ecs.text());
    // The caller is the token's, whatever identity headers say.
    let spoof = api
        .send(
            api.client
                .get(format!("{}/v2/images/{}", api.base, image.id))
                .header("X-Auth-Token", api.token(&api.bob).await)
                .header("X-Project-Id", &api.alice.project)
                .header("X-Roles", "admin"),
        )
        .await;
    assert_eq!(spoof.ims_error(404), "IMG.0027");
    let bad = api.send(api.client.get(format!("{}/v2/cloudimages", api.base)).header("X-Auth-Token", "garbage")).await;
    assert_eq!(bad.gateway_401(), "Incorrect IAM authentication information: decrypt token fail");
}

#[tokio::test]
async fn image_data_streams_unsigned_and_json_bodies_are_bounded() {
    let api = start().await;
    let mut create = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    create.body = json!({"name": "big", "disk_format": "raw", "container_format": "bare"}).to_string().into_bytes();
    let id = api.go(&create).await.json()["id"].as_str().expect("id").to_string();

    let data = vec![7u8; 3 << 20];
    // Hashing 3 MiB would mean buffering it: refused without UNSIGNED-PAYLOAD.
    let mut upload = api.signed(&api.alice, Method::PUT, &format!("/v2/images/{id}/file"), &[]);
    upload.headers.insert("content-type".into(), "application/octet-stream".into());
    upload.body = data.clone();
    assert_eq!(api.go(&upload).await.ims_error(413), "IMG.0413");
    upload.content_sha256 = Some("UNSIGNED-PAYLOAD".into());
    let reply = api.go(&upload).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    let shown = api.get(&api.alice, &format!("/v2/images/{id}"), &[]).await.json();
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["size"], 3 << 20);
    assert_eq!(shown["__image_size"], (3u64 << 20).to_string());
    let download = api.get(&api.alice, &format!("/v2/images/{id}/file"), &[]).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body.len(), 3 << 20);
}

#[tokio::test]
async fn image_data_with_a_declared_hash_is_checked_as_it_streams() {
    let api = start().await;
    let good = api.image(&api.alice, &["member"], "good", Visibility::Private, &[]).await;
    let bad = api.image(&api.alice, &["member"], "bad", Visibility::Private, &[]).await;
    let data = vec![1u8; 1 << 20];
    let mut upload = api.signed(&api.alice, Method::PUT, &format!("/v2/images/{}/file", good.id), &[]);
    upload.headers.insert("content-type".into(), "application/octet-stream".into());
    upload.body = data.clone();
    upload.content_sha256 = Some(sha256_hex(&data));
    assert_eq!(api.go(&upload).await.status, 204);

    let mut lying = api.signed(&api.alice, Method::PUT, &format!("/v2/images/{}/file", bad.id), &[]);
    lying.headers.insert("content-type".into(), "application/octet-stream".into());
    lying.body = data;
    lying.content_sha256 = Some(sha256_hex(b"other bytes"));
    let reply = api.go(&lying).await;
    assert!(reply.status >= 400, "{}", reply.text());
    let shown = api.get(&api.alice, &format!("/v2/images/{}", bad.id), &[]).await.json();
    assert_ne!(shown["status"], "active", "{shown}");
}
