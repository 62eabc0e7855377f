//! The image proxy over a real socket: index, detail and show views (JSON and XML),
//! filters, paging links, visibility, and delete with Nova's 404/403 rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use imagery_core::Visibility;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(doc: &Value) -> Vec<String> {
    doc["images"].as_array().into_iter().flatten().filter_map(|i| i["id"].as_str().map(str::to_string)).collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect()
}

#[tokio::test]
async fn index_detail_and_show_views() {
    let api = start().await;
    let props = [("architecture", "x86_64"), ("auto_disk_config", "True"), ("kernel_id", "nokernel")];
    let image = api.active(ALICE, "fakeimage7", Visibility::Private, &props, 1024).await;
    let snapshot = api
        .active(
            ALICE,
            "snap",
            Visibility::Private,
            &[("instance_uuid", "b6000000-0000-4000-8000-000000000001"), ("image_type", "snapshot")],
            8,
        )
        .await;
    let queued = api.queued(ALICE, "pending", Visibility::Private, &[("auto_disk_config", "no")]).await;
    let id = image.id.to_string();
    let base = &api.base;

    let index = api.get(ALICE, "/v2.1/images").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.header("content-type"), Some("application/json"));
    let doc = index.json();
    assert_eq!(keys(&doc), ["images".to_string()].into_iter().collect());
    assert_eq!(doc["images"].as_array().map(Vec::len), Some(3));
    let item = doc["images"].as_array().and_then(|a| a.iter().find(|i| i["id"] == id.as_str())).cloned().unwrap_or_default();
    assert_eq!(
        item,
        json!({"id": id, "name": "fakeimage7", "links": [
            {"rel": "self", "href": format!("{base}/v2.1/images/{id}")},
            {"rel": "bookmark", "href": format!("{base}/images/{id}")},
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": format!("{GLANCE}/images/{id}")},
        ]})
    );

    let show = api.get(ALICE, &format!("/v2.1/{PA}/images/{id}")).await;
    assert_eq!(show.status, 200, "{}", show.text);
    let view = show.json()["image"].clone();
    let stamp = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        view,
        json!({
            "id": id, "name": "fakeimage7", "status": "ACTIVE", "progress": 100, "minDisk": 0, "minRam": 0,
            "created": stamp(&image.created_at), "updated": stamp(&image.updated_at),
            "OS-EXT-IMG-SIZE:size": 1024, "OS-DCF:diskConfig": "AUTO",
            "metadata": {"architecture": "x86_64", "auto_disk_config": "True", "kernel_id": "nokernel"},
            "links": [
                {"rel": "self", "href": format!("{base}/v2.1/{PA}/images/{id}")},
                {"rel": "bookmark", "href": format!("{base}/{PA}/images/{id}")},
                {"rel": "alternate", "type": "application/vnd.openstack.image", "href": format!("{GLANCE}/images/{id}")},
            ],
        })
    );

    let snap = api.get(ALICE, &format!("/v2/images/{}", snapshot.id)).await.json()["image"].clone();
    assert_eq!(
        snap["server"],
        json!({"id": "b6000000-0000-4000-8000-000000000001", "links": [
            {"rel": "self", "href": format!("{base}/v2/servers/b6000000-0000-4000-8000-000000000001")},
            {"rel": "bookmark", "href": format!("{base}/servers/b6000000-0000-4000-8000-000000000001")},
        ]})
    );
    assert!(snap.get("OS-DCF:diskConfig").is_none());
    assert_eq!(snap["links"][0]["href"], format!("{base}/v2/images/{}", snapshot.id));

    let pending = api.get(ALICE, &format!("/v2.1/images/{}", queued.id)).await.json()["image"].clone();
    assert_eq!((pending["status"].clone(), pending["progress"].clone()), (json!("SAVING"), json!(25)));
    assert_eq!(pending["OS-EXT-IMG-SIZE:size"], 0);
    assert_eq!(pending["OS-DCF:diskConfig"], "MANUAL");

    let detail = api.get(ALICE, "/v2.1/images/detail").await.json();
    let allowed: BTreeSet<String> = [
        "id",
        "name",
        "status",
        "progress",
        "minDisk",
        "minRam",
        "created",
        "updated",
        "metadata",
        "links",
        "OS-EXT-IMG-SIZE:size",
        "OS-DCF:diskConfig",
        "server",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    for item in doc_items(&detail) {
        assert!(keys(item).is_subset(&allowed), "{item}");
        assert_eq!(item["links"].as_array().map(Vec::len), Some(3));
    }
    assert_eq!(detail["images"].as_array().map(Vec::len), Some(3));
}

fn doc_items(doc: &Value) -> Vec<&Value> {
    doc["images"].as_array().into_iter().flatten().collect()
}

#[tokio::test]
async fn xml_views() {
    let api = start().await;
    let image =
        api.active(ALICE, "fake<image>&7", Visibility::Private, &[("kernel_id", "nokernel"), ("auto_disk_config", "True")], 64).await;
    let id = image.id.to_string();
    let base = &api.base;

    let show = api.get_with(ALICE, &format!("/v2.1/{PA}/images/{id}"), &[("Accept", "application/xml")]).await;
    assert_eq!(show.status, 200);
    assert_eq!(show.header("content-type"), Some("application/xml"));
    let xml = &show.text;
    assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?>\n<image xmlns:OS-EXT-IMG-SIZE=\"http://docs.openstack.org/compute/ext/image_size/api/v1.1\" xmlns:OS-DCF=\"http://docs.openstack.org/compute/ext/disk_config/api/v1.1\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns=\"http://docs.openstack.org/compute/api/v1.1\" status=\"ACTIVE\""), "{xml}");
    assert!(xml.contains("name=\"fake&lt;image&gt;&amp;7\""), "{xml}");
    assert!(
        xml.contains(&format!(
            "minDisk=\"0\" progress=\"100\" minRam=\"0\" id=\"{id}\" OS-EXT-IMG-SIZE:size=\"64\" OS-DCF:diskConfig=\"AUTO\">"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<metadata><meta key=\"auto_disk_config\">True</meta><meta key=\"kernel_id\">nokernel</meta></metadata>"),
        "{xml}"
    );
    assert!(xml.contains(&format!("<atom:link href=\"{base}/v2.1/{PA}/images/{id}\" rel=\"self\"/>")), "{xml}");
    assert!(xml.contains(&format!("<atom:link href=\"{base}/{PA}/images/{id}\" rel=\"bookmark\"/>")), "{xml}");
    assert!(
        xml.contains(&format!(
            "<atom:link href=\"{GLANCE}/images/{id}\" type=\"application/vnd.openstack.image\" rel=\"alternate\"/></image>"
        )),
        "{xml}"
    );

    let suffixed = api.get(ALICE, &format!("/v2/images/{id}.xml")).await;
    assert_eq!(suffixed.status, 200);
    assert!(suffixed.text.contains(&format!("<atom:link href=\"{base}/v2/images/{id}\" rel=\"self\"/>")), "{}", suffixed.text);

    let index = api.get(ALICE, "/v2.1/images.xml?limit=1").await;
    assert_eq!(index.status, 200);
    assert!(
        index.text.contains("<images xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns=\"http://docs.openstack.org/compute/api/v1.1\">"),
        "{}",
        index.text
    );
    assert!(index.text.contains(&format!("<image name=\"fake&lt;image&gt;&amp;7\" id=\"{id}\"><atom:link")), "{}", index.text);
    assert!(
        index.text.contains(&format!("<atom:link href=\"{base}/v2.1/images?limit=1&amp;marker={id}\" rel=\"next\"/></images>")),
        "{}",
        index.text
    );

    let detail = api.get_with(ALICE, "/v2.1/images/detail", &[("Accept", "application/vnd.openstack.compute+xml")]).await;
    assert_eq!(detail.status, 200);
    assert!(detail.text.contains("<images xmlns:OS-EXT-IMG-SIZE="), "{}", detail.text);
    assert!(detail.text.contains("<image status=\"ACTIVE\""), "{}", detail.text);
}

#[tokio::test]
async fn filters() {
    let api = start().await;
    let server1 = "11111111-1111-4111-8111-111111111111";
    let server2 = "22222222-2222-4222-8222-222222222222";
    let base_image = api.active(ALICE, "image1", Visibility::Private, &[("os_distro", "cirros")], 1024).await;
    let image2 = api.active(ALICE, "image2", Visibility::Private, &[], 1024).await;
    let snap1 = api.active(ALICE, "snapshot1", Visibility::Private, &[("instance_uuid", server1), ("image_type", "snapshot")], 8).await;
    let snap2 = api.active(ALICE, "snapshot2", Visibility::Private, &[("instance_uuid", server1), ("image_type", "snapshot")], 8).await;
    let snap3 = api.active(ALICE, "snapshot3", Visibility::Private, &[("instance_uuid", server2), ("image_type", "snapshot")], 8).await;
    let queued = api.queued(ALICE, "queued", Visibility::Private, &[]).await;
    let big = api
        .service
        .update_image(&ALICE.caller(), image2.id, |img| {
            img.min_disk = 20;
            img.min_ram = 2048;
            Ok(())
        })
        .await
        .expect("update");

    let set = |images: &[&imagery_core::Image]| images.iter().map(|i| i.id.to_string()).collect::<BTreeSet<_>>();

    assert_eq!(list(&api, "status=ACTIVE").await, set(&[&base_image, &big, &snap1, &snap2, &snap3]));
    assert_eq!(list(&api, "status=SAVING").await, BTreeSet::new());
    assert_eq!(list(&api, "status=queued").await, set(&[&queued]));
    assert_eq!(list(&api, "name=image1").await, set(&[&base_image]));
    assert_eq!(list(&api, &format!("server={server1}")).await, set(&[&snap1, &snap2]));
    let href = format!("server={}", form_encode(&format!("{}/v2.1/{PA}/servers/{server2}", api.base)));
    assert_eq!(list(&api, &href).await, set(&[&snap3]));
    let bookmark = format!("server={}", form_encode(&format!("{}/{PA}/servers/{server2}", api.base)));
    assert_eq!(list(&api, &bookmark).await, set(&[&snap3]));
    assert_eq!(list(&api, "type=snapshot").await, set(&[&snap1, &snap2, &snap3]));
    assert_eq!(list(&api, "minDisk=10").await, set(&[&big]));
    assert_eq!(list(&api, "minRam=2048&minDisk=20").await, set(&[&big]));
    assert_eq!(list(&api, "property-os_distro=cirros").await, set(&[&base_image]));
    assert_eq!(list(&api, "sort_key=name&unknown=1&name=snapshot3").await, set(&[&snap3]));

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = api.active(ALICE, "image3", Visibility::Private, &[], 16).await;
    let since = later.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let found = list(&api, &format!("changes-since={}", form_encode(&since))).await;
    assert_eq!(found, set(&[&later]));

    for (query, message) in [
        ("status=bogus", "Invalid status value: bogus"),
        ("limit=-1", "Invalid input received: limit must be >= 0"),
        ("limit=ten", "Invalid input received: limit must be an integer"),
        ("minRam=lots", "Invalid input received: minRam must be an integer"),
        ("changes-since=yesterday", "Invalid changes-since value: yesterday"),
        ("marker=not-an-id", "Invalid marker. Image not-an-id could not be found."),
    ] {
        let reply = api.get(ALICE, &format!("/v2.1/images?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json(), json!({"badRequest": {"code": 400, "message": message}}), "{query}");
    }
    let unknown_marker = api.get(ALICE, "/v2.1/images?marker=00000000-0000-0000-0000-000000000000").await;
    assert_eq!(unknown_marker.status, 400);
}

/// The ids a detail list returns for `query`, checking that the index agrees.
async fn list(api: &Api, query: &str) -> BTreeSet<String> {
    let reply = api.get(ALICE, &format!("/v2.1/images/detail?{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    let index = api.get(ALICE, &format!("/v2.1/{PA}/images?{query}")).await;
    assert_eq!(ids(&index.json()), ids(&reply.json()), "index and detail agree on {query}");
    ids(&reply.json()).into_iter().collect()
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn paging_links() {
    let api = start().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(api.active(ALICE, &format!("img{n}"), Visibility::Private, &[], 8).await.id.to_string());
    }
    let first = api.get(ALICE, &format!("/v2.1/{PA}/images/detail?status=ACTIVE&limit=2")).await.json();
    let page1 = ids(&first);
    assert_eq!(page1.len(), 2);
    let next = first["images_links"][0]["href"].as_str().unwrap_or_default().to_string();
    assert_eq!(first["images_links"][0]["rel"], "next");
    assert_eq!(next, format!("{}/v2.1/{PA}/images/detail?limit=2&marker={}&status=ACTIVE", api.base, page1[1]));

    let mut seen = page1.clone();
    let mut href = next;
    loop {
        let path = href.trim_start_matches(&api.base).to_string();
        let page = api.get(ALICE, &path).await.json();
        seen.extend(ids(&page));
        match page["images_links"][0]["href"].as_str() {
            Some(h) => href = h.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>(), created.iter().collect::<BTreeSet<_>>());

    let empty_marker = api.get(ALICE, "/v2/images?limit=1&marker=").await;
    assert_eq!(ids(&empty_marker.json()).len(), 1, "an empty marker is ignored, as Nova drops it");
    let index = api.get(ALICE, "/v2/images?limit=1").await.json();
    assert_eq!(index["images_links"][0]["href"], format!("{}/v2/images?limit=1&marker={}", api.base, ids(&index)[0]));
    let all = api.get(ALICE, "/v2.1/images?limit=5").await.json();
    assert_eq!(ids(&all).len(), 5);
    assert!(all["images_links"].is_array(), "a full page links to the next one");
    let unlimited = api.get(ALICE, "/v2.1/images").await.json();
    assert_eq!(ids(&unlimited).len(), 5);
    assert!(unlimited.get("images_links").is_none());
}

#[tokio::test]
async fn visibility() {
    let api = start().await;
    let private_b = api.active(BOB, "bob-private", Visibility::Private, &[], 8).await;
    let public = api.active(ADMIN, "public", Visibility::Public, &[], 8).await;
    let mine = api.active(ALICE, "alice-private", Visibility::Private, &[], 8).await;

    let listed: BTreeSet<String> = ids(&api.get(ALICE, "/v2.1/images/detail").await.json()).into_iter().collect();
    assert_eq!(listed, [public.id.to_string(), mine.id.to_string()].into_iter().collect());
    let hidden = api.get(ALICE, &format!("/v2.1/images/{}", private_b.id)).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.json(), json!({"itemNotFound": {"code": 404, "message": "Image not found."}}));
    assert_eq!(api.get(ALICE, &format!("/v2.1/images/{}/metadata", private_b.id)).await.status, 404);
    assert_eq!(api.delete(ALICE, &format!("/v2.1/images/{}", private_b.id)).await.status, 404);
    assert_eq!(api.get(ALICE, &format!("/v2.1/images/{}", public.id)).await.status, 200);

    let everything: BTreeSet<String> = ids(&api.get(ADMIN, "/v2.1/images").await.json()).into_iter().collect();
    assert!(everything.contains(&private_b.id.to_string()));
}

#[tokio::test]
async fn delete() {
    let api = start().await;
    let image = api.active(ALICE, "doomed", Visibility::Private, &[], 8).await;
    let public = api.active(ADMIN, "public", Visibility::Public, &[], 8).await;
    let path = format!("/v2.1/{PA}/images/{}", image.id);

    let reader = api.delete(READER_A, &path).await;
    assert_eq!(reader.status, 403);
    assert_eq!(reader.json(), json!({"forbidden": {"code": 403, "message": "You are not allowed to delete the image."}}));
    let stranger = api.delete(ALICE, &format!("/v2.1/images/{}", public.id)).await;
    assert_eq!(stranger.status, 403);

    let deleted = api.delete(ALICE, &path).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert!(deleted.headers.get("x-compute-request-id").is_some());
    assert_eq!(api.get(ALICE, &path).await.status, 404);
    assert_eq!(api.delete(ALICE, &path).await.status, 404);

    // Tempest's ImagesDeleteNegativeTestJSON: every one of these is a 404.
    let uuid = "3f5e6a8b-0c1d-4e2f-9a0b-1c2d3e4f5a6b";
    for id in ["image-name-123", uuid, "", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "-1", &format!("{uuid}1"), "detail"] {
        for prefix in ["/v2.1", "/v2", &format!("/v2.1/{PA}") as &str] {
            let reply = api.delete(ALICE, &format!("{prefix}/images/{id}")).await;
            assert_eq!(reply.status, 404, "DELETE {prefix}/images/{id}: {}", reply.text);
            assert_eq!(reply.json(), json!({"itemNotFound": {"code": 404, "message": "Image not found."}}));
        }
        let show = api.get(ALICE, &format!("/v2.1/images/{id}")).await;
        if !id.is_empty() && id != "detail" {
            assert_eq!(show.status, 404, "GET {id}");
        }
    }
    let other_method = api.send(api.req(Some(ALICE), Method::PATCH, &path)).await;
    assert_eq!(other_method.status, 405);
}
