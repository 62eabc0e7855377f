//! A real Yandex dialect on a loopback socket (plain HTTP/1.1 and h2c), over a
//! real catalog, blob store and identity, with three accounts: alice (member of
//! `alpha`), bob (member of `beta`) and the bootstrap admin. A second listener
//! serves image bytes for imports from a URI.

#![allow(dead_code)]

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use bytes::Bytes;
use imagery_core::identity::AccessKey;
use imagery_core::ports::Catalog;
use imagery_core::{Caller, Image};
use imagery_dialect_yandex::{router, YandexState};
use imagery_identity::Identity;
use imagery_service::{ImageService, NewImage, ServiceConfig};
use serde_json::Value;
use tokio::net::TcpListener;

pub struct Account {
    pub user_id: String,
    pub project_id: String,
    pub key: AccessKey,
    /// An IAM token (`t1.…`).
    pub token: String,
    pub folder: String,
    pub caller: Caller,
}

impl Account {
    /// The OAuth token imagery defines: `y0_<access key id>_<secret>`.
    pub fn oauth(&self) -> String {
        format!("y0_{}_{}", self.key.id, self.key.secret)
    }
}

pub struct Env {
    pub base: String,
    /// Where the byte server serves `/ok.raw`, `/slow.raw`, `/missing.raw` and the
    /// format-safety samples (`/backed.qcow2`, `/backed.img`, `/host.vmdk`, `/clean.qcow2`).
    pub files: String,
    pub http: reqwest::Client,
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    pub catalog: Arc<dyn Catalog>,
    pub alice: Account,
    pub bob: Account,
    pub admin: Account,
}

/// Raw image bytes the byte server returns.
pub fn disk_bytes() -> Vec<u8> {
    (0..64 * 1024u32).map(|i| (i % 251) as u8).collect()
}

async fn serve_files() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let sample = |s: imagery_test_support::samples::Sample| get(move || async move { Bytes::from(s.bytes) });
    let app = axum::Router::new()
        .route("/backed.qcow2", sample(imagery_test_support::samples::backed_qcow2()))
        .route("/backed.img", sample(imagery_test_support::samples::backed_qcow2()))
        .route("/host.vmdk", sample(imagery_test_support::samples::vmdk_host_file()))
        .route("/clean.qcow2", sample(imagery_test_support::samples::clean_qcow2()))
        .route("/ok.raw", get(|| async { Bytes::from(disk_bytes()) }))
        .route(
            "/slow.raw",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Bytes::from(disk_bytes())
            }),
        );
    tokio::spawn(axum::serve(listener, app).into_future());
    origin
}

pub async fn start() -> Env {
    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    start_on(catalog).await
}

pub async fn start_on(catalog: Arc<dyn Catalog>) -> Env {
    start_configured(catalog, |_, _| {}).await
}

/// [`start_on`] with the service configuration adjusted by `tweak`, which is
/// given the byte server's origin.
pub async fn start_configured(catalog: Arc<dyn Catalog>, tweak: impl FnOnce(&mut ServiceConfig, &str)) -> Env {
    let files = serve_files().await;
    let mut config = ServiceConfig { web_download_allow: vec![format!("{files}/")], ..ServiceConfig::default() };
    tweak(&mut config, &files);
    let world = imagery_test_support::world::backends_on(catalog.clone(), config, |_| {}).await;
    let (service, identity) = (world.service.clone(), world.identity.clone());
    let alice = account(&identity, &service, "alice", "alpha", "member").await;
    let bob = account(&identity, &service, "bob", "beta", "member").await;
    let admin = key_account(&identity, &service, &world.admin.admin_user_id, &world.admin.admin_project_id).await;
    let base = serve(service.clone(), identity.clone()).await;
    Env { base, files, http: reqwest::Client::new(), service, identity, catalog, alice, bob, admin }
}

/// Serve a router over the given service; returns `http://127.0.0.1:port`.
pub async fn serve(service: Arc<ImageService>, identity: Arc<Identity>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = YandexState { service, identity, public_address: format!("localhost:{}", addr.port()) };
    tokio::spawn(axum::serve(listener, router(state)).into_future());
    format!("http://{addr}")
}

async fn account(identity: &Identity, service: &ImageService, user: &str, project: &str, role: &str) -> Account {
    let project = imagery_test_support::world::project(identity, project).await;
    let made = imagery_test_support::world::account(identity, user, &project, role, "yandex").await;
    key_account(identity, service, &made.user_id, &project.id).await
}

async fn key_account(identity: &Identity, service: &ImageService, user_id: &str, project_id: &str) -> Account {
    let key = identity.create_access_key(user_id, Some(project_id), "yandex").await.expect("access key");
    let principal = identity.authenticate_access_key(&key.id, &key.secret).await.expect("key authenticates");
    let token = identity.mint_token(&principal).expect("token");
    let folder = imagery_dialect_yandex::folder_id(service, &principal.caller(), project_id).await.expect("folder id");
    Account { user_id: user_id.into(), project_id: project_id.into(), key, token, folder, caller: principal.caller() }
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A REST call; returns status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        assert!(response.headers().contains_key("x-server-request-id"), "no x-server-request-id");
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, Some(token), Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, Some(token), None, &[]).await
    }

    /// An image created and uploaded through the service directly, as Glance would.
    pub async fn glance_image(&self, who: &Account, name: &str, data: Vec<u8>) -> Image {
        self.glance_image_with(&who.caller, NewImage { name: Some(name.into()), ..NewImage::default() }, data).await
    }

    pub async fn glance_image_with(&self, caller: &Caller, mut new: NewImage, data: Vec<u8>) -> Image {
        new.container_format = Some("bare".into());
        new.disk_format = Some("raw".into());
        let image = self.service.create_image(caller, new).await.expect("create");
        let body: imagery_core::ports::ByteStream = Box::pin(futures::stream::once(async move { Ok(Bytes::from(data)) }));
        self.service.upload(caller, image.id, body, None).await.expect("upload")
    }

    /// Poll `GET /operations/{id}` until done (at most ~40 s).
    pub async fn wait(&self, operation_id: &str, token: &str) -> Value {
        for _ in 0..400 {
            let (status, op) = self.get(&format!("/operations/{operation_id}"), token).await;
            assert_eq!(status, 200, "{op}");
            if op["done"] == Value::Bool(true) {
                return op;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("operation {operation_id} did not finish");
    }
}

/// Assert a Yandex error envelope.
pub fn assert_error(status: u16, body: &Value, http: u16, code: i64) {
    assert_eq!(status, http, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["details"].is_array(), "{body}");
}
