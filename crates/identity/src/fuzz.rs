//! Property-based fuzzing of the token formats: `t1.` HMAC tokens (opening arbitrary
//! strings and mutated valid tokens: never accepted, never a panic; sign → open
//! round-trips for any principal) and the RS256 keys behind Azure's JWTs (a changed
//! message or signature never verifies).
//!
//! Declared inside `rsa_keys` so it reaches the private key loader without widening it.
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use std::sync::OnceLock;

use imagery_core::time::from_micros;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, RngSeed};

use super::{generate_rsa_signing_key, RsaKey};
use crate::keyring::TokenKey;
use crate::principal::{Principal, Scope};
use crate::token::{open, sign, TokenDefect, MAX_TOKEN_LEN};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: env("PROPTEST_CASES").unwrap_or(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x01de_a7e5)),
        ..ProptestConfig::default()
    }
}

fn keys() -> Vec<TokenKey> {
    let now = imagery_core::time::now();
    [("k1", 7u8), ("k2", 9)].iter().filter_map(|(id, byte)| TokenKey::new(id.to_string(), &[*byte; 64], now)).collect()
}

fn rsa_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(|| RsaKey::from_stored(&generate_rsa_signing_key().expect("rsa key")).expect("loads"))
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Unscoped),
        (".{0,8}", ".{0,8}").prop_map(|(id, name)| Scope::Domain { id, name }),
        (".{0,8}", ".{0,8}", ".{0,8}", ".{0,8}").prop_map(|(id, name, domain_id, domain_name)| Scope::Project {
            id,
            name,
            domain_id,
            domain_name
        }),
    ]
}

/// Timestamps as tokens carry them: microseconds within chrono's range.
fn micros() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), -8_000_000_000_000_000i64..8_000_000_000_000_000i64, 1_700_000_000_000_000i64..1_900_000_000_000_000i64]
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        (".{0,12}", ".{0,12}", ".{0,8}", ".{0,8}"),
        scope(),
        proptest::collection::vec(".{0,8}", 0..4),
        proptest::collection::vec("[a-z_]{0,12}", 0..3),
        (micros(), micros()),
        (".{0,22}", proptest::option::of(".{0,22}"), proptest::option::of(".{0,32}")),
    )
        .prop_map(
            |(
                (user_id, user_name, user_domain_id, user_domain_name),
                scope,
                roles,
                methods,
                (i, e),
                (audit_id, parent_audit_id, app_credential_id),
            )| {
                Principal {
                    user_id,
                    user_name,
                    user_domain_id,
                    user_domain_name,
                    scope,
                    roles,
                    methods,
                    issued_at: from_micros(i),
                    expires_at: from_micros(e),
                    audit_id,
                    parent_audit_id,
                    app_credential_id,
                }
            },
        )
}

/// Replace, remove or insert characters at the given places.
fn mutate(token: &str, edits: &[(prop::sample::Index, u8, char)]) -> String {
    let mut t = token.to_string();
    for (at, op, c) in edits {
        let mut i = at.index(t.len() + 1);
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        match op {
            0 if i < t.len() => {
                let end = i + t[i..].chars().next().map_or(0, char::len_utf8);
                t.replace_range(i..end, &c.to_string());
            }
            1 if i < t.len() => {
                t.remove(i);
            }
            _ => t.insert(i, *c),
        }
    }
    t
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, char)>> {
    proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop_oneof![proptest::char::range('-', 'z'), any::<char>()]), 1..4)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_strings_never_open(token in prop_oneof![
        "t1\\.[A-Za-z0-9_-]{0,40}(\\.[A-Za-z0-9_-]{80,90})?",
        "t1\\.[A-Za-z0-9_.=-]{0,120}",
        ".{0,64}",
    ]) {
        prop_assert!(open(&token, &keys()).is_err());
        prop_assert!(open(&token, &[]).is_err());
    }

    #[test]
    fn sign_open_round_trips(p in principal()) {
        let keys = keys();
        let token = sign(&p, &keys[1]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if token.len() <= MAX_TOKEN_LEN {
            prop_assert_eq!(open(&token, &keys), Ok(p.clone()));
        }
        // Only the key that signed it (by id and secret) opens it.
        prop_assert_eq!(open(&token, &keys[..1]), Err(TokenDefect::BadSignature));
    }

    #[test]
    fn mutated_tokens_are_refused(p in principal(), edits in edits()) {
        let keys = keys();
        let token = sign(&p, &keys[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let forged = mutate(&token, &edits);
        if forged != token {
            prop_assert!(open(&forged, &keys).is_err(), "{}", forged);
        }
    }

    #[test]
    fn forged_payloads_are_refused(p in principal(), q in principal()) {
        // A payload signed for one principal with the signature of another.
        let keys = keys();
        let a = sign(&p, &keys[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = sign(&q, &keys[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (a_signed, _) = a.rsplit_once('.').ok_or_else(|| TestCaseError::fail("no dot"))?;
        let (_, b_sig) = b.rsplit_once('.').ok_or_else(|| TestCaseError::fail("no dot"))?;
        if a != b {
            let forged = [a_signed, b_sig].join(".");
            prop_assert!(open(&forged, &keys).is_err());
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// RS256 as Azure's tokens use it: the signature verifies its message only.
    #[test]
    fn rs256_refuses_changes(message in proptest::collection::vec(any::<u8>(), 0..200), at in any::<prop::sample::Index>(), bit in 0u8..8, junk in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = rsa_key();
        let signature = key.sign(&message).ok_or_else(|| TestCaseError::fail("sign"))?;
        prop_assert!(key.verify(&message, &signature));
        let mut bad_signature = signature.clone();
        let i = at.index(bad_signature.len());
        bad_signature[i] ^= 1 << bit;
        prop_assert!(!key.verify(&message, &bad_signature));
        if !message.is_empty() {
            let mut bad_message = message.clone();
            let i = at.index(bad_message.len());
            bad_message[i] ^= 1 << bit;
            prop_assert!(!key.verify(&bad_message, &signature));
        }
        prop_assert!(!key.verify(&message, &junk));
        prop_assert!(!key.verify(&message, &signature[..signature.len() - 1]));
    }
}
