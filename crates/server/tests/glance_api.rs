//! Image API v2 over a real socket: status codes, headers and bodies as Glance
//! returns them (see shared/reference/glance-v2.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use md5::{Digest, Md5};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha512;

fn id_of(image: &Value) -> String {
    image["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn version_discovery_and_health() {
    let s = start(true).await;
    let r = s.client.get(format!("{}/", s.image)).send().await.unwrap();
    assert_eq!(r.status(), 300);
    assert!(r.headers().get("x-openstack-request-id").is_none());
    let body: Value = r.json().await.unwrap();
    let versions = body["versions"].as_array().unwrap();
    assert!(versions.iter().any(|v| v["id"] == "v2.17" && v["status"] == "CURRENT"));
    for v in versions {
        assert!(v["links"][0]["href"].as_str().unwrap().ends_with("/v2/"));
    }
    assert_eq!(s.client.get(format!("{}/versions", s.image)).send().await.unwrap().status(), 200);
    assert_eq!(s.client.get(format!("{}/v1/images", s.image)).send().await.unwrap().status(), 300);
    assert_eq!(s.client.get(format!("{}/healthcheck", s.image)).send().await.unwrap().status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn create_show_defaults_and_headers() {
    let s = start(true).await;
    let r = s
        .req(ALICE, Method::POST, "/v2/images")
        .json(&json!({"name": "cirros", "disk_format": "qcow2", "container_format": "bare", "os_distro": "cirros", "owner_specified.openstack.md5": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rid = r.headers().get("x-openstack-request-id").unwrap().to_str().unwrap().to_string();
    assert!(rid.starts_with("req-"));
    let location = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert!(r.headers().get("openstack-image-import-methods").is_some());
    let image: Value = r.json().await.unwrap();
    let id = id_of(&image);
    assert!(location.ends_with(&format!("/v2/images/{id}")) && location.starts_with("http://"));
    assert_eq!(image["status"], "queued");
    assert_eq!(image["visibility"], "shared");
    assert_eq!(image["protected"], false);
    assert_eq!(image["os_hidden"], false);
    assert_eq!(image["owner"], "project-a");
    assert_eq!(image["min_disk"], 0);
    assert_eq!(image["tags"], json!([]));
    assert_eq!(image["self"], format!("/v2/images/{id}"));
    assert_eq!(image["file"], format!("/v2/images/{id}/file"));
    assert_eq!(image["schema"], "/v2/schemas/image");
    assert_eq!(image["os_distro"], "cirros");
    assert_eq!(image["owner_specified.openstack.md5"], "");
    for key in ["checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"] {
        assert!(image[key].is_null(), "{key} must be null");
    }
    assert!(image["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(image["created_at"].as_str().unwrap().len(), 20);
    let (status, shown) = s.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown, image);
    s.stop().await;
}

#[tokio::test]
async fn create_errors() {
    let s = start(true).await;
    let id = "1bea47ed-f6a9-463b-b423-14b9cca9ad27";
    s.create(ALICE, json!({"id": id})).await;
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"id": id})).await.0, 409);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"id": "not-a-uuid"})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"disk_format": "floppy"})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"container_format": "box"})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"min_disk": -1})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"protected": "yes"})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"custom": 5})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"kernel_id": "nope"})).await.0, 400);
    let (status, body) = s.json(ALICE, Method::POST, "/v2/images", json!({"os_glance_foo": "x"})).await;
    assert_eq!(status, 403);
    assert!(body["message"].as_str().unwrap().contains("reserved"));
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"status": "active"})).await.0, 403);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"checksum": "x"})).await.0, 403);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"locations": []})).await.0, 403);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"visibility": "public"})).await.0, 403);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({"owner": "project-b"})).await.0, 403);
    assert_eq!(s.json(ADMIN, Method::POST, "/v2/images", json!({"owner": "project-b", "visibility": "public"})).await.0, 201);
    assert_eq!(s.json(READER_A, Method::POST, "/v2/images", json!({})).await.0, 403);
    let long_key = "k".repeat(256);
    assert_eq!(s.json(ALICE, Method::POST, "/v2/images", json!({long_key: "v"})).await.0, 400);
    // Malformed and missing bodies.
    let r = s.req(ALICE, Method::POST, "/v2/images").body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("Malformed JSON in request body."));
    assert_eq!(body["code"], "400 Bad Request");
    assert_eq!(body["title"], "Bad Request");
    assert_eq!(s.req(ALICE, Method::POST, "/v2/images").send().await.unwrap().status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn not_found_and_routing_errors() {
    let s = start(true).await;
    let (status, body) = s.get(ALICE, "/v2/images/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().starts_with("No image found with ID 00000000-0000-0000-0000-000000000000"));
    assert_eq!(s.get(ALICE, "/v2/images/cirros-by-name").await.0, 404);
    assert_eq!(s.get(ALICE, "/v2/images/").await.0, 404);
    assert_eq!(s.req(ALICE, Method::DELETE, "/v2/images/").send().await.unwrap().status(), 404);
    let r = s.req(ALICE, Method::PUT, "/v2/images").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers().get("allow").unwrap(), "GET, POST");
    let r = s.req(ALICE, Method::POST, "/v2/images/00000000-0000-0000-0000-000000000000").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers().get("allow").unwrap(), "GET, PATCH, DELETE");
    // A body on a GET is refused; a Content-Type on a bodiless GET is fine.
    let r = s.req(ALICE, Method::GET, "/v2/images").body("x").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = s.req(ALICE, Method::GET, "/v2/images").header("Content-Type", "application/octet-stream").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Error bodies follow Accept.
    let r = s
        .client
        .get(format!("{}/v2/images/00000000-0000-0000-0000-000000000000", s.image))
        .header("X-Identity-Status", "Confirmed")
        .header("X-Project-Id", "p")
        .header("X-Roles", "member")
        .header("Accept", "application/json, */*")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));
    let plain = s
        .client
        .get(format!("{}/v2/images/00000000-0000-0000-0000-000000000000", s.image))
        .header("X-Identity-Status", "Confirmed")
        .header("X-Project-Id", "p")
        .header("X-Roles", "member")
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/plain"));
    s.stop().await;
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let s = start(true).await;
    let r = s.client.get(format!("{}/v2/images", s.image)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Keystone uri="));
    s.stop().await;
}

#[tokio::test]
async fn upload_download_hashes_ranges() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"name": "raw", "disk_format": "raw", "container_format": "bare"})).await;
    let id = id_of(&image);
    // No data yet: 204.
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    // Wrong content type: 415.
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/json")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Size mismatch: 400 and the image stays queued.
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .header("x-openstack-image-size", "5")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "queued");
    let data: Vec<u8> = (0..1024u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(s.upload(ALICE, &id, data.clone()).await, 204);
    let (_, shown) = s.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["size"], 1024);
    assert_eq!(shown["virtual_size"], 1024);
    assert_eq!(shown["checksum"], hex::encode(Md5::digest(&data)));
    assert_eq!(shown["os_hash_algo"], "sha512");
    assert_eq!(shown["os_hash_value"], hex::encode(Sha512::digest(&data)));
    // Second upload: 409.
    assert_eq!(s.upload(ALICE, &id, data.clone()).await, 409);
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-md5").unwrap().to_str().unwrap(), hex::encode(Md5::digest(&data)));
    assert_eq!(r.headers().get("content-length").unwrap(), "1024");
    assert_eq!(r.headers().get("content-type").unwrap(), "application/octet-stream");
    assert_eq!(r.bytes().await.unwrap().to_vec(), data);
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).header("Range", "bytes=10-19").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers().get("content-range").unwrap(), "bytes 10-19/1024");
    assert_eq!(r.bytes().await.unwrap().to_vec(), data[10..20].to_vec());
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).header("Range", "bytes=-4").send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), data[1020..].to_vec());
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).header("Range", "bytes=2000-").send().await.unwrap();
    assert_eq!(r.status(), 416);
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).header("Range", "bytes=0-1,5-6").send().await.unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn upload_preconditions_and_chunked() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"name": "noformats"})).await;
    let id = id_of(&image);
    assert_eq!(s.upload(ALICE, &id, vec![0; 8]).await, 400);
    // Chunked upload (no Content-Length), as glanceclient sends it.
    let image = s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await;
    let id = id_of(&image);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![1; 3000]), Ok(vec![2; 5000])];
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["size"], 8000);
    s.stop().await;
}

#[tokio::test]
async fn format_inspection_rejects_mismatch() {
    let s = start(true).await;
    // qcow2 magic declared as vmdk → 415 and back to queued.
    let mut qcow = vec![0u8; 1024];
    qcow[..4].copy_from_slice(b"QFI\xfb");
    qcow[7] = 3;
    qcow[24..32].copy_from_slice(&(1u64 << 30).to_be_bytes());
    qcow[20] = 16;
    let image = s.create(ALICE, json!({"disk_format": "vmdk", "container_format": "bare"})).await;
    let id = id_of(&image);
    assert_eq!(s.upload(ALICE, &id, qcow.clone()).await, 415);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "queued");
    s.stop().await;
}

#[tokio::test]
async fn patch_semantics() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"name": "a", "foo": "bar"})).await;
    let id = id_of(&image);
    let (status, updated) = s
        .patch(
            ALICE,
            &id,
            json!([
                {"op": "replace", "path": "/name", "value": "b"},
                {"op": "add", "path": "/foo", "value": "baz"},
                {"op": "add", "path": "/new", "value": "x"},
                {"op": "replace", "path": "/tags", "value": ["t1", "t2"]},
                {"op": "replace", "path": "/min_ram", "value": 512}
            ]),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "b");
    assert_eq!(updated["foo"], "baz");
    assert_eq!(updated["new"], "x");
    assert_eq!(updated["min_ram"], 512);
    assert_eq!(updated["tags"], json!(["t1", "t2"]));
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "remove", "path": "/new"}])).await.0, 200);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "remove", "path": "/new"}])).await.0, 409);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/missing", "value": "v"}])).await.0, 409);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "remove", "path": "/name"}])).await.0, 403);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/status", "value": "active"}])).await.0, 403);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "add", "path": "/os_glance_foo", "value": "x"}])).await.0, 403);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/owner", "value": "project-b"}])).await.0, 403);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/visibility", "value": "public"}])).await.0, 403);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "move", "path": "/name", "from": "/x"}])).await.0, 400);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "add", "path": "/tags/-", "value": "x"}])).await.0, 400);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "add", "path": "name", "value": "x"}])).await.0, 400);
    assert_eq!(s.patch(ALICE, &id, json!({"op": "add"})).await.0, 400);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/min_disk", "value": "big"}])).await.0, 400);
    // An error part-way leaves everything unchanged.
    assert_eq!(
        s.patch(ALICE, &id, json!([{"op": "replace", "path": "/name", "value": "c"}, {"op": "remove", "path": "/nothere"}])).await.0,
        409
    );
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["name"], "b");
    // The draft-4 v2.0 form; add of an existing property is a conflict there.
    let r = s
        .req(ALICE, Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/openstack-images-v2.0-json-patch")
        .body(json!([{"replace": "/name", "value": "d"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .req(ALICE, Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/openstack-images-v2.0-json-patch")
        .body(json!([{"add": "/foo", "value": "again"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = s
        .req(ALICE, Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(r.headers().get("accept-patch").unwrap().to_str().unwrap().contains("application/openstack-images-v2.1-json-patch"));
    // Others may not modify; invisible is 404.
    assert_eq!(s.patch(BOB, &id, json!([{"op": "replace", "path": "/name", "value": "x"}])).await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn formats_frozen_after_upload() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await;
    let id = id_of(&image);
    assert_eq!(s.upload(ALICE, &id, vec![1; 100]).await, 204);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}])).await.0, 403);
    s.stop().await;
}

#[tokio::test]
async fn delete_protected_deactivate() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"protected": true, "disk_format": "raw", "container_format": "bare"})).await;
    let id = id_of(&image);
    let r = s.req(ALICE, Method::DELETE, &format!("/v2/images/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // Deactivate needs an active image.
    assert_eq!(s.req(ALICE, Method::POST, &format!("/v2/images/{id}/actions/deactivate")).send().await.unwrap().status(), 403);
    assert_eq!(s.upload(ALICE, &id, vec![9; 64]).await, 204);
    assert_eq!(s.req(ALICE, Method::POST, &format!("/v2/images/{id}/actions/deactivate")).send().await.unwrap().status(), 204);
    assert_eq!(s.req(ALICE, Method::POST, &format!("/v2/images/{id}/actions/deactivate")).send().await.unwrap().status(), 204);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "deactivated");
    assert_eq!(s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap().status(), 403);
    assert_eq!(s.req(ADMIN, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap().status(), 200);
    assert_eq!(s.req(ALICE, Method::POST, &format!("/v2/images/{id}/actions/reactivate")).send().await.unwrap().status(), 204);
    assert_eq!(s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap().status(), 200);
    assert_eq!(s.patch(ALICE, &id, json!([{"op": "replace", "path": "/protected", "value": false}])).await.0, 200);
    assert_eq!(s.req(BOB, Method::DELETE, &format!("/v2/images/{id}")).send().await.unwrap().status(), 404);
    assert_eq!(s.req(ALICE, Method::DELETE, &format!("/v2/images/{id}")).send().await.unwrap().status(), 204);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.0, 404);
    assert_eq!(s.req(ALICE, Method::DELETE, &format!("/v2/images/{id}")).send().await.unwrap().status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn tags() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({})).await);
    assert_eq!(s.req(ALICE, Method::PUT, &format!("/v2/images/{id}/tags/blue")).send().await.unwrap().status(), 204);
    assert_eq!(s.req(ALICE, Method::PUT, &format!("/v2/images/{id}/tags/blue")).send().await.unwrap().status(), 204);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["tags"], json!(["blue"]));
    assert_eq!(s.req(ALICE, Method::DELETE, &format!("/v2/images/{id}/tags/blue")).send().await.unwrap().status(), 204);
    assert_eq!(s.req(ALICE, Method::DELETE, &format!("/v2/images/{id}/tags/blue")).send().await.unwrap().status(), 404);
    assert_eq!(s.req(ALICE, Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000000/tags/x").send().await.unwrap().status(), 404);
    let long = "t".repeat(256);
    assert_eq!(s.req(ALICE, Method::PUT, &format!("/v2/images/{id}/tags/{long}")).send().await.unwrap().status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn list_filters_sorting_paging() {
    let s = start(true).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let img = s
            .create(ALICE, json!({"name": format!("img-{i}"), "disk_format": if i % 2 == 0 {"raw"} else {"qcow2"}, "container_format": "bare", "tags": if i < 3 {json!(["even"])} else {json!([])}, "os_distro": if i == 4 {"ubuntu"} else {"debian"}}))
            .await;
        ids.push(id_of(&img));
    }
    assert_eq!(s.upload(ALICE, &ids[0], vec![0; 100]).await, 204);
    let (status, body) = s.get(ALICE, "/v2/images").await;
    assert_eq!(status, 200);
    assert_eq!(body["images"].as_array().unwrap().len(), 7);
    assert_eq!(body["first"], "/v2/images");
    assert_eq!(body["schema"], "/v2/schemas/images");
    assert!(body.get("next").is_none());
    // Default order: newest first.
    assert_eq!(body["images"][0]["id"], ids[6]);
    let names = |b: &Value| b["images"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (_, b) = s.get(ALICE, "/v2/images?sort=name:asc").await;
    assert_eq!(names(&b), (0..7).map(|i| format!("img-{i}")).collect::<Vec<_>>());
    let (_, b) = s.get(ALICE, "/v2/images?sort_key=name&sort_dir=desc").await;
    assert_eq!(names(&b)[0], "img-6");
    assert_eq!(s.get(ALICE, "/v2/images?sort=name:asc&sort_key=name").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?sort_key=bogus").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?sort_dir=up").await.0, 400);
    let (_, b) = s.get(ALICE, "/v2/images?disk_format=qcow2").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 3);
    let (_, b) = s.get(ALICE, "/v2/images?name=in:img-1,img-2").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 2);
    let (_, b) = s.get(ALICE, "/v2/images?tag=even").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 3);
    let (_, b) = s.get(ALICE, "/v2/images?os_distro=ubuntu").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 1);
    let (_, b) = s.get(ALICE, "/v2/images?status=active").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 1);
    let (_, b) = s.get(ALICE, "/v2/images?size_min=50&size_max=100").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 1);
    let (_, b) = s.get(ALICE, "/v2/images?created_at=gte:2000-01-01T00:00:00Z").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 7);
    assert_eq!(s.get(ALICE, "/v2/images?created_at=gte:yesterday").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?status=in:bogus").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?name=like:x").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?limit=x").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?limit=-1").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?size_min=big").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?protected=yes").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?visibility=everyone").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?member_status=maybe").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?changes-since=2020-01-01").await.0, 400);
    assert_eq!(s.get(ALICE, "/v2/images?marker=00000000-0000-0000-0000-000000000000").await.0, 400);
    // Paging with limit and next links, all pages joined equal the whole list.
    let mut seen = Vec::new();
    let mut url = "/v2/images?limit=3&sort=name:asc".to_string();
    loop {
        let (status, b) = s.get(ALICE, &url).await;
        assert_eq!(status, 200);
        seen.extend(names(&b));
        match b.get("next").and_then(Value::as_str) {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("img-{i}")).collect::<Vec<_>>());
    // Hidden images are only listed on request.
    assert_eq!(s.patch(ALICE, &ids[1], json!([{"op": "replace", "path": "/os_hidden", "value": true}])).await.0, 200);
    let (_, b) = s.get(ALICE, "/v2/images").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 6);
    let (_, b) = s.get(ALICE, "/v2/images?os_hidden=True").await;
    assert_eq!(b["images"].as_array().unwrap().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn visibility_and_sharing() {
    let s = start(true).await;
    let private = id_of(&s.create(ALICE, json!({"name": "private", "visibility": "private"})).await);
    let shared = id_of(&s.create(ALICE, json!({"name": "shared"})).await);
    let community = id_of(&s.create(ALICE, json!({"name": "community", "visibility": "community"})).await);
    let public = id_of(&s.create(ADMIN, json!({"name": "public", "visibility": "public"})).await);
    let listed = |b: &Value| b["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    // Bob sees public (and community by id), not private/shared.
    assert_eq!(s.get(BOB, &format!("/v2/images/{private}")).await.0, 404);
    assert_eq!(s.get(BOB, &format!("/v2/images/{shared}")).await.0, 404);
    assert_eq!(s.get(BOB, &format!("/v2/images/{community}")).await.0, 200);
    assert_eq!(s.get(BOB, &format!("/v2/images/{public}")).await.0, 200);
    assert_eq!(listed(&s.get(BOB, "/v2/images").await.1), vec![public.clone()]);
    assert_eq!(listed(&s.get(BOB, "/v2/images?visibility=community").await.1), vec![community.clone()]);
    // Bob cannot modify the community image: visible but forbidden.
    assert_eq!(s.patch(BOB, &community, json!([{"op": "replace", "path": "/name", "value": "x"}])).await.0, 403);
    assert_eq!(s.req(BOB, Method::DELETE, &format!("/v2/images/{public}")).send().await.unwrap().status(), 403);
    // Members.
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{private}/members"), json!({"member": "project-b"})).await.0, 403);
    assert_eq!(s.json(BOB, Method::POST, &format!("/v2/images/{shared}/members"), json!({"member": "project-b"})).await.0, 404);
    let (status, member) = s.json(ALICE, Method::POST, &format!("/v2/images/{shared}/members"), json!({"member": "project-b"})).await;
    assert_eq!(status, 200);
    assert_eq!(member["status"], "pending");
    assert_eq!(member["member_id"], "project-b");
    assert_eq!(member["image_id"], shared);
    assert_eq!(member["schema"], "/v2/schemas/member");
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{shared}/members"), json!({"member": "project-b"})).await.0, 409);
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{shared}/members"), json!({})).await.0, 400);
    // Pending: visible by id, not listed by default; listed with member_status.
    assert_eq!(s.get(BOB, &format!("/v2/images/{shared}")).await.0, 200);
    assert!(!listed(&s.get(BOB, "/v2/images").await.1).contains(&shared));
    assert_eq!(listed(&s.get(BOB, "/v2/images?visibility=shared&member_status=pending").await.1), vec![shared.clone()]);
    // The owner cannot accept for the member; invalid status is 400.
    assert_eq!(s.json(ALICE, Method::PUT, &format!("/v2/images/{shared}/members/project-b"), json!({"status": "accepted"})).await.0, 403);
    assert_eq!(s.json(BOB, Method::PUT, &format!("/v2/images/{shared}/members/project-b"), json!({"status": "maybe"})).await.0, 400);
    assert_eq!(s.json(BOB, Method::PUT, &format!("/v2/images/{shared}/members/project-b"), json!({"status": "accepted"})).await.0, 200);
    assert!(listed(&s.get(BOB, "/v2/images").await.1).contains(&shared));
    let (status, members) = s.get(ALICE, &format!("/v2/images/{shared}/members")).await;
    assert_eq!(status, 200);
    assert_eq!(members["members"][0]["status"], "accepted");
    assert_eq!(members["schema"], "/v2/schemas/members");
    assert_eq!(s.get(BOB, &format!("/v2/images/{shared}/members/project-b")).await.0, 200);
    // A member can download but not change the image.
    assert_eq!(s.patch(BOB, &shared, json!([{"op": "replace", "path": "/name", "value": "x"}])).await.0, 403);
    assert_eq!(s.req(BOB, Method::DELETE, &format!("/v2/images/{shared}/members/project-b")).send().await.unwrap().status(), 403);
    assert_eq!(s.req(ALICE, Method::DELETE, &format!("/v2/images/{shared}/members/project-b")).send().await.unwrap().status(), 204);
    assert_eq!(s.get(BOB, &format!("/v2/images/{shared}")).await.0, 404);
    // Readers read but do not write.
    assert_eq!(s.get(READER_A, &format!("/v2/images/{private}")).await.0, 200);
    assert_eq!(s.patch(READER_A, &private, json!([{"op": "replace", "path": "/name", "value": "x"}])).await.0, 403);
    s.stop().await;
}

#[tokio::test]
async fn schemas_and_info() {
    let s = start(true).await;
    for (path, name) in [
        ("image", "image"),
        ("images", "images"),
        ("member", "member"),
        ("members", "members"),
        ("metadefs/namespace", "namespace"),
        ("metadefs/resource_type", "resource_type_association"),
    ] {
        let (status, body) = s.get(ALICE, &format!("/v2/schemas/{path}")).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["name"], name);
    }
    let (_, schema) = s.get(ALICE, "/v2/schemas/image").await;
    assert_eq!(schema["additionalProperties"]["type"], "string");
    assert_eq!(schema["properties"]["min_disk"]["type"], "integer");
    assert_eq!(s.get(ALICE, "/v2/schemas/nothing").await.0, 404);
    let (status, info) = s.get(ALICE, "/v2/info/import").await;
    assert_eq!(status, 200);
    assert_eq!(info["import-methods"]["value"], json!(["glance-direct", "web-download", "copy-image"]));
    assert_eq!(s.get(ALICE, "/v2/info/stores").await.0, 404);
    let (status, usage) = s.get(ALICE, "/v2/info/usage").await;
    assert_eq!(status, 200);
    assert!(usage["usage"]["image_count_total"].is_object());
    s.stop().await;
}

#[tokio::test]
async fn glance_direct_import() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/stage"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![5u8; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, img) = s.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(img["status"], "uploading");
    assert_eq!(img["size"], 2048);
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{id}/import"), json!({})).await.0, 400);
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{id}/import"), json!({"method": {"name": "bogus"}})).await.0, 400);
    let (status, _) = s.json(ALICE, Method::POST, &format!("/v2/images/{id}/import"), json!({"method": {"name": "glance-direct"}})).await;
    assert_eq!(status, 202);
    let mut active = false;
    for _ in 0..400 {
        if s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"] == "active" {
            active = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(active, "import did not finish");
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), vec![5u8; 2048]);
    // web-download is limited to an allow-list that is empty by default.
    let id2 = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let (status, body) = s
        .json(
            ALICE,
            Method::POST,
            &format!("/v2/images/{id2}/import"),
            json!({"method": {"name": "web-download", "uri": "http://example.com/x.img"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("filtering"));
    s.stop().await;
}

#[tokio::test]
async fn size_cap_gives_413_and_queued() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(dir, true, |c| c.service.image_size_cap = 1000).await;
    let id = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    assert_eq!(s.upload(ALICE, &id, vec![0; 2000]).await, 413);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "queued");
    assert_eq!(s.upload(ALICE, &id, vec![0; 500]).await, 204);
    s.stop().await;
}

#[tokio::test]
async fn data_survives_restart_and_interrupted_upload_recovers() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    assert_eq!(s.upload(ALICE, &id, vec![7; 4096]).await, 204);
    let dir = s.stop().await;
    let s = start_in(dir, true, |_| {}).await;
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), vec![7u8; 4096]);
    s.stop().await;
}

#[tokio::test]
async fn devstack_layout_on_one_port() {
    let s = start(true).await;
    let r = s.client.get(format!("{}/image", s.combined)).send().await.unwrap();
    assert_eq!(r.status(), 300);
    let body: Value = r.json().await.unwrap();
    assert!(body["versions"][0]["links"][0]["href"].as_str().unwrap().contains("/image/v2/"));
    let r = s
        .client
        .get(format!("{}/image/v2/images", s.combined))
        .header("X-Identity-Status", "Confirmed")
        .header("X-Project-Id", "p")
        .header("X-Roles", "member")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.client.get(format!("{}/identity/v3", s.combined)).send().await.unwrap().status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn project_quotas_give_413() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(dir, true, |c| {
        c.service.project_quotas.insert(
            "project-a".into(),
            imagery_service::Quota { image_count: Some(2), image_size_total: Some(1500), image_stage_total: Some(100) },
        );
        c.service.image_member_quota = 1;
        c.service.image_tag_quota = 2;
    })
    .await;
    let first = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let second = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let (status, body) = s.json(ALICE, Method::POST, "/v2/images", json!({})).await;
    assert_eq!(status, 413, "{body}");
    // Other projects are not limited by project-a's quota.
    assert_eq!(s.json(BOB, Method::POST, "/v2/images", json!({})).await.0, 201);
    // Storage: 1000 bytes fit, the next 1000 do not.
    assert_eq!(s.upload(ALICE, &first, vec![1; 1000]).await, 204);
    assert_eq!(s.upload(ALICE, &second, vec![2; 1000]).await, 413);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{second}")).await.1["status"], "queued");
    // Staging quota.
    let r = s
        .req(ALICE, Method::PUT, &format!("/v2/images/{second}/stage"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![0u8; 200])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Tag and member quotas.
    assert_eq!(s.patch(ALICE, &second, json!([{"op": "replace", "path": "/tags", "value": ["a", "b", "c"]}])).await.0, 413);
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{second}/members"), json!({"member": "m1"})).await.0, 200);
    assert_eq!(s.json(ALICE, Method::POST, &format!("/v2/images/{second}/members"), json!({"member": "m2"})).await.0, 413);
    s.stop().await;
}

/// A caller's own oversized list query is a 400 in Glance's format naming the
/// limit (it was a 503 "catalog temporarily unavailable": SQLite refused the
/// expression), for tags, properties and `in:` lists alike.
#[tokio::test]
async fn oversized_list_queries_are_400_naming_the_limit() {
    let s = start(true).await;
    s.create(ALICE, json!({"name": "one", "tags": ["t0"]})).await;
    let limit = imagery_core::query::MAX_FILTERS;
    let query = |pairs: Vec<(String, String)>| form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let tags = |n: usize| query((0..n).map(|i| ("tag".to_string(), format!("t{i}"))).collect());
    let properties = |n: usize| query((0..n).map(|i| (format!("k{i}"), "v".to_string())).collect());
    let names = (0..=imagery_core::query::MAX_FILTER_VALUES).map(|i| format!("n{i}")).collect::<Vec<_>>().join(",");
    for (what, q, words) in [
        ("1000 tags", tags(1000), format!("at most {limit} filters")),
        ("1000 properties", properties(1000), format!("at most {limit} filters")),
        ("one too many", tags(limit + 1), format!("at most {limit} filters")),
        (
            "too many names",
            query(vec![("name".into(), format!("in:{names}"))]),
            format!("at most {} values", imagery_core::query::MAX_FILTER_VALUES),
        ),
    ] {
        let r = s.req(ALICE, Method::GET, &format!("/v2/images?{q}")).send().await.unwrap();
        assert_eq!(r.status(), 400, "{what}");
        assert!(r.headers().get("retry-after").is_none(), "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "400 Bad Request", "{what}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(&words)), "{what}: {body}");
    }
    let (status, body) = s.get(ALICE, &format!("/v2/images?{}", tags(limit))).await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}
