//! A real imagery server on loopback sockets for integration tests.

#![allow(dead_code)]

use imagery_server::config::Config;
use imagery_server::serve::{start_with_listeners, Listeners};
use imagery_server::Running;
use reqwest::{Method, RequestBuilder};
use tokio::net::TcpListener;

pub struct TestServer {
    pub running: Option<Running>,
    pub image: String,
    pub identity: String,
    pub compute: String,
    pub combined: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

/// Who a trusted-headers request claims to be.
#[derive(Clone, Copy)]
pub struct As {
    pub project: &'static str,
    pub roles: &'static str,
}

pub const ALICE: As = As { project: "project-a", roles: "member,reader" };
pub const BOB: As = As { project: "project-b", roles: "member,reader" };
pub const READER_A: As = As { project: "project-a", roles: "reader" };
pub const ADMIN: As = As { project: "admin-project", roles: "admin,member,reader" };

pub fn test_config(dir: &std::path::Path, trust_headers: bool) -> Config {
    Config { data_dir: dir.to_path_buf(), insecure_trust_headers: trust_headers, gc_grace_secs: 3600, ..Config::default() }
}

pub async fn start(trust_headers: bool) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir, trust_headers, |_| {}).await
}

pub async fn start_in(dir: tempfile::TempDir, trust_headers: bool, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = test_config(dir.path(), trust_headers);
    tweak(&mut config);
    let identity = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let image = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let compute = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let combined = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (ia, ga, ka, ca) = (
        identity.local_addr().expect("addr"),
        image.local_addr().expect("addr"),
        compute.local_addr().expect("addr"),
        combined.local_addr().expect("addr"),
    );
    let huawei = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let huawei_tls = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let azure = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let yandex = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let listeners = Listeners {
        identity: Some(identity),
        image: Some(image),
        compute: Some(compute),
        huawei: Some(huawei),
        huawei_tls: Some(huawei_tls),
        azure: Some(azure),
        yandex: Some(yandex),
        combined: Some(combined),
        admin: Some(TcpListener::bind("127.0.0.1:0").await.expect("bind")),
    };
    let running = start_with_listeners(config, listeners).await.expect("server starts");
    TestServer {
        running: Some(running),
        image: format!("http://{ga}"),
        identity: format!("http://{ia}"),
        compute: format!("http://{ka}"),
        combined: format!("http://{ca}"),
        dir,
        client: reqwest::Client::builder().build().expect("client"),
    }
}

impl TestServer {
    pub fn req(&self, who: As, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.image, path))
            .header("X-Identity-Status", "Confirmed")
            .header("X-Project-Id", who.project)
            .header("X-User-Id", format!("user-of-{}", who.project))
            .header("X-Roles", who.roles)
            .header("Accept", "application/json")
    }

    pub async fn json(&self, who: As, method: Method, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self.req(who, method, path).json(&body).send().await.expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    pub async fn get(&self, who: As, path: &str) -> (u16, serde_json::Value) {
        let r = self.req(who, Method::GET, path).send().await.expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    pub async fn create(&self, who: As, body: serde_json::Value) -> serde_json::Value {
        let (status, image) = self.json(who, Method::POST, "/v2/images", body).await;
        assert_eq!(status, 201, "create failed: {image}");
        image
    }

    pub async fn upload(&self, who: As, id: &str, data: Vec<u8>) -> u16 {
        self.req(who, Method::PUT, &format!("/v2/images/{id}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .expect("send")
            .status()
            .as_u16()
    }

    pub async fn patch(&self, who: As, id: &str, ops: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .req(who, Method::PATCH, &format!("/v2/images/{id}"))
            .header("Content-Type", "application/openstack-images-v2.1-json-patch")
            .body(ops.to_string())
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        self.dir
    }
}

/// The password first start wrote to `admin-openrc.sh`.
pub fn admin_password(s: &TestServer) -> String {
    let openrc = std::fs::read_to_string(s.dir.path().join("admin-openrc.sh")).expect("admin-openrc.sh written on first start");
    openrc
        .lines()
        .find_map(|l| l.strip_prefix("export OS_PASSWORD="))
        .map(|p| p.trim_matches(|c| c == '"' || c == '\'').to_string())
        .expect("password line")
}

/// `POST /v3/auth/tokens` with a password, scoped to a project of the Default domain.
pub async fn password_login(s: &TestServer, user: &str, password: &str, project: &str) -> reqwest::Response {
    s.client
        .post(format!("{}/v3/auth/tokens", s.identity))
        .json(&serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
                       "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}))
        .send()
        .await
        .expect("send")
}
