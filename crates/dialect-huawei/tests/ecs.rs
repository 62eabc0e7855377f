//! ECS's native OpenStack image API on the Huawei listener, with signed
//! requests: Nova's views with Huawei's attributes in `metadata`, the metadata
//! resource left exactly as stored, links, project checks, microversions, delete.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn detail_and_show_add_huawei_metadata_to_novas_view() {
    let api = start().await;
    let member = ["member", "reader"];
    let image = api
        .active(
            &api.alice,
            &member,
            "cirros",
            Visibility::Private,
            &[("os_distro", "centos"), ("os_version", "7.3"), ("architecture", "x86_64"), ("hw_disk_bus", "scsi")],
            512,
        )
        .await;
    let project = api.alice.project.clone();
    for version in ["v2", "v2.1"] {
        let reply = api.get(&api.alice, &format!("/{version}/{project}/images/{}", image.id), &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(reply.header("x-request-id").is_some());
        let view = reply.json()["image"].clone();
        assert_eq!(view["status"], "ACTIVE");
        assert_eq!(view["progress"], 100);
        assert_eq!(view["OS-EXT-IMG-SIZE:size"], 512);
        let metadata = &view["metadata"];
        assert_eq!(metadata["__os_version"], "CentOS 7.3 64bit");
        assert_eq!(metadata["__os_type"], "Linux");
        assert_eq!(metadata["__platform"], "CentOS");
        assert_eq!(metadata["__os_bit"], "64");
        assert_eq!(metadata["__imagetype"], "private");
        assert_eq!(metadata["__isregistered"], "true");
        assert_eq!(metadata["__support_kvm"], "true");
        assert_eq!(metadata["virtual_env_type"], "FusionCompute");
        assert_eq!(metadata["hw_disk_bus"], "scsi");
        let base = api.base.clone();
        let links = view["links"].as_array().expect("links");
        assert_eq!(links[0]["href"], format!("{base}/{version}/{project}/images/{}", image.id));
        assert_eq!(links[1]["href"], format!("{base}/{project}/images/{}", image.id));
        assert_eq!(links[2]["href"], format!("{base}/images/{}", image.id));
        assert_eq!(links[2]["type"], "application/vnd.openstack.image");
    }
    let detail = api.get(&api.alice, &format!("/v2/{project}/images/detail"), &[("status", "ACTIVE")]).await.json();
    assert_eq!(detail["images"][0]["metadata"]["__platform"], "CentOS");
    let index = api.get(&api.alice, &format!("/v2/{project}/images"), &[]).await.json();
    let keys: Vec<&String> = index["images"][0].as_object().expect("summary").keys().collect();
    assert_eq!(keys, ["id", "links", "name"]);
}

#[tokio::test]
async fn the_image_type_depends_on_who_asks() {
    let api = start().await;
    let member = ["member", "reader"];
    let shared = api.image(&api.alice, &member, "to-share", Visibility::Shared, &[]).await;
    api.service.add_member(&api.alice.caller(&member), shared.id, &api.bob.project).await.expect("share");
    api.service
        .set_member_status(&api.bob.caller(&member), shared.id, &api.bob.project, imagery_core::MemberStatus::Accepted)
        .await
        .expect("accept");
    let as_alice = api.get(&api.alice, &format!("/v2.1/{}/images/{}", api.alice.project, shared.id), &[]).await.json();
    assert_eq!(as_alice["image"]["metadata"]["__imagetype"], "private");
    let as_bob = api.get(&api.bob, &format!("/v2.1/{}/images/{}", api.bob.project, shared.id), &[]).await.json();
    assert_eq!(as_bob["image"]["metadata"]["__imagetype"], "shared");
}

#[tokio::test]
async fn the_metadata_resource_shows_exactly_what_is_stored() {
    let api = start().await;
    let image = api.image(&api.alice, &["member", "reader"], "meta", Visibility::Private, &[("os_distro", "ubuntu")]).await;
    let path = format!("/v2.1/{}/images/{}/metadata", api.alice.project, image.id);
    let reply = api.get(&api.alice, &path, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), json!({"metadata": {"os_distro": "ubuntu"}}));
    // Tempest's sequence: replace, merge, show, set and delete one key.
    let replaced = api
        .json(&api.alice, Method::PUT, &path, "application/json", json!({"metadata": {"os_version": "value1", "os_distro": "value2"}}))
        .await;
    assert_eq!(replaced.json(), json!({"metadata": {"os_version": "value1", "os_distro": "value2"}}));
    assert_eq!(api.get(&api.alice, &path, &[]).await.json(), json!({"metadata": {"os_version": "value1", "os_distro": "value2"}}));
    let merged = api.json(&api.alice, Method::POST, &path, "application/json", json!({"metadata": {"__os_type": "Linux"}})).await;
    assert_eq!(merged.json(), json!({"metadata": {"os_version": "value1", "os_distro": "value2", "__os_type": "Linux"}}));
    let one = api.get(&api.alice, &format!("{path}/__os_type"), &[]).await;
    assert_eq!(one.json(), json!({"meta": {"__os_type": "Linux"}}));
    assert_eq!(api.get(&api.alice, &format!("{path}/__platform"), &[]).await.status, 404);
    assert_eq!(api.delete(&api.alice, &format!("{path}/__os_type")).await.status, 204);
    assert_eq!(api.get(&api.alice, &path, &[]).await.json(), json!({"metadata": {"os_version": "value1", "os_distro": "value2"}}));
    // The detail view still shows the derived attributes.
    let view = api.get(&api.alice, &format!("/v2.1/{}/images/{}", api.alice.project, image.id), &[]).await.json();
    assert_eq!(view["image"]["metadata"]["__os_type"], "Other");
    assert_eq!(view["image"]["metadata"]["os_version"], "value1");
}

#[tokio::test]
async fn projects_microversions_and_delete_follow_nova() {
    let api = start().await;
    let image = api.image(&api.alice, &["member", "reader"], "doomed", Visibility::Private, &[]).await;
    // Another project's URL.
    let reply = api.get(&api.alice, &format!("/v2.1/{}/images/{}", api.bob.project, image.id), &[]).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.json()["badRequest"]["message"].as_str().is_some_and(|m| m.contains("project_id")));
    // Microversions: the image proxy ends at 2.35.
    let mut req = api.signed(&api.alice, Method::GET, &format!("/v2.1/{}/images/{}", api.alice.project, image.id), &[]);
    req.headers.insert("openstack-api-version".into(), "compute 2.36".into());
    let reply = api.go(&req).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["itemNotFound"]["message"], "The resource could not be found.");
    req.headers.insert("openstack-api-version".into(), "compute 2.35".into());
    let reply = api.go(&req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("openstack-api-version"), Some("compute 2.35"));
    // Unknown ids, then delete.
    let reply = api.get(&api.alice, &format!("/v2.1/{}/images/00000000-0000-0000-0000-000000000000", api.alice.project), &[]).await;
    assert_eq!(reply.json(), json!({"itemNotFound": {"code": 404, "message": "Image not found."}}));
    let reply = api.delete(&api.alice, &format!("/v2/{}/images/{}", api.alice.project, image.id)).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_eq!(api.get(&api.alice, &format!("/v2/{}/images/{}", api.alice.project, image.id), &[]).await.status, 404);
    // Version documents are there for discovery.
    let doc = api.get(&api.alice, &format!("/v2.1/{}/", api.alice.project), &[]).await;
    assert_eq!(doc.json()["version"]["id"], "v2.1");
    // Unsigned ECS calls get the gateway's 401.
    let unsigned = api.send(api.client.get(format!("{}/v2.1/{}/images", api.base, api.alice.project))).await;
    unsigned.gateway_401();
}
