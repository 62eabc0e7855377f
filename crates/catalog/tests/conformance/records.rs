//! Image members, alternate keys and long-running operations.

use imagery_catalog::CatalogError;
use imagery_core::image::Visibility;
use imagery_core::member::{Member, MemberStatus};
use imagery_core::operation::OperationRecord;
use serde_json::json;
use uuid::Uuid;

use crate::support::{at, image, Ctx};

pub async fn members_crud(ctx: Ctx) {
    let c = &ctx.catalog;
    let img = image("shared", Some("owner"), Visibility::Shared);
    c.insert_image(&img).await.unwrap();
    let member = |id: &str, n: i64| Member {
        image_id: img.id,
        member_id: id.into(),
        status: MemberStatus::Pending,
        created_at: at(n),
        updated_at: at(n),
    };
    let (m1, m2, m3) = (member("zeta", 1), member("alpha", 2), member("beta", 2));
    for m in [&m1, &m2, &m3] {
        c.insert_member(m).await.unwrap();
    }
    assert!(matches!(c.insert_member(&m1).await, Err(CatalogError::Duplicate(_))));
    let orphan = Member { image_id: Uuid::new_v4(), ..m1.clone() };
    assert!(matches!(c.insert_member(&orphan).await, Err(CatalogError::Missing(_))), "membership of an unknown image");

    assert_eq!(c.get_member(img.id, "zeta").await.unwrap(), Some(m1.clone()));
    assert_eq!(c.get_member(img.id, "nobody").await.unwrap(), None);
    assert_eq!(c.get_member(Uuid::new_v4(), "zeta").await.unwrap(), None);
    assert_eq!(c.list_members(img.id).await.unwrap(), vec![m1.clone(), m2.clone(), m3.clone()], "by creation, then member id");
    assert!(c.list_members(Uuid::new_v4()).await.unwrap().is_empty());

    let accepted = Member { status: MemberStatus::Accepted, updated_at: at(50), ..m2.clone() };
    c.update_member(&accepted).await.unwrap();
    assert_eq!(c.get_member(img.id, "alpha").await.unwrap(), Some(accepted.clone()));
    let rejected = Member { status: MemberStatus::Rejected, ..m3.clone() };
    c.update_member(&rejected).await.unwrap();
    assert_eq!(c.get_member(img.id, "beta").await.unwrap(), Some(rejected));
    let ghost = member("ghost", 3);
    assert!(matches!(c.update_member(&ghost).await, Err(CatalogError::Missing(_))));

    assert!(c.delete_member(img.id, "zeta").await.unwrap());
    assert!(!c.delete_member(img.id, "zeta").await.unwrap());
    assert_eq!(c.list_members(img.id).await.unwrap().len(), 2);
}

pub async fn alt_keys(ctx: Ctx) {
    let c = &ctx.catalog;
    c.insert_alt_key("yandex", "fd8abc", "image-1").await.unwrap();
    c.insert_alt_key("yandex", "fd8abd", "image-2").await.unwrap();
    c.insert_alt_key("yandex", "fd9000", "image-3").await.unwrap();
    c.insert_alt_key("yandex", "fd", "image-4").await.unwrap();
    c.insert_alt_key("yandex", "fe0", "image-5").await.unwrap();
    c.insert_alt_key("yandex", "fd8\u{00e9}", "image-6").await.unwrap();
    c.insert_alt_key("azure", "fd8abc", "image-1").await.unwrap();
    assert!(matches!(c.insert_alt_key("yandex", "fd8abc", "other").await, Err(CatalogError::Duplicate(_))));

    assert_eq!(c.find_alt_key("yandex", "fd8abc").await.unwrap().as_deref(), Some("image-1"));
    assert_eq!(c.find_alt_key("yandex", "FD8ABC").await.unwrap(), None, "keys are case-sensitive");
    assert_eq!(c.find_alt_key("gcp", "fd8abc").await.unwrap(), None);
    assert_eq!(c.alt_key_of("yandex", "image-2").await.unwrap().as_deref(), Some("fd8abd"));
    assert_eq!(c.alt_key_of("azure", "image-2").await.unwrap(), None);

    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(
        c.list_alt_keys("yandex", "fd8", None, 10).await.unwrap(),
        pairs(&[("fd8abc", "image-1"), ("fd8abd", "image-2"), ("fd8\u{00e9}", "image-6")])
    );
    assert_eq!(
        c.list_alt_keys("yandex", "fd8", Some("fd8abc"), 10).await.unwrap(),
        pairs(&[("fd8abd", "image-2"), ("fd8\u{00e9}", "image-6")])
    );
    assert_eq!(c.list_alt_keys("yandex", "fd", None, 2).await.unwrap(), pairs(&[("fd", "image-4"), ("fd8abc", "image-1")]));
    assert_eq!(c.list_alt_keys("yandex", "fd", Some("a"), 1).await.unwrap(), pairs(&[("fd", "image-4")]), "after before the prefix");
    assert_eq!(c.list_alt_keys("yandex", "", Some("fd9000"), 10).await.unwrap(), pairs(&[("fe0", "image-5")]));
    assert_eq!(c.list_alt_keys("yandex", "", None, 100).await.unwrap().len(), 6);
    assert_eq!(c.list_alt_keys("yandex", "fd%", None, 100).await.unwrap(), vec![], "no pattern syntax");
    assert_eq!(c.list_alt_keys("yandex", "fd", None, 0).await.unwrap(), vec![]);

    assert!(c.delete_alt_key("yandex", "fd8abc").await.unwrap());
    assert!(!c.delete_alt_key("yandex", "fd8abc").await.unwrap());
    assert_eq!(c.find_alt_key("yandex", "fd8abc").await.unwrap(), None);
    assert_eq!(c.find_alt_key("azure", "fd8abc").await.unwrap().as_deref(), Some("image-1"));

    // A conditional delete removes the binding only while it names the target.
    assert!(!c.delete_alt_key_if("yandex", "fd8abd", "image-1").await.unwrap());
    assert_eq!(c.find_alt_key("yandex", "fd8abd").await.unwrap().as_deref(), Some("image-2"));
    assert!(c.delete_alt_key_if("yandex", "fd8abd", "image-2").await.unwrap());
    assert_eq!(c.find_alt_key("yandex", "fd8abd").await.unwrap(), None);
}

fn operation(id: &str, target: Option<&str>, created: i64, key: Option<&str>) -> OperationRecord {
    OperationRecord {
        id: id.into(),
        dialect: "yandex".into(),
        project_id: "folder-1".into(),
        target: target.map(str::to_owned),
        description: "Create image".into(),
        created_by: "user-1".into(),
        created_at: at(created),
        modified_at: at(created + 5),
        done: false,
        payload: json!({"metadata": {"imageId": target, "n": [1, 2.5, -3, 18446744073709551615u64]}, "nested": {"s": "\u{00e9}\"'"}, "null": null}),
        idempotency_key: key.map(str::to_owned),
    }
}

pub async fn operations(ctx: Ctx) {
    let c = &ctx.catalog;
    let op1 = operation("op-1", Some("img"), 10, Some("key-1"));
    let op2 = operation("op-2", Some("img"), 20, None);
    let op3 = operation("op-3", Some("img"), 20, None);
    let op4 = operation("op-4", Some("other"), 30, None);
    let op5 = operation("op-5", None, 40, None);
    for op in [&op1, &op2, &op3, &op4, &op5] {
        c.insert_operation(op).await.unwrap();
    }
    assert_eq!(c.get_operation("yandex", "op-1").await.unwrap(), Some(op1.clone()));
    assert_eq!(c.get_operation("azure", "op-1").await.unwrap(), None, "ids are per dialect");
    assert!(matches!(c.insert_operation(&op1).await, Err(CatalogError::Duplicate(_))));
    let mut azure = op1.clone();
    azure.dialect = "azure".into();
    c.insert_operation(&azure).await.unwrap();
    let same_key = operation("op-6", Some("img"), 50, Some("key-1"));
    assert!(matches!(c.insert_operation(&same_key).await, Err(CatalogError::Duplicate(_))), "idempotency keys are unique");
    let other_project = OperationRecord { project_id: "folder-2".into(), ..same_key.clone() };
    c.insert_operation(&other_project).await.unwrap();

    assert_eq!(c.find_operation_by_idempotency_key("yandex", "folder-1", "key-1").await.unwrap(), Some(op1.clone()));
    assert_eq!(c.find_operation_by_idempotency_key("yandex", "folder-2", "key-1").await.unwrap(), Some(other_project.clone()));
    assert_eq!(c.find_operation_by_idempotency_key("yandex", "folder-3", "key-1").await.unwrap(), None);

    let mut done = op2.clone();
    done.done = true;
    done.modified_at = at(99);
    done.payload = json!({"response": {"id": "img", "status": "READY"}});
    c.update_operation(&done).await.unwrap();
    assert_eq!(c.get_operation("yandex", "op-2").await.unwrap(), Some(done.clone()));
    let ghost = operation("op-404", None, 1, None);
    assert!(matches!(c.update_operation(&ghost).await, Err(CatalogError::Missing(_))));

    let listed = |v: Vec<OperationRecord>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    // Newest first; ties broken by id, descending. The re-targeted op-6 of folder-2 is newest.
    assert_eq!(listed(c.list_operations("yandex", "img", None, 10).await.unwrap()), ["op-6", "op-3", "op-2", "op-1"]);
    assert_eq!(listed(c.list_operations("yandex", "img", None, 2).await.unwrap()), ["op-6", "op-3"]);
    assert_eq!(listed(c.list_operations("yandex", "img", Some("op-3"), 10).await.unwrap()), ["op-2", "op-1"]);
    assert_eq!(listed(c.list_operations("yandex", "img", Some("op-2"), 1).await.unwrap()), ["op-1"]);
    assert!(c.list_operations("yandex", "img", Some("op-1"), 10).await.unwrap().is_empty());
    assert!(c.list_operations("yandex", "img", Some("unknown"), 10).await.unwrap().is_empty());
    assert_eq!(listed(c.list_operations("azure", "img", None, 10).await.unwrap()), ["op-1"]);
    assert_eq!(listed(c.list_operations("yandex", "other", None, 10).await.unwrap()), ["op-4"]);
}

/// Blob leases: a deletion is decided against references and fresh claims; a claim
/// waits while a live deletion holds the key, and takes over a dead one.
pub async fn blob_leases(ctx: Ctx) {
    let c = &ctx.catalog;
    let (t0, t1, t2, t3) = (at(0), at(1_000), at(2_000), at(3_000));
    // Nothing claims or references "a": it may be deleted; a claim then waits.
    assert!(c.begin_blob_deletion("a", t1, t1).await.unwrap());
    assert!(!c.claim_blob("a", t2, t0).await.unwrap(), "a live deletion holds the key");
    assert!(c.claim_blob("a", t2, t2).await.unwrap(), "a deletion older than the stale mark is presumed dead");
    c.end_blob_deletion("a").await.unwrap();
    // A claim at or after the cutoff protects the blob; an older one does not.
    assert!(c.claim_blob("b", t1, t0).await.unwrap());
    assert!(!c.begin_blob_deletion("b", t1, t2).await.unwrap());
    assert!(c.begin_blob_deletion("b", t2, t2).await.unwrap());
    c.end_blob_deletion("b").await.unwrap();
    assert!(c.claim_blob("b", t3, t0).await.unwrap(), "the deletion ended");
    // A referenced blob is never deleted, claimed or not.
    let mut img = crate::support::image("holder", Some("p"), imagery_core::Visibility::Private);
    img.blob_key = Some("c".into());
    c.insert_image(&img).await.unwrap();
    assert!(!c.begin_blob_deletion("c", t3, t3).await.unwrap());
}
