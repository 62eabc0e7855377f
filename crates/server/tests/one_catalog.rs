//! One catalog, many views: an image made through one dialect is the same image
//! in the others.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn glance_image_seen_by_nova_and_nova_metadata_seen_by_glance() {
    let s = start(true).await;
    let image = s
        .create(
            ALICE,
            json!({"name": "shared-view", "disk_format": "raw", "container_format": "bare", "min_disk": 2, "architecture": "x86_64"}),
        )
        .await;
    let id = image["id"].as_str().unwrap().to_string();
    assert_eq!(s.upload(ALICE, &id, vec![1u8; 4096]).await, 204);
    let nova = |method: Method, path: &str| {
        s.client
            .request(method, format!("{}{}", s.compute, path))
            .header("X-Identity-Status", "Confirmed")
            .header("X-Project-Id", ALICE.project)
            .header("X-Roles", ALICE.roles)
            .header("OpenStack-API-Version", "compute 2.35")
    };
    let r = nova(Method::GET, &format!("/v2.1/images/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("openstack-api-version").unwrap(), "compute 2.35");
    let body: Value = r.json().await.unwrap();
    let img = &body["image"];
    assert_eq!(img["id"], id);
    assert_eq!(img["name"], "shared-view");
    assert_eq!(img["status"], "ACTIVE");
    assert_eq!(img["progress"], 100);
    assert_eq!(img["minDisk"], 2);
    assert_eq!(img["OS-EXT-IMG-SIZE:size"], 4096);
    assert_eq!(img["metadata"], json!({"architecture": "x86_64"}));
    let links = img["links"].as_array().unwrap();
    assert_eq!(links.len(), 3);
    assert_eq!(links[2]["href"], format!("{}/images/{id}", s.image));
    // Metadata set through Nova is a Glance property.
    let r = nova(Method::POST, &format!("/v2.1/images/{id}/metadata"))
        .json(&json!({"metadata": {"os_distro": "cirros"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, glance) = s.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(glance["os_distro"], "cirros");
    // Deleted through Nova: gone in Glance.
    assert_eq!(nova(Method::DELETE, &format!("/v2.1/images/{id}")).send().await.unwrap().status(), 204);
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.0, 404);
    // 2.36 cuts the proxy off.
    let r = s
        .client
        .get(format!("{}/v2.1/images", s.compute))
        .header("X-Identity-Status", "Confirmed")
        .header("X-Project-Id", ALICE.project)
        .header("X-Roles", ALICE.roles)
        .header("OpenStack-API-Version", "compute 2.36")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn keystone_catalog_lists_identity_image_and_compute() {
    let s = start(false).await;
    let r = password_login(&s, "admin", &admin_password(&s), "admin").await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let catalog = body["token"]["catalog"].as_array().unwrap();
    for service in ["identity", "image", "compute"] {
        let entry = catalog.iter().find(|c| c["type"] == service).unwrap_or_else(|| panic!("{service} missing"));
        let interfaces: Vec<&str> = entry["endpoints"].as_array().unwrap().iter().map(|e| e["interface"].as_str().unwrap()).collect();
        for i in ["public", "internal", "admin"] {
            assert!(interfaces.contains(&i), "{service} lacks {i}");
        }
        assert!(entry["endpoints"].as_array().unwrap().iter().all(|e| e["region"] == "RegionOne"));
    }
    let image_url = catalog.iter().find(|c| c["type"] == "image").unwrap()["endpoints"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(image_url, s.image);
    s.stop().await;
}
