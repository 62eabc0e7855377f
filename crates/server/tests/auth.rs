//! Secure by default: real Keystone tokens on the image API, every non-public
//! route refuses anonymous callers, and projects are isolated from each other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn token(s: &TestServer, user: &str, password: &str, project: &str) -> reqwest::Response {
    password_login(s, user, password, project).await
}

async fn token_of(s: &TestServer, user: &str, password: &str, project: &str) -> String {
    let r = token(s, user, password, project).await;
    assert_eq!(r.status(), 201);
    r.headers().get("x-subject-token").expect("token header").to_str().expect("ascii").to_string()
}

/// Create a project and a user with `role` on it through the Keystone API.
async fn user_in_project(s: &TestServer, admin: &str, project: &str, user: &str, role: &str) {
    let h = |r: reqwest::RequestBuilder| r.header("X-Auth-Token", admin);
    let r = h(s.client.post(format!("{}/v3/projects", s.identity)))
        .json(&json!({"project": {"name": project, "domain_id": "default"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let pid = r.json::<Value>().await.unwrap()["project"]["id"].as_str().unwrap().to_string();
    let r = h(s.client.post(format!("{}/v3/users", s.identity)))
        .json(&json!({"user": {"name": user, "domain_id": "default", "password": "secret-pass", "default_project_id": pid}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let uid = r.json::<Value>().await.unwrap()["user"]["id"].as_str().unwrap().to_string();
    let roles: Value = h(s.client.get(format!("{}/v3/roles?name={role}", s.identity))).send().await.unwrap().json().await.unwrap();
    let rid = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let r = h(s.client.put(format!("{}/v3/projects/{pid}/users/{uid}/roles/{rid}", s.identity))).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn every_route_needs_a_token_by_default() {
    let s = start(false).await;
    for (method, path) in imagery_dialect_glance::surface() {
        let endpoint = imagery_dialect_glance::parse_route(&method, path).expect("route");
        let r = s.client.request(method.clone(), format!("{}{}", s.image, path)).send().await.unwrap();
        if imagery_dialect_glance::is_public(&endpoint) {
            assert!(r.status().is_success() || r.status() == 300, "{method} {path} → {}", r.status());
        } else {
            assert_eq!(r.status(), 401, "{method} {path} answered without a token");
            let challenge = r.headers().get("www-authenticate").expect("challenge").to_str().unwrap().to_string();
            assert!(challenge.starts_with("Keystone uri=\""), "{challenge}");
        }
        // Identity headers alone are not trusted in the default configuration.
        let r = s
            .client
            .request(method.clone(), format!("{}{}", s.image, path))
            .header("X-Identity-Status", "Confirmed")
            .header("X-Project-Id", "p")
            .header("X-Roles", "admin")
            .send()
            .await
            .unwrap();
        if !imagery_dialect_glance::is_public(&endpoint) {
            assert_eq!(r.status(), 401, "{method} {path} trusted identity headers");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn tokens_and_isolation() {
    let s = start(false).await;
    let password = admin_password(&s);
    let admin = token_of(&s, "admin", &password, "admin").await;
    assert_eq!(token(&s, "admin", "wrong-password", "admin").await.status(), 401);
    user_in_project(&s, &admin, "alpha", "alice", "member").await;
    user_in_project(&s, &admin, "beta", "bob", "member").await;
    user_in_project(&s, &admin, "alpha-readers", "rita", "reader").await;
    let alice = token_of(&s, "alice", "secret-pass", "alpha").await;
    let bob = token_of(&s, "bob", "secret-pass", "beta").await;
    let call = |tok: &str, method: Method, path: &str| {
        s.client.request(method, format!("{}{}", s.image, path)).header("X-Auth-Token", tok.to_string())
    };

    let r = call(&alice, Method::POST, "/v2/images")
        .json(&json!({"name": "secret", "visibility": "private", "disk_format": "raw", "container_format": "bare"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = call(&alice, Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![3u8; 512])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Bob's project cannot see, list, download, change or share Alice's private image.
    for (method, path) in [
        (Method::GET, format!("/v2/images/{id}")),
        (Method::GET, format!("/v2/images/{id}/file")),
        (Method::DELETE, format!("/v2/images/{id}")),
        (Method::PUT, format!("/v2/images/{id}/tags/x")),
        (Method::DELETE, format!("/v2/images/{id}/tags/x")),
        (Method::GET, format!("/v2/images/{id}/members")),
        (Method::POST, format!("/v2/images/{id}/actions/deactivate")),
        (Method::GET, format!("/v2/images/{id}/tasks")),
    ] {
        let r = call(&bob, method.clone(), &path).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    let r = call(&bob, Method::POST, &format!("/v2/images/{id}/members")).json(&json!({"member": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = call(&bob, Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/openstack-images-v2.1-json-patch")
        .body(r#"[{"op":"replace","path":"/name","value":"x"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let listed: Value = call(&bob, Method::GET, "/v2/images").send().await.unwrap().json().await.unwrap();
    assert!(listed["images"].as_array().unwrap().iter().all(|i| i["id"] != id.as_str()));

    // A tampered or garbage token is refused.
    let mut tampered = alice.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(call(&tampered, Method::GET, "/v2/images").send().await.unwrap().status(), 401);
    assert_eq!(call("not-a-token", Method::GET, "/v2/images").send().await.unwrap().status(), 401);
    // Revoked tokens stop working.
    let r = s
        .client
        .delete(format!("{}/v3/auth/tokens", s.identity))
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(call(&bob, Method::GET, "/v2/images").send().await.unwrap().status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(dir, false, |c| c.token_ttl_secs = 1).await;
    let password = admin_password(&s);
    let admin = token_of(&s, "admin", &password, "admin").await;
    let ok = s.client.get(format!("{}/v2/images", s.image)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = s.client.get(format!("{}/v2/images", s.image)).header("X-Auth-Token", &admin).send().await.unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn readers_cannot_write() {
    let s = start(false).await;
    let password = admin_password(&s);
    let admin = token_of(&s, "admin", &password, "admin").await;
    user_in_project(&s, &admin, "gamma", "gina", "reader").await;
    let gina = token_of(&s, "gina", "secret-pass", "gamma").await;
    let r = s.client.post(format!("{}/v2/images", s.image)).header("X-Auth-Token", &gina).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s.client.get(format!("{}/v2/images", s.image)).header("X-Auth-Token", &gina).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}
