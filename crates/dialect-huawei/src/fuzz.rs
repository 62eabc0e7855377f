//! Property-based fuzzing of the Huawei dialect's parsers: the `SDK-HMAC-SHA256`
//! `Authorization` header (render → parse round-trips), the canonical request
//! (canonical path and query are idempotent, the query's order does not matter,
//! nothing panics on arbitrary paths, queries and headers), the signature check (a
//! changed request or signature is refused), and the IMS list query.
//!
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use proptest::prelude::*;

use crate::query;
use crate::signature::{
    canonical_query, canonical_request, canonical_uri, same_signature, signature, string_to_sign, Authorization, RequestToVerify, ALGORITHM,
};

fn config(cases: u32) -> ProptestConfig {
    imagery_test_support::fuzz::config(cases, 0x0004_a3e1)
}

/// Paths and queries as clients send them: percent escapes (valid, invalid,
/// non-UTF-8), reserved characters, non-ASCII text.
fn raw_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9_.~-]{1,6}",
        2 => proptest::sample::select(vec!["/", "//", "%20", "%2F", "%2f", "%", "%z", "%FF", "%C3%A9", "%E2%82", "+", "=", "&", "&&", "?", "#", ";", ":", " ", "é", "€", "\u{0}"]).prop_map(str::to_string),
        1 => ".{1,3}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec!["host", "x-sdk-date", "content-type", "x-project-id", "x-sdk-content-sha256"])
            .prop_map(str::to_string),
        "[a-z][a-z0-9-]{0,12}",
    ]
}

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body_hash: String,
    date: String,
}

fn request() -> impl Strategy<Value = Request> {
    (
        proptest::sample::select(vec!["GET", "get", "POST", "PUT", "PATCH", "DELETE"]),
        raw_text().prop_map(|p| format!("/{p}")),
        proptest::option::of(raw_text()),
        proptest::collection::vec((header_name(), ".{0,16}"), 1..5),
        prop_oneof![Just("UNSIGNED-PAYLOAD".to_string()), "[0-9a-f]{64}"],
        "20[0-9]{2}[01][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9]Z",
    )
        .prop_map(|(method, path, query, headers, body_hash, date)| Request {
            method: method.to_string(),
            path,
            query,
            headers,
            body_hash,
            date,
        })
}

fn sign(secret: &str, r: &Request) -> String {
    let canonical = canonical_request(&RequestToVerify {
        method: &r.method,
        raw_path: &r.path,
        raw_query: r.query.as_deref(),
        signed_headers: &r.headers,
        body_hash: &r.body_hash,
    });
    signature(secret, &string_to_sign(&r.date, &canonical))
}

fn canonical(r: &Request) -> String {
    canonical_request(&RequestToVerify {
        method: &r.method,
        raw_path: &r.path,
        raw_query: r.query.as_deref(),
        signed_headers: &r.headers,
        body_hash: &r.body_hash,
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn authorization_round_trips(
        access in "[A-Za-z0-9]{1,24}",
        headers in proptest::collection::vec("[A-Za-z0-9-]{1,16}", 1..5),
        sig in "[0-9a-fA-F]{1,64}",
        space in proptest::sample::select(vec![" ", "  ", "\t"]),
        sep in proptest::sample::select(vec![", ", ",", " , "]),
        order in 0usize..3,
    ) {
        let mut parts = [format!("Access={access}"), format!("SignedHeaders={}", headers.join(";")), format!("Signature={sig}")];
        parts.rotate_left(order);
        let value = format!("{ALGORITHM}{space}{}", parts.join(sep));
        let parsed = Authorization::parse(&value).ok_or_else(|| TestCaseError::fail(format!("refused {value}")))?;
        prop_assert_eq!(parsed.access, access);
        prop_assert_eq!(parsed.signed_headers, headers.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>());
        prop_assert_eq!(parsed.signature, sig.to_ascii_lowercase());
    }

    #[test]
    fn authorization_takes_arbitrary_text(value in prop_oneof![
        "SDK-HMAC-SHA256[ ,=;a-zA-Z]{0,40}",
        "SDK-HMAC-SHA256 (Access|SignedHeaders|Signature|X)=[a-z;=, ]{0,12}(, ?(Access|SignedHeaders|Signature)=[a-z;=, ]{0,12}){0,4}",
        ".{0,48}",
    ]) {
        if let Some(parsed) = Authorization::parse(&value) {
            prop_assert!(!parsed.access.is_empty() && !parsed.signature.is_empty());
            prop_assert!(!parsed.signed_headers.is_empty() && parsed.signed_headers.iter().all(|h| !h.is_empty()));
        }
    }

    #[test]
    fn canonical_path_and_query(path in raw_text(), query in raw_text()) {
        let uri = canonical_uri(&path);
        prop_assert!(uri.ends_with('/'));
        prop_assert!(uri.is_ascii());
        prop_assert_eq!(canonical_uri(&uri), uri.clone());
        let q = canonical_query(Some(&query));
        prop_assert!(q.is_ascii());
        prop_assert_eq!(canonical_query(Some(&q)), q.clone());
        // The order of the pairs does not change the canonical query.
        let mut reversed: Vec<&str> = query.split('&').collect();
        reversed.reverse();
        prop_assert_eq!(canonical_query(Some(&reversed.join("&"))), q);
    }

    /// A signature made over one request verifies for it and for no other request
    /// whose canonical form differs; a changed signature never verifies.
    #[test]
    fn signatures_refuse_changes(
        r in request(),
        secret in ".{0,24}",
        other in request(),
        field in 0usize..6,
        flip in any::<prop::sample::Index>(),
    ) {
        let good = sign(&secret, &r);
        prop_assert!(same_signature(&good, &good));
        let mut changed = r.clone();
        match field {
            0 => changed.method = other.method,
            1 => changed.path = other.path,
            2 => changed.query = other.query,
            3 => changed.headers = other.headers,
            4 => changed.body_hash = other.body_hash,
            _ => changed.date = other.date,
        }
        if canonical(&changed) != canonical(&r) || changed.date != r.date {
            prop_assert!(!same_signature(&good, &sign(&secret, &changed)));
        }
        let mut bad = good.clone().into_bytes();
        let i = flip.index(bad.len());
        bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
        prop_assert!(!same_signature(&good, &String::from_utf8_lossy(&bad)));
        prop_assert!(!same_signature(&good, &good[..good.len() - 1]));
        prop_assert!(!same_signature(&good, ""));
        prop_assert!(!same_signature("", ""));
    }

    #[test]
    fn list_queries(raw in prop_oneof![
        raw_text(),
        "((__imagetype|__platform|architecture|enterprise_project_id|flavor_id|limit|marker|sort_key|sort_dir|status|protected|created_at|name)=(gold|market|x86|arm|0|all_granted_eps|[0-9]{1,4}|name,created_at|asc,desc|active|True|gt:2018-10-28T10:00:00Z|in:a,b)&?){0,6}",
    ], default in 1usize..600) {
        if let Ok(spec) = query::parse(Some(&raw), default) {
            prop_assert!(spec.page_size <= crate::query::MAX_LIMIT);
        }
    }
}
