//! The Glance column of the rule matrix (`imagery_test_support::rules`): each
//! row's invalid input through the whole server's Image API v2 listener
//! (trusted-header identities), answered in Glance's webob envelope
//! `{"message", "code": "<status> <reason>", "title"}` with Glance's limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_test_support::rules::{chars, expect, limit, refusal, Cloud, Outcome, Row};
use reqwest::Method;
use serde_json::{json, Value};

/// Assert the Glance cell of `row` for a refusal; returns the message.
fn assert_cell(row: Row, (status, body): &(u16, Value)) -> String {
    let (want, code, _) = refusal(row, Cloud::Glance);
    assert_eq!(*status, want, "{row:?}: {body}");
    assert_eq!(body["code"], code, "{row:?}: {body}");
    assert_eq!(body["title"].as_str(), code.split_once(' ').map(|(_, reason)| reason), "{body}");
    body["message"].as_str().unwrap_or_else(|| panic!("no message: {body}")).to_string()
}

fn accepted(row: Row) -> u16 {
    match expect(row, Cloud::Glance) {
        Outcome::Accepted { status } => status,
        other => panic!("{row:?} × Glance is {other:?}"),
    }
}

async fn create(s: &TestServer, who: As, body: Value) -> (u16, Value) {
    s.json(who, Method::POST, "/v2/images", body).await
}

fn id_of(image: &Value) -> String {
    image["id"].as_str().expect("id").to_string()
}

/// A request without a body.
async fn bare(s: &TestServer, who: As, method: Method, path: &str) -> (u16, Value) {
    let r = s.req(who, method, path).send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn delete(s: &TestServer, who: As, id: &str) -> (u16, Value) {
    bare(s, who, Method::DELETE, &format!("/v2/images/{id}")).await
}

#[tokio::test]
async fn long_name() {
    let s = start(true).await;
    let max = limit(Row::LongName, Cloud::Glance);
    let id = id_of(&s.create(ALICE, json!({"name": chars('a', max)})).await);
    let message = assert_cell(Row::LongName, &create(&s, ALICE, json!({"name": chars('b', max + 1)})).await);
    assert!(message.contains("Failed validating 'name'"), "{message}");
    assert_cell(Row::LongName, &s.patch(ALICE, &id, json!([{"op": "replace", "path": "/name", "value": chars('c', max + 1)}])).await);
    s.stop().await;
}

#[tokio::test]
async fn long_property_value() {
    let s = start(true).await;
    let max = limit(Row::LongPropertyValue, Cloud::Glance);
    let id = id_of(&s.create(ALICE, json!({"name": "at-limit", "note": chars('v', max)})).await);
    assert_cell(Row::LongPropertyValue, &create(&s, ALICE, json!({"name": "over", "note": chars('w', max + 1)})).await);
    assert_cell(Row::LongPropertyValue, &s.patch(ALICE, &id, json!([{"op": "add", "path": "/other", "value": chars('x', max + 1)}])).await);
    // Nova's limit on the same kind of value is its own, far smaller one.
    assert!(limit(Row::LongPropertyValue, Cloud::Nova) < max);
    s.stop().await;
}

#[tokio::test]
async fn bad_property_key() {
    let s = start(true).await;
    assert_cell(Row::BadPropertyKey, &create(&s, ALICE, json!({"name": "x", "bad\u{1}key": "v"})).await);
    let id = id_of(&s.create(ALICE, json!({"name": "y"})).await);
    assert_cell(Row::BadPropertyKey, &s.patch(ALICE, &id, json!([{"op": "add", "path": "/bad\u{7f}key", "value": "v"}])).await);
    s.stop().await;
}

#[tokio::test]
async fn min_disk_or_ram_out_of_range() {
    let s = start(true).await;
    let message = assert_cell(Row::MinDiskOrRamOutOfRange, &create(&s, ALICE, json!({"min_disk": -1})).await);
    assert!(message.contains("min_disk"), "{message}");
    let message = assert_cell(Row::MinDiskOrRamOutOfRange, &create(&s, ALICE, json!({"min_ram": 2_147_483_648i64})).await);
    assert!(message.contains("min_ram"), "{message}");
    let id = id_of(&s.create(ALICE, json!({"min_ram": 2_147_483_647i64})).await);
    assert_cell(Row::MinDiskOrRamOutOfRange, &s.patch(ALICE, &id, json!([{"op": "replace", "path": "/min_disk", "value": -1}])).await);
    s.stop().await;
}

#[tokio::test]
async fn unknown_format() {
    let s = start(true).await;
    let message = assert_cell(Row::UnknownFormat, &create(&s, ALICE, json!({"disk_format": "floppy"})).await);
    assert!(message.contains("disk_format"), "{message}");
    let message = assert_cell(Row::UnknownFormat, &create(&s, ALICE, json!({"container_format": "crate"})).await);
    assert!(message.contains("container_format"), "{message}");
    let id = id_of(&s.create(ALICE, json!({})).await);
    assert_cell(Row::UnknownFormat, &s.patch(ALICE, &id, json!([{"op": "replace", "path": "/disk_format", "value": "floppy"}])).await);
    s.stop().await;
}

#[tokio::test]
async fn long_tag() {
    let s = start(true).await;
    let max = limit(Row::LongTag, Cloud::Glance);
    assert_cell(Row::LongTag, &create(&s, ALICE, json!({"tags": [chars('t', max + 1)]})).await);
    let id = id_of(&s.create(ALICE, json!({})).await);
    let ok = bare(&s, ALICE, Method::PUT, &format!("/v2/images/{id}/tags/{}", chars('t', max))).await;
    assert_eq!(ok.0, 204, "a tag of {max} is fine: {}", ok.1);
    assert_cell(Row::LongTag, &bare(&s, ALICE, Method::PUT, &format!("/v2/images/{id}/tags/{}", chars('u', max + 1))).await);
    s.stop().await;
}

#[tokio::test]
async fn delete_protected() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"name": "kept", "protected": true})).await);
    let message = assert_cell(Row::DeleteProtected, &delete(&s, ALICE, &id).await);
    assert!(message.contains(&format!("Image {id} is protected and cannot be deleted.")), "{message}");
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.0, 200, "still there");
    s.stop().await;
}

#[tokio::test]
async fn reader_writes() {
    let s = start(true).await;
    assert_cell(Row::ReaderWrites, &create(&s, READER_A, json!({"name": "by-reader"})).await);
    let id = id_of(&s.create(ALICE, json!({"name": "alices"})).await);
    assert_eq!(s.get(READER_A, &format!("/v2/images/{id}")).await.0, 200, "readers may look");
    assert_cell(Row::ReaderWrites, &s.patch(READER_A, &id, json!([{"op": "replace", "path": "/name", "value": "x"}])).await);
    assert_cell(Row::ReaderWrites, &delete(&s, READER_A, &id).await);
    s.stop().await;
}

#[tokio::test]
async fn other_project_writes() {
    let s = start(true).await;
    let public = id_of(&s.create(ADMIN, json!({"name": "public", "visibility": "public"})).await);
    let community = id_of(&s.create(ALICE, json!({"name": "community", "visibility": "community"})).await);
    for id in [&public, &community] {
        assert_eq!(s.get(BOB, &format!("/v2/images/{id}")).await.0, 200, "Bob sees it");
        assert_cell(Row::OtherProjectWrites, &s.patch(BOB, id, json!([{"op": "replace", "path": "/name", "value": "mine"}])).await);
        assert_cell(Row::OtherProjectWrites, &delete(&s, BOB, id).await);
    }
    s.stop().await;
}

#[tokio::test]
async fn invisible_image() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"name": "alices"})).await);
    assert_cell(Row::InvisibleImage, &s.get(BOB, &format!("/v2/images/{id}")).await);
    assert_cell(Row::InvisibleImage, &s.patch(BOB, &id, json!([{"op": "replace", "path": "/name", "value": "mine"}])).await);
    assert_cell(Row::InvisibleImage, &delete(&s, BOB, &id).await);
    s.stop().await;
}

#[tokio::test]
async fn name_taken() {
    // Glance allows duplicate names (Yandex does not).
    let s = start(true).await;
    let (status, first) = create(&s, ALICE, json!({"name": "dup"})).await;
    assert_eq!(status, accepted(Row::NameTaken), "{first}");
    let (status, second) = create(&s, ALICE, json!({"name": "dup"})).await;
    assert_eq!(status, accepted(Row::NameTaken), "{second}");
    assert_ne!(first["id"], second["id"]);
    s.stop().await;
}

#[tokio::test]
async fn import_not_allowed() {
    let s = start(true).await;
    let id = id_of(&s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await);
    let body = json!({"method": {"name": "web-download", "uri": "http://example.com/x.img"}});
    let message = assert_cell(Row::ImportNotAllowed, &s.json(ALICE, Method::POST, &format!("/v2/images/{id}/import"), body).await);
    assert!(message.contains("does not pass filtering"), "{message}");
    assert_eq!(s.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "queued", "nothing started");
    s.stop().await;
}
