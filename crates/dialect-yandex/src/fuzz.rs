//! Property-based fuzzing of the Yandex dialect's parsers: the list `filter` grammar
//! (render → parse round-trips), `order_by`, the JSON request readers with their
//! field masks, the field checks, and the service-account JWT path (its parts'
//! decoding and the PS256 check: a mutated token never verifies). Nothing may panic.
//!
//! Declared inside `iam` so it reaches the private JWT helpers without widening them.
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use serde_json::{json, Value};

use super::{decode_part, verify_ps256, JwtClaims, JwtHeader};
use crate::filter::{parse_filter, parse_order_by, NameCondition};
use crate::json;
use crate::validation::Checks;

fn config(cases: u32) -> ProptestConfig {
    imagery_test_support::fuzz::config(cases, 0x007a_4de7)
}

/// A filter value as a client writes it: quoted, with C escapes.
fn quote(value: &str, single: bool) -> String {
    let q = if single { '\'' } else { '"' };
    let mut out = String::from(q);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

fn render(conditions: &[NameCondition], style: &Style) -> String {
    let parts: Vec<String> = conditions
        .iter()
        .map(|c| {
            let values: Vec<String> = c.values.iter().map(|v| quote(v, style.single)).collect();
            match (c.negated, values.as_slice(), style.lists) {
                (false, [one], false) => format!("name{}={}{one}", style.space, style.space),
                (true, [one], false) => format!("name{}!={}{one}", style.space, style.space),
                (false, many, _) => format!("name {} ({})", style.in_kw, many.join(&format!(",{}", style.space))),
                (true, many, _) => format!("name {} {} ({})", style.not_kw, style.in_kw, many.join(",")),
            }
        })
        .collect();
    parts.join(&format!(" {} ", style.and_kw))
}

#[derive(Debug, Clone)]
struct Style {
    single: bool,
    lists: bool,
    space: &'static str,
    and_kw: &'static str,
    in_kw: &'static str,
    not_kw: &'static str,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::sample::select(vec!["", " ", "\t "]),
        proptest::sample::select(vec!["AND", "and", "And"]),
        proptest::sample::select(vec!["IN", "in"]),
        proptest::sample::select(vec!["NOT", "not"]),
    )
        .prop_map(|(single, lists, space, and_kw, in_kw, not_kw)| Style { single, lists, space, and_kw, in_kw, not_kw })
}

fn condition() -> impl Strategy<Value = NameCondition> {
    (any::<bool>(), proptest::collection::vec(".{0,10}", 1..4)).prop_map(|(negated, values)| NameCondition { negated, values })
}

/// Text made of the filter language's own pieces.
fn filter_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        proptest::sample::select(vec![
            "name", "NAME", "id", "=", "!=", "!", "IN", "NOT", "AND", "OR", "(", ")", ",", "\"", "'", "\\", "\\n", "\\x", " ", "\"a\"",
            "'b'",
        ])
        .prop_map(str::to_string),
        ".{0,4}",
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!("name,description, minDiskSize,labels")),
        Just(json!("LINUX")),
        "[a-zA-Z_, .]{0,16}".prop_map(Value::String),
        ".{0,8}".prop_map(Value::String),
    ]
}

const FIELDS: [&str; 26] = [
    "imageId",
    "image_id",
    "diskId",
    "snapshotId",
    "uri",
    "os",
    "type",
    "nvidia",
    "driver",
    "hardwareGeneration",
    "legacyFeatures",
    "generation2Features",
    "pciTopology",
    "secureBootTemplateId",
    "folderId",
    "name",
    "description",
    "labels",
    "family",
    "minDiskSize",
    "productIds",
    "pooled",
    "updateMask",
    "paths",
    "jwt",
    "yandexPassportOauthToken",
];

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![4 => proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_string), 1 => ".{0,6}"],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One RSA key for the whole run (1024 bits keeps key generation quick).
fn signer() -> &'static (rsa::pss::SigningKey<sha2::Sha256>, String) {
    static KEY: OnceLock<(rsa::pss::SigningKey<sha2::Sha256>, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut StdRng::seed_from_u64(7), 1024).expect("rsa key");
        let pem = private.to_public_key().to_public_key_pem(LineEnding::LF).expect("pem");
        (rsa::pss::SigningKey::<sha2::Sha256>::new(private), pem)
    })
}

fn sign(signing_input: &str) -> String {
    let signature = signer().0.sign_with_rng(&mut StdRng::seed_from_u64(8), signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// What `jwt_principal` checks before it needs the catalog: three parts, a PS256
/// header, a signature over the first two parts, claims that decode.
fn verifies(jwt: &str) -> bool {
    let mut parts = jwt.trim().split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(head) = decode_part::<JwtHeader>(header) else {
        return false;
    };
    if head.alg != "PS256" {
        return false;
    }
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
        return false;
    };
    let Some(signed) = jwt.trim().get(..header.len() + 1 + claims.len()) else {
        return false;
    };
    verify_ps256(&signer().1, signed.as_bytes(), &signature) && decode_part::<JwtClaims>(claims).is_ok()
}

fn good_jwt() -> &'static str {
    static JWT: OnceLock<String> = OnceLock::new();
    JWT.get_or_init(|| {
        let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "PS256", "kid": "ajesakey000000000001"}).to_string());
        let claims = URL_SAFE_NO_PAD.encode(json!({"iss": "user", "aud": "x", "iat": 1, "exp": 2}).to_string());
        sign(&format!("{header}.{claims}"))
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn filters_round_trip(conditions in proptest::collection::vec(condition(), 0..4), style in style()) {
        let text = render(&conditions, &style);
        prop_assert_eq!(parse_filter(&text).ok(), Some(conditions), "{}", text);
    }

    #[test]
    fn filters_take_arbitrary_text(text in prop_oneof![filter_soup(), ".{0,32}"]) {
        if let Ok(conditions) = parse_filter(&text) {
            // Whatever parsed renders to a filter that parses to the same conditions.
            let again = render(&conditions, &Style { single: false, lists: true, space: " ", and_kw: "AND", in_kw: "IN", not_kw: "NOT" });
            prop_assert_eq!(parse_filter(&again).ok(), Some(conditions));
        }
    }

    #[test]
    fn order_by(text in prop_oneof![
        "((id|name|createdAt|created_at|size)( (asc|DESC|up))?( x)?, ?){0,3}",
        ".{0,24}",
    ]) {
        if let Ok(sort) = parse_order_by(&text) {
            prop_assert!(!sort.is_empty());
        }
    }

    #[test]
    fn request_bodies(body in json_value(), id in ".{0,8}") {
        let _ = json::parse_create_image(body.clone());
        let _ = json::parse_create_iam_token(body.clone());
        let _ = json::parse_hardware_generation(body.clone());
        if let Ok(request) = json::parse_update_image(id.clone(), body) {
            prop_assert_eq!(request.image_id, id);
        }
    }

    /// A mask given as one string, a list or `{"paths": [...]}` reads to the same
    /// snake_case paths.
    #[test]
    fn field_masks(paths in proptest::collection::vec("[a-zA-Z_.]{1,12}", 0..5)) {
        let mut masks = vec![
            json!({ "updateMask": paths.join(",") }),
            json!({ "updateMask": paths }),
            json!({ "update_mask": { "paths": paths } }),
        ];
        let expected: Vec<String> = paths.iter().map(|p| json::camel_to_snake(p)).collect();
        for (i, body) in masks.drain(..).enumerate() {
            let request = json::parse_update_image("fd8x".into(), body).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let mask = request.update_mask.ok_or_else(|| TestCaseError::fail("mask lost"))?;
            prop_assert_eq!(&mask.paths, &expected, "shape {}", i);
        }
    }

    #[test]
    fn checks(value in ".{0,80}", labels in proptest::collection::btree_map(".{0,70}", ".{0,70}", 0..70), n in any::<i64>()) {
        let labels: BTreeMap<String, String> = labels;
        let _ = Checks::default()
            .required("f", &value)
            .id("id", &value)
            .name("name", &value)
            .description("d", &value)
            .family("family", &value)
            .labels("labels", &labels)
            .min_disk_size("m", n)
            .page(n, &value)
            .check();
        let size = crate::validation::page_size(n);
        prop_assert!((1..=1000).contains(&size));
    }

    #[test]
    fn jwt_parts_take_arbitrary_text(part in prop_oneof!["[A-Za-z0-9_=-]{0,64}", ".{0,64}"], raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_part::<JwtHeader>(&part);
        let _ = decode_part::<JwtClaims>(&part);
        let encoded = URL_SAFE_NO_PAD.encode(&raw);
        let _ = decode_part::<JwtClaims>(&encoded);
        prop_assert!(!verify_ps256(&signer().1, &raw, &raw));
        prop_assert!(!verify_ps256(&part, b"message", &raw));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any change to a signed JWT (a byte replaced, inserted or removed) that leaves a
    /// different token is refused.
    #[test]
    fn mutated_jwts_are_refused(edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, proptest::char::range('+', 'z')), 1..4)) {
        let good = good_jwt();
        let mut jwt = good.to_string();
        for (at, op, c) in edits {
            let i = at.index(jwt.len() + 1);
            match op {
                0 if i < jwt.len() => jwt.replace_range(i..i + 1, &c.to_string()),
                1 if i < jwt.len() => {
                    jwt.remove(i);
                }
                _ => jwt.insert(i, c),
            }
        }
        // A JWT that differs only in base64 padding or trailing bits of the last
        // signature character decodes to the same signature: those are the same token.
        let same_signature = |a: &str, b: &str| {
            let sig = |j: &str| j.rsplit_once('.').map(|(head, s)| (head.to_string(), URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()));
            sig(a) == sig(b) && sig(a).is_some_and(|(_, s)| s.is_some())
        };
        if jwt != good && !same_signature(&jwt, good) {
            prop_assert!(!verifies(&jwt), "{}", jwt);
        }
    }
}

#[test]
fn the_good_jwt_verifies() {
    assert!(verifies(good_jwt()));
    assert!(verifies(&format!("  {}\n", good_jwt())));
}
