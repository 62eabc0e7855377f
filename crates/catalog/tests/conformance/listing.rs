//! `list_images`: Glance's scoping rules, every filter, every sort key in both
//! directions, and keyset pagination checked against a full sort computed here.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use imagery_catalog::{Catalog, CatalogError};
use imagery_core::image::{Image, ImageStatus, Visibility};
use imagery_core::member::{Member, MemberStatus};
use imagery_core::query::{Cmp, Filter, IntField, ListQuery, ListScope, SortDir, SortKey, TextField, TimeField};
use uuid::Uuid;

use crate::support::{at, image, names, sorted, Ctx};

// ---- scoping --------------------------------------------------------------------

/// alice is the caller's project; bob and carol are others.
async fn scoping_world(c: &Arc<dyn Catalog>) {
    use Visibility::*;
    let mut images = vec![
        image("a_pub", Some("alice"), Public),
        image("a_priv", Some("alice"), Private),
        image("a_shared", Some("alice"), Shared),
        image("a_comm", Some("alice"), Community),
        image("b_pub", Some("bob"), Public),
        image("b_priv", Some("bob"), Private),
        image("b_shared_pending", Some("bob"), Shared),
        image("b_shared_accepted", Some("bob"), Shared),
        image("b_shared_rejected", Some("bob"), Shared),
        image("b_shared_carol", Some("bob"), Shared),
        image("b_comm", Some("bob"), Community),
        image("n_priv", None, Private),
        image("n_comm", None, Community),
    ];
    let mut hidden_b = image("b_pub_hidden", Some("bob"), Public);
    hidden_b.os_hidden = true;
    let mut hidden_a = image("a_priv_hidden", Some("alice"), Private);
    hidden_a.os_hidden = true;
    let mut deleted = image("a_deleted", Some("alice"), Public);
    deleted.status = ImageStatus::Deleted;
    let mut pending_delete = image("b_pending_delete", Some("bob"), Public);
    pending_delete.status = ImageStatus::PendingDelete;
    let mut killed = image("a_killed", Some("alice"), Public);
    killed.status = ImageStatus::Killed;
    let mut killed_hidden = image("a_killed_hidden", Some("alice"), Public);
    killed_hidden.status = ImageStatus::Killed;
    killed_hidden.os_hidden = true;
    images.extend([hidden_b, hidden_a, deleted, pending_delete, killed, killed_hidden]);
    for img in &images {
        c.insert_image(img).await.unwrap();
    }
    let id_of = |name: &str| images.iter().find(|i| i.name.as_deref() == Some(name)).map(|i| i.id).unwrap();
    for (name, member, status) in [
        ("b_shared_pending", "alice", MemberStatus::Pending),
        ("b_shared_accepted", "alice", MemberStatus::Accepted),
        ("b_shared_rejected", "alice", MemberStatus::Rejected),
        ("b_shared_carol", "carol", MemberStatus::Accepted),
        ("b_shared_accepted", "carol", MemberStatus::Pending),
        // A membership on a non-shared image does not make it visible.
        ("b_priv", "alice", MemberStatus::Accepted),
    ] {
        let m = Member { image_id: id_of(name), member_id: member.into(), status, created_at: at(0), updated_at: at(0) };
        c.insert_member(&m).await.unwrap();
    }
}

fn scope(admin: bool, project: Option<&str>) -> ListScope {
    ListScope {
        is_admin: admin,
        project_id: project.map(str::to_owned),
        visibility: None,
        include_community: false,
        member_status: None,
        os_hidden: Some(false),
    }
}

async fn listed(c: &Arc<dyn Catalog>, scope: ListScope) -> Vec<String> {
    listed_query(c, ListQuery::new(scope, 1000)).await
}

async fn listed_query(c: &Arc<dyn Catalog>, query: ListQuery) -> Vec<String> {
    names(&c.list_images(&query).await.unwrap())
}

const ALICE_OWN: [&str; 4] = ["a_pub", "a_priv", "a_shared", "a_comm"];

fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
    let all: Vec<&str> = base.iter().chain(extra).copied().collect();
    sorted(&all)
}

pub async fn scope_regular_user_default_view(ctx: Ctx) {
    let c = &ctx.catalog;
    scoping_world(c).await;
    let alice = scope(false, Some("alice"));
    // member_status None: shared-with-me in any status.
    assert_eq!(
        listed(c, alice.clone()).await,
        with(&ALICE_OWN, &["b_pub", "b_shared_pending", "b_shared_accepted", "b_shared_rejected", "n_priv", "n_comm"])
    );
    for (status, shared) in [
        (MemberStatus::Accepted, "b_shared_accepted"),
        (MemberStatus::Pending, "b_shared_pending"),
        (MemberStatus::Rejected, "b_shared_rejected"),
    ] {
        let s = ListScope { member_status: Some(status), ..alice.clone() };
        assert_eq!(listed(c, s).await, with(&ALICE_OWN, &["b_pub", shared, "n_priv", "n_comm"]), "{status}");
    }
    // visibility=all adds others' community images.
    let all = ListScope { include_community: true, member_status: Some(MemberStatus::Accepted), ..alice.clone() };
    assert_eq!(listed(c, all).await, with(&ALICE_OWN, &["b_pub", "b_shared_accepted", "b_comm", "n_priv", "n_comm"]));
    // carol sees bob's image shared with her, but not alice's private ones.
    let carol = ListScope { member_status: Some(MemberStatus::Accepted), ..scope(false, Some("carol")) };
    assert_eq!(listed(c, carol).await, sorted(&["a_pub", "b_pub", "b_shared_carol", "n_priv", "n_comm"]));
}

pub async fn scope_regular_user_by_visibility(ctx: Ctx) {
    let c = &ctx.catalog;
    scoping_world(c).await;
    let alice = scope(false, Some("alice"));
    let vis = |v: Visibility, status: Option<MemberStatus>| ListScope { visibility: Some(v), member_status: status, ..alice.clone() };
    assert_eq!(listed(c, vis(Visibility::Public, None)).await, sorted(&["a_pub", "b_pub"]));
    assert_eq!(listed(c, vis(Visibility::Private, None)).await, sorted(&["a_priv", "n_priv"]));
    assert_eq!(
        listed(c, vis(Visibility::Shared, None)).await,
        sorted(&["a_shared", "b_shared_pending", "b_shared_accepted", "b_shared_rejected"])
    );
    assert_eq!(listed(c, vis(Visibility::Shared, Some(MemberStatus::Pending))).await, sorted(&["a_shared", "b_shared_pending"]));
    assert_eq!(listed(c, vis(Visibility::Shared, Some(MemberStatus::Accepted))).await, sorted(&["a_shared", "b_shared_accepted"]));
    assert_eq!(listed(c, vis(Visibility::Community, None)).await, sorted(&["a_comm", "b_comm", "n_comm"]));
}

pub async fn scope_projectless_user(ctx: Ctx) {
    let c = &ctx.catalog;
    scoping_world(c).await;
    let anon = scope(false, None);
    assert_eq!(listed(c, anon.clone()).await, sorted(&["a_pub", "b_pub", "n_priv", "n_comm"]));
    let vis = |v| ListScope { visibility: Some(v), ..anon.clone() };
    assert_eq!(listed(c, vis(Visibility::Shared)).await, Vec::<String>::new());
    assert_eq!(listed(c, vis(Visibility::Private)).await, sorted(&["n_priv"]));
    assert_eq!(listed(c, vis(Visibility::Community)).await, sorted(&["a_comm", "b_comm", "n_comm"]));
    let all = ListScope { include_community: true, ..anon };
    assert_eq!(listed(c, all).await, sorted(&["a_pub", "b_pub", "n_priv", "n_comm", "a_comm", "b_comm"]));
}

pub async fn scope_admin(ctx: Ctx) {
    let c = &ctx.catalog;
    scoping_world(c).await;
    let admin = scope(true, Some("alice"));
    let everything_visible = [
        "a_pub",
        "a_priv",
        "a_shared",
        "a_comm",
        "b_pub",
        "b_priv",
        "b_shared_pending",
        "b_shared_accepted",
        "b_shared_rejected",
        "b_shared_carol",
        "b_comm",
        "n_priv",
        "n_comm",
    ];
    let without = |gone: &[&str]| sorted(&everything_visible.iter().copied().filter(|n| !gone.contains(n)).collect::<Vec<_>>());
    // Default view: every project's images except other projects' community ones.
    assert_eq!(listed(c, admin.clone()).await, without(&["b_comm"]));
    // member_status does not narrow what an admin sees.
    let accepted = ListScope { member_status: Some(MemberStatus::Accepted), ..admin.clone() };
    assert_eq!(listed(c, accepted).await, without(&["b_comm"]));
    let all = ListScope { include_community: true, ..admin.clone() };
    assert_eq!(listed(c, all).await, without(&[]));
    let vis = |v| ListScope { visibility: Some(v), ..admin.clone() };
    assert_eq!(listed(c, vis(Visibility::Community)).await, sorted(&["a_comm", "b_comm", "n_comm"]));
    assert_eq!(
        listed(c, vis(Visibility::Shared)).await,
        sorted(&["a_shared", "b_shared_pending", "b_shared_accepted", "b_shared_rejected", "b_shared_carol"])
    );
    assert_eq!(listed(c, vis(Visibility::Private)).await, sorted(&["a_priv", "b_priv", "n_priv"]));
    // A project-less admin (no-auth mode) has no community images of its own.
    assert_eq!(listed(c, scope(true, None)).await, without(&["a_comm", "b_comm"]));
    // The maintenance scope sees hidden images as well (never killed or deleted ones
    // unless asked).
    let mut everything = without(&[]);
    everything.extend(["a_priv_hidden".to_string(), "b_pub_hidden".to_string()]);
    everything.sort();
    assert_eq!(listed(c, ListScope::everything()).await, everything);
    let hidden_only = ListScope { os_hidden: Some(true), ..ListScope::everything() };
    assert_eq!(listed(c, hidden_only).await, sorted(&["a_priv_hidden", "b_pub_hidden"]));
}

pub async fn scope_hidden_deleted_killed(ctx: Ctx) {
    let c = &ctx.catalog;
    scoping_world(c).await;
    let alice = scope(false, Some("alice"));
    let default_names = with(&ALICE_OWN, &["b_pub", "b_shared_pending", "b_shared_accepted", "b_shared_rejected", "n_priv", "n_comm"]);
    let hidden = |h| ListScope { os_hidden: Some(h), ..alice.clone() };
    assert_eq!(listed(c, hidden(true)).await, sorted(&["a_priv_hidden", "b_pub_hidden"]));
    assert_eq!(listed(c, hidden(false)).await, default_names);

    let mut q = ListQuery::new(alice.clone(), 1000);
    q.include_deleted = true;
    let mut expected = default_names.clone();
    expected.extend(["a_deleted".to_string(), "b_pending_delete".to_string()]);
    expected.sort();
    assert_eq!(listed_query(c, q.clone()).await, expected, "killed images never appear");

    let admin = ListScope { os_hidden: Some(true), ..scope(true, None) };
    assert_eq!(listed(c, admin).await, sorted(&["a_priv_hidden", "b_pub_hidden"]), "killed images never appear, even hidden");
    let mut everything = ListQuery::new(ListScope::everything(), 1000);
    everything.include_deleted = true;
    everything.filters.push(imagery_core::query::status_filter(&[ImageStatus::Killed]));
    assert_eq!(listed_query(c, everything).await, Vec::<String>::new());
}

// ---- filters --------------------------------------------------------------------

struct FilterWorld {
    images: Vec<Image>,
}

async fn filter_world(c: &Arc<dyn Catalog>) -> FilterWorld {
    let mut images = Vec::new();
    let formats = [(Some("bare"), Some("qcow2")), (Some("ovf"), Some("raw")), (None, None), (Some("bare"), Some("iso"))];
    for n in 0..12i64 {
        let mut img = image(&format!("img-{n:02}"), Some(["p1", "p2", "p3"][(n % 3) as usize]), Visibility::Public);
        let (cf, df) = formats[(n % 4) as usize];
        img.container_format = cf.map(str::to_owned);
        img.disk_format = df.map(str::to_owned);
        img.status = [ImageStatus::Active, ImageStatus::Queued, ImageStatus::Saving][(n % 3) as usize];
        img.size = if n % 5 == 0 { None } else { Some(n * 100) };
        img.virtual_size = if n % 4 == 0 { None } else { Some(n * 1000) };
        img.min_disk = n % 4;
        img.min_ram = (n % 3) * 512;
        img.created_at = at(n * 10);
        img.updated_at = at(1000 - n * 7);
        img.protected = n % 2 == 0;
        img.checksum = (n % 2 == 1).then(|| format!("md5-{}", n % 3));
        img.os_hash_value = (n % 2 == 1).then(|| format!("sha-{}", n % 3));
        if n % 2 == 0 {
            img.tags.insert("even".into());
        }
        if n % 3 == 0 {
            img.tags.insert("three".into());
        }
        img.properties.insert("os_distro".into(), ["ubuntu", "debian"][(n % 2) as usize].into());
        if n % 4 == 0 {
            img.properties.insert("hw_rng".into(), "true".into());
        }
        c.insert_image(&img).await.unwrap();
        images.push(img);
    }
    FilterWorld { images }
}

impl FilterWorld {
    fn expect(&self, keep: impl Fn(&Image) -> bool) -> Vec<String> {
        names(&self.images.iter().filter(|i| keep(i)).cloned().collect::<Vec<_>>())
    }
}

fn compare(cmp: Cmp, a: i64, b: i64) -> bool {
    match cmp {
        Cmp::Eq => a == b,
        Cmp::Neq => a != b,
        Cmp::Gt => a > b,
        Cmp::Gte => a >= b,
        Cmp::Lt => a < b,
        Cmp::Lte => a <= b,
    }
}

async fn filtered(c: &Arc<dyn Catalog>, filters: Vec<Filter>) -> Vec<String> {
    let mut q = ListQuery::new(ListScope::everything(), 1000);
    q.filters = filters;
    listed_query(c, q).await
}

pub async fn filters_text_in(ctx: Ctx) {
    let c = &ctx.catalog;
    let w = filter_world(c).await;
    let text = |i: &Image, f: TextField| -> Option<String> {
        match f {
            TextField::Id => Some(i.id.to_string()),
            TextField::Name => i.name.clone(),
            TextField::Status => Some(i.status.as_str().to_owned()),
            TextField::ContainerFormat => i.container_format.clone(),
            TextField::DiskFormat => i.disk_format.clone(),
            TextField::Owner => i.owner.clone(),
            TextField::Checksum => i.checksum.clone(),
            TextField::OsHashValue => i.os_hash_value.clone(),
        }
    };
    let cases: Vec<(TextField, Vec<String>)> = vec![
        (TextField::Name, vec!["img-03".into()]),
        (TextField::Name, vec!["img-03".into(), "img-07".into(), "nope".into()]),
        (TextField::Status, vec!["queued".into()]),
        (TextField::Status, vec!["queued".into(), "saving".into()]),
        (TextField::ContainerFormat, vec!["bare".into()]),
        (TextField::DiskFormat, vec!["raw".into(), "iso".into()]),
        (TextField::Owner, vec!["p2".into()]),
        (TextField::Checksum, vec!["md5-1".into()]),
        (TextField::OsHashValue, vec!["sha-0".into(), "sha-2".into()]),
        (TextField::Id, vec![w.images[4].id.to_string(), w.images[9].id.to_string()]),
    ];
    for (field, values) in cases {
        let expected = w.expect(|i| text(i, field).is_some_and(|v| values.contains(&v)));
        assert!(!expected.is_empty(), "fixture covers {field:?}");
        assert_eq!(filtered(c, vec![Filter::In(field, values.clone())]).await, expected, "{field:?} in {values:?}");
    }
    // Ids match whatever their spelling; a malformed id or an empty list matches nothing.
    let upper = w.images[2].id.to_string().to_uppercase();
    assert_eq!(filtered(c, vec![Filter::In(TextField::Id, vec![upper])]).await, sorted(&["img-02"]));
    assert!(filtered(c, vec![Filter::In(TextField::Id, vec!["not-a-uuid".into()])]).await.is_empty());
    assert!(filtered(c, vec![Filter::In(TextField::Name, vec![])]).await.is_empty());
    // Values are data, never SQL.
    assert!(filtered(c, vec![Filter::In(TextField::Name, vec!["x' OR '1'='1".into()])]).await.is_empty());
}

pub async fn filters_numeric_and_time(ctx: Ctx) {
    let c = &ctx.catalog;
    let w = filter_world(c).await;
    let cmps = [Cmp::Eq, Cmp::Neq, Cmp::Gt, Cmp::Gte, Cmp::Lt, Cmp::Lte];
    for field in [IntField::Size, IntField::VirtualSize, IntField::MinDisk, IntField::MinRam] {
        let value = |i: &Image| match field {
            IntField::Size => i.size,
            IntField::VirtualSize => i.virtual_size,
            IntField::MinDisk => Some(i.min_disk),
            IntField::MinRam => Some(i.min_ram),
        };
        let pivot = match field {
            IntField::Size => 600,
            IntField::VirtualSize => 6000,
            IntField::MinDisk => 2,
            IntField::MinRam => 512,
        };
        for cmp in cmps {
            let expected = w.expect(|i| value(i).is_some_and(|v| compare(cmp, v, pivot)));
            assert_eq!(filtered(c, vec![Filter::Int(field, cmp, pivot)]).await, expected, "{field:?} {cmp:?}");
        }
    }
    for field in [TimeField::CreatedAt, TimeField::UpdatedAt] {
        let value = |i: &Image| match field {
            TimeField::CreatedAt => i.created_at,
            TimeField::UpdatedAt => i.updated_at,
        };
        let pivot = value(&w.images[5]);
        for cmp in cmps {
            let expected = w.expect(|i| compare(cmp, value(i).timestamp_micros(), pivot.timestamp_micros()));
            assert_eq!(filtered(c, vec![Filter::Time(field, cmp, pivot)]).await, expected, "{field:?} {cmp:?}");
        }
    }
    // size_min / size_max together.
    let expected = w.expect(|i| i.size.is_some_and(|s| (300..=800).contains(&s)));
    assert_eq!(filtered(c, vec![Filter::Int(IntField::Size, Cmp::Gte, 300), Filter::Int(IntField::Size, Cmp::Lte, 800)]).await, expected);
}

pub async fn filters_protected_tags_properties(ctx: Ctx) {
    let c = &ctx.catalog;
    let w = filter_world(c).await;
    for p in [true, false] {
        assert_eq!(filtered(c, vec![Filter::Protected(p)]).await, w.expect(|i| i.protected == p));
    }
    let tag = |t: &str| Filter::Tag(t.into());
    assert_eq!(filtered(c, vec![tag("even")]).await, w.expect(|i| i.tags.contains("even")));
    assert_eq!(
        filtered(c, vec![tag("even"), tag("three")]).await,
        w.expect(|i| i.tags.contains("even") && i.tags.contains("three")),
        "tag filters AND together"
    );
    assert!(filtered(c, vec![tag("even"), tag("missing")]).await.is_empty());
    let prop = |k: &str, v: &str| Filter::Property(k.into(), v.into());
    assert_eq!(
        filtered(c, vec![prop("os_distro", "debian")]).await,
        w.expect(|i| i.properties.get("os_distro").map(String::as_str) == Some("debian"))
    );
    assert!(filtered(c, vec![prop("os_distro", "DEBIAN")]).await.is_empty(), "property values match exactly");
    assert!(filtered(c, vec![prop("hw_rng", "false")]).await.is_empty());
    assert_eq!(filtered(c, vec![Filter::HasProperty("hw_rng".into())]).await, w.expect(|i| i.properties.contains_key("hw_rng")));
    // Everything at once.
    let expected = w.expect(|i| {
        i.tags.contains("even")
            && i.properties.get("os_distro").map(String::as_str) == Some("ubuntu")
            && i.owner.as_deref() != Some("p2")
            && i.status != ImageStatus::Saving
            && i.protected
    });
    assert!(!expected.is_empty());
    assert_eq!(
        filtered(
            c,
            vec![
                tag("even"),
                prop("os_distro", "ubuntu"),
                Filter::In(TextField::Owner, vec!["p1".into(), "p3".into()]),
                Filter::In(TextField::Status, vec!["active".into(), "queued".into()]),
                Filter::Protected(true),
            ]
        )
        .await,
        expected
    );
}

// ---- sorting and pagination -------------------------------------------------------

const ALL_KEYS: [SortKey; 10] = [
    SortKey::Name,
    SortKey::Status,
    SortKey::ContainerFormat,
    SortKey::DiskFormat,
    SortKey::Size,
    SortKey::Id,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::MinDisk,
    SortKey::MinRam,
];

/// A sort value as the catalog orders it: NULL first, then by value.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Null,
    Int(i64),
    Text(String),
}

fn sort_value(i: &Image, key: SortKey) -> SortValue {
    let text = |v: &Option<String>| v.clone().map_or(SortValue::Null, SortValue::Text);
    match key {
        SortKey::Name => text(&i.name),
        SortKey::Status => SortValue::Text(i.status.as_str().into()),
        SortKey::ContainerFormat => text(&i.container_format),
        SortKey::DiskFormat => text(&i.disk_format),
        SortKey::Size => i.size.map_or(SortValue::Null, SortValue::Int),
        SortKey::Id => SortValue::Text(i.id.to_string()),
        SortKey::CreatedAt => SortValue::Int(i.created_at.timestamp_micros()),
        SortKey::UpdatedAt => SortValue::Int(i.updated_at.timestamp_micros()),
        SortKey::MinDisk => SortValue::Int(i.min_disk),
        SortKey::MinRam => SortValue::Int(i.min_ram),
    }
}

fn order(a: &Image, b: &Image, sort: &[(SortKey, SortDir)]) -> Ordering {
    for (key, dir) in sort {
        let o = sort_value(a, *key).cmp(&sort_value(b, *key));
        let o = if *dir == SortDir::Desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Many images with ties on every key, NULL names and formats, mixed case names.
async fn sort_world(c: &Arc<dyn Catalog>, count: i64) -> Vec<Image> {
    let statuses = [ImageStatus::Active, ImageStatus::Queued, ImageStatus::Deactivated, ImageStatus::Importing];
    let mut images = Vec::new();
    for n in 0..count {
        let mut img = Image::new(Uuid::new_v4(), Some("p".into()), at((n % 7) * 1000));
        img.visibility = Visibility::Public;
        img.name = match n % 6 {
            0 => None,
            1 => Some(format!("Name-{}", n % 4)),
            2 => Some(format!("name-{}", n % 5)),
            3 => Some(String::new()),
            4 => Some(format!("\u{00c9}t\u{00e9}-{}", n % 3)),
            _ => Some(format!("z{n:03}")),
        };
        img.status = statuses[(n % 4) as usize];
        img.container_format = [None, Some("bare"), Some("ovf")][(n % 3) as usize].map(str::to_owned);
        img.disk_format = [Some("raw"), None, Some("qcow2"), Some("iso"), None][(n % 5) as usize].map(str::to_owned);
        img.size = if n % 4 == 0 { None } else { Some((n % 9) * 1_000_000_000_000) };
        img.updated_at = at((n % 11) * 10);
        img.min_disk = n % 3;
        img.min_ram = (n % 5) * 256;
        c.insert_image(&img).await.unwrap();
        images.push(img);
    }
    images
}

async fn walk(c: &Arc<dyn Catalog>, base: &ListQuery, page: usize) -> Vec<Image> {
    let mut out: Vec<Image> = Vec::new();
    let mut q = base.clone();
    q.limit = page;
    q.marker = None;
    loop {
        let batch = c.list_images(&q).await.unwrap();
        assert!(batch.len() <= page);
        let Some(last) = batch.last() else { break };
        q.marker = Some(last.id);
        let full = batch.len() == page;
        out.extend(batch);
        if !full {
            break;
        }
        assert!(out.len() < 100_000, "pagination does not terminate");
    }
    out
}

fn ids(images: &[Image]) -> Vec<Uuid> {
    images.iter().map(|i| i.id).collect()
}

async fn check_sort(c: &Arc<dyn Catalog>, all: &[Image], sort: Vec<(SortKey, SortDir)>, pages: &[usize]) {
    let mut q = ListQuery::new(ListScope::everything(), 10_000);
    q.sort = sort;
    let effective = q.effective_sort();
    let mut expected = all.to_vec();
    expected.sort_by(|a, b| order(a, b, &effective));
    let got = c.list_images(&q).await.unwrap();
    assert_eq!(ids(&got), ids(&expected), "one page sorted by {effective:?}");
    for &page in pages {
        let walked = walk(c, &q, page).await;
        let unique: HashSet<Uuid> = walked.iter().map(|i| i.id).collect();
        assert_eq!(unique.len(), walked.len(), "no duplicates with {effective:?}, page {page}");
        assert_eq!(ids(&walked), ids(&expected), "pages of {page} sorted by {effective:?}");
    }
}

pub async fn sort_by_every_key_both_directions(ctx: Ctx) {
    let c = &ctx.catalog;
    let all = sort_world(c, 60).await;
    for key in ALL_KEYS {
        for dir in [SortDir::Asc, SortDir::Desc] {
            check_sort(c, &all, vec![(key, dir)], &[7]).await;
        }
    }
}

pub async fn keyset_pagination_walks_every_row(ctx: Ctx) {
    let c = &ctx.catalog;
    let all = sort_world(c, 300).await;
    use SortDir::*;
    use SortKey::*;
    let sorts = vec![
        vec![(CreatedAt, Desc)],
        vec![(Name, Asc)],
        vec![(Name, Desc)],
        vec![(Name, Asc), (Size, Desc)],
        vec![(Size, Desc), (Name, Asc)],
        vec![(Status, Asc), (CreatedAt, Asc)],
        vec![(DiskFormat, Desc), (MinRam, Asc)],
        vec![(ContainerFormat, Asc), (DiskFormat, Desc), (UpdatedAt, Asc)],
        vec![(Size, Asc)],
        vec![(UpdatedAt, Asc), (Id, Desc)],
        vec![(MinDisk, Desc), (MinRam, Desc), (Name, Desc)],
        vec![(Id, Asc)],
        vec![(Name, Asc), (Name, Desc)],
    ];
    for sort in sorts {
        check_sort(c, &all, sort, &[17, 100]).await;
    }
    check_sort(c, &all, vec![(Name, Desc), (Size, Asc)], &[1]).await;
}

pub async fn pagination_with_filters_and_foreign_markers(ctx: Ctx) {
    let c = &ctx.catalog;
    let all = sort_world(c, 80).await;
    let mut q = ListQuery::new(ListScope::everything(), 1000);
    q.sort = vec![(SortKey::Name, SortDir::Asc)];
    q.filters = vec![Filter::In(TextField::Status, vec!["active".into(), "queued".into()])];
    let effective = q.effective_sort();
    let mut expected: Vec<Image> = all.iter().filter(|i| matches!(i.status, ImageStatus::Active | ImageStatus::Queued)).cloned().collect();
    expected.sort_by(|a, b| order(a, b, &effective));
    assert_eq!(ids(&walk(c, &q, 6).await), ids(&expected));

    // A marker the filters exclude still positions the page.
    let mut by_order = all.clone();
    by_order.sort_by(|a, b| order(a, b, &effective));
    let marker = by_order.iter().find(|i| i.status == ImageStatus::Deactivated).unwrap();
    q.marker = Some(marker.id);
    let after: Vec<Uuid> = by_order
        .iter()
        .skip_while(|i| i.id != marker.id)
        .skip(1)
        .filter(|i| matches!(i.status, ImageStatus::Active | ImageStatus::Queued))
        .map(|i| i.id)
        .collect();
    assert_eq!(ids(&c.list_images(&q).await.unwrap()), after);
}

pub async fn list_limits_and_markers(ctx: Ctx) {
    let c = &ctx.catalog;
    let all = sort_world(c, 10).await;
    let mut q = ListQuery::new(ListScope::everything(), 0);
    assert!(c.list_images(&q).await.unwrap().is_empty());
    q.limit = 3;
    assert_eq!(c.list_images(&q).await.unwrap().len(), 3);
    q.marker = Some(Uuid::new_v4());
    assert!(matches!(c.list_images(&q).await, Err(CatalogError::Missing(_))));
    // The last image as marker: an empty page.
    let mut q = ListQuery::new(ListScope::everything(), 100);
    let full = c.list_images(&q).await.unwrap();
    assert_eq!(full.len(), all.len());
    q.marker = full.last().map(|i| i.id);
    assert!(c.list_images(&q).await.unwrap().is_empty());
}

/// Tags and properties are returned with listed images too.
pub async fn listed_images_are_complete(ctx: Ctx) {
    let c = &ctx.catalog;
    let mut img = image("complete", Some("p"), Visibility::Public);
    img.tags = BTreeSet::from(["a".to_string(), "b".to_string()]);
    img.properties = BTreeMap::from([("k".to_string(), "v".to_string())]);
    img.size = Some(42);
    c.insert_image(&img).await.unwrap();
    let got = c.list_images(&ListQuery::new(scope(false, Some("p")), 10)).await.unwrap();
    assert_eq!(got, vec![img]);
}

/// A project's view (a union of branches) and the tag and property filters that
/// drive the default order page exactly like one full sort: every visible image
/// once, in order, whatever the page size, sort key or marker.
pub async fn pagination_of_a_projects_view_and_driving_filters(ctx: Ctx) {
    let c = &ctx.catalog;
    let owners = [Some("p"), Some("q"), Some("r"), None];
    let visibilities = [Visibility::Public, Visibility::Private, Visibility::Shared, Visibility::Community];
    let mut all = Vec::new();
    for n in 0..120i64 {
        let owner = owners[(n % 4) as usize];
        let mut img = Image::new(Uuid::new_v4(), owner.map(str::to_owned), at((n % 9) * 1000));
        img.visibility = visibilities[((n / 4) % 4) as usize];
        img.name = if n % 5 == 0 { None } else { Some(format!("n{}", n % 7)) };
        img.size = if n % 6 == 0 { None } else { Some(n % 8) };
        img.updated_at = at((n % 13) * 10);
        if n % 3 == 0 {
            img.tags.insert("t".into());
        }
        if n % 2 == 0 {
            img.properties.insert("k".into(), if n % 4 == 0 { "v".into() } else { "w".into() });
        }
        c.insert_image(&img).await.unwrap();
        if img.visibility == Visibility::Shared && owner != Some("p") && n % 3 != 2 {
            let status = if n % 3 == 0 { MemberStatus::Accepted } else { MemberStatus::Pending };
            let m = Member { image_id: img.id, member_id: "p".into(), status, created_at: at(0), updated_at: at(0) };
            c.insert_member(&m).await.unwrap();
        }
        all.push((img, n));
    }
    // One image moves in time after it was tagged: its tag and property rows follow.
    let (moved, _) = &mut all[3];
    moved.created_at = at(99_000);
    *moved = c.update_image(moved).await.unwrap();
    let accepted = |n: i64| n % 3 == 0;
    let visible = |img: &Image, n: i64, visibility: Option<Visibility>| {
        let by_scope = img.visibility == Visibility::Public
            || img.owner.is_none()
            || img.owner.as_deref() == Some("p")
            || (img.visibility == Visibility::Shared && accepted(n));
        by_scope && visibility.is_none_or(|v| img.visibility == v)
    };
    type Keep = Box<dyn Fn(&Image) -> bool>;
    let filters: Vec<(Vec<Filter>, Keep)> = vec![
        (vec![], Box::new(|_: &Image| true)),
        (vec![Filter::Tag("t".into())], Box::new(|i: &Image| i.tags.contains("t"))),
        (vec![Filter::Property("k".into(), "v".into())], Box::new(|i: &Image| i.properties.get("k").map(String::as_str) == Some("v"))),
        (
            vec![Filter::Tag("t".into()), Filter::Property("k".into(), "v".into())],
            Box::new(|i: &Image| i.tags.contains("t") && i.properties.get("k").map(String::as_str) == Some("v")),
        ),
        (vec![Filter::In(TextField::Owner, vec!["p".into()])], Box::new(|i: &Image| i.owner.as_deref() == Some("p"))),
        (vec![Filter::In(TextField::Owner, vec!["q".into()])], Box::new(|i: &Image| i.owner.as_deref() == Some("q"))),
    ];
    let sorts = [
        vec![(SortKey::CreatedAt, SortDir::Desc)],
        vec![(SortKey::CreatedAt, SortDir::Asc)],
        vec![(SortKey::Name, SortDir::Asc)],
        vec![(SortKey::Size, SortDir::Desc)],
        vec![(SortKey::UpdatedAt, SortDir::Asc)],
    ];
    let mut user = scope(false, Some("p"));
    user.member_status = Some(MemberStatus::Accepted);
    user.os_hidden = None;
    for visibility in [None, Some(Visibility::Shared), Some(Visibility::Private)] {
        for (admin, scope) in [(false, ListScope { visibility, ..user.clone() }), (true, ListScope::everything())] {
            for (filter, keep) in &filters {
                for sort in &sorts {
                    let mut q = ListQuery::new(scope.clone(), 1000);
                    q.filters = filter.clone();
                    q.sort = sort.clone();
                    let effective = q.effective_sort();
                    let mut expected: Vec<Image> =
                        all.iter().filter(|(i, n)| (admin || visible(i, *n, visibility)) && keep(i)).map(|(i, _)| i.clone()).collect();
                    expected.sort_by(|a, b| order(a, b, &effective));
                    for page in [1, 7, 1000] {
                        let walked = walk(c, &q, page).await;
                        assert_eq!(ids(&walked), ids(&expected), "admin {admin}, {visibility:?}, {filter:?}, {effective:?}, page {page}");
                    }
                }
            }
        }
    }
    // A tag on more images than drive a project's view (1,000): its branches probe.
    for (img, n) in all.iter_mut() {
        if *n % 5 == 1 {
            img.tags.insert("many".into());
            *img = c.update_image(img).await.unwrap();
        }
    }
    for _ in 0..1001 {
        let mut img = Image::new(Uuid::new_v4(), Some("z".into()), at(500));
        img.visibility = Visibility::Private;
        img.tags.insert("many".into());
        c.insert_image(&img).await.unwrap();
    }
    for sort in &sorts {
        let mut q = ListQuery::new(user.clone(), 1000);
        q.filters = vec![Filter::Tag("many".into())];
        q.sort = sort.clone();
        let effective = q.effective_sort();
        let mut expected: Vec<Image> =
            all.iter().filter(|(i, n)| visible(i, *n, None) && i.tags.contains("many")).map(|(i, _)| i.clone()).collect();
        expected.sort_by(|a, b| order(a, b, &effective));
        assert!(!expected.is_empty());
        for page in [1, 7] {
            assert_eq!(ids(&walk(c, &q, page).await), ids(&expected), "many, {effective:?}, page {page}");
        }
    }
}
