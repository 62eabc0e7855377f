//! The Huawei column of the rule matrix (`imagery_test_support::rules`): each
//! row's invalid input through IMS's Glance-compatible `/v2/images` routes with
//! signed requests, answered in IMS's `{"error": {"code": "IMG.xxxx", "message"}}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use imagery_identity::{NewUser, RoleRef, DEFAULT_DOMAIN_ID};
use imagery_test_support::rules::{chars, expect, limit, refusal, Cloud, Outcome, Row};
use reqwest::Method;
use serde_json::{json, Value};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";
const MEMBER: [&str; 2] = ["member", "reader"];
const ADMIN: [&str; 3] = ["admin", "member", "reader"];

/// Assert the Huawei cell of `row` for a refusal.
fn assert_cell(row: Row, reply: &Reply) {
    let (status, code, _) = refusal(row, Cloud::Huawei);
    assert_eq!(reply.ims_error(status), code, "{row:?}: {}", reply.text());
}

fn accepted(row: Row) -> u16 {
    match expect(row, Cloud::Huawei) {
        Outcome::Accepted { status } => status,
        other => panic!("{row:?} × Huawei is {other:?}"),
    }
}

async fn create(api: &Api, who: &Account, body: Value) -> Reply {
    api.json(who, Method::POST, "/v2/images", "application/json", body).await
}

/// A reader-only user of Alice's project, with an access key.
async fn reader(api: &Api) -> Account {
    let user = api
        .identity
        .create_user(NewUser {
            name: "rita".into(),
            domain_id: DEFAULT_DOMAIN_ID.into(),
            password: None,
            enabled: true,
            default_project_id: Some(api.alice.project.clone()),
        })
        .await
        .expect("user");
    let role = api.identity.find_role(&RoleRef::Name("reader".into())).await.expect("roles").expect("reader role");
    api.identity.grant_role(&user.id, &api.alice.project, &role.id).await.expect("grant");
    let key = api.identity.create_access_key(&user.id, Some(&api.alice.project), "rita").await.expect("access key");
    Account { key, project: api.alice.project.clone(), user_id: user.id }
}

#[tokio::test]
async fn long_name() {
    let api = start().await;
    let max = limit(Row::LongName, Cloud::Huawei);
    let reply = create(&api, &api.alice, json!({"name": chars('a', max)})).await;
    assert_eq!(reply.status, 201, "a name of {max} is fine: {}", reply.text());
    let id = reply.json()["id"].as_str().expect("id").to_string();
    assert_cell(Row::LongName, &create(&api, &api.alice, json!({"name": chars('b', max + 1)})).await);
    let ops = json!([{"op": "replace", "path": "/name", "value": chars('c', max + 1)}]);
    assert_cell(Row::LongName, &api.json(&api.alice, Method::PATCH, &format!("/v2/images/{id}"), PATCH, ops).await);
}

#[tokio::test]
async fn long_property_value() {
    let api = start().await;
    let max = limit(Row::LongPropertyValue, Cloud::Huawei);
    let reply = create(&api, &api.alice, json!({"name": "at-limit", "note": chars('v', max)})).await;
    assert_eq!(reply.status, 201, "a value of {max} is fine: {}", &reply.text()[..200.min(reply.text().len())]);
    let id = reply.json()["id"].as_str().expect("id").to_string();
    assert_cell(Row::LongPropertyValue, &create(&api, &api.alice, json!({"name": "over", "note": chars('w', max + 1)})).await);
    let ops = json!([{"op": "add", "path": "/other", "value": chars('x', max + 1)}]);
    assert_cell(Row::LongPropertyValue, &api.json(&api.alice, Method::PATCH, &format!("/v2/images/{id}"), PATCH, ops).await);
}

#[tokio::test]
async fn bad_property_key() {
    let api = start().await;
    assert_cell(Row::BadPropertyKey, &create(&api, &api.alice, json!({"name": "x", "bad\u{1}key": "v"})).await);
}

#[tokio::test]
async fn min_disk_or_ram_out_of_range() {
    let api = start().await;
    assert_cell(Row::MinDiskOrRamOutOfRange, &create(&api, &api.alice, json!({"name": "x", "min_disk": -1})).await);
    assert_cell(Row::MinDiskOrRamOutOfRange, &create(&api, &api.alice, json!({"name": "y", "min_ram": 2_147_483_648i64})).await);
}

#[tokio::test]
async fn unknown_format() {
    let api = start().await;
    assert_cell(Row::UnknownFormat, &create(&api, &api.alice, json!({"name": "x", "disk_format": "floppy"})).await);
    assert_cell(Row::UnknownFormat, &create(&api, &api.alice, json!({"name": "y", "container_format": "crate"})).await);
}

#[tokio::test]
async fn long_tag() {
    let api = start().await;
    let max = limit(Row::LongTag, Cloud::Huawei);
    assert_cell(Row::LongTag, &create(&api, &api.alice, json!({"name": "x", "tags": [chars('t', max + 1)]})).await);
    let image = api.image(&api.alice, &MEMBER, "tagged", Visibility::Private, &[]).await;
    let ok = api.go(&api.signed(&api.alice, Method::PUT, &format!("/v2/images/{}/tags/{}", image.id, chars('t', max)), &[])).await;
    assert_eq!(ok.status, 204, "a tag of {max} is fine: {}", ok.text());
    let long = api.go(&api.signed(&api.alice, Method::PUT, &format!("/v2/images/{}/tags/{}", image.id, chars('u', max + 1)), &[])).await;
    assert_cell(Row::LongTag, &long);
}

#[tokio::test]
async fn delete_protected() {
    let api = start().await;
    let image = api.image(&api.alice, &MEMBER, "kept", Visibility::Private, &[]).await;
    let ops = json!([{"op": "replace", "path": "/protected", "value": true}]);
    let reply = api.json(&api.alice, Method::PATCH, &format!("/v2/images/{}", image.id), PATCH, ops).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_cell(Row::DeleteProtected, &api.delete(&api.alice, &format!("/v2/images/{}", image.id)).await);
    assert_eq!(api.get(&api.alice, &format!("/v2/images/{}", image.id), &[]).await.status, 200, "still there");
}

#[tokio::test]
async fn reader_writes() {
    let api = start().await;
    let rita = reader(&api).await;
    assert_cell(Row::ReaderWrites, &create(&api, &rita, json!({"name": "by-reader"})).await);
    let image = api.image(&api.alice, &MEMBER, "alices", Visibility::Private, &[]).await;
    assert_eq!(api.get(&rita, &format!("/v2/images/{}", image.id), &[]).await.status, 200, "readers may look");
    let ops = json!([{"op": "replace", "path": "/name", "value": "renamed"}]);
    assert_cell(Row::ReaderWrites, &api.json(&rita, Method::PATCH, &format!("/v2/images/{}", image.id), PATCH, ops).await);
    assert_cell(Row::ReaderWrites, &api.delete(&rita, &format!("/v2/images/{}", image.id)).await);
}

#[tokio::test]
async fn other_project_writes() {
    let api = start().await;
    let public = api.image(&api.admin, &ADMIN, "public", Visibility::Public, &[]).await;
    let path = format!("/v2/images/{}", public.id);
    assert_eq!(api.get(&api.bob, &path, &[]).await.status, 200, "Bob sees it");
    let ops = json!([{"op": "replace", "path": "/name", "value": "mine"}]);
    assert_cell(Row::OtherProjectWrites, &api.json(&api.bob, Method::PATCH, &path, PATCH, ops).await);
    assert_cell(Row::OtherProjectWrites, &api.delete(&api.bob, &path).await);
}

#[tokio::test]
async fn invisible_image() {
    let api = start().await;
    let private = api.image(&api.alice, &MEMBER, "alices", Visibility::Private, &[]).await;
    let path = format!("/v2/images/{}", private.id);
    assert_cell(Row::InvisibleImage, &api.get(&api.bob, &path, &[]).await);
    let ops = json!([{"op": "replace", "path": "/name", "value": "mine"}]);
    assert_cell(Row::InvisibleImage, &api.json(&api.bob, Method::PATCH, &path, PATCH, ops).await);
    assert_cell(Row::InvisibleImage, &api.delete(&api.bob, &path).await);
}

#[tokio::test]
async fn name_taken() {
    // IMS, like Glance, allows two images with one name.
    let api = start().await;
    let first = create(&api, &api.alice, json!({"name": "dup"})).await;
    assert_eq!(first.status, 201, "{}", first.text());
    // The same request signed a second earlier (the same signature would be a replay).
    let mut again = api.signed(&api.alice, Method::POST, "/v2/images", &[]);
    again.body = json!({"name": "dup"}).to_string().into_bytes();
    again.date = sdk_date(-1);
    let second = api.go(&again).await;
    assert_eq!(second.status, accepted(Row::NameTaken), "{}", second.text());
    assert_ne!(first.json()["id"], second.json()["id"]);
}

#[tokio::test]
async fn import_not_allowed() {
    let api = start().await;
    let image = api.image(&api.alice, &MEMBER, "to-import", Visibility::Private, &[]).await;
    let body = json!({"method": {"name": "web-download", "uri": "http://example.com/x.img"}});
    let reply = api.json(&api.alice, Method::POST, &format!("/v2/images/{}/import", image.id), "application/json", body).await;
    assert_cell(Row::ImportNotAllowed, &reply);
    assert!(reply.json()["error"]["message"].as_str().unwrap_or_default().contains("does not pass filtering"), "{}", reply.text());
}

#[test]
fn nova_only_rows_are_not_huawei_gaps() {
    // Every Huawei cell is a refusal or an acceptance: IMS has every operation.
    for line in imagery_test_support::rules::MATRIX {
        assert!(!matches!(line.huawei, Outcome::NoSuchOperation(_)), "{:?}", line.row);
    }
}
