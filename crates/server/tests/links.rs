//! Links come from configuration, never from the request's `Host` (issue 14):
//! a hostile `Host` must not appear in any answer of Keystone, Glance, Nova or
//! Huawei, on their own ports and on the devstack-layout port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

const EVIL: &str = "evil.example:666";

async fn leaks(s: &TestServer, method: Method, url: &str, body: Option<serde_json::Value>) -> (u16, bool) {
    let mut req = s
        .client
        .request(method, url)
        .header("Host", EVIL)
        .header("X-Identity-Status", "Confirmed")
        .header("X-Project-Id", ALICE.project)
        .header("X-User-Id", "user-of-project-a")
        .header("X-Roles", ALICE.roles)
        .header("Accept", "application/json");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = format!("{:?}", r.headers());
    let text = r.text().await.unwrap();
    (status, headers.contains("evil.example") || text.contains("evil.example"))
}

#[tokio::test]
async fn a_hostile_host_header_never_becomes_a_link() {
    let s = start(true).await;
    let image = s.create(ALICE, json!({"name": "linked", "disk_format": "raw", "container_format": "bare"})).await;
    let id = image["id"].as_str().unwrap().to_string();
    let compute = s.compute.clone();
    let cases = vec![
        (Method::GET, format!("{}/", s.image), None),
        (Method::GET, format!("{}/versions", s.image), None),
        (Method::POST, format!("{}/v2/images", s.image), Some(json!({"name": "x"}))),
        (Method::GET, format!("{}/v2/images/{id}", s.image), None),
        (Method::GET, format!("{}/v3", s.identity), None),
        (Method::GET, format!("{}/", s.identity), None),
        (Method::GET, format!("{compute}/"), None),
        (Method::GET, format!("{compute}/v2.1"), None),
        (Method::GET, format!("{compute}/v2.1/images/detail"), None),
        (Method::GET, format!("{compute}/v2.1/images/{id}"), None),
        (Method::GET, format!("{}/image/", s.combined), None),
        (Method::GET, format!("{}/identity/v3", s.combined), None),
        (Method::GET, format!("{}/compute/v2.1/images/{id}", s.combined), None),
    ];
    for (method, url, body) in cases {
        let (status, leaked) = leaks(&s, method.clone(), &url, body).await;
        assert!(!leaked, "{method} {url} ({status}) echoes the Host header");
        assert!(status < 500, "{method} {url}: {status}");
    }
    s.stop().await;
}
