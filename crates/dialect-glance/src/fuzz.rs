//! Property-based fuzzing of the Glance dialect's parsers: JSON-patch documents
//! (both media types) and their application to an image, JSON pointers, the list
//! query (filters, operators, sort, limit, marker, times) and the router. Nothing
//! may panic; pointers round-trip; a successful patch did what it said.
//!
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use http::Method;
use imagery_core::Image;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{apply_patch, parse_patch, pointer_key, Op, BASE};
use crate::list_query::{parse_list_request, parse_time, ListOptions};

fn config(cases: u32) -> ProptestConfig {
    imagery_test_support::fuzz::config(cases, 0x0091_a2ce)
}

const ATTRIBUTES: [&str; 16] = [
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "owner",
    "tags",
    "kernel_id",
    "ramdisk_id",
    "cinder_encryption_key_deletion_policy",
    "hw_disk_bus",
    "a/b~c",
    "",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(1e300)),
        Just(json!("private")),
        Just(json!("on_image_deletion")),
        Just(json!("6f0d6ad4-0c5b-4e1c-9c3f-3b9b1e1f2c3d")),
        Just(json!("6f0d6ad40c5b4e1c9c3f3b9b1e1f2c3d")),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An RFC 6901 reference token for `key`.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn path() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::sample::select(ATTRIBUTES.to_vec()).prop_map(|k| json!(format!("/{}", escape(k)))),
        2 => "/?[a-z~/0-9]{0,8}".prop_map(Value::String),
        1 => json_leaf(),
    ]
}

/// One operation object in either media type's shape (or something close to it).
fn operation() -> impl Strategy<Value = Value> {
    let ops = proptest::sample::select(vec!["add", "replace", "remove", "move", "test", "ADD", ""]);
    prop_oneof![
        // application/openstack-images-v2.1-json-patch
        (ops.clone(), path(), proptest::option::of(json_value())).prop_map(|(op, path, value)| {
            let mut o = Map::new();
            o.insert("op".into(), json!(op));
            o.insert("path".into(), path);
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        }),
        // application/openstack-images-v2.0-json-patch
        (proptest::collection::btree_map(ops, path(), 0..3), proptest::option::of(json_value())).prop_map(|(members, value)| {
            let mut o: Map<String, Value> = members.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        }),
        json_value(),
    ]
}

fn image() -> Image {
    let mut image = Image::new(Uuid::nil(), Some("project".into()), imagery_core::time::now());
    image.properties.insert("hw_disk_bus".into(), "virtio".into());
    image.properties.insert("kernel_id".into(), "6f0d6ad4-0c5b-4e1c-9c3f-3b9b1e1f2c3d".into());
    image
}

const LIST_KEYS: [&str; 30] = [
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "sort",
    "visibility",
    "member_status",
    "os_hidden",
    "protected",
    "tag",
    "size_min",
    "size_max",
    "size",
    "virtual_size",
    "min_disk",
    "min_ram",
    "created_at",
    "updated_at",
    "changes-since",
    "name",
    "id",
    "status",
    "container_format",
    "disk_format",
    "owner",
    "checksum",
    "os_hash_value",
    "hw_disk_bus",
    "",
    "x",
];

fn list_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,20}",
        "(in|eq|gt|gte|lt|lte|neq|foo):[a-z\",]{0,12}",
        "(gt:|lte:|neq:)?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}|\\.[0-9]{1,12}Z)?)?",
        "((name|status|size|id|created_at|min_disk|bogus)(:(asc|desc|up))?,?){0,4}",
        "(asc|desc|ASC| desc ),?(asc|desc)?",
        "(all|public|private|shared|community|accepted|pending|rejected|queued|active|True|true|false| FALSE )",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ".{0,16}",
    ]
}

fn list_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (prop_oneof![4 => proptest::sample::select(LIST_KEYS.to_vec()).prop_map(str::to_string), 1 => ".{0,8}"], list_value()),
        0..8,
    )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn pointers_round_trip(key in ".{1,16}") {
        prop_assert_eq!(pointer_key(&format!("/{}", escape(&key))).ok(), Some(key));
    }

    #[test]
    fn pointers_take_arbitrary_text(raw in prop_oneof!["[/~01a]{0,10}", ".{0,16}"]) {
        if let Ok(key) = pointer_key(&raw) {
            // What was decoded encodes back to the pointer it came from.
            prop_assert_eq!(format!("/{}", escape(&key)), raw);
        }
    }

    #[test]
    fn patch_documents(body in prop_oneof![
        4 => proptest::collection::vec(operation(), 0..6).prop_map(Value::Array),
        1 => json_value(),
    ], draft4 in any::<bool>()) {
        let Ok(ops) = parse_patch(body.clone(), draft4) else { return Ok(()) };
        prop_assert_eq!(ops.len(), body.as_array().map_or(0, Vec::len));
        let mut patched = image();
        let before = patched.clone();
        if apply_patch(&mut patched, &ops, draft4).is_err() {
            return Ok(());
        }
        // A successful patch removed what it removed and set every custom property it
        // set last (a later op on the same key wins).
        for (i, op) in ops.iter().enumerate() {
            if ops[i + 1..].iter().any(|later| later.key == op.key) || BASE.contains(&op.key.as_str()) {
                continue;
            }
            match (op.op, op.value.as_ref()) {
                (Op::Remove, _) => {
                    prop_assert!(!patched.properties.contains_key(&op.key));
                    prop_assert!(!BASE.contains(&op.key.as_str()));
                }
                (_, Some(Value::String(s))) => prop_assert_eq!(patched.properties.get(&op.key), Some(s)),
                (_, Some(Value::Null)) => prop_assert!(["kernel_id", "ramdisk_id"].contains(&op.key.as_str())),
                (_, other) => prop_assert!(false, "non-string {other:?} stored for {}", op.key),
            }
        }
        if ops.is_empty() {
            prop_assert_eq!(patched, before);
        }
    }

    #[test]
    fn list_queries(pairs in list_pairs(), extended in any::<bool>(), lenient in any::<bool>()) {
        let options = ListOptions { extended_sort: extended, lenient_protected: lenient, ..ListOptions::GLANCE };
        let mut seen = 0usize;
        let parsed = parse_list_request(&pairs, &options, &mut |_, _| {
            seen += 1;
            Ok(false)
        });
        if let Ok(req) = parsed {
            prop_assert!(req.limit <= options.max_limit);
            prop_assert_eq!(seen, pairs.len());
            // Every pair became at most one filter (or set an option).
            prop_assert!(req.filters.len() <= pairs.len());
        }
    }

    #[test]
    fn list_query_strings(raw in proptest::collection::vec(any::<u8>(), 0..96)) {
        // What the handler does with an arbitrary query string.
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&raw).into_owned().collect();
        let _ = parse_list_request(&pairs, &ListOptions::GLANCE, &mut |_, _| Ok(false));
    }

    #[test]
    fn times(raw in prop_oneof![
        "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}(T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{1,20})?([zZ]|[+-][0-9]{2}:?[0-9]{2})?)?",
        ".{0,24}",
    ]) {
        let _ = parse_time(&raw);
    }

    #[test]
    fn routes(method in proptest::sample::select(vec![Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS]),
              path in prop_oneof!["(/(v2|images|schemas|image|tasks|members|tags|file|stage|import|actions|deactivate|info|[a-z0-9-]{0,8})){0,6}/?", ".{0,32}"]) {
        let _ = crate::router::parse(&method, &path);
    }
}
