//! Which requests of each API are logins and whom they name, for the front
//! door's failed-login budgets (`imagery_http_common::limits`), and the refusal
//! wording of the devstack-style combined port (by mount prefix).

use std::sync::Arc;

use axum::response::Response;
use base64::Engine as _;
use http::request::Parts;
use http::Method;
use imagery_http_common::limits::{Logins, Refusal, Refusals};

/// Keystone `POST /v3/auth/tokens`: password (user id, or name in a domain),
/// application credential, token.
pub struct KeystoneLogins;

impl Logins for KeystoneLogins {
    fn is_login(&self, request: &Parts) -> bool {
        request.method == Method::POST && request.uri.path().trim_end_matches('/').ends_with("/v3/auth/tokens")
    }

    fn subject(&self, _request: &Parts, body: &[u8]) -> Option<String> {
        let document: serde_json::Value = serde_json::from_slice(body).ok()?;
        let identity = document.get("auth")?.get("identity")?;
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        if let Some(user) = identity.get("password").and_then(|p| p.get("user")) {
            if let Some(id) = text(user.get("id")) {
                return Some(format!("user:{id}"));
            }
            let domain = user.get("domain").and_then(|d| text(d.get("id")).or_else(|| text(d.get("name")))).unwrap_or_default();
            return text(user.get("name")).map(|name| format!("user:{domain}/{name}"));
        }
        if let Some(credential) = identity.get("application_credential") {
            return text(credential.get("id")).or_else(|| text(credential.get("name"))).map(|c| format!("appcred:{c}"));
        }
        identity.get("token").map(|_| "token".to_string())
    }
}

/// Entra ID's token endpoints: the client credentials' `client_id`.
pub struct AzureLogins;

impl Logins for AzureLogins {
    fn is_login(&self, request: &Parts) -> bool {
        let path = request.uri.path().trim_end_matches('/');
        request.method == Method::POST && (path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/token"))
    }

    fn subject(&self, _request: &Parts, body: &[u8]) -> Option<String> {
        form_urlencoded::parse(body).find(|(k, _)| k == "client_id").map(|(_, v)| format!("client:{v}"))
    }
}

/// Yandex IAM token exchange (REST `POST /iam/v1/tokens`, gRPC
/// `IamTokenService/Create`): the service account a JWT is issued by, or an OAuth token.
pub struct YandexLogins;

impl Logins for YandexLogins {
    fn is_login(&self, request: &Parts) -> bool {
        let path = request.uri.path();
        request.method == Method::POST && (path == "/iam/v1/tokens" || path == "/yandex.cloud.iam.v1.IamTokenService/Create")
    }

    fn subject(&self, _request: &Parts, body: &[u8]) -> Option<String> {
        let document: serde_json::Value = serde_json::from_slice(body).ok()?;
        if let Some(jwt) = document.get("jwt").and_then(|j| j.as_str()) {
            let payload = jwt.split('.').nth(1)?;
            let claims: serde_json::Value =
                serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
                    .ok()?;
            return claims.get("iss").and_then(|i| i.as_str()).map(|iss| format!("sa:{iss}"));
        }
        document.get("yandexPassportOauthToken").map(|_| "oauth".to_string())
    }
}

/// Huawei AK/SK: every request is signed; failed signatures of one access key
/// from one address are budgeted like failed logins.
pub struct HuaweiLogins;

impl Logins for HuaweiLogins {
    fn is_login(&self, _request: &Parts) -> bool {
        false
    }

    fn subject(&self, _request: &Parts, _body: &[u8]) -> Option<String> {
        None
    }

    fn signer(&self, request: &Parts) -> Option<String> {
        let auth = request.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
        auth.split([' ', ',']).find_map(|p| p.strip_prefix("Access=")).map(|ak| format!("ak:{ak}"))
    }
}

/// The combined port: each mount's refusals in its own API's words.
pub struct ByPrefix(pub Vec<(&'static str, Arc<dyn Refusals>)>, pub Arc<dyn Refusals>);

impl ByPrefix {
    fn pick(&self, path: &str) -> &Arc<dyn Refusals> {
        self.0
            .iter()
            .find(|(prefix, _)| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
            .map_or(&self.1, |(_, refusals)| refusals)
    }
}

impl Refusals for ByPrefix {
    fn render(&self, refusal: &Refusal, request: &Parts) -> Response {
        self.pick(request.uri.path()).render(refusal, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str) -> Parts {
        http::Request::post(path).body(()).map(|r| r.into_parts().0).unwrap_or_else(|_| http::Request::new(()).into_parts().0)
    }

    #[test]
    fn login_subjects() {
        let keystone = br#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"x"}}}}}"#;
        assert!(KeystoneLogins.is_login(&post("/identity/v3/auth/tokens")));
        assert_eq!(KeystoneLogins.subject(&post("/v3/auth/tokens"), keystone).as_deref(), Some("user:Default/admin"));
        assert_eq!(KeystoneLogins.subject(&post("/v3/auth/tokens"), b"not json"), None);
        assert_eq!(
            AzureLogins.subject(&post("/t/oauth2/v2.0/token"), b"grant_type=client_credentials&client_id=abc&client_secret=s").as_deref(),
            Some("client:abc")
        );
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"iss":"aje123"}"#);
        let body = format!(r#"{{"jwt":"e30.{claims}.sig"}}"#);
        assert_eq!(YandexLogins.subject(&post("/iam/v1/tokens"), body.as_bytes()).as_deref(), Some("sa:aje123"));
    }
}
