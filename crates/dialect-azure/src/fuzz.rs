//! Property-based fuzzing of the Azure dialect's parsers: `api-version` (both
//! families), resource paths (render → route → the same ids), GUID and name rules,
//! bearer JWTs taken apart (`jwt::split`) on arbitrary and mutated tokens, and
//! `client_secret_basic` credentials. Nothing may panic. (That a mutated RS256 token
//! never verifies is checked where the key lives: identity's `rsa_keys` fuzz tests.)
//!
//! Declared inside `token` so it reaches `basic_credentials` without widening it.
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::{HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use serde_json::json;

use super::basic_credentials;
use crate::api_version::{self, Family, COMPUTE};
use crate::ids;
use crate::jwt::{self, Defect};
use crate::router::{self, Endpoint};

fn config(cases: u32) -> ProptestConfig {
    imagery_test_support::fuzz::config(cases, 0xa20e)
}

fn api_version_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(COMPUTE.to_vec()).prop_map(str::to_string),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview|-beta|-alpha|-rc|)",
        "[0-9-]{0,12}[a-z]{0,8}",
        ".{0,14}",
    ]
}

/// A path segment that survives routing: non-empty once encoded, any text inside.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9._()-]{1,12}", ".{1,10}"]
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn api_versions(given in api_version_text()) {
        let compute = api_version::check(Family::Compute, Some(&given));
        prop_assert_eq!(compute.is_ok(), COMPUTE.contains(&given.as_str()));
        if let Ok(v) = &compute {
            prop_assert_eq!(v.as_str(), given.as_str());
            let _ = (v.has_patch(), v.has_storage_account_type(), v.requires_os_disk(), v.has_system_data());
        }
        if let Ok(v) = api_version::check(Family::Resources, Some(&given)) {
            prop_assert_eq!(v.as_str(), given.as_str());
            prop_assert!(given.is_ascii() && given.as_str() >= "2014-04-01");
        }
    }

    /// An image path built from any subscription, group and name routes to exactly
    /// those (percent-decoded) values, whatever the case of the fixed segments.
    #[test]
    fn image_paths_round_trip(sub in segment(), rg in segment(), name in segment(), upper in any::<bool>(), trailing in any::<bool>()) {
        let fixed = |s: &str| if upper { s.to_ascii_uppercase() } else { s.to_string() };
        let path = format!(
            "/{}/{}/{}/{}/{}/{}/{}/{}{}",
            fixed("subscriptions"), encode(&sub), fixed("resourceGroups"), encode(&rg),
            fixed("providers"), fixed("Microsoft.Compute"), fixed("images"), encode(&name),
            if trailing { "/" } else { "" },
        );
        prop_assert_eq!(router::parse(&Method::GET, &path), Ok(Endpoint::GetImage { sub: sub.clone(), rg: rg.clone(), name: name.clone() }));
        prop_assert_eq!(router::parse(&Method::DELETE, &path), Ok(Endpoint::DeleteImage { sub, rg, name }));
    }

    #[test]
    fn arbitrary_paths(
        method in proptest::sample::select(vec![Method::GET, Method::HEAD, Method::PUT, Method::PATCH, Method::DELETE, Method::POST]),
        path in prop_oneof![
            "(/(subscriptions|resourceGroups|providers|Microsoft.Compute|images|locations|operations|operationresults|oauth2|v2.0|token|discovery|keys|.well-known|openid-configuration|%2F|%|%zz|%C3|[a-z0-9]{0,4})){0,9}/?",
            ".{0,48}",
        ],
    ) {
        if let Ok(endpoint) = router::parse(&method, &path) {
            let _ = (endpoint.subscription(), endpoint.family(), endpoint.action(), endpoint.is_token_side());
        }
    }

    #[test]
    fn guids(hex in "[0-9a-fA-F]{32}", junk in ".{0,40}") {
        let guid = ids::guid_of_hex(&hex).ok_or_else(|| TestCaseError::fail("hex refused"))?;
        prop_assert!(ids::is_guid(&guid));
        prop_assert_eq!(ids::hex_of_guid(&guid), Some(hex.to_ascii_lowercase()));
        prop_assert_eq!(ids::hex_of_guid(&guid.to_ascii_uppercase()), Some(hex.to_ascii_lowercase()));
        // Arbitrary text: no panic, and the two directions agree.
        if let Some(h) = ids::hex_of_guid(&junk) {
            prop_assert_eq!(ids::guid_of_hex(&h), Some(junk.to_ascii_lowercase()));
        }
        let _ = ids::guid_or_id(&junk);
        let _ = ids::guid_of_hex(&junk);
    }

    #[test]
    fn names_and_locations(text in ".{0,100}") {
        let _ = ids::valid_image_name(&text);
        let _ = ids::valid_resource_group_name(&text);
        let location = ids::normalize_location(&text);
        prop_assert_eq!(ids::normalize_location(&location), location.clone());
        prop_assert!(!location.chars().any(char::is_whitespace));
    }

    #[test]
    fn jwts_take_arbitrary_text(token in prop_oneof![
        "[A-Za-z0-9_=-]{0,24}(\\.[A-Za-z0-9_=-]{0,24}){0,4}",
        ".{0,64}",
    ]) {
        let _ = jwt::split(&token);
    }

    /// A well-formed RS256 token changed anywhere is refused or still well-formed,
    /// and `split` never takes a token whose header does not say RS256.
    #[test]
    fn mutated_jwts(
        claims in proptest::collection::btree_map("[a-z]{1,6}", ".{0,8}", 0..4),
        alg in proptest::sample::select(vec!["RS256", "none", "HS256", "rs256", "RS512"]),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, proptest::char::range('+', 'z')), 0..4),
    ) {
        let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": alg, "kid": "k1"}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).unwrap_or_default());
        let mut token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        let pristine = token.clone();
        for (at, op, c) in edits {
            let i = at.index(token.len() + 1);
            match op {
                0 if i < token.len() => token.replace_range(i..i + 1, &c.to_string()),
                1 if i < token.len() => {
                    token.remove(i);
                }
                _ => token.insert(i, c),
            }
        }
        match jwt::split(&token) {
            Ok(parsed) => {
                prop_assert!(parsed.claims.is_object());
                if token == pristine {
                    prop_assert_eq!(alg, "RS256");
                    prop_assert_eq!(parsed.kid.as_deref(), Some("k1"));
                }
            }
            Err(Defect::Algorithm) | Err(Defect::Malformed) => prop_assert!(token != pristine || alg != "RS256"),
        }
    }

    #[test]
    fn basic_credentials_round_trip(id in ".{0,20}", secret in ".{0,20}", junk in ".{0,40}") {
        let encoded = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let value = format!("Basic {}", STANDARD.encode(format!("{}:{}", encoded(&id), encoded(&secret))));
        let header = HeaderValue::from_str(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(basic_credentials(Some(&header)), Some((id, secret)));
        if let Ok(h) = HeaderValue::from_str(&junk) {
            let _ = basic_credentials(Some(&h));
        }
        if let Ok(h) = HeaderValue::from_str(&format!("basic {}", STANDARD.encode(junk.as_bytes()))) {
            let _ = basic_credentials(Some(&h));
        }
    }
}
