//! An in-process Azure dialect on a loopback socket, over a real (in-memory)
//! catalog, blob store and identity: projects `demo` and `other`, users alice
//! (member of demo), rita (reader of demo) and bob (member of other), each with
//! an access key acting as a service principal.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use imagery_core::identity::{AccessKey, Project, SigningKey};
use imagery_core::ports::Catalog;
use imagery_core::Caller;
use imagery_dialect_azure::{router, AzureState};
use imagery_identity::generate_rsa_signing_key;
use imagery_identity::{Identity, IdentityConfig};
use imagery_service::{ImageService, ServiceConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub const COMPUTE: &str = "2026-04-01";
pub const RESOURCES: &str = "2025-04-01";

/// RSA key generation is slow in debug builds: one key per test binary.
pub fn shared_key() -> SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| generate_rsa_signing_key().expect("rsa key")).clone()
}

pub struct Principal {
    pub user_id: String,
    pub key: AccessKey,
}

pub struct World {
    pub base: String,
    pub client: reqwest::Client,
    pub catalog: Arc<dyn Catalog>,
    pub blobs: Arc<dyn imagery_core::ports::BlobStore>,
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    pub demo: Project,
    pub other: Project,
    pub alice: Principal,
    pub rita: Principal,
    pub bob: Principal,
    /// demo's subscription id.
    pub sub: String,
    pub other_sub: String,
}

pub fn guid(hex: &str) -> String {
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

pub async fn world_with(tweak: impl FnOnce(&mut AzureState)) -> World {
    world_tuned(|_| {}, tweak).await
}

/// A world whose identity is tuned too (e.g. how often keys are reloaded).
pub async fn world_tuned(tune: impl FnOnce(&mut IdentityConfig), tweak: impl FnOnce(&mut AzureState)) -> World {
    let backends = imagery_test_support::world::backends(ServiceConfig::default(), tune).await;
    let imagery_test_support::world::Backends { catalog, blobs, service, identity, .. } = backends;
    catalog.insert_signing_key(&shared_key()).await.expect("signing key");
    let demo = imagery_test_support::world::project(&identity, "demo").await;
    let other = imagery_test_support::world::project(&identity, "other").await;
    let alice = principal(&identity, "alice", &demo, "member").await;
    let rita = principal(&identity, "rita", &demo, "reader").await;
    let bob = principal(&identity, "bob", &other, "member").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut state = AzureState::new(service.clone(), identity.clone(), base.clone());
    tweak(&mut state);
    serve(listener, state);
    World {
        base,
        client: reqwest::Client::new(),
        catalog,
        blobs,
        service,
        identity,
        sub: guid(&demo.id),
        other_sub: guid(&other.id),
        demo,
        other,
        alice,
        rita,
        bob,
    }
}

pub fn serve(listener: tokio::net::TcpListener, state: AzureState) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });
}

pub async fn principal(identity: &Identity, name: &str, project: &Project, role: &str) -> Principal {
    let account = imagery_test_support::world::account(identity, name, project, role, "service principal").await;
    Principal { user_id: account.user_id, key: account.key }
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, headers, body }
}

impl World {
    pub fn caller(&self, who: &Principal) -> Caller {
        let project = if who.user_id == self.bob.user_id { &self.other.id } else { &self.demo.id };
        let roles: &[&str] = if who.user_id == self.rita.user_id { &["reader"] } else { &["member", "reader"] };
        Caller::new(Some(who.user_id.clone()), Some(project.clone()), roles.iter().map(|r| r.to_string()))
    }

    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = self
            .client
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("send");
        reply(response).await
    }

    pub async fn token(&self, who: &Principal) -> String {
        let r = self
            .token_request(
                "default",
                &[
                    ("client_id", &who.key.id),
                    ("grant_type", "client_credentials"),
                    ("client_info", "1"),
                    ("client_secret", &who.key.secret),
                    ("scope", "https://management.azure.com/.default"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "token: {}", r.body);
        r.body["access_token"].as_str().expect("access token").to_string()
    }

    pub async fn get_url(&self, url: &str, token: &str) -> Reply {
        reply(self.client.get(url).bearer_auth(token).header("accept", "*/*").send().await.expect("send")).await
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).header("accept", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        reply(request.send().await.expect("send")).await
    }

    pub fn rg_path(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourcegroups/{rg}?api-version={RESOURCES}", self.sub)
    }

    pub fn image_path(&self, rg: &str, name: &str, version: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}?api-version={version}", self.sub)
    }

    pub async fn create_group(&self, token: &str, rg: &str) {
        let r = self.call(Method::PUT, &self.rg_path(rg), Some(token), Some(json!({"location": "westus"}))).await;
        assert!(r.status == 201 || r.status == 200, "create group: {} {}", r.status, r.body);
    }

    /// PUT an image and follow the LRO to the end, as `begin_create_or_update(...).result()` does.
    pub async fn create_image(&self, token: &str, rg: &str, name: &str, body: Value) -> Value {
        let r = self.call(Method::PUT, &self.image_path(rg, name, COMPUTE), Some(token), Some(body)).await;
        assert!(r.status == 201 || r.status == 200, "create image: {} {}", r.status, r.body);
        let url = r.header("azure-asyncoperation").expect("Azure-AsyncOperation").to_string();
        let status = self.poll(&url, token).await;
        assert_eq!(status["status"], "Succeeded", "{status}");
        let r = self.call(Method::GET, &self.image_path(rg, name, COMPUTE), Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Poll an operation-status URL until it is terminal.
    pub async fn poll(&self, url: &str, token: &str) -> Value {
        for _ in 0..50 {
            let r = self.get_url(url, token).await;
            assert_eq!(r.status, 200, "poll: {}", r.body);
            let status = r.body["status"].as_str().unwrap_or("").to_string();
            if ["Succeeded", "Failed", "Canceled"].contains(&status.as_str()) {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("operation never finished: {url}");
    }
}

pub fn blob_image(blob_uri: &str) -> Value {
    json!({"location": "West US", "tags": {"env": "test"}, "properties": {"storageProfile": {"osDisk": {"osType": "Linux",
        "osState": "Generalized", "blobUri": blob_uri, "caching": "ReadWrite"}}, "hyperVGeneration": "V2"}})
}

/// The JSON of a JWT part.
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Re-sign `token` with `key` after changing its claims (and header).
pub fn resign(token: &str, key: &SigningKey, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
    let mut header = jwt_part(token, 0);
    let mut claims = jwt_part(token, 1);
    edit(&mut header, &mut claims);
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let der: String = key.material.lines().filter(|l| !l.starts_with("-----")).collect();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(der).expect("der")).expect("pkcs8");
    let mut signature = vec![0u8; pair.public().modulus_len()];
    pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signed.as_bytes(), &mut signature).expect("sign");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}
