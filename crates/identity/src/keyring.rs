//! What validation needs in memory: the token signing keys and the revocation
//! list, both reloaded from the catalog periodically so that every process
//! sharing a catalog converges on the same view.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use imagery_core::identity::{Revocation, SigningKey};
use imagery_core::time::{from_micros, now, to_micros, Timestamp};
use sha2::Sha512;

use crate::principal::{Principal, Scope};
use crate::secret::{new_id, random_bytes};
use crate::TOKEN_KEY_KIND;

pub(crate) type HmacSha512 = Hmac<Sha512>;

/// A loaded signing key, ready to compute MACs.
#[derive(Clone)]
pub(crate) struct TokenKey {
    pub(crate) id: String,
    pub(crate) mac: HmacSha512,
    pub(crate) created_at: Timestamp,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey").field("id", &self.id).field("created_at", &self.created_at).finish_non_exhaustive()
    }
}

impl TokenKey {
    pub(crate) fn new(id: String, secret: &[u8], created_at: Timestamp) -> Option<Self> {
        let mac = <HmacSha512 as Mac>::new_from_slice(secret).ok()?;
        Some(TokenKey { id, mac, created_at })
    }

    fn from_stored(key: &SigningKey) -> Option<Self> {
        let secret = URL_SAFE_NO_PAD.decode(key.material.trim()).ok().filter(|s| s.len() >= 32)?;
        TokenKey::new(key.id.clone(), &secret, key.created_at)
    }
}

/// A fresh 512-bit key to store in the catalog.
pub(crate) fn new_signing_key() -> SigningKey {
    SigningKey { id: new_id(), kind: TOKEN_KEY_KIND.to_string(), material: URL_SAFE_NO_PAD.encode(random_bytes::<64>()), created_at: now() }
}

/// The signing keys, newest first.
#[derive(Debug, Default)]
pub(crate) struct KeyRing {
    keys: Vec<TokenKey>,
}

impl KeyRing {
    pub(crate) fn from_stored(stored: &[SigningKey]) -> KeyRing {
        let mut keys: Vec<TokenKey> = stored
            .iter()
            .filter_map(|k| {
                let key = TokenKey::from_stored(k);
                if key.is_none() {
                    tracing::error!(key_id = %k.id, "ignoring a token signing key whose material is not valid base64 of at least 32 bytes");
                }
                key
            })
            .collect();
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        KeyRing { keys }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn keys(&self) -> &[TokenKey] {
        &self.keys
    }

    /// The newest key that has been known long enough for every process to have
    /// loaded it; while none has, the oldest key (the one everyone surely knows).
    pub(crate) fn signing_key(&self, now: Timestamp, activation_delay: Duration) -> Option<&TokenKey> {
        let delay = chrono::Duration::from_std(activation_delay).unwrap_or(chrono::Duration::MAX);
        self.keys.iter().find(|k| k.created_at.checked_add_signed(delay).is_some_and(|active| active <= now)).or(self.keys.last())
    }
}

/// Ids of stored keys no live token can still be signed with: superseded by an
/// active newer key longer ago than the token lifetime (plus one refresh, for
/// processes that learnt of the newer key late).
pub(crate) fn retired_keys(
    stored: &[SigningKey],
    now: Timestamp,
    activation_delay: Duration,
    token_ttl: Duration,
    refresh_interval: Duration,
) -> Vec<String> {
    let mut sorted: Vec<&SigningKey> = stored.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    let span = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let grace = span(token_ttl).checked_add(&span(refresh_interval)).unwrap_or(chrono::Duration::MAX);
    let mut retired = Vec::new();
    for pair in sorted.windows(2) {
        let (newer, older) = (pair[0], pair[1]);
        let superseded_at = newer.created_at.checked_add_signed(span(activation_delay));
        if superseded_at.and_then(|t| t.checked_add_signed(grace)).is_some_and(|t| t < now) {
            retired.push(older.id.clone());
        }
    }
    retired
}

/// Revoked tokens (by audit id) and revoked subjects (every token of a user,
/// project, user-on-target grant or application credential issued up to an
/// instant), each kept until such tokens expire.
#[derive(Debug, Default)]
pub(crate) struct Revocations {
    /// audit id → entry expires at
    tokens: HashMap<String, Timestamp>,
    /// (kind, subject id) → (revoked at, entry expires at)
    subjects: HashMap<(Subject, String), (Timestamp, Timestamp)>,
}

/// What a subject revocation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    /// Every token of a user.
    User,
    /// Every token scoped to a project.
    Project,
    /// Every token of one user scoped to one project or domain (`user/target`).
    Grant,
    /// Every token obtained with an application credential.
    AppCredential,
}

impl Subject {
    const ALL: [Subject; 4] = [Subject::User, Subject::Project, Subject::Grant, Subject::AppCredential];

    fn prefix(self) -> &'static str {
        match self {
            Subject::User => "user:",
            Subject::Project => "project:",
            Subject::Grant => "grant:",
            Subject::AppCredential => "appcred:",
        }
    }

    /// The subject id this kind of revocation would name for `p`.
    fn id_of(self, p: &Principal) -> Option<String> {
        let target = match &p.scope {
            Scope::Project { id, .. } | Scope::Domain { id, .. } => Some(id),
            Scope::Unscoped => None,
        };
        match self {
            Subject::User => Some(p.user_id.clone()),
            Subject::Project => p.project_id().map(str::to_string),
            Subject::Grant => target.map(|t| grant_id(&p.user_id, t)),
            Subject::AppCredential => p.app_credential_id.clone(),
        }
    }
}

pub(crate) fn grant_id(user_id: &str, target_id: &str) -> String {
    format!("{user_id}/{target_id}")
}

/// A catalog revocation of every token of `subject` issued up to `now`. It is
/// stored as `<kind>:<id>@<micros>` in the audit id column: audit ids are
/// base64url and never contain `:`.
pub(crate) fn subject_revocation(kind: Subject, id: &str, now: Timestamp, token_ttl: Duration) -> Revocation {
    let ttl = chrono::Duration::from_std(token_ttl).unwrap_or(chrono::Duration::days(365));
    Revocation { audit_id: format!("{}{id}@{}", kind.prefix(), to_micros(&now)), expires_at: now.checked_add_signed(ttl).unwrap_or(now) }
}

impl Revocations {
    pub(crate) fn add(&mut self, r: &Revocation) {
        let subject = Subject::ALL.into_iter().find_map(|kind| {
            let rest = r.audit_id.strip_prefix(kind.prefix())?;
            let (id, micros) = rest.rsplit_once('@')?;
            Some((kind, id.to_string(), from_micros(micros.parse().ok()?)))
        });
        match subject {
            Some((kind, id, at)) => {
                let entry = self.subjects.entry((kind, id)).or_insert((at, r.expires_at));
                entry.0 = entry.0.max(at);
                entry.1 = entry.1.max(r.expires_at);
            }
            None => {
                let expires = self.tokens.entry(r.audit_id.clone()).or_insert(r.expires_at);
                *expires = (*expires).max(r.expires_at);
            }
        }
    }

    pub(crate) fn is_revoked(&self, p: &Principal) -> bool {
        let chain_revoked =
            self.tokens.contains_key(&p.audit_id) || p.parent_audit_id.as_ref().is_some_and(|a| self.tokens.contains_key(a));
        chain_revoked
            || Subject::ALL.into_iter().any(|kind| {
                kind.id_of(p).and_then(|id| self.subjects.get(&(kind, id))).is_some_and(|(revoked_at, _)| p.issued_at <= *revoked_at)
            })
    }

    pub(crate) fn prune(&mut self, now: Timestamp) {
        self.tokens.retain(|_, expires| *expires > now);
        self.subjects.retain(|_, (_, expires)| *expires > now);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.tokens.len() + self.subjects.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str, age_secs: i64) -> SigningKey {
        SigningKey { created_at: now() - chrono::Duration::seconds(age_secs), id: id.into(), ..new_signing_key() }
    }

    #[test]
    fn newest_active_key_signs() {
        let ring = KeyRing::from_stored(&[stored("old", 1000), stored("new", 10)]);
        let t = now();
        assert_eq!(ring.signing_key(t, Duration::ZERO).map(|k| k.id.as_str()), Some("new"));
        assert_eq!(ring.signing_key(t, Duration::from_secs(120)).map(|k| k.id.as_str()), Some("old"));
        let single = KeyRing::from_stored(&[stored("only", 0)]);
        assert_eq!(single.signing_key(t, Duration::from_secs(120)).map(|k| k.id.as_str()), Some("only"));
    }

    #[test]
    fn debug_hides_key_material() {
        let key = stored("k1", 0);
        let ring = KeyRing::from_stored(std::slice::from_ref(&key));
        let text = format!("{ring:?} {:?} {key:?}", ring.keys()[0]);
        assert!(!text.contains(&key.material) && text.contains("k1"), "{text}");
    }

    #[test]
    fn bad_material_is_ignored() {
        let mut broken = stored("broken", 5);
        broken.material = "not base64!".into();
        let ring = KeyRing::from_stored(&[broken, stored("good", 5)]);
        assert_eq!(ring.keys().len(), 1);
    }

    #[test]
    fn keys_retire_after_their_tokens_expire() {
        let keys = [stored("k3", 10), stored("k2", 5000), stored("k1", 20000)];
        let retired = retired_keys(&keys, now(), Duration::from_secs(120), Duration::from_secs(3600), Duration::from_secs(60));
        assert_eq!(retired, ["k1"]);
    }

    #[test]
    fn subject_revocations_cut_off_by_issue_time() {
        let t = now();
        let mut r = Revocations::default();
        r.add(&subject_revocation(Subject::User, "u1", t, Duration::from_secs(60)));
        let principal = |issued_at| Principal {
            user_id: "u1".into(),
            user_name: "n".into(),
            user_domain_id: "d".into(),
            user_domain_name: "D".into(),
            scope: Scope::Unscoped,
            roles: vec![],
            methods: vec![],
            issued_at,
            expires_at: issued_at + chrono::Duration::seconds(60),
            audit_id: "x".into(),
            parent_audit_id: None,
            app_credential_id: None,
        };
        assert!(r.is_revoked(&principal(t - chrono::Duration::seconds(1))));
        assert!(!r.is_revoked(&principal(t + chrono::Duration::microseconds(1))));
        r.prune(t + chrono::Duration::seconds(61));
        assert_eq!(r.len(), 0);
    }
}
