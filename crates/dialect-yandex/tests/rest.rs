//! The REST surface over a real socket: discovery, IAM tokens, every image route,
//! operations, errors in the Yandex envelope, and the cross-dialect view.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_error, disk_bytes, start, Env};
use imagery_core::Visibility;
use imagery_service::NewImage;
use reqwest::Method;
use serde_json::{json, Value};

const GIB: i64 = 1 << 30;

async fn create(env: &Env, token: &str, body: Value) -> Value {
    let (status, op) = env.post("/compute/v1/images", token, body).await;
    assert_eq!(status, 200, "{op}");
    op
}

async fn create_from(env: &Env, token: &str, folder: &str, source: &str, name: &str) -> Value {
    let op = create(env, token, json!({"folderId": folder, "name": name, "imageId": source})).await;
    assert_eq!(op["done"], true, "{op}");
    op["response"].clone()
}

#[tokio::test]
async fn discovery_lists_every_api_at_the_public_address() {
    let env = start().await;
    let (status, body) = env.call(Method::GET, "/endpoints", None, None, &[]).await;
    assert_eq!(status, 200, "{body}");
    let port = env.base.rsplit(':').next().unwrap_or_default();
    let endpoints = body["endpoints"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = endpoints.iter().filter_map(|e| e["id"].as_str()).collect();
    for id in ["compute", "operation", "iam", "endpoint", "resource-manager"] {
        assert!(ids.contains(&id), "{body}");
    }
    assert!(endpoints.iter().all(|e| e["address"] == format!("localhost:{port}")), "{body}");
    let (status, body) = env.call(Method::GET, "/endpoints/compute", None, None, &[]).await;
    assert_eq!((status, body), (200, json!({"id": "compute", "address": format!("localhost:{port}")})));
    let (status, body) = env.call(Method::GET, "/endpoints/nope", None, None, &[]).await;
    assert_error(status, &body, 404, 5);
}

#[tokio::test]
async fn iam_tokens_from_oauth_tokens_and_revocation() {
    let env = start().await;
    let (status, body) =
        env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({"yandexPassportOauthToken": env.alice.oauth()})), &[]).await;
    assert_eq!(status, 200, "{body}");
    let token = body["iamToken"].as_str().unwrap_or_default().to_string();
    assert!(token.starts_with("t1.") && token.rsplit('.').next().is_some_and(|sig| sig.len() == 86), "{token}");
    assert!(body["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    let (status, body) = env.get(&format!("/compute/v1/images?folderId={}", env.alice.folder), &token).await;
    assert_eq!(status, 200, "{body}");
    // snake_case is accepted too
    let (status, _) =
        env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({"yandex_passport_oauth_token": env.bob.oauth()})), &[]).await;
    assert_eq!(status, 200);

    let wrong = format!("y0_{}_{}", env.alice.key.id, "not-the-secret");
    for bad in [wrong.as_str(), "y0_nokey", "garbage"] {
        let (status, body) = env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({"yandexPassportOauthToken": bad})), &[]).await;
        assert_error(status, &body, 401, 16);
    }
    let (status, body) = env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({})), &[]).await;
    assert_error(status, &body, 400, 3);
    let (status, body) =
        env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({"jwt": "a.b.c", "yandexPassportOauthToken": "x"})), &[]).await;
    assert_error(status, &body, 400, 3);
    let (status, body) = env.call(Method::POST, "/iam/v1/tokens", None, Some(json!({"jwt": "not-a-jwt"})), &[]).await;
    assert_error(status, &body, 401, 16);
    let (status, body) = env.call(Method::POST, "/iam/v1/tokens:createForServiceAccount", None, Some(json!({})), &[]).await;
    assert_error(status, &body, 501, 12);

    let (status, body) = env.call(Method::POST, "/iam/v1/tokens:revoke", None, Some(json!({"iamToken": token})), &[]).await;
    assert_eq!((status, body), (200, json!({"subjectId": env.alice.user_id})));
    let (status, body) = env.get(&format!("/compute/v1/images?folderId={}", env.alice.folder), &token).await;
    assert_error(status, &body, 401, 16);
}

#[tokio::test]
async fn every_image_route_needs_a_valid_bearer_token() {
    let env = start().await;
    let image = env.glance_image(&env.alice, "seen", disk_bytes()).await;
    let paths = [
        (Method::GET, format!("/compute/v1/images/{}", image.id)),
        (Method::GET, format!("/compute/v1/images?folderId={}", env.alice.folder)),
        (Method::GET, format!("/compute/v1/images:latestByFamily?folderId={}&family=abc", env.alice.folder)),
        (Method::POST, "/compute/v1/images".to_string()),
        (Method::PATCH, format!("/compute/v1/images/{}", image.id)),
        (Method::DELETE, format!("/compute/v1/images/{}", image.id)),
        (Method::GET, format!("/compute/v1/images/{}/operations", image.id)),
        (Method::GET, "/operations/fd8aaaaaaaaaaaaaaaaa".to_string()),
        (Method::GET, "/operations/fd8aaaaaaaaaaaaaaaaa:cancel".to_string()),
    ];
    let tampered = format!("{}x", env.alice.token);
    for (method, path) in &paths {
        for (token, headers) in [(None, vec![]), (Some(tampered.as_str()), vec![]), (None, vec![("Authorization", "Basic abc")])] {
            let (status, body) = env.call(method.clone(), path, token, Some(json!({})), &headers).await;
            assert_error(status, &body, 401, 16);
        }
    }
    // Still there: nothing was done without a token.
    let (status, _) = env.get(&format!("/compute/v1/images/{}", image.id), &env.alice.token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_glance_image_gets_one_stable_yandex_id_and_its_yandex_view() {
    let env = start().await;
    let mut new = NewImage { name: Some("from-glance".into()), min_disk: 2, ..NewImage::default() };
    new.properties.insert("os_type".into(), "windows".into());
    let image = env.glance_image_with(&env.alice.caller, new, disk_bytes()).await;
    let (status, list) = env.get(&format!("/compute/v1/images?folderId={}", env.alice.folder), &env.alice.token).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["images"][0].clone();
    let id = listed["id"].as_str().unwrap_or_default().to_string();
    assert!(id.len() == 20 && id.starts_with("fd8") && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b)), "{id}");
    assert_eq!(env.service.key_of(&env.alice.caller, "yandex.image", &image.id.to_string()).await.ok().flatten(), Some(id.clone()));
    let (status, shown) = env.get(&format!("/compute/v1/images/{id}"), &env.alice.token).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown, listed);
    assert_eq!(shown["folderId"], env.alice.folder);
    assert_eq!(shown["name"], "from-glance");
    assert_eq!(shown["status"], "READY");
    assert_eq!(shown["storageSize"], disk_bytes().len().to_string());
    assert_eq!(shown["minDiskSize"], (2 * GIB).to_string());
    assert_eq!(shown["os"], json!({"type": "WINDOWS"}));
    assert!(shown["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{shown}");
    for absent in ["labels", "description", "family", "pooled", "productIds"] {
        assert!(shown.get(absent).is_none(), "{absent} in {shown}");
    }
    // The canonical UUID names it too; the id never changes.
    let (_, by_uuid) = env.get(&format!("/compute/v1/images/{}", image.id), &env.alice.token).await;
    assert_eq!(by_uuid["id"], id);
    let (_, again) = env.get(&format!("/compute/v1/images?folderId={}", env.alice.project_id), &env.alice.token).await;
    assert_eq!(again["images"][0]["id"], id);
    // A queued Glance image (no data yet) is CREATING.
    env.service.create_image(&env.alice.caller, NewImage { name: Some("empty".into()), ..NewImage::default() }).await.expect("queued");
    let (_, list) = env.get(&format!("/compute/v1/images?folderId={}&filter=name%3D%22empty%22", env.alice.folder), &env.alice.token).await;
    assert_eq!(list["images"][0]["status"], "CREATING", "{list}");
}

#[tokio::test]
async fn create_from_an_image_is_zero_copy_and_its_operation_is_pollable() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "source", disk_bytes()).await;
    let body = json!({
        "folderId": env.alice.folder, "name": "copy-1", "description": "a copy", "family": "my-family",
        "labels": {"env": "prod", "team/owner": "a@b.c"}, "minDiskSize": "5242880", "productIds": ["f2eabc"],
        "os": {"type": "WINDOWS", "nvidia": {"driver": "535"}}, "pooled": true,
        "hardwareGeneration": {"legacyFeatures": {"pciTopology": "PCI_TOPOLOGY_V2"}},
        "imageId": source.id.to_string(),
    });
    let op = create(&env, &env.alice.token, body).await;
    assert_eq!(op["done"], true);
    assert_eq!(op["description"], "Create image");
    assert_eq!(op["createdBy"], env.alice.user_id);
    assert_eq!(op["metadata"]["@type"], "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata");
    let response = op["response"].clone();
    assert_eq!(response["@type"], "type.googleapis.com/yandex.cloud.compute.v1.Image");
    assert_eq!(op["metadata"]["imageId"], response["id"]);
    assert_eq!(response["folderId"], env.alice.folder);
    assert_eq!(response["name"], "copy-1");
    assert_eq!(response["description"], "a copy");
    assert_eq!(response["family"], "my-family");
    assert_eq!(response["labels"], json!({"env": "prod", "team/owner": "a@b.c"}));
    assert_eq!(response["minDiskSize"], "5242880");
    assert_eq!(response["productIds"], json!(["f2eabc"]));
    assert_eq!(response["os"], json!({"type": "WINDOWS", "nvidia": {"driver": "535"}}));
    assert_eq!(response["pooled"], true);
    assert_eq!(response["hardwareGeneration"], json!({"legacyFeatures": {"pciTopology": "PCI_TOPOLOGY_V2"}}));
    assert_eq!(response["status"], "READY");
    assert_eq!(response["storageSize"], disk_bytes().len().to_string());

    let (status, polled) = env.get(&format!("/operations/{}", op["id"].as_str().unwrap_or_default()), &env.alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(polled, op);
    // Bob cannot see Alice's operation.
    let (status, body) = env.get(&format!("/operations/{}", op["id"].as_str().unwrap_or_default()), &env.bob.token).await;
    assert_error(status, &body, 404, 5);

    // The Glance view: same bytes (same hash, same blob), min_disk is the GiB ceiling.
    let copy_id = response["id"].as_str().unwrap_or_default();
    let target = env.service.find_key(&env.alice.caller, "yandex.image", copy_id).await.ok().flatten().unwrap_or_default();
    let copy = env.service.show_image(&env.alice.caller, target.parse().unwrap_or_default()).await.expect("copy");
    assert_eq!(copy.os_hash_value, source.os_hash_value);
    assert_eq!(copy.blob_key, source.blob_key);
    assert_eq!(copy.checksum, source.checksum);
    assert_eq!(copy.min_disk, 1);
    assert_eq!(copy.properties.get("os_type").map(String::as_str), Some("windows"));
    assert!(copy.user_properties().all(|(k, _)| k == "os_type"), "{:?}", copy.properties);

    // A copy of the copy inherits OS, product ids, hardware generation and minimum disk size.
    let second = create_from(&env, &env.alice.token, &env.alice.folder, copy_id, "copy-2").await;
    for inherited in ["os", "productIds", "hardwareGeneration", "minDiskSize"] {
        assert_eq!(second[inherited], response[inherited], "{inherited}");
    }
    for not_inherited in ["family", "labels", "description", "pooled"] {
        assert!(second.get(not_inherited).is_none(), "{not_inherited}: {second}");
    }
    // Names are unique in a folder.
    let (status, body) =
        env.post("/compute/v1/images", &env.alice.token, json!({"folderId": env.alice.folder, "name": "copy-1", "imageId": copy_id})).await;
    assert_error(status, &body, 409, 6);
}

#[tokio::test]
async fn validation_errors_are_invalid_argument() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "src", disk_bytes()).await.id.to_string();
    let folder = env.alice.folder.clone();
    let bad_bodies = [
        json!({"folderId": folder, "name": "Bad_Name", "imageId": source}),
        json!({"folderId": folder, "name": "ends-", "imageId": source}),
        json!({"folderId": folder, "family": "x", "imageId": source}),
        json!({"folderId": folder, "family": "Fam-ily", "imageId": source}),
        json!({"folderId": folder, "labels": {"Upper": "x"}, "imageId": source}),
        json!({"folderId": folder, "labels": {"k": "Upper"}, "imageId": source}),
        json!({"folderId": folder, "labels": {"k": "a".repeat(64)}, "imageId": source}),
        json!({"folderId": folder, "description": "d".repeat(257), "imageId": source}),
        json!({"folderId": folder, "minDiskSize": "1024", "imageId": source}),
        json!({"folderId": folder, "minDiskSize": 4_398_046_511_105i64, "imageId": source}),
        json!({"folderId": folder}),
        json!({"folderId": folder, "imageId": source, "uri": "http://x/y"}),
        json!({"imageId": source}),
        json!({"folderId": "f".repeat(51), "imageId": source}),
        json!({"folderId": folder, "imageId": source, "unknownField": 1}),
        json!({"folderId": folder, "imageId": source, "minDiskSize": "lots"}),
        json!({"folderId": folder, "imageId": source, "os": {"type": "BEOS"}}),
        json!("not an object"),
    ];
    for body in bad_bodies {
        let (status, reply) = env.post("/compute/v1/images", &env.alice.token, body.clone()).await;
        assert_error(status, &reply, 400, 3);
        assert!(!reply["message"].as_str().unwrap_or_default().is_empty(), "{body}");
    }
    let (status, reply) =
        env.post("/compute/v1/images", &env.alice.token, json!({"folderId": folder, "name": "Bad", "family": "Bad"})).await;
    assert_error(status, &reply, 400, 3);
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(message.contains("name") && message.contains("family") && message.contains("source"), "{message}");
    let (status, reply) =
        env.call(Method::POST, "/compute/v1/images", Some(&env.alice.token), None, &[("content-type", "application/json")]).await;
    assert_error(status, &reply, 400, 3);

    let list = |query: &str| format!("/compute/v1/images?folderId={folder}&{query}");
    for query in [
        "pageSize=1001",
        "pageSize=-1",
        "pageSize=abc",
        "filter=family%3D%22x%22",
        "filter=name%20~%20%22x%22",
        "filter=name%3D%22x",
        "orderBy=size",
        &format!("pageToken={}", "x".repeat(101)),
        "pageToken=not-a-token",
    ] {
        let (status, reply) = env.get(&list(query), &env.alice.token).await;
        assert_error(status, &reply, 400, 3);
    }
    let (status, reply) = env.get("/compute/v1/images", &env.alice.token).await;
    assert_error(status, &reply, 400, 3);
    let (status, reply) = env.get(&format!("/compute/v1/images:latestByFamily?folderId={folder}&family=A"), &env.alice.token).await;
    assert_error(status, &reply, 400, 3);
    // Nothing was created by any of these.
    let (_, all) = env.get(&format!("/compute/v1/images?folderId={folder}"), &env.alice.token).await;
    assert_eq!(all["images"].as_array().map(Vec::len), Some(1), "{all}");
}

#[tokio::test]
async fn not_found_and_permission_denied() {
    let env = start().await;
    let private = env.glance_image(&env.alice, "private", disk_bytes()).await;
    let admin = env.admin.caller.clone();
    let public = NewImage {
        name: Some("public".into()),
        visibility: Some(Visibility::Public),
        owner: Some(env.alice.project_id.clone()),
        ..NewImage::default()
    };
    let public = env.glance_image_with(&admin, public, disk_bytes()).await;
    let (_, list) = env.get(&format!("/compute/v1/images?folderId={}&orderBy=name", env.alice.folder), &env.alice.token).await;
    let private_id = list["images"][0]["id"].as_str().unwrap_or_default().to_string();
    let public_id = list["images"][1]["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(list["images"][0]["name"], "private", "{list}");
    assert_ne!(private.id, public.id);

    let (status, body) = env.get("/compute/v1/images/fd8doesnotexist00000", &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    assert!(body["message"].as_str().unwrap_or_default().contains("fd8doesnotexist00000"), "{body}");
    // Invisible is not found, for every route.
    let (status, body) = env.get(&format!("/compute/v1/images/{private_id}"), &env.bob.token).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.patch(&format!("/compute/v1/images/{private_id}"), &env.bob.token, json!({"updateMask": "description"})).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.delete(&format!("/compute/v1/images/{private_id}"), &env.bob.token).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.get(&format!("/compute/v1/images/{private_id}/operations"), &env.bob.token).await;
    assert_error(status, &body, 404, 5);
    // Visible but not Bob's: permission denied.
    let (status, body) = env.get(&format!("/compute/v1/images/{public_id}"), &env.bob.token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = env.patch(&format!("/compute/v1/images/{public_id}"), &env.bob.token, json!({"updateMask": "description"})).await;
    assert_error(status, &body, 403, 7);
    let (status, body) = env.delete(&format!("/compute/v1/images/{public_id}"), &env.bob.token).await;
    assert_error(status, &body, 403, 7);
    // Another folder: permission denied, whether it exists or not.
    for folder in [env.alice.folder.as_str(), env.alice.project_id.as_str(), "b1gnosuchfolder00000"] {
        let (status, body) = env.get(&format!("/compute/v1/images?folderId={folder}"), &env.bob.token).await;
        assert_error(status, &body, 403, 7);
        let (status, body) = env.get(&format!("/compute/v1/images:latestByFamily?folderId={folder}&family=abc"), &env.bob.token).await;
        assert_error(status, &body, 403, 7);
        let (status, body) = env.post("/compute/v1/images", &env.bob.token, json!({"folderId": folder, "imageId": public_id})).await;
        assert_error(status, &body, 403, 7);
    }
    // The admin may act in any folder; an unknown one is not found for it.
    let (status, body) = env.get(&format!("/compute/v1/images?folderId={}", env.alice.folder), &env.admin.token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = env.get("/compute/v1/images?folderId=b1gnosuchfolder00000", &env.admin.token).await;
    assert_error(status, &body, 404, 5);
    // Sources that cannot exist here.
    for (field, id) in [("diskId", "fhm0000000000000000"), ("snapshotId", "fd80000000000000000")] {
        let mut body = json!({"folderId": env.alice.folder, "name": "from-disk"});
        body[field] = json!(id);
        let (status, reply) = env.post("/compute/v1/images", &env.alice.token, body).await;
        assert_error(status, &reply, 404, 5);
    }
    let (status, body) = env.get("/operations/fd8nosuchoperation00", &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.get("/nowhere", &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.call(Method::PUT, &format!("/compute/v1/images/{public_id}"), Some(&env.alice.token), None, &[]).await;
    assert_error(status, &body, 501, 12);
    let (status, body) = env.get(&format!("/compute/v1/images/{public_id}:listAccessBindings"), &env.alice.token).await;
    assert_error(status, &body, 501, 12);
    for verb in ["setAccessBindings", "updateAccessBindings"] {
        let (status, body) = env.post(&format!("/compute/v1/images/{public_id}:{verb}"), &env.alice.token, json!({})).await;
        assert_error(status, &body, 501, 12);
    }
}

#[tokio::test]
async fn list_filters_orders_and_pages() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "img-src", disk_bytes()).await.id.to_string();
    for name in ["img-c", "img-a", "img-e", "img-b", "img-d"] {
        create_from(&env, &env.alice.token, &env.alice.folder, &source, name).await;
    }
    env.glance_image(&env.bob, "img-a", disk_bytes()).await;
    let names = |body: &Value| -> Vec<String> {
        body["images"].as_array().map(|a| a.iter().filter_map(|i| i["name"].as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let list = |query: String| {
        let env = &env;
        async move {
            let (status, body) = env.get(&format!("/compute/v1/images?folderId={}&{query}", env.alice.folder), &env.alice.token).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // Default order: id ascending, across pages.
    let mut ids = Vec::new();
    let mut token = String::new();
    for page in 0.. {
        let body = list(format!("pageSize=2&pageToken={token}")).await;
        ids.extend(body["images"].as_array().cloned().unwrap_or_default().iter().filter_map(|i| i["id"].as_str().map(str::to_string)));
        match body["nextPageToken"].as_str() {
            Some(next) => token = next.to_string(),
            None => break,
        }
        assert!(page < 5, "paging does not end");
    }
    assert_eq!(ids.len(), 6);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(names(&list(format!("orderBy={}", enc("name desc"))).await), ["img-src", "img-e", "img-d", "img-c", "img-b", "img-a"]);
    assert_eq!(names(&list(format!("orderBy={}", enc("createdAt"))).await), ["img-src", "img-c", "img-a", "img-e", "img-b", "img-d"]);
    assert_eq!(names(&list(format!("filter={}", enc(r#"name = "img-b""#))).await), ["img-b"]);
    assert_eq!(names(&list(format!("filter={}&orderBy=name", enc(r#"name IN ("img-a", 'img-c')"#))).await), ["img-a", "img-c"]);
    assert_eq!(
        names(&list(format!("filter={}&orderBy=name", enc(r#"name != "img-a""#))).await),
        ["img-b", "img-c", "img-d", "img-e", "img-src"]
    );
    assert_eq!(
        names(&list(format!("filter={}&orderBy=name&pageSize=2", enc(r#"name NOT IN ("img-a", "img-b") AND name != "img-src""#))).await),
        ["img-c", "img-d"]
    );
    assert_eq!(names(&list(format!("filter={}", enc(r#"name = "img-a" AND name = "img-b""#))).await), Vec::<String>::new());
    let empty = list(format!("filter={}", enc(r#"name = "none""#))).await;
    assert_eq!(empty, json!({}));
    // Paging with a negated filter still fills pages and ends.
    let first = list(format!("filter={}&orderBy=name&pageSize=2", enc(r#"name != "img-b""#))).await;
    assert_eq!(names(&first), ["img-a", "img-c"]);
    let next = first["nextPageToken"].as_str().unwrap_or_default();
    let second = list(format!("filter={}&orderBy=name&pageSize=2&pageToken={next}", enc(r#"name != "img-b""#))).await;
    assert_eq!(names(&second), ["img-d", "img-e"]);
}

#[tokio::test]
async fn latest_by_family_and_standard_images() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "src", disk_bytes()).await.id.to_string();
    for name in ["deb-1", "deb-2"] {
        let op =
            create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": name, "family": "debian-12", "imageId": source}))
                .await;
        assert_eq!(op["done"], true);
    }
    let (status, latest) =
        env.get(&format!("/compute/v1/images:latestByFamily?folderId={}&family=debian-12", env.alice.folder), &env.alice.token).await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["name"], "deb-2");
    let (status, body) =
        env.get(&format!("/compute/v1/images:latestByFamily?folderId={}&family=ubuntu-22", env.alice.folder), &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    // Public images are the `standard-images` folder, readable by anyone, writable by no one.
    let op =
        create(&env, &env.admin.token, json!({"folderId": env.admin.folder, "name": "std", "family": "std-family", "imageId": source}))
            .await;
    let id = op["response"]["id"].as_str().unwrap_or_default().to_string();
    let uuid =
        env.service.find_key(&env.alice.caller, "yandex.image", &id).await.ok().flatten().unwrap_or_default().parse().unwrap_or_default();
    env.service
        .update_image(&env.admin.caller, uuid, |img| {
            img.visibility = Visibility::Public;
            Ok(())
        })
        .await
        .expect("publicize");
    let (status, list) = env.get("/compute/v1/images?folderId=standard-images", &env.bob.token).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["images"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["images"][0]["id"], id);
    assert_eq!(list["images"][0]["folderId"], env.admin.folder);
    let (status, latest) = env.get("/compute/v1/images:latestByFamily?folderId=standard-images&family=std-family", &env.bob.token).await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["id"], id);
    let (status, body) = env.post("/compute/v1/images", &env.bob.token, json!({"folderId": "standard-images", "imageId": id})).await;
    assert_error(status, &body, 403, 7);
}

#[tokio::test]
async fn update_mask_semantics() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "other", disk_bytes()).await.id.to_string();
    let op = create(
        &env,
        &env.alice.token,
        json!({"folderId": env.alice.folder, "name": "upd", "description": "d1", "labels": {"a": "1"}, "minDiskSize": "3221225472", "imageId": source}),
    )
    .await;
    let id = op["response"]["id"].as_str().unwrap_or_default().to_string();
    let path = format!("/compute/v1/images/{id}");
    let update = |body: Value| {
        let (env, path) = (&env, &path);
        async move {
            let (status, op) = env.patch(path, &env.alice.token, body).await;
            assert_eq!(status, 200, "{op}");
            assert_eq!(op["done"], true, "{op}");
            assert_eq!(op["description"], "Update image");
            assert_eq!(
                op["metadata"],
                json!({"@type": "type.googleapis.com/yandex.cloud.compute.v1.UpdateImageMetadata", "imageId": op["response"]["id"]})
            );
            op["response"].clone()
        }
    };
    // Only masked fields change; a masked field absent from the body is reset.
    let img = update(json!({"updateMask": "description"})).await;
    assert!(img.get("description").is_none(), "{img}");
    assert_eq!(img["labels"], json!({"a": "1"}));
    assert_eq!(img["minDiskSize"], "3221225472");
    assert_eq!(img["name"], "upd");
    let img = update(json!({"updateMask": "labels,minDiskSize", "labels": {"b": "2"}, "minDiskSize": 4194304, "name": "ignored"})).await;
    assert_eq!(img["labels"], json!({"b": "2"}));
    assert_eq!(img["minDiskSize"], "4194304");
    assert_eq!(img["name"], "upd");
    let img = update(json!({"update_mask": "name,description", "name": "renamed", "description": "d2"})).await;
    assert_eq!((img["name"].clone(), img["description"].clone()), (json!("renamed"), json!("d2")));
    // No mask: every updatable field comes from the body, absent ones reset.
    let img = update(json!({"name": "plain"})).await;
    assert_eq!(img["name"], "plain");
    for reset in ["description", "labels", "minDiskSize"] {
        assert!(img.get(reset).is_none(), "{reset}: {img}");
    }
    // The Glance view follows: min_disk 0, name changed.
    let (_, shown) = env.get(&path, &env.alice.token).await;
    let mut without_type = img.clone();
    if let Some(fields) = without_type.as_object_mut() {
        fields.remove("@type");
    }
    assert_eq!(shown, without_type);
    for (body, code) in [
        (json!({"updateMask": "family"}), 3),
        (json!({"updateMask": "name", "name": "Bad"}), 3),
        (json!({"updateMask": "labels", "labels": {"k": 1}}), 3),
        (json!({"updateMask": "minDiskSize", "minDiskSize": 1}), 3),
        (json!({"updateMask": "name", "name": "other"}), 6),
        (json!({"imageId": "fd8someoneelse000000"}), 3),
    ] {
        let (status, reply) = env.patch(&path, &env.alice.token, body.clone()).await;
        assert_error(status, &reply, if code == 6 { 409 } else { 400 }, code);
    }
    // Operations of the image, newest first, paged.
    let (status, ops) = env.get(&format!("{path}/operations"), &env.alice.token).await;
    assert_eq!(status, 200, "{ops}");
    let descriptions: Vec<&str> =
        ops["operations"].as_array().map(|a| a.iter().filter_map(|o| o["description"].as_str()).collect()).unwrap_or_default();
    assert_eq!(descriptions, ["Update image", "Update image", "Update image", "Update image", "Create image"]);
    let (_, first) = env.get(&format!("{path}/operations?pageSize=3"), &env.alice.token).await;
    assert_eq!(first["operations"].as_array().map(Vec::len), Some(3));
    let next = first["nextPageToken"].as_str().unwrap_or_default();
    let (_, rest) = env.get(&format!("{path}/operations?pageSize=3&pageToken={next}"), &env.alice.token).await;
    assert_eq!(rest["operations"].as_array().map(Vec::len), Some(2), "{rest}");
    assert!(rest.get("nextPageToken").is_none());
    let (status, body) = env.get(&format!("{path}/operations?pageSize=1001"), &env.alice.token).await;
    assert_error(status, &body, 400, 3);
}

#[tokio::test]
async fn delete_returns_empty_and_idempotency_keys_repeat_operations() {
    let env = start().await;
    let source = env.glance_image(&env.alice, "src", disk_bytes()).await.id.to_string();
    let body = json!({"folderId": env.alice.folder, "name": "once", "imageId": source});
    let headers = [("Idempotency-Key", "6f0e1c1e-6b0e-4bb0-9d0e-0a0b0c0d0e0f")];
    let (status, first) = env.call(Method::POST, "/compute/v1/images", Some(&env.alice.token), Some(body.clone()), &headers).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = env.call(Method::POST, "/compute/v1/images", Some(&env.alice.token), Some(body), &headers).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first, second);
    let (_, list) = env.get(&format!("/compute/v1/images?folderId={}&filter=name%3D%22once%22", env.alice.folder), &env.alice.token).await;
    assert_eq!(list["images"].as_array().map(Vec::len), Some(1));
    // Reads tolerate the header (the SDK sends one on every call).
    let (status, _) = env
        .call(Method::GET, &format!("/operations/{}", first["id"].as_str().unwrap_or_default()), Some(&env.alice.token), None, &headers)
        .await;
    assert_eq!(status, 200);

    let id = first["response"]["id"].as_str().unwrap_or_default().to_string();
    let delete_headers = [("Idempotency-Key", "delete-once")];
    let (status, deleted) =
        env.call(Method::DELETE, &format!("/compute/v1/images/{id}"), Some(&env.alice.token), None, &delete_headers).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["done"], true);
    assert_eq!(deleted["description"], "Delete image");
    assert_eq!(deleted["metadata"], json!({"@type": "type.googleapis.com/yandex.cloud.compute.v1.DeleteImageMetadata", "imageId": id}));
    assert_eq!(deleted["response"], json!({"@type": "type.googleapis.com/google.protobuf.Empty"}));
    let (status, body) = env.get(&format!("/compute/v1/images/{id}"), &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    let (status, body) = env.delete(&format!("/compute/v1/images/{id}"), &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    // A retry of the delete (same key) gets the first answer, though the image is gone.
    let (status, retried) =
        env.call(Method::DELETE, &format!("/compute/v1/images/{id}"), Some(&env.alice.token), None, &delete_headers).await;
    assert_eq!((status, &retried), (200, &deleted));
    let (status, _) = env.get(&format!("/operations/{}", deleted["id"].as_str().unwrap_or_default()), &env.alice.token).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn create_from_a_uri_imports_asynchronously() {
    let env = start().await;
    let folder = env.alice.folder.clone();
    let (status, body) =
        env.post("/compute/v1/images", &env.alice.token, json!({"folderId": folder, "uri": "https://example.invalid/disk.qcow2"})).await;
    assert_error(status, &body, 400, 3);

    let op = create(&env, &env.alice.token, json!({"folderId": folder, "name": "imported", "uri": format!("{}/ok.raw", env.files)})).await;
    assert_eq!(op["metadata"]["@type"], "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata");
    let image_id = op["metadata"]["imageId"].as_str().unwrap_or_default().to_string();
    assert_eq!(image_id.len(), 20);
    let done = env.wait(op["id"].as_str().unwrap_or_default(), &env.alice.token).await;
    assert!(done.get("error").is_none(), "{done}");
    assert_eq!(done["response"]["id"], image_id);
    assert_eq!(done["response"]["status"], "READY");
    assert_eq!(done["response"]["storageSize"], disk_bytes().len().to_string());

    // A failing import ends the operation with an error and the image in ERROR.
    let op =
        create(&env, &env.alice.token, json!({"folderId": folder, "name": "broken", "uri": format!("{}/missing.raw", env.files)})).await;
    let failed = env.wait(op["id"].as_str().unwrap_or_default(), &env.alice.token).await;
    assert_eq!(failed["error"]["code"], 9, "{failed}");
    assert!(failed.get("response").is_none());
    let (status, image) =
        env.get(&format!("/compute/v1/images/{}", op["metadata"]["imageId"].as_str().unwrap_or_default()), &env.alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(image["status"], "ERROR");

    // Cancel stops a running import and removes its image.
    let op = create(&env, &env.alice.token, json!({"folderId": folder, "name": "slow", "uri": format!("{}/slow.raw", env.files)})).await;
    assert_eq!(op["done"], false, "{op}");
    assert!(op.get("response").is_none() && op.get("error").is_none());
    let (status, cancelled) = env.get(&format!("/operations/{}:cancel", op["id"].as_str().unwrap_or_default()), &env.alice.token).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["done"], true);
    assert_eq!(cancelled["error"]["code"], 1);
    let (status, body) =
        env.get(&format!("/compute/v1/images/{}", op["metadata"]["imageId"].as_str().unwrap_or_default()), &env.alice.token).await;
    assert_error(status, &body, 404, 5);
    // Cancelling a finished operation changes nothing.
    let (status, again) = env
        .call(Method::POST, &format!("/operations/{}:cancel", done["id"].as_str().unwrap_or_default()), Some(&env.alice.token), None, &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(again, done);
}

#[tokio::test]
async fn create_from_a_uri_refuses_unsafe_disk_images() {
    let env = start().await;
    let folder = env.alice.folder.clone();
    // A qcow2 whose backing file is the host's /etc/passwd (named .qcow2, or .img so
    // that it is declared raw), and a VMDK descriptor whose extent is a host file.
    for name in ["backed.qcow2", "backed.img", "host.vmdk"] {
        let body = json!({"folderId": folder, "name": name.replace('.', "-"), "uri": format!("{}/{name}", env.files)});
        let op = create(&env, &env.alice.token, body).await;
        let failed = env.wait(op["id"].as_str().unwrap_or_default(), &env.alice.token).await;
        assert_eq!(failed["error"]["code"], 9, "{name}: {failed}");
        let message = failed["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Image failed safety checks"), "{name}: {message}");
        let image_id = op["metadata"]["imageId"].as_str().unwrap_or_default();
        let (status, image) = env.get(&format!("/compute/v1/images/{image_id}"), &env.alice.token).await;
        assert_eq!(status, 200);
        assert_eq!(image["status"], "ERROR", "{name}");
        // proto3 JSON omits a zero storage size.
        assert_eq!(image.get("storageSize"), None, "{name}: no bytes kept");
    }
    let op =
        create(&env, &env.alice.token, json!({"folderId": folder, "name": "clean", "uri": format!("{}/clean.qcow2", env.files)})).await;
    let done = env.wait(op["id"].as_str().unwrap_or_default(), &env.alice.token).await;
    assert_eq!(done["response"]["status"], "READY", "{done}");
}

#[tokio::test]
async fn create_from_a_uri_refuses_a_host_that_resolves_to_a_private_address() {
    // `localhost` is on the allow-list, but resolves to the loopback byte server:
    // without `web_download_allow_private` the import fails, naming the URL.
    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    let env = common::start_configured(catalog, |config, files| {
        let port = files.rsplit(':').next().unwrap_or_default();
        config.web_download_allow.push(format!("http://localhost:{port}/"));
    })
    .await;
    let port = env.files.rsplit(':').next().unwrap_or_default();
    let uri = format!("http://localhost:{port}/ok.raw");
    let op = create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": "internal", "uri": uri})).await;
    let failed = env.wait(op["id"].as_str().unwrap_or_default(), &env.alice.token).await;
    assert_eq!(failed["error"]["code"], 9, "{failed}");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&uri) && message.contains("not a public one"), "{message}");
    let image_id = op["metadata"]["imageId"].as_str().unwrap_or_default();
    let (status, image) = env.get(&format!("/compute/v1/images/{image_id}"), &env.alice.token).await;
    assert_eq!(status, 200);
    assert_eq!(image["status"], "ERROR");
}

#[tokio::test]
async fn operations_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("catalog.db");
    let url = format!("sqlite://{}", path.display());
    let catalog = imagery_catalog::open(&url).await.expect("catalog");
    let env = common::start_on(catalog).await;
    let source = env.glance_image(&env.alice, "src", disk_bytes()).await.id.to_string();
    let op = create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": "kept", "imageId": source})).await;
    let token = env.alice.token.clone();
    let op_id = op["id"].as_str().unwrap_or_default().to_string();
    drop(env);

    let catalog = imagery_catalog::open(&url).await.expect("reopen");
    let blobs = imagery_store::open("memory://").await.expect("blobs");
    let service = imagery_service::ImageService::new(catalog.clone(), blobs, Default::default());
    let identity = imagery_identity::Identity::open(catalog, Default::default()).await.expect("identity");
    let base = common::serve(service, identity).await;
    let response = reqwest::Client::new().get(format!("{base}/operations/{op_id}")).bearer_auth(&token).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let polled: Value = response.json().await.expect("json");
    assert_eq!(polled, op);
}
