//! Image rows: round trips, duplicates, optimistic concurrency, usage and blob
//! references, and reopening the same store (migrations are idempotent and safe to
//! run concurrently).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imagery_catalog::{open, CatalogError};
use imagery_core::image::{Image, ImageStatus, Visibility, RESERVED_PREFIX};
use imagery_core::query::{Filter, ListQuery, ListScope};
use uuid::Uuid;

use crate::support::{at, image, names, sorted, Ctx};

fn full_image() -> Image {
    Image {
        id: Uuid::new_v4(),
        name: Some("Ubuntu 24.04 \u{1F427} 'quoted' \"name\"".into()),
        status: ImageStatus::Deactivated,
        visibility: Visibility::Community,
        protected: true,
        os_hidden: true,
        owner: Some("project-a".into()),
        min_disk: 20,
        min_ram: 2048,
        container_format: Some("bare".into()),
        disk_format: Some("qcow2".into()),
        size: Some(1 << 40),
        virtual_size: Some(i64::MAX),
        checksum: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
        os_hash_algo: Some("sha512".into()),
        os_hash_value: Some("cf83e1357eefb8bdf1542850d66d8007".into()),
        blob_key: Some("sha256/abcdef".into()),
        created_at: at(1),
        updated_at: at(999_999),
        deleted_at: Some(at(-1)),
        tags: BTreeSet::from(["alpha".to_string(), "\u{00e9}t\u{00e9}".to_string(), "".to_string()]),
        properties: BTreeMap::from([
            ("os_distro".to_string(), "ubuntu".to_string()),
            ("empty".to_string(), String::new()),
            (format!("{RESERVED_PREFIX}yandex_family"), "ubuntu-2404".to_string()),
        ]),
        version: 7,
    }
}

pub async fn image_round_trip(ctx: Ctx) {
    let c = &ctx.catalog;
    let full = full_image();
    c.insert_image(&full).await.unwrap();
    assert_eq!(c.get_image(full.id).await.unwrap(), Some(full.clone()));

    let minimal = Image::new(Uuid::new_v4(), None, at(5));
    c.insert_image(&minimal).await.unwrap();
    assert_eq!(c.get_image(minimal.id).await.unwrap(), Some(minimal));

    // Sub-second precision survives exactly, before and after the epoch.
    let mut old = Image::new(Uuid::new_v4(), None, imagery_core::time::from_micros(-1_234_567));
    old.updated_at = imagery_core::time::from_micros(1);
    c.insert_image(&old).await.unwrap();
    assert_eq!(c.get_image(old.id).await.unwrap(), Some(old));

    assert_eq!(c.get_image(Uuid::new_v4()).await.unwrap(), None);
}

pub async fn image_duplicate_id(ctx: Ctx) {
    let c = &ctx.catalog;
    let img = image("one", Some("p"), Visibility::Private);
    c.insert_image(&img).await.unwrap();
    let mut again = image("two", Some("q"), Visibility::Public);
    again.id = img.id;
    assert!(matches!(c.insert_image(&again).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.get_image(img.id).await.unwrap(), Some(img));
}

fn tagged_scope() -> ListQuery {
    ListQuery::new(ListScope::everything(), 100)
}

pub async fn image_update_replaces_row(ctx: Ctx) {
    let c = &ctx.catalog;
    let mut img = image("before", Some("p"), Visibility::Shared);
    img.tags = BTreeSet::from(["keep".to_string(), "drop".to_string()]);
    img.properties = BTreeMap::from([("k1".to_string(), "v1".to_string()), ("gone".to_string(), "x".to_string())]);
    img.version = 3;
    c.insert_image(&img).await.unwrap();

    let mut changed = full_image();
    changed.id = img.id;
    changed.version = 3;
    changed.os_hidden = false;
    changed.tags = BTreeSet::from(["keep".to_string(), "new".to_string()]);
    changed.properties = BTreeMap::from([("k1".to_string(), "v2".to_string()), ("added".to_string(), "y".to_string())]);
    let updated = c.update_image(&changed).await.unwrap();
    assert_eq!(updated.version, 4);
    let mut expected = changed.clone();
    expected.version = 4;
    assert_eq!(updated, expected);
    assert_eq!(c.get_image(img.id).await.unwrap(), Some(expected.clone()));

    // The filter tables follow the row.
    let find = |filter: Filter| {
        let mut q = tagged_scope();
        q.include_deleted = true;
        q.filters.push(filter);
        q
    };
    for (filter, hit) in [
        (Filter::Tag("new".into()), true),
        (Filter::Tag("keep".into()), true),
        (Filter::Tag("drop".into()), false),
        (Filter::Property("k1".into(), "v2".into()), true),
        (Filter::Property("k1".into(), "v1".into()), false),
        (Filter::HasProperty("added".into()), true),
        (Filter::HasProperty("gone".into()), false),
    ] {
        let found = c.list_images(&find(filter.clone())).await.unwrap();
        assert_eq!(found.iter().any(|i| i.id == img.id), hit, "{filter:?}");
    }

    // A second update from the stale copy loses; a fresh one wins.
    assert_eq!(c.update_image(&changed).await, Err(CatalogError::Stale));
    let mut next = expected.clone();
    next.name = None;
    next.tags.clear();
    next.properties.clear();
    let next = c.update_image(&next).await.unwrap();
    assert_eq!(next.version, 5);
    assert_eq!(c.get_image(img.id).await.unwrap(), Some(next));
    assert!(c.list_images(&find(Filter::Tag("keep".into()))).await.unwrap().is_empty());

    let ghost = image("ghost", Some("p"), Visibility::Private);
    assert!(matches!(c.update_image(&ghost).await, Err(CatalogError::Missing(_))));
}

pub async fn image_concurrent_updates_one_wins(ctx: Ctx) {
    let c = Arc::clone(&ctx.catalog);
    let img = image("race", Some("p"), Visibility::Private);
    c.insert_image(&img).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let c = Arc::clone(&c);
        let mut attempt = img.clone();
        attempt.name = Some(format!("writer-{n}"));
        attempt.tags.insert(format!("t{n}"));
        tasks.push(tokio::spawn(async move { c.update_image(&attempt).await }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(won) => winners.push(won),
            Err(CatalogError::Stale) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(c.get_image(img.id).await.unwrap(), Some(winners[0].clone()));
}

pub async fn usage_and_blob_references(ctx: Ctx) {
    let c = &ctx.catalog;
    let mk = |name: &str, owner: &str, status: ImageStatus, size: Option<i64>, blob: Option<&str>| {
        let mut i = image(name, Some(owner), Visibility::Private);
        i.status = status;
        i.size = size;
        i.blob_key = blob.map(str::to_owned);
        i
    };
    for img in [
        mk("active", "p", ImageStatus::Active, Some(100), Some("blob-a")),
        mk("deactivated", "p", ImageStatus::Deactivated, Some(20), Some("blob-b")),
        mk("saving", "p", ImageStatus::Saving, Some(3), None),
        mk("uploading", "p", ImageStatus::Uploading, Some(4000), None),
        mk("importing", "p", ImageStatus::Importing, Some(50000), None),
        mk("queued", "p", ImageStatus::Queued, None, None),
        mk("killed", "p", ImageStatus::Killed, Some(7), None),
        mk("deleted", "p", ImageStatus::Deleted, Some(1_000_000), Some("blob-c")),
        mk("pending-delete", "p", ImageStatus::PendingDelete, Some(2_000_000), Some("blob-d")),
        mk("other", "q", ImageStatus::Active, Some(9_000_000), Some("blob-a")),
    ] {
        c.insert_image(&img).await.unwrap();
    }
    let usage = c.usage("p").await.unwrap();
    assert_eq!(usage.image_count, 7, "every image not deleted or pending delete");
    assert_eq!(usage.stored_bytes, 123);
    assert_eq!(usage.staged_bytes, 54000);
    assert_eq!(c.usage("nobody").await.unwrap(), Default::default());

    assert!(c.blob_in_use("blob-a").await.unwrap());
    assert!(c.blob_in_use("blob-b").await.unwrap());
    assert!(!c.blob_in_use("blob-c").await.unwrap(), "deleted images release their blob");
    assert!(c.blob_in_use("blob-d").await.unwrap(), "pending_delete still holds its blob");
    assert!(!c.blob_in_use("blob-unknown").await.unwrap());
}

pub async fn reopen_is_idempotent_and_concurrent(ctx: Ctx) {
    let Some(url) = ctx.url.clone() else { return };
    let img = image("persisted", Some("p"), Visibility::Public);
    ctx.catalog.insert_image(&img).await.unwrap();
    // Two more instances start at once on the same store (two nodes booting).
    let (a, b) = tokio::join!(open(&url), open(&url));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.get_image(img.id).await.unwrap(), Some(img.clone()));
    let other = image("from-b", Some("p"), Visibility::Public);
    b.insert_image(&other).await.unwrap();
    assert_eq!(ctx.catalog.get_image(other.id).await.unwrap(), Some(other));
    let listed = a.list_images(&ListQuery::new(ListScope::everything(), 10)).await.unwrap();
    assert_eq!(names(&listed), sorted(&["from-b", "persisted"]));
}

/// Migration v2: an image an older imagery moved to `killed` (a failed Yandex
/// import, outside the status machine) becomes a failed import — `queued` with the
/// reason recorded — in the row, its property rows and its version.
pub async fn killed_images_become_failed_imports(ctx: Ctx) {
    let Some(url) = ctx.url.clone() else { return };
    let mut killed = image("failed-import", Some("p"), Visibility::Private);
    killed.status = ImageStatus::Killed;
    ctx.catalog.insert_image(&killed).await.unwrap();
    let untouched = image("fine", Some("p"), Visibility::Private);
    ctx.catalog.insert_image(&untouched).await.unwrap();
    drop(ctx);
    crate::support::execute_raw(&url, "DELETE FROM schema_migrations WHERE version = 2").await;
    let reopened = open(&url).await.unwrap();
    let migrated = reopened.get_image(killed.id).await.unwrap().unwrap();
    assert_eq!(migrated.status, ImageStatus::Queued);
    assert_eq!(migrated.reserved("import_error"), Some("The import failed."));
    assert_eq!(migrated.version, killed.version + 1);
    let mut query = ListQuery::new(ListScope::everything(), 10);
    query.filters = vec![Filter::Property(format!("{RESERVED_PREFIX}import_error"), "The import failed.".into())];
    assert_eq!(names(&reopened.list_images(&query).await.unwrap()), sorted(&["failed-import"]));
    assert_eq!(reopened.get_image(untouched.id).await.unwrap(), Some(untouched));
}
