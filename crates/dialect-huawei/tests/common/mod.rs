//! The Huawei listener on a loopback socket over a real SQLite catalog, an
//! in-memory blob store and a real identity (bootstrap, two projects with a member
//! and an access key each, the admin with a key too), plus a client that signs
//! requests the way huaweicloudsdkcore does — written from the reference
//! (`reference/compute-nova-huawei.md` §4.1), independently of the server's
//! verifier.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use imagery_core::identity::AccessKey;
use imagery_core::{Caller, Image, Visibility};
use imagery_dialect_huawei::{router, HuaweiState};
use imagery_http_common::{request_id, Auth, AuthFailure, TokenValidator};
use imagery_identity::Identity;
use imagery_service::{ImageService, NewImage, ServiceConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const UA: &str = "huaweicloud-usdk-python/3.0; os/Linux 6.1; app/test";
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Keystone tokens, validated by the identity under test.
pub struct Tokens(pub Arc<Identity>);

impl TokenValidator for Tokens {
    fn validate(&self, token: &str) -> Result<Caller, AuthFailure> {
        self.0.validate(token).map(|p| p.caller()).map_err(|e| AuthFailure::Invalid(e.to_string()))
    }
}

/// An identity with an access key.
#[derive(Clone)]
pub struct Account {
    pub key: AccessKey,
    pub project: String,
    pub user_id: String,
}

impl Account {
    pub fn caller(&self, roles: &[&str]) -> Caller {
        Caller::new(Some(self.user_id.clone()), Some(self.project.clone()), roles.iter().map(|r| r.to_string()))
    }
}

pub struct Api {
    pub base: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    pub alice: Account,
    pub bob: Account,
    pub admin: Account,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The APIG 401 body, checked for shape; returns its message.
    pub fn gateway_401(&self) -> String {
        assert_eq!(self.status, 401, "{}", self.text());
        let body = self.json();
        assert_eq!(body["error_code"], "APIGW.0301", "{body}");
        assert_eq!(body["request_id"].as_str(), self.header("x-request-id"), "{body}");
        body["error_msg"].as_str().unwrap_or_default().to_string()
    }

    /// The IMS error body, checked for shape; returns its code.
    pub fn ims_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

async fn member_with_key(identity: &Identity, name: &str) -> Account {
    let project = imagery_test_support::world::project(identity, name).await;
    Account::from(imagery_test_support::world::account(identity, &format!("{name}-user"), &project, "member", "test").await)
}

impl From<imagery_test_support::world::Account> for Account {
    fn from(a: imagery_test_support::world::Account) -> Self {
        Account { key: a.key, project: a.project.id, user_id: a.user_id }
    }
}

pub async fn start() -> Api {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut HuaweiState)) -> Api {
    let world = imagery_test_support::world::backends(ServiceConfig::default(), |_| {}).await;
    let identity = world.identity.clone();
    let admin = Account::from(imagery_test_support::world::admin_account(&world, "admin").await);
    let alice = member_with_key(&identity, "alpha").await;
    let bob = member_with_key(&identity, "beta").await;
    let service = world.service.clone();
    let mut state = HuaweiState::new(service.clone(), identity.clone(), Auth::Tokens(Arc::new(Tokens(identity.clone()))));
    tweak(&mut state);
    let (addr, server) = imagery_test_support::world::serve(router(state).layer(axum::middleware::from_fn(request_id::assign))).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Api { base: format!("http://{addr}"), port: addr.port(), client, service, identity, alice, bob, admin, server }
}

// ------------------------------------------------------------------ the SDK signer (§4.1)

/// Python's `quote(s, safe='~')`.
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'~' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Python's `unquote`.
pub fn unquote(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn sdk_canonical_uri(path: &str) -> String {
    let mut uri = unquote(path).split('/').map(quote).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The SDK's query: pairs sorted by key then value, each side quoted.
pub fn sdk_query(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{}={}", quote(k), quote(v))).collect::<Vec<_>>().join("&")
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `(signed header names, canonical request)` for lower-cased, sorted headers.
pub fn sdk_canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    body_hash: &str,
) -> (String, String) {
    let signed: Vec<&str> = headers.keys().filter(|k| !k.contains('_')).map(String::as_str).collect();
    let canonical_headers: String = signed.iter().map(|k| format!("{k}:{}\n", headers[*k].trim())).collect();
    let signed = signed.join(";");
    let request = format!("{method}\n{}\n{query}\n{canonical_headers}\n{signed}\n{body_hash}", sdk_canonical_uri(path));
    (signed, request)
}

pub fn sdk_sign(secret: &str, date: &str, canonical_request: &str) -> String {
    let string_to_sign = format!("SDK-HMAC-SHA256\n{date}\n{}", sha256_hex(canonical_request.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn sdk_date(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs)).format("%Y%m%dT%H%M%SZ").to_string()
}

/// One request as the SDK would send it; fields may be altered to break it.
#[derive(Clone)]
pub struct Signed {
    pub method: Method,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// `X-Sdk-Content-Sha256`, if any (then it replaces the body hash).
    pub content_sha256: Option<String>,
    pub access: String,
    pub secret: String,
    pub date: String,
}

impl Api {
    /// A request signed with `account`'s key, carrying the SDK's headers.
    pub fn signed(&self, account: &Account, method: Method, path: &str, params: &[(&str, &str)]) -> Signed {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_string(), "application/json".to_string());
        headers.insert("host".to_string(), format!("127.0.0.1:{}", self.port));
        headers.insert("user-agent".to_string(), UA.to_string());
        headers.insert("x-project-id".to_string(), account.project.clone());
        Signed {
            method,
            path: path.to_string(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers,
            body: Vec::new(),
            content_sha256: None,
            access: account.key.id.clone(),
            secret: account.key.secret.clone(),
            date: sdk_date(0),
        }
    }

    /// Sign `req` and build it (the date header is signed, the body hashed).
    pub fn build(&self, req: &Signed) -> reqwest::RequestBuilder {
        self.build_at(&self.base, req)
    }

    /// As `build`, sent to another listener (another node behind the same
    /// balancer: the signed `Host` stays this one's).
    pub fn build_at(&self, base: &str, req: &Signed) -> reqwest::RequestBuilder {
        let mut headers = req.headers.clone();
        headers.insert("x-sdk-date".into(), req.date.clone());
        if let Some(sha) = &req.content_sha256 {
            headers.insert("x-sdk-content-sha256".into(), sha.clone());
        }
        let params: Vec<(&str, &str)> = req.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let query = sdk_query(&params);
        let body_hash = req.content_sha256.clone().unwrap_or_else(|| sha256_hex(&req.body));
        let (signed, canonical) = sdk_canonical_request(req.method.as_str(), &req.path, &query, &headers, &body_hash);
        let signature = sdk_sign(&req.secret, &req.date, &canonical);
        let url = if query.is_empty() { format!("{base}{}", req.path) } else { format!("{base}{}?{query}", req.path) };
        let mut builder = self.client.request(req.method.clone(), url);
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        builder
            .header("Authorization", format!("SDK-HMAC-SHA256 Access={}, SignedHeaders={signed}, Signature={signature}", req.access))
            .body(req.body.clone())
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body");
        Reply { status, headers, body }
    }

    pub async fn go(&self, req: &Signed) -> Reply {
        self.send(self.build(req)).await
    }

    pub async fn get(&self, account: &Account, path: &str, params: &[(&str, &str)]) -> Reply {
        self.go(&self.signed(account, Method::GET, path, params)).await
    }

    pub async fn json(&self, account: &Account, method: Method, path: &str, content_type: &str, body: Value) -> Reply {
        let mut req = self.signed(account, method, path, &[]);
        req.headers.insert("content-type".into(), content_type.into());
        req.body = body.to_string().into_bytes();
        self.go(&req).await
    }

    pub async fn delete(&self, account: &Account, path: &str) -> Reply {
        self.go(&self.signed(account, Method::DELETE, path, &[])).await
    }

    /// A queued image made through the service, as the Glance dialect would.
    pub async fn image(&self, owner: &Account, roles: &[&str], name: &str, visibility: Visibility, props: &[(&str, &str)]) -> Image {
        let new = NewImage {
            name: Some(name.to_string()),
            visibility: Some(visibility),
            container_format: Some("bare".into()),
            disk_format: Some("raw".into()),
            properties: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..NewImage::default()
        };
        self.service.create_image(&owner.caller(roles), new).await.expect("create image")
    }

    /// An active image with `size` bytes.
    pub async fn active(
        &self,
        owner: &Account,
        roles: &[&str],
        name: &str,
        visibility: Visibility,
        props: &[(&str, &str)],
        size: usize,
    ) -> Image {
        let image = self.image(owner, roles, name, visibility, props).await;
        let body = futures::stream::iter(vec![Ok::<Bytes, std::io::Error>(Bytes::from(vec![0u8; size]))]);
        self.service.upload(&owner.caller(roles), image.id, Box::pin(body), Some(size as u64)).await.expect("upload")
    }

    /// A Keystone token for `account` (as an `X-Auth-Token` client holds).
    pub async fn token(&self, account: &Account) -> String {
        let principal = self.identity.access_key_principal(&account.key).await.expect("principal");
        self.identity.mint_token(&principal).expect("token")
    }
}
