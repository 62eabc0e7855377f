//! Compact JWS with RS256, the only shape our tokens take: encode a claim set,
//! and take a presented token apart before its signature is checked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use imagery_identity::RsaKey;

/// Anything longer is not one of ours; refuse before decoding.
const MAX_TOKEN_LEN: usize = 16 * 1024;

pub(crate) fn encode(key: &RsaKey, claims: &Value) -> Option<String> {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": key.id});
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(signed.as_bytes())?;
    Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A token taken apart, signature not yet checked.
pub(crate) struct Unverified {
    pub kid: Option<String>,
    pub claims: Value,
    signed: String,
    signature: Vec<u8>,
}

impl Unverified {
    pub fn verified_by(&self, key: &RsaKey) -> bool {
        key.verify(self.signed.as_bytes(), &self.signature)
    }
}

/// Why a bearer token is not a well-formed RS256 JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Defect {
    Malformed,
    /// `alg` other than RS256 (`none` included).
    Algorithm,
}

pub(crate) fn split(token: &str) -> Result<Unverified, Defect> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Defect::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Defect::Malformed);
    };
    let decode_json = |part: &str| -> Result<Value, Defect> {
        let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| Defect::Malformed)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| Defect::Malformed)?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(Defect::Malformed)
        }
    };
    let header_json = decode_json(header)?;
    if header_json["alg"].as_str() != Some("RS256") {
        return Err(Defect::Algorithm);
    }
    let claims = decode_json(payload)?;
    let signature = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')).map_err(|_| Defect::Malformed)?;
    if signature.is_empty() {
        return Err(Defect::Malformed);
    }
    Ok(Unverified { kid: header_json["kid"].as_str().map(str::to_string), claims, signed: format!("{header}.{payload}"), signature })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_refused_without_panicking() {
        for junk in ["", ".", "..", "a.b.c", "a.b.c.d", "e30.e30.", "e30.e30.AA", &"x".repeat(20000)] {
            assert!(split(junk).is_err(), "{junk:?}");
        }
        let none_alg = format!("{}.{}.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(split(&none_alg).err(), Some(Defect::Algorithm));
        let ok = format!("{}.{}.AA", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#), URL_SAFE_NO_PAD.encode(r#"{"a":1}"#));
        let parsed = split(&ok).expect("well formed");
        assert_eq!(parsed.kid.as_deref(), Some("k"));
        assert_eq!(parsed.claims["a"], 1);
    }
}
