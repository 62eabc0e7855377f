//! An in-process compute API on a loopback socket over a real SQLite catalog and an
//! in-memory blob store, with trusted identity headers, plus request helpers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use imagery_core::{Caller, Image, Visibility};
use imagery_dialect_compute::{router, ComputeState};
use imagery_http_common::{request_id, Auth};
use imagery_service::{ImageService, NewImage, ServiceConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

pub const PA: &str = "aaaa0000aaaa0000aaaa0000aaaa0000";
pub const PB: &str = "bbbb0000bbbb0000bbbb0000bbbb0000";
pub const PADMIN: &str = "adadadadadadadadadadadadadadadad";
pub const KEYSTONE: &str = "http://keystone.test:5000/v3";
pub const GLANCE: &str = "http://glance.test:9292";

/// Who a trusted-headers request claims to be.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub project: &'static str,
    pub roles: &'static str,
}

pub const ALICE: Who = Who { project: PA, roles: "member,reader" };
pub const BOB: Who = Who { project: PB, roles: "member,reader" };
pub const READER_A: Who = Who { project: PA, roles: "reader" };
pub const ADMIN: Who = Who { project: PADMIN, roles: "admin,member,reader" };

impl Who {
    pub fn caller(self) -> Caller {
        Caller::new(Some(format!("user-of-{}", self.project)), Some(self.project.to_string()), self.roles.split(',').map(str::to_string))
    }
}

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub service: Arc<ImageService>,
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
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn start() -> Api {
    start_with(ServiceConfig::default(), |_| {}).await
}

pub async fn start_with(config: ServiceConfig, tweak: impl FnOnce(&mut ComputeState)) -> Api {
    let service = imagery_test_support::world::backends(config, |_| {}).await.service;
    let mut state = ComputeState::new(service.clone(), Auth::TrustHeaders, KEYSTONE, GLANCE);
    tweak(&mut state);
    let (addr, server) = imagery_test_support::world::serve(router(state).layer(axum::middleware::from_fn(request_id::assign))).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Api { base: format!("http://{addr}"), client, service, server }
}

impl Api {
    pub fn req(&self, who: Option<Who>, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(who) = who {
            builder = builder
                .header("X-Identity-Status", "Confirmed")
                .header("X-Project-Id", who.project)
                .header("X-User-Id", format!("user-of-{}", who.project))
                .header("X-Roles", who.roles);
        }
        builder
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply { status, headers, text }
    }

    pub async fn get(&self, who: Who, path: &str) -> Reply {
        self.send(self.req(Some(who), Method::GET, path)).await
    }

    pub async fn get_with(&self, who: Who, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = self.req(Some(who), Method::GET, path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.send(builder).await
    }

    pub async fn delete(&self, who: Who, path: &str) -> Reply {
        self.send(self.req(Some(who), Method::DELETE, path)).await
    }

    pub async fn json(&self, who: Who, method: Method, path: &str, body: Value) -> Reply {
        self.send(self.req(Some(who), method, path).header("Content-Type", "application/json").body(body.to_string())).await
    }

    /// The custom properties of `id` through the metadata resource.
    pub async fn metadata(&self, who: Who, id: &str) -> Value {
        let reply = self.get(who, &format!("/v2.1/images/{id}/metadata")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["metadata"].clone()
    }

    /// A queued image owned by `who`'s project.
    pub async fn queued(&self, who: Who, name: &str, visibility: Visibility, props: &[(&str, &str)]) -> Image {
        let properties: BTreeMap<String, String> = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let new = NewImage {
            name: Some(name.to_string()),
            visibility: Some(visibility),
            container_format: Some("bare".into()),
            disk_format: Some("raw".into()),
            properties,
            ..NewImage::default()
        };
        self.service.create_image(&who.caller(), new).await.expect("create image")
    }

    /// An active image with `size` bytes of data.
    pub async fn active(&self, who: Who, name: &str, visibility: Visibility, props: &[(&str, &str)], size: usize) -> Image {
        let image = self.queued(who, name, visibility, props).await;
        let body = futures::stream::iter(vec![Ok::<Bytes, std::io::Error>(Bytes::from(vec![0u8; size]))]);
        self.service.upload(&who.caller(), image.id, Box::pin(body), Some(size as u64)).await.expect("upload")
    }
}
