//! One request as the handlers see it: the identity root URL for links, the
//! query, the JSON body, and the caller behind `X-Auth-Token`.

use bytes::Bytes;
use http::request::Parts;
use http::HeaderMap;
use imagery_identity::{Identity, Principal};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{KeystoneError, KeystoneResult};
use crate::KeystoneState;

pub(crate) struct Ctx {
    pub state: KeystoneState,
    pub headers: HeaderMap,
    /// The identity root as clients reach it, without a trailing slash.
    pub base: String,
    /// `scheme://host[:port]` of that root (relative catalog URLs hang off it).
    pub origin: String,
    /// Path below the identity root, as requested.
    pub path: String,
    pub raw_query: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl Ctx {
    pub fn new(state: KeystoneState, parts: &Parts, body: Bytes) -> Ctx {
        let (origin, base) = match &state.public_url {
            Some(url) => {
                let base = strip_version(url.trim_end_matches('/')).to_string();
                let origin = match base.find("://") {
                    Some(i) => base[..base[i + 3..].find('/').map_or(base.len(), |j| i + 3 + j)].to_string(),
                    None => base.clone(),
                };
                (origin, base)
            }
            None => {
                let origin = origin(parts);
                let base = format!("{origin}{}", nest_prefix(parts));
                (origin, base)
            }
        };
        let raw_query = parts.uri.query().map(str::to_string);
        let query = raw_query.as_deref().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        Ctx { state, headers: parts.headers.clone(), base, origin, path: parts.uri.path().to_string(), raw_query, query, body }
    }

    pub fn identity(&self) -> &Identity {
        &self.state.identity
    }

    /// `<root>/v3<path>`.
    pub fn v3(&self, path: &str) -> String {
        format!("{}/v3{}", self.base, path)
    }

    /// The URL of this request (Keystone's collection `self` link).
    pub fn self_url(&self) -> String {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        match &self.raw_query {
            Some(q) if !q.is_empty() => format!("{}{}?{}", self.base, path, q),
            _ => format!("{}{}", self.base, path),
        }
    }

    /// The first value of a query parameter (empty values count as absent).
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Keystone's boolean query flags: present and not `0` means true, so a
    /// bare `?effective` is true.
    pub fn flag(&self, key: &str) -> bool {
        self.query.iter().find(|(k, _)| k == key).is_some_and(|(_, v)| v != "0")
    }

    /// A boolean filter such as `enabled=false`; absent means no filter.
    pub fn bool_filter(&self, key: &str) -> Option<bool> {
        self.query(key).map(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The body as JSON; malformed JSON is Keystone's 400.
    pub fn json_value(&self) -> KeystoneResult<Value> {
        if self.body.is_empty() {
            return Err(KeystoneError::expecting("valid JSON", "request body"));
        }
        serde_json::from_slice(&self.body).map_err(|_| KeystoneError::expecting("valid JSON", "request body"))
    }

    /// The object under `key` in the JSON body, deserialized.
    pub fn json_member<T: DeserializeOwned>(&self, key: &str) -> KeystoneResult<T> {
        let mut value = self.json_value()?;
        let member =
            value.get_mut(key).map(Value::take).filter(Value::is_object).ok_or_else(|| KeystoneError::expecting(key, "request body"))?;
        serde_json::from_value(member).map_err(|e| KeystoneError::bad_request(format!("Invalid input for field '{key}': {e}")))
    }

    /// Who is calling, from `X-Auth-Token`; missing or invalid → 401.
    pub fn caller(&self) -> KeystoneResult<Principal> {
        let token = self.header("x-auth-token").ok_or_else(KeystoneError::unauthorized)?;
        Ok(self.identity().validate(token)?)
    }
}

/// `scheme://host[:port]` of the request.
pub(crate) fn origin(parts: &Parts) -> String {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let scheme = header("x-forwarded-proto")
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|s| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http"))
        .map(str::to_ascii_lowercase)
        .or_else(|| parts.uri.scheme_str().map(str::to_string))
        .unwrap_or_else(|| "http".to_string());
    let host = header("host")
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c)))
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{host}")
}

/// The path prefix an enclosing router stripped (`/identity` when nested there).
fn nest_prefix(parts: &Parts) -> String {
    let Some(original) = parts.extensions.get::<axum::extract::OriginalUri>() else {
        return String::new();
    };
    let (full, inner) = (original.0.path(), parts.uri.path());
    let prefix = full.strip_suffix(inner).unwrap_or_else(|| if inner == "/" { full } else { "" });
    prefix.trim_end_matches('/').to_string()
}

fn strip_version(url: &str) -> &str {
    url.strip_suffix("/v3").unwrap_or(url)
}
