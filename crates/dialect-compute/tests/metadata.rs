//! The image metadata resource over a real socket, with the sequence tempest's
//! ImagesMetadataTestJSON runs (each step checked by a list that must equal the
//! expected dict exactly), validation, quota, permissions and XML bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use imagery_service::ServiceConfig;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn tempest_metadata_sequence() {
    let api = start().await;
    let image = api.active(ALICE, "meta", Visibility::Private, &[("image_type", "base"), ("hw_disk_bus", "virtio")], 8).await;
    let id = image.id.to_string();
    let root = format!("/v2.1/{PA}/images/{id}/metadata");
    let set_all = |body: Value| api.json(ALICE, Method::PUT, &root, body);

    // setUp: set_image_metadata (PUT) replaces everything.
    let put = set_all(json!({"metadata": {"os_version": "value1", "os_distro": "value2"}})).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.json(), json!({"metadata": {"os_version": "value1", "os_distro": "value2"}}));
    assert_eq!(api.metadata(ALICE, &id).await, json!({"os_version": "value1", "os_distro": "value2"}));
    let detail = api.get(ALICE, &format!("/v2.1/images/{id}")).await.json();
    assert_eq!(detail["image"]["metadata"], json!({"os_version": "value1", "os_distro": "value2"}));

    // test_set_image_metadata
    let replaced = set_all(json!({"metadata": {"os_bit": "value2"}})).await;
    assert_eq!(replaced.json(), json!({"metadata": {"os_bit": "value2"}}));
    assert_eq!(api.metadata(ALICE, &id).await, json!({"os_bit": "value2"}));

    // test_update_image_metadata (POST merges)
    set_all(json!({"metadata": {"os_version": "value1", "os_distro": "value2"}})).await;
    let merged = api.json(ALICE, Method::POST, &root, json!({"metadata": {"os_version": "alt1", "os_bit": "alt2"}})).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let expected = json!({"os_version": "alt1", "os_distro": "value2", "os_bit": "alt2"});
    assert_eq!(merged.json(), json!({ "metadata": expected }));
    assert_eq!(api.metadata(ALICE, &id).await, expected);

    // test_get_image_metadata_item
    let item = api.get(ALICE, &format!("{root}/os_distro")).await;
    assert_eq!(item.status, 200);
    assert_eq!(item.json(), json!({"meta": {"os_distro": "value2"}}));

    // test_set_image_metadata_item
    let set_item = api.json(ALICE, Method::PUT, &format!("{root}/os_version"), json!({"meta": {"os_version": "alt"}})).await;
    assert_eq!(set_item.status, 200, "{}", set_item.text);
    assert_eq!(set_item.json(), json!({"meta": {"os_version": "alt"}}));
    assert_eq!(api.metadata(ALICE, &id).await, json!({"os_version": "alt", "os_distro": "value2", "os_bit": "alt2"}));

    // test_delete_image_metadata_item
    let deleted = api.delete(ALICE, &format!("{root}/os_version")).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    assert_eq!(api.metadata(ALICE, &id).await, json!({"os_distro": "value2", "os_bit": "alt2"}));

    // Missing keys: show is a bare 404, delete says why.
    let missing = api.get(ALICE, &format!("{root}/os_version")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}}));
    let missing = api.delete(ALICE, &format!("{root}/os_version")).await;
    assert_eq!(missing.json(), json!({"itemNotFound": {"code": 404, "message": "Invalid metadata key"}}));

    // Keys with spaces travel percent-encoded; PUT on a new key creates it.
    let spaced = api.json(ALICE, Method::PUT, &format!("{root}/my%20key"), json!({"meta": {"my key": "v"}})).await;
    assert_eq!(spaced.status, 200, "{}", spaced.text);
    assert_eq!(api.get(ALICE, &format!("{root}/my%20key")).await.json(), json!({"meta": {"my key": "v"}}));

    // An empty replace clears everything.
    assert_eq!(set_all(json!({"metadata": {}})).await.status, 200);
    assert_eq!(api.metadata(ALICE, &id).await, json!({}));
}

#[tokio::test]
async fn validation() {
    let api = start().await;
    let image = api.active(ALICE, "meta", Visibility::Private, &[("a", "1")], 8).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);
    let bad_requests = [
        (Method::POST, root.clone(), json!({"metadata": {"": "x"}})),
        (Method::POST, root.clone(), json!({"metadata": {"k".repeat(256): "x"}})),
        (Method::POST, root.clone(), json!({"metadata": {"k": "v".repeat(256)}})),
        (Method::POST, root.clone(), json!({"metadata": {"bad/key": "x"}})),
        (Method::POST, root.clone(), json!({"metadata": {"k": 1}})),
        (Method::POST, root.clone(), json!({"metadata": ["k"]})),
        (Method::POST, root.clone(), json!({"meta": {"k": "v"}})),
        (Method::POST, root.clone(), json!({"metadata": {"k": "v"}, "extra": 1})),
        (Method::PUT, root.clone(), json!([])),
        (Method::PUT, format!("{root}/k"), json!({"meta": {"other": "v"}})),
        (Method::PUT, format!("{root}/k"), json!({"meta": {"k": "v", "j": "w"}})),
        (Method::PUT, format!("{root}/k"), json!({"meta": {}})),
        (Method::PUT, format!("{root}/k"), json!({"metadata": {"k": "v"}})),
    ];
    for (method, path, body) in bad_requests {
        let reply = api.json(ALICE, method.clone(), &path, body.clone()).await;
        assert_eq!(reply.status, 400, "{method} {path} {body}: {}", reply.text);
        assert_eq!(reply.json()["badRequest"]["code"], 400);
    }
    let mismatch = api.json(ALICE, Method::PUT, &format!("{root}/k"), json!({"meta": {"other": "v"}})).await;
    assert_eq!(mismatch.json(), json!({"badRequest": {"code": 400, "message": "Request body and URI mismatch"}}));
    let malformed = api.send(api.req(Some(ALICE), Method::POST, &root).header("Content-Type", "application/json").body("{not json")).await;
    assert_eq!(malformed.json(), json!({"badRequest": {"code": 400, "message": "Malformed message body: cannot understand JSON"}}));
    let media = api.send(api.req(Some(ALICE), Method::POST, &root).header("Content-Type", "application/yaml").body("metadata: {}")).await;
    assert_eq!(media.status, 415);
    assert_eq!(media.json(), json!({"badMediaType": {"code": 415, "message": "Unsupported Content-Type"}}));
    let attribute = api.json(ALICE, Method::POST, &root, json!({"metadata": {"name": "renamed"}})).await;
    assert_eq!(attribute.status, 403, "{}", attribute.text);
    let reserved = api.json(ALICE, Method::POST, &root, json!({"metadata": {"os_glance_x": "1"}})).await;
    assert_eq!(reserved.status, 403, "{}", reserved.text);
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"a": "1"}), "nothing changed");

    // The legacy /v2 API drops unknown top-level keys instead of refusing them.
    let legacy =
        api.json(ALICE, Method::POST, &format!("/v2/images/{}/metadata", image.id), json!({"metadata": {"b": "2"}, "extra": 1})).await;
    assert_eq!(legacy.status, 200, "{}", legacy.text);
    assert_eq!(legacy.json(), json!({"metadata": {"a": "1", "b": "2"}}));
    let legacy_bad_key =
        api.json(ALICE, Method::POST, &format!("/v2/images/{}/metadata", image.id), json!({"metadata": {"bad/key": "2"}})).await;
    assert_eq!(legacy_bad_key.status, 400);
}

#[tokio::test]
async fn quota_permissions_and_unknown_images() {
    let config = ServiceConfig { image_property_quota: 3, ..ServiceConfig::default() };
    let api = start_with(config, |_| {}).await;
    let image = api.active(ALICE, "meta", Visibility::Private, &[("a", "1")], 8).await;
    let public = api.active(ADMIN, "public", Visibility::Public, &[("p", "1")], 8).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);

    let over = api.json(ALICE, Method::POST, &root, json!({"metadata": {"b": "2", "c": "3", "d": "4"}})).await;
    assert_eq!(over.status, 403);
    assert_eq!(over.json(), json!({"forbidden": {"code": 403, "message": "Image metadata limit exceeded"}}));
    let over = api.json(ALICE, Method::PUT, &root, json!({"metadata": {"w": "1", "x": "2", "y": "3", "z": "4"}})).await;
    assert_eq!(over.status, 403);
    let fits = api.json(ALICE, Method::PUT, &root, json!({"metadata": {"x": "2", "y": "3", "z": "4"}})).await;
    assert_eq!(fits.status, 200);

    let reader = api.json(READER_A, Method::POST, &root, json!({"metadata": {"b": "2"}})).await;
    assert_eq!(reader.status, 403);
    assert_eq!(reader.json()["forbidden"]["code"], 403);
    assert_eq!(api.delete(READER_A, &format!("{root}/x")).await.status, 403);
    assert_eq!(api.get(READER_A, &root).await.status, 200, "readers may look");
    let stranger = api.json(ALICE, Method::PUT, &format!("/v2.1/images/{}/metadata/p", public.id), json!({"meta": {"p": "2"}})).await;
    assert_eq!(stranger.status, 403);
    assert_eq!(api.metadata(BOB, &public.id.to_string()).await, json!({"p": "1"}));

    // test_image_metadata_negative: every operation on an unknown image is a 404.
    for id in ["9b5a3b9e-1c0e-4d1f-8a3b-0a1b2c3d4e5f", "not-a-uuid", "-1"] {
        let root = format!("/v2.1/images/{id}/metadata");
        let replies = [
            api.get(ALICE, &root).await,
            api.json(ALICE, Method::POST, &root, json!({"metadata": {"k": "v"}})).await,
            api.json(ALICE, Method::PUT, &root, json!({"metadata": {"k": "v"}})).await,
            api.get(ALICE, &format!("{root}/k")).await,
            api.json(ALICE, Method::PUT, &format!("{root}/k"), json!({"meta": {"k": "v"}})).await,
            api.delete(ALICE, &format!("{root}/k")).await,
        ];
        for reply in replies {
            assert_eq!(reply.status, 404, "{id}: {}", reply.text);
            assert_eq!(reply.json(), json!({"itemNotFound": {"code": 404, "message": "Image not found."}}));
        }
    }
}

#[tokio::test]
async fn xml_metadata() {
    let api = start().await;
    let image = api.active(ALICE, "meta", Visibility::Private, &[("kernel_id", "nokernel")], 8).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);
    let ns = "http://docs.openstack.org/compute/api/v1.1";

    let list = api.get(ALICE, &format!("{root}.xml")).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.header("content-type"), Some("application/xml"));
    assert_eq!(
        list.text,
        format!("<?xml version='1.0' encoding='UTF-8'?>\n<metadata xmlns=\"{ns}\"><meta key=\"kernel_id\">nokernel</meta></metadata>")
    );

    let body = format!("<?xml version='1.0' encoding='UTF-8'?>\n<metadata xmlns=\"{ns}\"><meta key=\"Label\">a &amp; b</meta><meta key=\"os\">linux</meta></metadata>");
    let merged = api
        .send(
            api.req(Some(ALICE), Method::POST, &root)
                .header("Content-Type", "application/xml")
                .header("Accept", "application/xml")
                .body(body),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert!(
        merged.text.contains("<meta key=\"Label\">a &amp; b</meta><meta key=\"kernel_id\">nokernel</meta><meta key=\"os\">linux</meta>"),
        "{}",
        merged.text
    );
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"kernel_id": "nokernel", "Label": "a & b", "os": "linux"}));

    let item = api
        .send(
            api.req(Some(ALICE), Method::PUT, &format!("{root}/os"))
                .header("Content-Type", "application/vnd.openstack.compute+xml")
                .body(format!("<meta xmlns=\"{ns}\" key=\"os\">bsd</meta>")),
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.text);
    assert_eq!(item.json(), json!({"meta": {"os": "bsd"}}), "the response follows Accept, not the body type");

    let shown = api.get_with(ALICE, &format!("{root}/os"), &[("Accept", "application/xml")]).await;
    assert_eq!(shown.text, format!("<?xml version='1.0' encoding='UTF-8'?>\n<meta xmlns=\"{ns}\" key=\"os\">bsd</meta>"));

    let replaced = api
        .send(
            api.req(Some(ALICE), Method::PUT, &format!("{root}.xml"))
                .header("Content-Type", "application/xml")
                .body("<metadata><meta key=\"only\">1</meta></metadata>"),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(
        replaced.text,
        format!("<?xml version='1.0' encoding='UTF-8'?>\n<metadata xmlns=\"{ns}\"><meta key=\"only\">1</meta></metadata>")
    );
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"only": "1"}));

    let broken = api
        .send(
            api.req(Some(ALICE), Method::POST, &root)
                .header("Content-Type", "application/xml")
                .header("Accept", "application/xml")
                .body("<metadata><meta key='a'>"),
        )
        .await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.header("content-type"), Some("application/xml; charset=UTF-8"));
    assert!(
        broken.text.contains(&format!(
            "<badRequest code=\"400\" xmlns=\"{ns}\"><message>Malformed message body: cannot understand XML</message></badRequest>"
        )),
        "{}",
        broken.text
    );
    let entity = api
        .send(
            api.req(Some(ALICE), Method::POST, &root)
                .header("Content-Type", "application/xml")
                .body("<!DOCTYPE m [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><metadata><meta key=\"a\">&e;</meta></metadata>"),
        )
        .await;
    assert_eq!(entity.status, 400);
    let wrong_root = api.send(api.req(Some(ALICE), Method::POST, &root).header("Content-Type", "application/xml").body("<server/>")).await;
    assert_eq!(wrong_root.status, 400);
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"only": "1"}));

    // Repeated attributes and encodings other than UTF-8 are refused, nothing stored.
    let hostile: [(&str, Vec<u8>); 4] = [
        ("repeated key", br#"<metadata><meta key="a" key="b">1</meta></metadata>"#.to_vec()),
        ("repeated attribute", br#"<metadata x="1" x="2"><meta key="a">1</meta></metadata>"#.to_vec()),
        ("declared UTF-16", br#"<?xml version="1.0" encoding="UTF-16"?><metadata><meta key="a">1</meta></metadata>"#.to_vec()),
        ("Latin-1 bytes", b"<?xml version='1.0' encoding='ISO-8859-1'?><metadata><meta key='a'>caf\xe9</meta></metadata>".to_vec()),
    ];
    for (what, body) in hostile {
        for accept in ["application/xml", "application/json"] {
            let reply = api
                .send(
                    api.req(Some(ALICE), Method::POST, &root)
                        .header("Content-Type", "application/xml")
                        .header("Accept", accept)
                        .body(body.clone()),
                )
                .await;
            assert_eq!(reply.status, 400, "{what}: {}", reply.text);
            if accept == "application/json" {
                assert_eq!(
                    reply.json(),
                    json!({"badRequest": {"code": 400, "message": "Malformed message body: cannot understand XML"}}),
                    "{what}"
                );
            } else {
                assert!(reply.text.contains("<badRequest code=\"400\""), "{what}: {}", reply.text);
            }
        }
    }
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"only": "1"}));
}

#[tokio::test]
async fn metadata_hook_extends_only_the_image_view() {
    let api = start_with(ServiceConfig::default(), |state| {
        state.metadata_hook = Some(std::sync::Arc::new(|image: &imagery_core::Image, metadata: &mut serde_json::Map<String, Value>| {
            metadata.insert("__imagetype".into(), json!(if image.visibility == Visibility::Public { "gold" } else { "private" }));
        }));
    })
    .await;
    let image = api.active(ALICE, "hooked", Visibility::Private, &[("os", "linux")], 8).await;
    let view = api.get(ALICE, &format!("/v2.1/images/{}", image.id)).await.json();
    assert_eq!(view["image"]["metadata"], json!({"os": "linux", "__imagetype": "private"}));
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"os": "linux"}));
}
