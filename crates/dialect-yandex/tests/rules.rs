//! The Yandex column of the rule matrix (`imagery_test_support::rules`): each
//! row's invalid input over REST, answered with `google.rpc.Status`
//! (`{"code","message","details"}`), the gRPC code and Yandex's own limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagery_core::Visibility;
use imagery_identity::{NewUser, RoleRef};
use imagery_service::NewImage;
use imagery_test_support::rules::{chars, expect, grpc_code, limit, refusal, Cloud, Outcome, Row};
use serde_json::{json, Value};

const IMAGES: &str = "/compute/v1/images";

/// Assert the Yandex cell of `row` for a refusal.
fn assert_cell(row: Row, status: u16, body: &Value) {
    let (http, code, _) = refusal(row, Cloud::Yandex);
    assert_error(status, body, http, grpc_code(code));
}

/// An active image of Alice's to copy from (sources need data).
async fn source(env: &Env) -> String {
    env.glance_image(&env.alice, "source", disk_bytes()).await.id.to_string()
}

async fn create(env: &Env, token: &str, body: Value) -> (u16, Value) {
    env.post(IMAGES, token, body).await
}

/// An IAM token for a reader-only user of Alice's project.
async fn reader_token(env: &Env) -> String {
    let user = env
        .identity
        .create_user(NewUser {
            name: "rita".into(),
            domain_id: "default".into(),
            password: None,
            enabled: true,
            default_project_id: Some(env.alice.project_id.clone()),
        })
        .await
        .expect("user");
    let role = env.identity.find_role(&RoleRef::Name("reader".into())).await.expect("role lookup").expect("reader role");
    env.identity.grant_role(&user.id, &env.alice.project_id, &role.id).await.expect("grant");
    let key = env.identity.create_access_key(&user.id, Some(&env.alice.project_id), "rita").await.expect("access key");
    let principal = env.identity.authenticate_access_key(&key.id, &key.secret).await.expect("key authenticates");
    env.identity.mint_token(&principal).expect("token")
}

#[tokio::test]
async fn long_name() {
    let env = start().await;
    let src = source(&env).await;
    let max = limit(Row::LongName, Cloud::Yandex);
    let (status, op) = create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": chars('a', max), "imageId": src})).await;
    assert_eq!(status, 200, "a name of {max} is fine: {op}");
    let (status, body) =
        create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": chars('b', max + 1), "imageId": src})).await;
    assert_cell(Row::LongName, status, &body);
    assert!(body["message"].as_str().unwrap_or_default().contains("name"), "{body}");
}

#[tokio::test]
async fn long_property_value() {
    // Labels are Yandex's custom properties.
    let env = start().await;
    let src = source(&env).await;
    let max = limit(Row::LongPropertyValue, Cloud::Yandex);
    let folder = env.alice.folder.clone();
    let (status, op) =
        create(&env, &env.alice.token, json!({"folderId": folder, "name": "ok", "imageId": src, "labels": {"env": chars('v', max)}})).await;
    assert_eq!(status, 200, "a label value of {max} is fine: {op}");
    let body = json!({"folderId": folder, "name": "too-long", "imageId": src, "labels": {"env": chars('v', max + 1)}});
    let (status, body) = create(&env, &env.alice.token, body).await;
    assert_cell(Row::LongPropertyValue, status, &body);
    assert!(body["message"].as_str().unwrap_or_default().contains("labels"), "{body}");
}

#[tokio::test]
async fn bad_property_key() {
    let env = start().await;
    let src = source(&env).await;
    let body = json!({"folderId": env.alice.folder, "name": "bad-key", "imageId": src, "labels": {"Env": "x"}});
    let (status, body) = create(&env, &env.alice.token, body).await;
    assert_cell(Row::BadPropertyKey, status, &body);
}

#[tokio::test]
async fn min_disk_out_of_range() {
    let env = start().await;
    let src = source(&env).await;
    let body = json!({"folderId": env.alice.folder, "name": "tiny", "imageId": src, "minDiskSize": "1"});
    let (status, body) = create(&env, &env.alice.token, body).await;
    assert_cell(Row::MinDiskOrRamOutOfRange, status, &body);
    assert!(body["message"].as_str().unwrap_or_default().contains("min_disk_size"), "{body}");
}

#[test]
fn no_format_and_no_tags() {
    // Yandex images carry neither a disk/container format nor tags.
    assert!(matches!(expect(Row::UnknownFormat, Cloud::Yandex), Outcome::NoSuchOperation(_)));
    assert!(matches!(expect(Row::LongTag, Cloud::Yandex), Outcome::NoSuchOperation(_)));
}

#[tokio::test]
async fn delete_protected() {
    let env = start().await;
    let new = NewImage { name: Some("kept".into()), protected: true, ..NewImage::default() };
    let image = env.glance_image_with(&env.alice.caller, new, disk_bytes()).await;
    let (status, body) = env.delete(&format!("{IMAGES}/{}", image.id), &env.alice.token).await;
    assert_cell(Row::DeleteProtected, status, &body);
    let (status, _) = env.get(&format!("{IMAGES}/{}", image.id), &env.alice.token).await;
    assert_eq!(status, 200, "still there");
}

#[tokio::test]
async fn reader_writes() {
    let env = start().await;
    let src = source(&env).await;
    let token = reader_token(&env).await;
    let (status, body) = create(&env, &token, json!({"folderId": env.alice.folder, "name": "by-reader", "imageId": src})).await;
    assert_cell(Row::ReaderWrites, status, &body);
    let (status, body) = env.patch(&format!("{IMAGES}/{src}"), &token, json!({"updateMask": "name", "name": "renamed"})).await;
    assert_cell(Row::ReaderWrites, status, &body);
    let (status, body) = env.delete(&format!("{IMAGES}/{src}"), &token).await;
    assert_cell(Row::ReaderWrites, status, &body);
}

#[tokio::test]
async fn other_project_writes() {
    let env = start().await;
    let new = NewImage { name: Some("public".into()), visibility: Some(Visibility::Public), ..NewImage::default() };
    let public = env.glance_image_with(&env.admin.caller, new, disk_bytes()).await;
    let path = format!("{IMAGES}/{}", public.id);
    assert_eq!(env.get(&path, &env.bob.token).await.0, 200, "Bob sees it");
    let (status, body) = env.patch(&path, &env.bob.token, json!({"updateMask": "name", "name": "mine"})).await;
    assert_cell(Row::OtherProjectWrites, status, &body);
    let (status, body) = env.delete(&path, &env.bob.token).await;
    assert_cell(Row::OtherProjectWrites, status, &body);
}

#[tokio::test]
async fn invisible_image() {
    let env = start().await;
    let private = source(&env).await;
    let path = format!("{IMAGES}/{private}");
    let (status, body) = env.get(&path, &env.bob.token).await;
    assert_cell(Row::InvisibleImage, status, &body);
    let (status, body) = env.patch(&path, &env.bob.token, json!({"updateMask": "name", "name": "mine"})).await;
    assert_cell(Row::InvisibleImage, status, &body);
    let (status, body) = env.delete(&path, &env.bob.token).await;
    assert_cell(Row::InvisibleImage, status, &body);
    let (status, body) = create(&env, &env.bob.token, json!({"folderId": env.bob.folder, "name": "copy", "imageId": private})).await;
    assert_cell(Row::InvisibleImage, status, &body);
}

#[tokio::test]
async fn name_taken() {
    let env = start().await;
    let src = source(&env).await;
    let (status, op) = create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": "dup", "imageId": src})).await;
    assert_eq!(status, 200, "{op}");
    let (status, body) = create(&env, &env.alice.token, json!({"folderId": env.alice.folder, "name": "dup", "imageId": src})).await;
    assert_cell(Row::NameTaken, status, &body);
    // Another folder may use the name.
    let bobs = env.glance_image(&env.bob, "bobs", disk_bytes()).await.id.to_string();
    let (status, op) = create(&env, &env.bob.token, json!({"folderId": env.bob.folder, "name": "dup", "imageId": bobs})).await;
    assert_eq!(status, 200, "{op}");
}

#[tokio::test]
async fn import_not_allowed() {
    let env = start().await;
    let body = json!({"folderId": env.alice.folder, "name": "fetched", "uri": "http://example.com/x.img"});
    let (status, body) = create(&env, &env.alice.token, body).await;
    assert_cell(Row::ImportNotAllowed, status, &body);
    let (status, listed) = env.get(&format!("{IMAGES}?folderId={}", env.alice.folder), &env.alice.token).await;
    assert_eq!(status, 200);
    assert!(listed.get("images").is_none_or(|i| i.as_array().is_some_and(Vec::is_empty)), "nothing left behind: {listed}");
}
