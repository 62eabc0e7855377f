//! The Azure column of the rule matrix (`imagery_test_support::rules`): each
//! row's invalid input through ARM `Microsoft.Compute/images`, answered in ARM's
//! `{"error": {"code","message","target","details"}}` envelope with ARM's own
//! limits (80-character names, tags of 512/256 characters).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use imagery_service::NewImage;
use imagery_test_support::rules::{chars, expect, limit, refusal, Cloud, Outcome, Row};
use reqwest::Method;
use serde_json::{json, Value};

const BLOB: &str = "https://example.blob.core.windows.net/vhds/disk.vhd";
const DEFAULT_RG: &str = "imagery-default";

/// Assert the Azure cell of `row` for a refusal: status, ARM code, a message.
fn assert_cell(row: Row, r: &Reply) {
    let (status, code, _) = refusal(row, Cloud::Azure);
    assert_eq!(r.status, status, "{row:?}: {}", r.body);
    assert_eq!(r.code(), code, "{row:?}: {}", r.body);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
}

fn accepted(row: Row) -> u16 {
    match expect(row, Cloud::Azure) {
        Outcome::Accepted { status } => status,
        other => panic!("{row:?} × Azure is {other:?}"),
    }
}

async fn put(w: &World, token: &str, name: &str, body: Value) -> Reply {
    w.call(Method::PUT, &w.image_path("rg", name, COMPUTE), Some(token), Some(body)).await
}

fn with_tags(tags: Value) -> Value {
    let mut body = blob_image(BLOB);
    body["tags"] = tags;
    body
}

/// An image made through another dialect (the service) as `caller`, shown by ARM
/// in the default group as `image-<uuid>`.
async fn foreign(w: &World, who: &Principal, new: NewImage) -> String {
    let new = NewImage { container_format: Some("bare".into()), disk_format: Some("raw".into()), ..new };
    let image = w.service.create_image(&w.caller(who), new).await.expect("create image");
    format!("image-{}", image.id)
}

#[tokio::test(flavor = "multi_thread")]
async fn long_name() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let max = limit(Row::LongName, Cloud::Azure);
    let r = put(&w, &token, &chars('a', max), blob_image(BLOB)).await;
    assert_eq!(r.status, 201, "a name of {max} is fine: {}", r.body);
    let r = put(&w, &token, &chars('b', max + 1), blob_image(BLOB)).await;
    assert_cell(Row::LongName, &r);
    assert!(r.body["error"]["message"].as_str().unwrap_or_default().contains("80 characters"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_property_value() {
    // Tags are ARM's custom properties.
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let max = limit(Row::LongPropertyValue, Cloud::Azure);
    let r = put(&w, &token, "at-limit", with_tags(json!({"env": chars('v', max)}))).await;
    assert_eq!(r.status, 201, "a tag value of {max} is fine: {}", r.body);
    let r = put(&w, &token, "over-limit", with_tags(json!({"env": chars('v', max + 1)}))).await;
    assert_cell(Row::LongPropertyValue, &r);
    assert_eq!(r.body["error"]["target"], "tags", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_property_key() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let r = put(&w, &token, "bad-key", with_tags(json!({"a/b": "x"}))).await;
    assert_cell(Row::BadPropertyKey, &r);
    assert_eq!(r.body["error"]["target"], "tags", "{}", r.body);
}

#[test]
fn no_min_disk() {
    // ARM images have no min_disk or min_ram.
    assert!(matches!(expect(Row::MinDiskOrRamOutOfRange, Cloud::Azure), Outcome::NoSuchOperation(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_format() {
    // ARM has no disk/container formats; its allow-listed enum is osDisk.osType.
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let mut body = blob_image(BLOB);
    body["properties"]["storageProfile"]["osDisk"]["osType"] = json!("Plan9");
    let r = put(&w, &token, "plan9", body).await;
    assert_cell(Row::UnknownFormat, &r);
    assert_eq!(r.body["error"]["target"], "osDisk.osType", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_tag() {
    // An ARM tag is a name/value pair: the name has its own limit.
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let max = limit(Row::LongTag, Cloud::Azure);
    let r = put(&w, &token, "at-limit", with_tags(json!({chars('k', max): "v"}))).await;
    assert_eq!(r.status, 201, "a tag name of {max} is fine: {}", r.body);
    let r = put(&w, &token, "over-limit", with_tags(json!({chars('k', max + 1): "v"}))).await;
    assert_cell(Row::LongTag, &r);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_protected() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let name = foreign(&w, &w.alice, NewImage { name: Some("kept".into()), protected: true, ..NewImage::default() }).await;
    let path = w.image_path(DEFAULT_RG, &name, COMPUTE);
    let r = w.call(Method::DELETE, &path, Some(&token), None).await;
    assert_cell(Row::DeleteProtected, &r);
    assert_eq!(w.call(Method::GET, &path, Some(&token), None).await.status, 200, "still there");
}

#[tokio::test(flavor = "multi_thread")]
async fn reader_writes() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let rita = w.token(&w.rita).await;
    let r = put(&w, &rita, "by-reader", blob_image(BLOB)).await;
    assert_cell(Row::ReaderWrites, &r);
    let name = foreign(&w, &w.alice, NewImage { name: Some("alices".into()), ..NewImage::default() }).await;
    let path = w.image_path(DEFAULT_RG, &name, COMPUTE);
    assert_eq!(w.call(Method::GET, &path, Some(&rita), None).await.status, 200, "readers may look");
    let r = w.call(Method::PATCH, &path, Some(&rita), Some(json!({"tags": {"env": "x"}}))).await;
    assert_cell(Row::ReaderWrites, &r);
    let r = w.call(Method::DELETE, &path, Some(&rita), None).await;
    assert_cell(Row::ReaderWrites, &r);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_project_writes() {
    // Bob, with no role on Alice's subscription, is refused at the scope.
    let w = world().await;
    let bob = w.token(&w.bob).await;
    let name = foreign(&w, &w.alice, NewImage { name: Some("alices".into()), ..NewImage::default() }).await;
    let path = w.image_path(DEFAULT_RG, &name, COMPUTE);
    let r = w.call(Method::PATCH, &path, Some(&bob), Some(json!({"tags": {"env": "x"}}))).await;
    assert_cell(Row::OtherProjectWrites, &r);
    let r = w.call(Method::DELETE, &path, Some(&bob), None).await;
    assert_cell(Row::OtherProjectWrites, &r);
    // A public image of another project is not one of Bob's subscription's images.
    let admin_public = w
        .service
        .create_image(
            &imagery_core::Caller::new(Some("admin".into()), Some(w.other.id.clone()), ["admin".to_string()]),
            NewImage { name: Some("public".into()), visibility: Some(Visibility::Public), ..NewImage::default() },
        )
        .await
        .expect("public image");
    let alice = w.token(&w.alice).await;
    let r = w.call(Method::GET, &w.image_path(DEFAULT_RG, &format!("image-{}", admin_public.id), COMPUTE), Some(&alice), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn invisible_image() {
    let w = world().await;
    let token = w.token(&w.alice).await;
    let name =
        foreign(&w, &w.bob, NewImage { name: Some("bobs".into()), visibility: Some(Visibility::Private), ..NewImage::default() }).await;
    let path = w.image_path(DEFAULT_RG, &name, COMPUTE);
    let r = w.call(Method::GET, &path, Some(&token), None).await;
    assert_cell(Row::InvisibleImage, &r);
    let r = w.call(Method::PATCH, &path, Some(&token), Some(json!({"tags": {"env": "x"}}))).await;
    assert_cell(Row::InvisibleImage, &r);
    // ARM deletes are idempotent: deleting what is not there is 204, and Bob's image stays.
    let r = w.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let bob = w.token(&w.bob).await;
    let bobs_path = format!(
        "/subscriptions/{}/resourceGroups/{DEFAULT_RG}/providers/Microsoft.Compute/images/{name}?api-version={COMPUTE}",
        w.other_sub
    );
    assert_eq!(w.call(Method::GET, &bobs_path, Some(&bob), None).await.status, 200, "Bob's image is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn name_taken() {
    // PUT is create-or-replace: the same name again replaces the image.
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let first = w.create_image(&token, "rg", "dup", blob_image(BLOB)).await;
    let r = put(&w, &token, "dup", with_tags(json!({"env": "again"}))).await;
    assert_eq!(r.status, accepted(Row::NameTaken), "{}", r.body);
    assert_eq!(r.body["id"], first["id"], "the same resource");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_not_allowed() {
    // An https blobUri names a source and is never fetched: it is recorded.
    let w = world().await;
    let token = w.token(&w.alice).await;
    w.create_group(&token, "rg").await;
    let r = put(&w, &token, "from-anywhere", blob_image("https://example.com/x.vhd")).await;
    assert_eq!(r.status, accepted(Row::ImportNotAllowed), "{}", r.body);
}
