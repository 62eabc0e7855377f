//! The token format: `t1.<payload>.<signature>`, both parts unpadded URL-safe
//! base64. The payload is compact JSON naming the principal; the signature is
//! HMAC-SHA512 over `t1.<payload>` (86 characters). Tokens carry everything
//! validation needs, so validating one never reads the catalog. The shape also
//! matches Yandex IAM tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use imagery_core::time::{from_micros, to_micros};
use serde::{Deserialize, Serialize};

use crate::keyring::{HmacSha512, TokenKey};
use crate::principal::{Principal, Scope};

const PREFIX: &str = "t1.";
const SIGNATURE_B64_LEN: usize = 86;
/// Anything longer is not one of ours; refuse before decoding.
pub(crate) const MAX_TOKEN_LEN: usize = 8192;

/// The signed payload; short keys keep tokens small.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Signing key id.
    k: String,
    u: String,
    n: String,
    d: String,
    dn: String,
    /// Project scope: id, name, domain id, domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<[String; 4]>,
    /// Domain scope: id, name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<[String; 2]>,
    r: Vec<String>,
    m: Vec<String>,
    /// Issued at, expires at: microseconds since the epoch.
    i: i64,
    e: i64,
    a: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pa: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ac: Option<String>,
}

/// Why a string is not a valid token (for the log; callers see one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenDefect {
    Malformed,
    BadSignature,
}

impl TokenDefect {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TokenDefect::Malformed => "malformed token",
            TokenDefect::BadSignature => "token signature does not verify with any known key",
        }
    }
}

pub(crate) fn sign(principal: &Principal, key: &TokenKey) -> Result<String, serde_json::Error> {
    let (p, o) = match &principal.scope {
        Scope::Project { id, name, domain_id, domain_name } => {
            (Some([id.clone(), name.clone(), domain_id.clone(), domain_name.clone()]), None)
        }
        Scope::Domain { id, name } => (None, Some([id.clone(), name.clone()])),
        Scope::Unscoped => (None, None),
    };
    let claims = Claims {
        k: key.id.clone(),
        u: principal.user_id.clone(),
        n: principal.user_name.clone(),
        d: principal.user_domain_id.clone(),
        dn: principal.user_domain_name.clone(),
        p,
        o,
        r: principal.roles.clone(),
        m: principal.methods.clone(),
        i: to_micros(&principal.issued_at),
        e: to_micros(&principal.expires_at),
        a: principal.audit_id.clone(),
        pa: principal.parent_audit_id.clone(),
        ac: principal.app_credential_id.clone(),
    };
    let mut token = String::from(PREFIX);
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?));
    let signature = mac(key, token.as_bytes()).finalize().into_bytes();
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// Check the signature against every key (constant time each), then decode.
/// Expiry and revocation are the caller's business.
pub(crate) fn open(token: &str, keys: &[TokenKey]) -> Result<Principal, TokenDefect> {
    if token.len() > MAX_TOKEN_LEN || !token.starts_with(PREFIX) {
        return Err(TokenDefect::Malformed);
    }
    let (signed, signature_b64) = token.rsplit_once('.').ok_or(TokenDefect::Malformed)?;
    let payload_b64 = signed.strip_prefix(PREFIX).ok_or(TokenDefect::Malformed)?;
    if signature_b64.len() != SIGNATURE_B64_LEN || payload_b64.is_empty() || payload_b64.contains('.') {
        return Err(TokenDefect::Malformed);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| TokenDefect::Malformed)?;
    let key = keys.iter().find(|key| mac(key, signed.as_bytes()).verify_slice(&signature).is_ok()).ok_or(TokenDefect::BadSignature)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| TokenDefect::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenDefect::Malformed)?;
    if claims.k != key.id {
        return Err(TokenDefect::BadSignature);
    }
    let scope = match (claims.p, claims.o) {
        (Some([id, name, domain_id, domain_name]), None) => Scope::Project { id, name, domain_id, domain_name },
        (None, Some([id, name])) => Scope::Domain { id, name },
        (None, None) => Scope::Unscoped,
        (Some(_), Some(_)) => return Err(TokenDefect::Malformed),
    };
    Ok(Principal {
        user_id: claims.u,
        user_name: claims.n,
        user_domain_id: claims.d,
        user_domain_name: claims.dn,
        scope,
        roles: claims.r,
        methods: claims.m,
        issued_at: from_micros(claims.i),
        expires_at: from_micros(claims.e),
        audit_id: claims.a,
        parent_audit_id: claims.pa,
        app_credential_id: claims.ac,
    })
}

fn mac(key: &TokenKey, data: &[u8]) -> HmacSha512 {
    let mut mac = key.mac.clone();
    mac.update(data);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagery_core::time::now;

    fn key(id: &str, byte: u8) -> TokenKey {
        TokenKey::new(id.into(), &[byte; 64], now()).expect("key")
    }

    fn principal() -> Principal {
        let t = now();
        Principal {
            user_id: "u1".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            user_domain_name: "Default".into(),
            scope: Scope::Project { id: "p1".into(), name: "demo".into(), domain_id: "default".into(), domain_name: "Default".into() },
            roles: vec!["member".into(), "reader".into()],
            methods: vec!["password".into()],
            issued_at: t,
            expires_at: t + chrono::Duration::hours(1),
            audit_id: "aaaaaaaaaaaaaaaaaaaaaa".into(),
            parent_audit_id: None,
            app_credential_id: None,
        }
    }

    #[test]
    fn round_trip_and_shape() {
        let k = key("k1", 7);
        let p = principal();
        let token = sign(&p, &k).expect("sign");
        assert!(token.starts_with("t1."));
        let sig = token.rsplit('.').next().expect("signature");
        assert_eq!(sig.len(), 86);
        assert_eq!(open(&token, &[k]).expect("valid"), p);
    }

    #[test]
    fn every_scope_round_trips() {
        let k = key("k1", 7);
        for scope in [Scope::Unscoped, Scope::Domain { id: "default".into(), name: "Default".into() }] {
            let p = Principal { scope, ..principal() };
            assert_eq!(open(&sign(&p, &k).expect("sign"), std::slice::from_ref(&k)).expect("valid"), p);
        }
    }

    #[test]
    fn tampering_is_detected() {
        let k = key("k1", 7);
        let token = sign(&principal(), &k).expect("sign");
        let (payload, sig) = token.rsplit_once('.').expect("dot");
        // Flip one character of the payload.
        let mut chars: Vec<char> = payload.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let forged = format!("{}.{}", chars.into_iter().collect::<String>(), sig);
        assert_eq!(open(&forged, std::slice::from_ref(&k)), Err(TokenDefect::BadSignature));
        // Another key does not verify it.
        assert_eq!(open(&token, &[key("k2", 8)]), Err(TokenDefect::BadSignature));
        // A key id pointing elsewhere is refused even with the right secret.
        assert_eq!(open(&token, &[key("k2", 7)]), Err(TokenDefect::BadSignature));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let k = key("k1", 7);
        for junk in ["", "t1.", "t1..", "t2.abc.def", "t1.abc", "t1.a.b.c", "t1.é.ü", &"t1.".repeat(5000)] {
            assert_eq!(open(junk, std::slice::from_ref(&k)), Err(TokenDefect::Malformed), "{junk:?}");
        }
        let sig = "A".repeat(86);
        assert_eq!(open(&format!("t1.abc.{sig}"), std::slice::from_ref(&k)), Err(TokenDefect::BadSignature));
    }
}
