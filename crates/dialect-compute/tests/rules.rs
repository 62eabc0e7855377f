//! The Nova column of the rule matrix (`imagery_test_support::rules`): each
//! row's invalid input through the Nova image proxy (show, delete, metadata),
//! answered as a Nova fault `{"<faultName>": {"code", "message"}}` with Nova's own
//! limits (255-character metadata values, its key pattern). Rows about creating
//! or editing image attributes have no Nova operation: see `no_such_operation`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use imagery_service::NewImage;
use imagery_test_support::rules::{chars, expect, limit, refusal, Cloud, Outcome, Row};
use reqwest::Method;
use serde_json::json;

/// Assert the Nova cell of `row` for a refusal; returns the fault's message.
fn assert_cell(row: Row, reply: &Reply) -> String {
    let (status, fault, _) = refusal(row, Cloud::Nova);
    assert_eq!(reply.status, status, "{row:?}: {}", reply.text);
    let body = reply.json();
    assert_eq!(body[fault]["code"], status, "{row:?}: {body}");
    body[fault]["message"].as_str().unwrap_or_else(|| panic!("no message: {body}")).to_string()
}

#[test]
fn no_such_operation() {
    // Nova's image API only shows, lists and deletes images and edits their
    // metadata; names, formats, sizes, tags and imports belong to Glance.
    for row in [Row::LongName, Row::MinDiskOrRamOutOfRange, Row::UnknownFormat, Row::LongTag, Row::NameTaken, Row::ImportNotAllowed] {
        assert!(matches!(expect(row, Cloud::Nova), Outcome::NoSuchOperation(_)), "{row:?}");
    }
}

#[tokio::test]
async fn long_property_value() {
    let api = start().await;
    let image = api.queued(ALICE, "meta", Visibility::Private, &[]).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);
    let max = limit(Row::LongPropertyValue, Cloud::Nova);
    let ok = api.json(ALICE, Method::POST, &root, json!({"metadata": {"k": chars('v', max)}})).await;
    assert_eq!(ok.status, 200, "a value of {max} is fine: {}", ok.text);
    let long = chars('w', max + 1);
    let message = assert_cell(Row::LongPropertyValue, &api.json(ALICE, Method::POST, &root, json!({"metadata": {"k": long}})).await);
    assert!(message.starts_with("Invalid input for field/attribute k."), "{message}");
    assert!(message.ends_with(&format!("'{long}' is too long")), "{message}");
    let put_one = api.json(ALICE, Method::PUT, &format!("{root}/k"), json!({"meta": {"k": long}})).await;
    assert_cell(Row::LongPropertyValue, &put_one);
    let replace = api.json(ALICE, Method::PUT, &root, json!({"metadata": {"k": long}})).await;
    assert_cell(Row::LongPropertyValue, &replace);
    // Glance's own limit is far larger: the same value is fine there.
    assert!(limit(Row::LongPropertyValue, Cloud::Glance) > max);
    assert_eq!(api.metadata(ALICE, &image.id.to_string()).await, json!({"k": chars('v', max)}), "nothing changed");
}

#[tokio::test]
async fn bad_property_key() {
    let api = start().await;
    let image = api.queued(ALICE, "meta", Visibility::Private, &[]).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);
    for key in ["bad/key", "tab\tkey", "ünïcode"] {
        let reply = api.json(ALICE, Method::POST, &root, json!({"metadata": {key: "v"}})).await;
        let message = assert_cell(Row::BadPropertyKey, &reply);
        assert!(message.contains("Additional properties are not allowed"), "{key}: {message}");
    }
    // Glance's rule is wider: Nova's pattern is a parameter of the same rule.
    let ok = api.json(ALICE, Method::POST, &root, json!({"metadata": {"a-Z_0:9. x": "v"}})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn delete_protected() {
    let api = start().await;
    let new = NewImage {
        name: Some("kept".into()),
        protected: true,
        container_format: Some("bare".into()),
        disk_format: Some("raw".into()),
        ..NewImage::default()
    };
    let image = api.service.create_image(&ALICE.caller(), new).await.expect("create");
    let path = format!("/v2.1/images/{}", image.id);
    let message = assert_cell(Row::DeleteProtected, &api.delete(ALICE, &path).await);
    assert_eq!(message, "You are not allowed to delete the image.");
    assert_eq!(api.get(ALICE, &path).await.status, 200, "still there");
}

#[tokio::test]
async fn reader_writes() {
    let api = start().await;
    let image = api.queued(ALICE, "alices", Visibility::Private, &[]).await;
    let root = format!("/v2.1/images/{}/metadata", image.id);
    assert_eq!(api.get(READER_A, &root).await.status, 200, "readers may look");
    assert_cell(Row::ReaderWrites, &api.json(READER_A, Method::POST, &root, json!({"metadata": {"k": "v"}})).await);
    assert_cell(Row::ReaderWrites, &api.json(READER_A, Method::PUT, &format!("{root}/k"), json!({"meta": {"k": "v"}})).await);
    let message = assert_cell(Row::ReaderWrites, &api.delete(READER_A, &format!("/v2.1/images/{}", image.id)).await);
    assert_eq!(message, "You are not allowed to delete the image.");
}

#[tokio::test]
async fn other_project_writes() {
    let api = start().await;
    let public = api.queued(ADMIN, "public", Visibility::Public, &[]).await;
    let root = format!("/v2.1/images/{}/metadata", public.id);
    assert_eq!(api.get(BOB, &root).await.status, 200, "Bob sees it");
    assert_cell(Row::OtherProjectWrites, &api.json(BOB, Method::POST, &root, json!({"metadata": {"k": "v"}})).await);
    assert_cell(Row::OtherProjectWrites, &api.delete(BOB, &format!("{root}/k")).await);
    assert_cell(Row::OtherProjectWrites, &api.delete(BOB, &format!("/v2.1/images/{}", public.id)).await);
}

#[tokio::test]
async fn invisible_image() {
    let api = start().await;
    let private = api.queued(ALICE, "alices", Visibility::Private, &[]).await;
    let image = format!("/v2.1/images/{}", private.id);
    let root = format!("{image}/metadata");
    let replies = [
        api.get(BOB, &image).await,
        api.get(BOB, &root).await,
        api.json(BOB, Method::POST, &root, json!({"metadata": {"k": "v"}})).await,
        api.delete(BOB, &image).await,
    ];
    for reply in &replies {
        assert_eq!(assert_cell(Row::InvisibleImage, reply), "Image not found.");
    }
}
