//! IMS over a real socket with signed requests: `/v2/cloudimages` (every filter,
//! paging, sorting), the flat image object and its types, the Glance-compatible
//! `/v2/images` routes the huaweicloud SDK calls (show, list, create, update,
//! delete, tags, members, data), IMS's error envelope and unknown routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use reqwest::Method;
use serde_json::{json, Value};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";

fn names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        body["images"].as_array().expect("images").iter().map(|i| i["name"].as_str().unwrap_or_default().to_string()).collect();
    names.sort();
    names
}

/// A catalog as Glance users would fill it: a public Ubuntu and a public Windows
/// image (admin), Alice's private CentOS and shared Debian images, Bob's image
/// shared with Alice (accepted) and Bob's private one.
async fn catalog(api: &Api) -> Vec<imagery_core::Image> {
    let admin = ["admin", "member", "reader"];
    let member = ["member", "reader"];
    let ubuntu = api
        .active(
            &api.admin,
            &admin,
            "Ubuntu 22.04",
            Visibility::Public,
            &[("os_distro", "ubuntu"), ("os_version", "22.04"), ("architecture", "x86_64"), ("hw_disk_bus", "virtio")],
            1024,
        )
        .await;
    let windows =
        api.image(&api.admin, &admin, "Windows 2022", Visibility::Public, &[("os_type", "windows"), ("architecture", "x86_64")]).await;
    let centos = api
        .active(&api.alice, &member, "CentOS 7.3", Visibility::Private, &[("os_distro", "centos"), ("architecture", "aarch64")], 2048)
        .await;
    let debian =
        api.image(&api.alice, &member, "Debian 12", Visibility::Shared, &[("os_distro", "debian"), ("__lazyloading", "true")]).await;
    let bobs = api.image(&api.bob, &member, "Bob shares", Visibility::Shared, &[("os_type", "linux")]).await;
    api.service.add_member(&api.bob.caller(&member), bobs.id, &api.alice.project).await.expect("share");
    api.service
        .set_member_status(&api.alice.caller(&member), bobs.id, &api.alice.project, imagery_core::MemberStatus::Accepted)
        .await
        .expect("accept");
    let hidden = api.image(&api.bob, &member, "Bob private", Visibility::Private, &[]).await;
    vec![ubuntu, windows, centos, debian, bobs, hidden]
}

#[tokio::test]
async fn the_flat_image_object_has_glance_fields_and_huawei_attributes_with_their_types() {
    let api = start().await;
    let images = catalog(&api).await;
    let ubuntu = &images[0];
    let reply = api.get(&api.alice, &format!("/v2/images/{}", ubuntu.id), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let img = reply.json();
    assert!(img.get("image").is_none(), "no envelope: {img}");
    assert_eq!(img["id"], ubuntu.id.to_string());
    assert_eq!(img["name"], "Ubuntu 22.04");
    assert_eq!(img["status"], "active");
    assert_eq!(img["visibility"], "public");
    assert_eq!(img["protected"], false);
    assert_eq!(img["min_disk"], 0);
    assert_eq!(img["min_ram"], 0);
    assert_eq!(img["size"], 1024);
    assert_eq!(img["disk_format"], "raw");
    assert_eq!(img["container_format"], "bare");
    assert_eq!(img["tags"], json!([]));
    assert_eq!(img["self"], format!("/v2/images/{}", ubuntu.id));
    assert_eq!(img["file"], format!("/v2/images/{}/file", ubuntu.id));
    assert_eq!(img["schema"], "/v2/schemas/image");
    assert!(img["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(img["__imagetype"], "gold");
    assert_eq!(img["__isregistered"], "true");
    assert_eq!(img["__os_type"], "Linux");
    assert_eq!(img["__platform"], "Ubuntu");
    assert_eq!(img["__os_bit"], "64");
    assert_eq!(img["__os_version"], "Ubuntu 22.04 64bit");
    assert_eq!(img["__support_kvm"], "true");
    assert_eq!(img["virtual_env_type"], "FusionCompute");
    assert_eq!(img["hw_disk_bus"], "virtio");
    for (key, value) in img.as_object().expect("object") {
        if key.starts_with("__") {
            assert!(value.is_string(), "{key} must be a string: {value}");
        }
    }
    // Each caller sees the image type from where it stands.
    let centos = api.get(&api.alice, &format!("/v2/images/{}", images[2].id), &[]).await.json();
    assert_eq!(
        (centos["__imagetype"].as_str(), centos["__os_bit"].as_str(), centos["__support_arm"].as_str()),
        (Some("private"), Some("64"), Some("true"))
    );
    let bobs = api.get(&api.alice, &format!("/v2/images/{}", images[4].id), &[]).await.json();
    assert_eq!(bobs["__imagetype"], "shared");
    assert_eq!(api.get(&api.bob, &format!("/v2/images/{}", images[4].id), &[]).await.json()["__imagetype"], "private");
    // Invisible, unknown and malformed ids are all IMG.0027.
    for id in [images[5].id.to_string(), "00000000-0000-0000-0000-000000000000".to_string(), "nope".to_string()] {
        let reply = api.get(&api.alice, &format!("/v2/images/{id}"), &[]).await;
        assert_eq!(reply.ims_error(404), "IMG.0027");
        assert_eq!(reply.json()["error"]["message"], "The image ID in the request does not exist.");
    }
}

#[tokio::test]
async fn cloudimages_filters_on_huawei_attributes_and_glance_fields() {
    let api = start().await;
    let images = catalog(&api).await;
    let list = |params: Vec<(&'static str, String)>| {
        let api = &api;
        async move {
            let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = api.get(&api.alice, "/v2/cloudimages", &p).await;
            assert_eq!(reply.status, 200, "{p:?}: {}", reply.text());
            names(&reply.json())
        }
    };
    let s = |v: &str| v.to_string();
    assert_eq!(list(vec![]).await, ["Bob shares", "CentOS 7.3", "Debian 12", "Ubuntu 22.04", "Windows 2022"]);
    assert_eq!(list(vec![("__imagetype", s("gold"))]).await, ["Ubuntu 22.04", "Windows 2022"]);
    assert_eq!(list(vec![("__imagetype", s("private"))]).await, ["CentOS 7.3", "Debian 12"]);
    assert_eq!(list(vec![("__imagetype", s("shared"))]).await, ["Bob shares"]);
    assert!(list(vec![("__imagetype", s("market"))]).await.is_empty());
    assert_eq!(list(vec![("__platform", s("Ubuntu"))]).await, ["Ubuntu 22.04"]);
    assert_eq!(list(vec![("__os_type", s("Windows"))]).await, ["Windows 2022"]);
    assert_eq!(list(vec![("__os_type", s("Linux"))]).await, ["Bob shares", "CentOS 7.3", "Debian 12", "Ubuntu 22.04"]);
    assert_eq!(list(vec![("__os_bit", s("64")), ("__imagetype", s("gold"))]).await, ["Ubuntu 22.04", "Windows 2022"]);
    assert_eq!(list(vec![("__support_arm", s("true"))]).await, ["CentOS 7.3"]);
    assert_eq!(list(vec![("__support_kvm", s("true")), ("__isregistered", s("true"))]).await.len(), 5);
    assert_eq!(list(vec![("__lazyloading", s("true"))]).await, ["Debian 12"]);
    assert_eq!(list(vec![("virtual_env_type", s("FusionCompute")), ("__platform", s("CentOS"))]).await, ["CentOS 7.3"]);
    assert_eq!(list(vec![("architecture", s("arm"))]).await, ["CentOS 7.3"]);
    assert_eq!(list(vec![("architecture", s("x86"))]).await, ["Ubuntu 22.04", "Windows 2022"]);
    assert_eq!(list(vec![("status", s("active"))]).await, ["CentOS 7.3", "Ubuntu 22.04"]);
    assert_eq!(list(vec![("status", s("queued"))]).await, ["Bob shares", "Debian 12", "Windows 2022"]);
    assert_eq!(list(vec![("visibility", s("public"))]).await, ["Ubuntu 22.04", "Windows 2022"]);
    assert_eq!(list(vec![("visibility", s("private"))]).await, ["CentOS 7.3"]);
    assert_eq!(list(vec![("visibility", s("shared"))]).await, ["Bob shares", "Debian 12"]);
    assert_eq!(list(vec![("visibility", s("shared")), ("member_status", s("pending"))]).await, ["Debian 12"]);
    assert_eq!(list(vec![("name", s("Debian 12"))]).await, ["Debian 12"]);
    assert_eq!(list(vec![("id", images[2].id.to_string())]).await, ["CentOS 7.3"]);
    assert_eq!(list(vec![("owner", api.bob.project.clone())]).await, ["Bob shares"]);
    assert_eq!(list(vec![("protected", s("false")), ("disk_format", s("raw")), ("container_format", s("bare"))]).await.len(), 5);
    assert!(list(vec![("protected", s("true"))]).await.is_empty());
    assert_eq!(list(vec![("min_disk", s("0")), ("min_ram", s("0"))]).await.len(), 5);
    assert!(list(vec![("min_disk", s("40"))]).await.is_empty());
    assert!(list(vec![("tag", s("nothing"))]).await.is_empty());
    assert_eq!(list(vec![("enterprise_project_id", s("0")), ("flavor_id", s("s6.small.1"))]).await.len(), 5);
    assert!(list(vec![("enterprise_project_id", s("0d8f5b4a-0000-4000-8000-000000000000"))]).await.is_empty());
    let created = images[2].created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let since = list(vec![("created_at", format!("gte:{created}"))]).await;
    assert!(since.contains(&"CentOS 7.3".to_string()) && !since.contains(&"Ubuntu 22.04".to_string()), "{since:?}");
    assert_eq!(list(vec![("created_at", s("lt:2000-01-01T00:00:00Z"))]).await.len(), 0);
    assert_eq!(list(vec![("updated_at", s("gt:2000-01-01T00:00:00Z"))]).await.len(), 5);
    // Bad values.
    let bad = api.get(&api.alice, "/v2/cloudimages", &[("__imagetype", "golden")]).await;
    assert_eq!(bad.ims_error(400), "IMG.0024");
    for (k, v) in [
        ("limit", "ten"),
        ("marker", "x"),
        ("status", "shiny"),
        ("sort_dir", "sideways"),
        ("protected", "maybe"),
        ("created_at", "gt:then"),
    ] {
        assert_eq!(api.get(&api.alice, "/v2/cloudimages", &[(k, v)]).await.ims_error(400), "IMG.0001", "{k}={v}");
    }
}

#[tokio::test]
async fn cloudimages_pages_and_sorts() {
    let api = start().await;
    catalog(&api).await;
    let page = api.get(&api.alice, "/v2/cloudimages", &[("sort_key", "name"), ("sort_dir", "asc"), ("limit", "2")]).await.json();
    let got: Vec<&str> = page["images"].as_array().expect("images").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(got, ["Bob shares", "CentOS 7.3"]);
    let marker = page["page_info"]["next_marker"].as_str().expect("next_marker").to_string();
    let page2 = api
        .get(&api.alice, "/v2/cloudimages", &[("sort_key", "name"), ("sort_dir", "asc"), ("limit", "2"), ("marker", &marker)])
        .await
        .json();
    let got: Vec<&str> = page2["images"].as_array().expect("images").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(got, ["Debian 12", "Ubuntu 22.04"]);
    let marker = page2["page_info"]["next_marker"].as_str().expect("next_marker").to_string();
    let last = api
        .get(&api.alice, "/v2/cloudimages", &[("sort_key", "name"), ("sort_dir", "asc"), ("limit", "2"), ("marker", &marker)])
        .await
        .json();
    assert_eq!(names(&last), ["Windows 2022"]);
    assert!(last.get("page_info").is_none(), "{last}");
    // Paging through a filter on a derived attribute.
    let gold1 = api
        .get(&api.alice, "/v2/cloudimages", &[("__os_type", "Linux"), ("sort_key", "name"), ("sort_dir", "desc"), ("limit", "3")])
        .await
        .json();
    let got: Vec<&str> = gold1["images"].as_array().expect("images").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(got, ["Ubuntu 22.04", "Debian 12", "CentOS 7.3"]);
    let marker = gold1["page_info"]["next_marker"].as_str().expect("next_marker").to_string();
    let gold2 = api
        .get(
            &api.alice,
            "/v2/cloudimages",
            &[("__os_type", "Linux"), ("sort_key", "name"), ("sort_dir", "desc"), ("limit", "3"), ("marker", &marker)],
        )
        .await
        .json();
    assert_eq!(names(&gold2), ["Bob shares"]);
    assert!(gold2.get("page_info").is_none());
    // The default page is 500 and sorts by creation, newest first.
    let all = api.get(&api.alice, "/v2/cloudimages", &[]).await.json();
    assert_eq!(all["images"][0]["name"], "Bob shares");
    assert!(all.get("page_info").is_none());
}

#[tokio::test]
async fn glance_list_carries_the_attributes_and_glance_paging() {
    let api = start().await;
    catalog(&api).await;
    let body = api
        .get(&api.alice, "/v2/images", &[("__imagetype", "gold"), ("limit", "1"), ("sort_key", "name"), ("sort_dir", "asc")])
        .await
        .json();
    assert_eq!(names(&body), ["Ubuntu 22.04"]);
    assert_eq!(body["images"][0]["__platform"], "Ubuntu");
    assert_eq!(body["schema"], "/v2/schemas/images");
    assert_eq!(body["first"], "/v2/images?__imagetype=gold&limit=1&sort_dir=asc&sort_key=name");
    let next = body["next"].as_str().expect("next").to_string();
    let marker = next.rsplit("marker=").next().expect("marker").to_string();
    let body2 = api
        .get(
            &api.alice,
            "/v2/images",
            &[("__imagetype", "gold"), ("limit", "1"), ("sort_key", "name"), ("sort_dir", "asc"), ("marker", &marker)],
        )
        .await
        .json();
    assert_eq!(names(&body2), ["Windows 2022"]);
    // Glance's own filters and its page size of 25.
    let tagged = api.get(&api.alice, "/v2/images", &[("name", "in:\"Debian 12\",CentOS 7.3")]).await.json();
    assert_eq!(names(&tagged), ["CentOS 7.3", "Debian 12"]);
    for i in 0..26 {
        api.image(&api.alice, &["member"], &format!("bulk-{i:02}"), Visibility::Private, &[]).await;
    }
    let page = api.get(&api.alice, "/v2/images", &[]).await.json();
    assert_eq!(page["images"].as_array().map(Vec::len), Some(25));
    assert!(page["next"].is_string());
}

#[tokio::test]
async fn create_update_delete_tags_and_members_through_the_glance_routes() {
    let api = start().await;
    // GlanceCreateImageMetadata.
    let body = json!({"name": "made-by-sdk", "__os_version": "Ubuntu 22.04 server 64bit", "visibility": "private", "protected": false,
        "container_format": "bare", "disk_format": "qcow2", "min_disk": 40, "min_ram": 1024, "tags": ["a"]});
    let reply = api.json(&api.alice, Method::POST, "/v2/images", "application/json;charset=utf-8", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(reply.header("location").is_some());
    let made = reply.json();
    assert_eq!(made["__os_version"], "Ubuntu 22.04 server 64bit");
    assert_eq!(made["__imagetype"], "private");
    assert_eq!((made["min_disk"].as_i64(), made["min_ram"].as_i64()), (Some(40), Some(1024)));
    let id = made["id"].as_str().expect("id").to_string();
    // Glance refusals in IMS's envelope.
    let refused = api.json(&api.alice, Method::POST, "/v2/images", "application/json", json!({"name": "x", "disk_format": "floppy"})).await;
    assert_eq!(refused.ims_error(400), "IMG.0001");
    let refused = api.json(&api.alice, Method::POST, "/v2/images", "application/json", json!({"name": "x", "visibility": "public"})).await;
    assert_eq!(refused.ims_error(403), "IMG.0161");

    // GlanceUpdateImage (JSON patch); a shown-but-derived attribute can be replaced.
    let ops = json!([{"op": "replace", "path": "/name", "value": "renamed"}, {"op": "replace", "path": "/__os_type", "value": "Windows"},
        {"op": "add", "path": "/hw_firmware_type", "value": "uefi"}]);
    let reply = api.json(&api.alice, Method::PATCH, &format!("/v2/images/{id}"), PATCH, ops).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let updated = reply.json();
    assert_eq!((updated["name"].as_str(), updated["__os_type"].as_str()), (Some("renamed"), Some("Windows")));
    assert_eq!(updated["hw_firmware_type"], "uefi");
    assert_eq!(updated["__imagetype"], "private");
    let refused = api
        .json(
            &api.alice,
            Method::PATCH,
            &format!("/v2/images/{id}"),
            PATCH,
            json!([{"op": "add", "path": "/__imagetype", "value": "gold"}]),
        )
        .await;
    assert_eq!(refused.ims_error(400), "IMG.0001");
    let refused =
        api.json(&api.alice, Method::PATCH, &format!("/v2/images/{id}"), PATCH, json!([{"op": "remove", "path": "/nothing"}])).await;
    assert_eq!(refused.ims_error(409), "IMG.0409");
    let refused = api.json(&api.alice, Method::PATCH, "/v2/images/00000000-0000-0000-0000-000000000000", PATCH, json!([])).await;
    assert_eq!(refused.ims_error(404), "IMG.0027");

    // IMS's own PATCH path, with plain JSON and the SDK's string-typed values.
    let ops = json!([{"op": "replace", "path": "/min_ram", "value": "2048"}]);
    let reply = api.json(&api.alice, Method::PATCH, &format!("/v2/cloudimages/{id}"), "application/json;charset=UTF-8", ops).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["min_ram"], 2048);

    // Tags.
    assert_eq!(api.go(&api.signed(&api.alice, Method::PUT, &format!("/v2/images/{id}/tags/blue"), &[])).await.status, 204);
    assert_eq!(api.get(&api.alice, "/v2/cloudimages", &[("tag", "blue")]).await.json()["images"][0]["id"], id.as_str());
    assert_eq!(api.delete(&api.alice, &format!("/v2/images/{id}/tags/blue")).await.status, 204);
    // The same write signed in the same second would be a replay: sign it a second earlier.
    let mut again = api.signed(&api.alice, Method::DELETE, &format!("/v2/images/{id}/tags/blue"), &[]);
    again.date = sdk_date(-1);
    assert_eq!(api.go(&again).await.ims_error(404), "IMG.0404");

    // Members: share with Bob, who accepts and then sees a shared image.
    let reply = api
        .json(
            &api.alice,
            Method::PATCH,
            &format!("/v2/images/{id}"),
            PATCH,
            json!([{"op": "replace", "path": "/visibility", "value": "shared"}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = api
        .json(&api.alice, Method::POST, &format!("/v2/images/{id}/members"), "application/json", json!({"member": api.bob.project}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["status"], "pending");
    let reply = api
        .json(
            &api.bob,
            Method::PUT,
            &format!("/v2/images/{id}/members/{}", api.bob.project),
            "application/json",
            json!({"status": "accepted"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let members = api.get(&api.alice, &format!("/v2/images/{id}/members"), &[]).await.json();
    assert_eq!(members["members"][0]["member_id"], api.bob.project.as_str());
    let seen = api.get(&api.bob, "/v2/cloudimages", &[("__imagetype", "shared")]).await.json();
    assert_eq!(seen["images"][0]["id"], id.as_str());
    assert_eq!(api.delete(&api.alice, &format!("/v2/images/{id}/members/{}", api.bob.project)).await.status, 204);
    assert_eq!(api.get(&api.bob, &format!("/v2/images/{id}"), &[]).await.ims_error(404), "IMG.0027");

    // Bob may not delete it; Alice may; then it is gone.
    assert_eq!(api.delete(&api.bob, &format!("/v2/images/{id}")).await.ims_error(404), "IMG.0027");
    // GlanceDeleteImage may carry {"delete_backup": …}; Glance itself refuses bodies on DELETE.
    let reply =
        api.json(&api.alice, Method::DELETE, &format!("/v2/images/{id}"), "application/json", json!({"delete_backup": false})).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_eq!(api.get(&api.alice, &format!("/v2/images/{id}"), &[]).await.ims_error(404), "IMG.0027");
    let mut again = api.signed(&api.alice, Method::DELETE, &format!("/v2/images/{id}"), &[]);
    again.date = sdk_date(-1);
    assert_eq!(api.go(&again).await.ims_error(404), "IMG.0027");
}

#[tokio::test]
async fn delegated_glance_routes_and_unknown_routes() {
    let api = start().await;
    let schema = api.get(&api.alice, "/v2/schemas/image", &[]).await;
    assert_eq!(schema.status, 200, "{}", schema.text());
    assert!(schema.header("x-request-id").is_some());
    let versions = api.get(&api.alice, "/", &[]).await;
    assert_eq!(versions.status, 300, "{}", versions.text());
    let reply = api.get(&api.alice, "/v3/projects", &[]).await;
    assert_eq!(reply.status, 404);
    let body = reply.json();
    assert_eq!(body["error_code"], "APIGW.0101");
    assert_eq!(body["request_id"].as_str(), reply.header("x-request-id"));
    let reply = api.delete(&api.alice, "/v2/cloudimages").await;
    assert_eq!(reply.ims_error(405), "IMG.0405");
    assert_eq!(reply.header("allow"), Some("GET"));
    let reply = api.go(&api.signed(&api.alice, Method::POST, "/v2/images/00000000-0000-0000-0000-000000000000", &[])).await;
    assert_eq!(reply.ims_error(405), "IMG.0405");
    assert_eq!(api.get(&api.alice, "/v2/images/", &[]).await.ims_error(404), "IMG.0404");
}

#[tokio::test]
async fn an_image_made_through_glance_shows_its_huawei_attributes_everywhere() {
    let api = start().await;
    let member = ["member", "reader"];
    let image = api
        .active(
            &api.alice,
            &member,
            "from-glance",
            Visibility::Private,
            &[
                ("os_distro", "rhel"),
                ("os_version", "9.4"),
                ("architecture", "x86_64"),
                ("hw_firmware_type", "uefi"),
                ("description", "golden RHEL"),
            ],
            4096,
        )
        .await;
    let ims = api.get(&api.alice, &format!("/v2/images/{}", image.id), &[]).await.json();
    let listed = api.get(&api.alice, "/v2/cloudimages", &[("__platform", "Red Hat")]).await.json();
    assert_eq!(listed["images"][0], ims);
    let detail = api.get(&api.alice, &format!("/v2.1/{}/images/{}", api.alice.project, image.id), &[]).await.json();
    let metadata = &detail["image"]["metadata"];
    for key in
        ["__os_type", "__platform", "__os_bit", "__os_version", "__imagetype", "__description", "virtual_env_type", "hw_firmware_type"]
    {
        assert_eq!(ims[key], metadata[key], "{key}");
    }
    assert_eq!(ims["__os_version"], "Red Hat 9.4 64bit");
    assert_eq!(ims["__description"], "golden RHEL");
    assert_eq!(detail["image"]["OS-EXT-IMG-SIZE:size"], 4096);
}

#[tokio::test]
async fn uploads_of_unsafe_disk_images_are_refused_in_every_container() {
    let api = start().await;
    let samples = imagery_test_support::samples::unsafe_samples();
    for container in imagery_test_support::samples::CONTAINER_FORMATS {
        for sample in samples.iter().chain([&imagery_test_support::samples::clean_qcow2()]) {
            let case = format!("{container} / {}", sample.name);
            // Distinct bodies: an identical signed request in the same second is a replay.
            let body = json!({"name": case, "container_format": container, "disk_format": sample.disk_format});
            let made = api.json(&api.alice, Method::POST, "/v2/images", "application/json", body).await;
            assert_eq!(made.status, 201, "{case}: {}", made.text());
            let id = made.json()["id"].as_str().expect("id").to_string();
            let mut put = api.signed(&api.alice, Method::PUT, &format!("/v2/images/{id}/file"), &[]);
            put.headers.insert("content-type".into(), "application/octet-stream".into());
            put.body = sample.bytes.clone();
            let reply = api.go(&put).await;
            let shown = api.get(&api.alice, &format!("/v2/images/{id}"), &[]).await.json();
            if sample.name == "clean qcow2" {
                assert_eq!(reply.status, 204, "{case}: {}", reply.text());
                assert_eq!(shown["status"], "active", "{case}");
            } else {
                assert_eq!(reply.ims_error(415), "IMG.0415", "{case}");
                assert!(reply.json()["error"]["message"].as_str().unwrap_or_default().contains("Image failed safety checks"), "{case}");
                assert_eq!(shown["status"], "queued", "{case}");
                assert_eq!(shown["size"], Value::Null, "{case}");
            }
        }
    }
}

/// A caller's own oversized list query (1,000 tag or property filters) is the
/// caller's mistake: IMS's 400 IMG.0001 naming the limit, on `/v2/cloudimages`
/// and on the Glance-compatible `/v2/images` alike — never a 503.
#[tokio::test]
async fn a_thousand_filters_are_a_400_naming_the_limit() {
    let api = start().await;
    catalog(&api).await;
    let limit = imagery_core::query::MAX_FILTERS;
    let tags: Vec<(String, String)> = (0..1000).map(|i| ("tag".to_string(), format!("t{i}"))).collect();
    let properties: Vec<(String, String)> = (0..1000).map(|i| (format!("k{i}"), "v".to_string())).collect();
    for params in [&tags, &properties] {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for path in ["/v2/cloudimages", "/v2/images"] {
            let reply = api.get(&api.alice, path, &params).await;
            assert_eq!(reply.ims_error(400), "IMG.0001", "{path}");
            let message = reply.json()["error"]["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains(&format!("at most {limit} filters")), "{path}: {message}");
        }
    }
    // At the limit the query runs.
    let params: Vec<(&str, &str)> = tags[..limit].iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = api.get(&api.alice, "/v2/cloudimages", &params).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}
