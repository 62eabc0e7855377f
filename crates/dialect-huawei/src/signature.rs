//! Huawei's `SDK-HMAC-SHA256` request signature, as huaweicloudsdkcore's `Signer`
//! computes it, rebuilt from a received request: the canonical request, the string
//! to sign, and the HMAC-SHA256 of it keyed with the secret key (no key
//! derivation). Pure functions; `auth` decides what a result means.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing time, `YYYYMMDDTHHMMSSZ` in UTC.
pub const DATE_HEADER: &str = "x-sdk-date";
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// A body hash chosen by the client instead of the hash of the body.
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";
/// The `X-Sdk-Content-Sha256` value of a body the signature does not cover.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Python's `quote(s, safe='~')`: RFC 3986 unreserved characters stay, every
/// other byte of the UTF-8 encoding becomes `%XX`.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The parts of an `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    /// Lower-cased header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// `None` unless the header names this algorithm and holds all three parts.
    pub fn parse(value: &str) -> Option<Authorization> {
        let rest = value.trim().strip_prefix(ALGORITHM)?;
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let (mut access, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            let value = value.trim();
            match name.trim() {
                "Access" => access = Some(value.to_string()),
                "SignedHeaders" => signed = Some(value.split(';').map(|h| h.trim().to_ascii_lowercase()).collect::<Vec<_>>()),
                "Signature" => signature = Some(value.to_ascii_lowercase()),
                _ => {}
            }
        }
        let signed_headers = signed.filter(|s| !s.is_empty() && s.iter().all(|h| !h.is_empty()))?;
        Some(Authorization { access: access.filter(|a| !a.is_empty())?, signed_headers, signature: signature.filter(|s| !s.is_empty())? })
    }
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The path decoded, split on `/`, each segment re-encoded, and a `/` appended
/// when it does not end with one (`/v2/cloudimages` → `/v2/cloudimages/`).
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = decode(raw_path);
    let mut uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The query's `key=value` pairs decoded (`+` is a plus, not a space), sorted by
/// key then value, re-encoded and joined with `&`; empty for no query.
pub fn canonical_query(raw_query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the canonical request is built from, as received.
pub struct RequestToVerify<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: Option<&'a str>,
    /// `(lower-cased name, value)` of each signed header, in signed order.
    pub signed_headers: &'a [(String, String)],
    /// Hex SHA-256 of the body, or the `X-Sdk-Content-Sha256` value.
    pub body_hash: &'a str,
}

pub fn canonical_request(req: &RequestToVerify<'_>) -> String {
    let headers: String = req.signed_headers.iter().map(|(name, value)| format!("{name}:{}\n", value.trim())).collect();
    let names = req.signed_headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    [
        req.method.to_ascii_uppercase(),
        canonical_uri(req.raw_path),
        canonical_query(req.raw_query),
        headers,
        names,
        req.body_hash.to_string(),
    ]
    .join("\n")
}

pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{sdk_date}\n{}", hex_sha256(canonical_request.as_bytes()))
}

/// Lower-case hex HMAC-SHA256 of `string_to_sign` keyed with the secret key.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two hex signatures.
pub fn same_signature(expected: &str, provided: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(provided.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header() {
        let parsed = Authorization::parse("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;X-Sdk-Date, Signature=ABCD");
        assert_eq!(
            parsed,
            Some(Authorization {
                access: "AK1".into(),
                signed_headers: vec!["host".into(), "x-sdk-date".into()],
                signature: "abcd".into()
            })
        );
        assert!(Authorization::parse("SDK-HMAC-SHA256Access=AK1, SignedHeaders=host, Signature=ab").is_none());
        assert!(Authorization::parse("V11-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=ab").is_none());
        assert!(Authorization::parse("SDK-HMAC-SHA256 Access=AK1, Signature=ab").is_none());
        assert!(Authorization::parse("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=ab").is_none());
        assert!(Authorization::parse("SDK-HMAC-SHA256 garbage").is_none());
    }

    #[test]
    fn canonical_parts() {
        assert_eq!(canonical_uri("/v2/cloudimages"), "/v2/cloudimages/");
        assert_eq!(canonical_uri("/v2/images/"), "/v2/images/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a%20b/c~d/%E2%82%AC"), "/a%20b/c~d/%E2%82%AC/");
        assert_eq!(canonical_uri("/a+b/x:y"), "/a%2Bb/x%3Ay/");
        assert_eq!(canonical_query(None), "");
        assert_eq!(canonical_query(Some("b=2&a=1&a=0&c")), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query(Some("name=Ubuntu%2022.04&__imagetype=gold")), "__imagetype=gold&name=Ubuntu%2022.04");
        assert_eq!(canonical_query(Some("q=a+b")), "q=a%2Bb");
        assert_eq!(hex_sha256(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(same_signature("ab", "ab"));
        assert!(!same_signature("ab", "ac"));
        assert!(!same_signature("", ""));
    }
}
