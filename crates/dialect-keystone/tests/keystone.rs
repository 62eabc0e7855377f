//! The Keystone router over a real socket, driven the way keystoneauth and
//! openstackclient drive it: discovery, every auth method and scope, token
//! validation and revocation, application credentials, the admin subset with
//! its name-in-id-slot quirks, policy, restart and key rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imagery_core::ports::Catalog;
use imagery_dialect_keystone::{router, CatalogEndpoint, KeystoneState, ServiceCatalog};
use imagery_identity::{Identity, IdentityConfig, PasswordHashing};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "admin-secret-pw";

fn config() -> IdentityConfig {
    IdentityConfig { password_hashing: PasswordHashing::INSECURE_FAST, key_activation_delay: Duration::ZERO, ..IdentityConfig::default() }
}

struct Server {
    /// `http://127.0.0.1:port` (+ prefix when nested).
    root: String,
    origin: String,
    http: reqwest::Client,
    identity: Arc<Identity>,
    catalog: Arc<dyn Catalog>,
}

fn service_catalog(origin: &str, prefix: &str) -> ServiceCatalog {
    let mut endpoints = Vec::new();
    for interface in ["public", "internal", "admin"] {
        endpoints.push(CatalogEndpoint {
            service_type: "identity".into(),
            service_name: "keystone".into(),
            interface: interface.into(),
            url: format!("{origin}{prefix}/v3"),
        });
        endpoints.push(CatalogEndpoint {
            service_type: "image".into(),
            service_name: "glance".into(),
            interface: interface.into(),
            url: "/image".into(),
        });
        endpoints.push(CatalogEndpoint {
            service_type: "compute".into(),
            service_name: "nova".into(),
            interface: interface.into(),
            url: "http://compute.example:8774/v2.1/%(project_id)s".into(),
        });
    }
    ServiceCatalog { region: "RegionOne".into(), endpoints }
}

async fn serve(identity: Arc<Identity>, catalog: Arc<dyn Catalog>, prefix: &str) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let state = KeystoneState::new(identity.clone(), service_catalog(&origin, prefix));
    let app = if prefix.is_empty() { router(state) } else { axum::Router::new().nest(prefix, router(state)) };
    tokio::spawn(axum::serve(listener, app).into_future());
    Server { root: format!("{origin}{prefix}"), origin, http: reqwest::Client::new(), identity, catalog }
}

async fn start_with(config: IdentityConfig, prefix: &str) -> Server {
    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    let identity = Identity::open(catalog.clone(), config).await.expect("identity");
    identity.bootstrap(Some(ADMIN_PASSWORD.into())).await.expect("bootstrap");
    serve(identity, catalog, prefix).await
}

async fn start() -> Server {
    start_with(config(), "").await
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    async fn call_with(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.http.request(method, format!("{}{}", self.root, path));
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")) };
        Reply { status, headers, body }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST /v3/auth/tokens` with a password, as keystoneauth sends it.
    async fn login(&self, user: &str, password: &str, project: Option<&str>) -> Reply {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}});
        if let Some(project) = project {
            auth["scope"] = json!({"project": {"name": project, "domain": {"name": "Default"}}});
        }
        self.call(Method::POST, "/v3/auth/tokens", None, Some(json!({ "auth": auth }))).await
    }

    async fn token(&self, user: &str, password: &str, project: Option<&str>) -> String {
        let reply = self.login(user, password, project).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.header("x-subject-token").expect("X-Subject-Token").to_string()
    }

    async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD, Some("admin")).await
    }

    async fn role_id(&self, admin: &str, name: &str) -> String {
        let reply = self.get(&format!("/v3/roles?name={name}"), admin).await;
        reply.body["roles"][0]["id"].as_str().expect("role id").to_string()
    }

    /// Project `demo` and user `alice` (password `alice-pw`) with `member` on it,
    /// created through the API as openstackclient does.
    async fn with_alice(&self, admin: &str) -> (String, String) {
        let project = self
            .call(
                Method::POST,
                "/v3/projects",
                Some(admin),
                Some(json!({"project": {"name": "demo", "domain_id": "default", "description": "", "enabled": true, "options": {}}})),
            )
            .await;
        assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
        let project_id = project.body["project"]["id"].as_str().expect("id").to_string();
        let user = self
            .call(
                Method::POST,
                "/v3/users",
                Some(admin),
                Some(json!({"user": {"name": "alice", "domain_id": "default", "enabled": true, "password": "alice-pw", "options": {}}})),
            )
            .await;
        assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
        let user_id = user.body["user"]["id"].as_str().expect("id").to_string();
        let member = self.role_id(admin, "member").await;
        let grant = self.call(Method::PUT, &format!("/v3/projects/{project_id}/users/{user_id}/roles/{member}"), Some(admin), None).await;
        assert_eq!(grant.status, StatusCode::NO_CONTENT);
        (user_id, project_id)
    }
}

fn assert_keystone_error(reply: &Reply, code: u16, title: &str, message: &str) {
    assert_eq!(reply.status.as_u16(), code, "{}", reply.body);
    assert_eq!(reply.body, json!({"error": {"code": code, "title": title, "message": message}}));
}

fn is_token_time(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    s.len() == 27
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::NaiveDateTime::parse_from_str(&s[..26], "%Y-%m-%dT%H:%M:%S%.6f").is_ok()
}

fn key_id_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["k"].as_str().expect("k").to_string()
}

#[tokio::test]
async fn version_documents() {
    let s = start().await;
    let v3 = json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/v3/", s.origin)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    });
    let root = s.call(Method::GET, "/", None, None).await;
    assert_eq!(root.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(root.body, json!({"versions": {"values": [v3.clone()]}}));
    assert_eq!(root.header("location"), Some(format!("{}/v3/", s.origin).as_str()));
    assert!(root.header("x-openstack-request-id").is_some_and(|id| id.starts_with("req-") && id.len() == 40));
    assert_eq!(root.header("vary"), Some("X-Auth-Token"));
    assert_eq!(root.header("content-type"), Some("application/json"));
    for path in ["/v3", "/v3/"] {
        let reply = s.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, json!({ "version": v3 }));
    }

    // Nested under /identity (the devstack layout), links keep the prefix.
    let nested = start_with(config(), "/identity").await;
    let root = nested.call(Method::GET, "", None, None).await;
    assert_eq!(root.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(root.body["versions"]["values"][0]["links"][0]["href"], format!("{}/identity/v3/", nested.origin));
    let v3 = nested.call(Method::GET, "/v3", None, None).await;
    assert_eq!(v3.body["version"]["links"][0]["href"], format!("{}/identity/v3/", nested.origin));
    let denied = nested.call(Method::GET, "/v3/auth/projects", None, None).await;
    assert_eq!(denied.header("www-authenticate"), Some(format!("Keystone uri=\"{}/identity\"", nested.origin).as_str()));
    let token = nested.admin_token().await;
    let projects = nested.get("/v3/auth/projects", &token).await;
    assert_eq!(projects.body["links"]["self"], format!("{}/identity/v3/auth/projects", nested.origin));
}

#[tokio::test]
async fn password_auth_as_keystoneauth_sends_it() {
    let s = start().await;
    let reply = s.login("admin", ADMIN_PASSWORD, Some("admin")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let token = reply.header("x-subject-token").expect("token");
    assert!(token.starts_with("t1.") && token.rsplit('.').next().map(str::len) == Some(86));
    let t = &reply.body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(t["user"]["password_expires_at"], Value::Null);
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["project"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(t["is_domain"], json!(false));
    assert!(is_token_time(&t["expires_at"]) && is_token_time(&t["issued_at"]), "{t}");
    assert_eq!(t["audit_ids"].as_array().map(Vec::len), Some(1));
    let mut roles: Vec<&str> = t["roles"].as_array().expect("roles").iter().map(|r| r["name"].as_str().expect("name")).collect();
    roles.sort();
    assert_eq!(roles, ["admin", "member", "reader"]);
    assert!(t["roles"][0]["id"].as_str().is_some_and(|id| id.len() == 32));
    let catalog = t["catalog"].as_array().expect("catalog");
    let types: Vec<&str> = catalog.iter().map(|c| c["type"].as_str().expect("type")).collect();
    assert_eq!(types, ["identity", "image", "compute"]);
    for service in catalog {
        let interfaces: Vec<&str> =
            service["endpoints"].as_array().expect("endpoints").iter().map(|e| e["interface"].as_str().expect("interface")).collect();
        assert_eq!(interfaces, ["public", "internal", "admin"]);
        assert_eq!(service["endpoints"][0]["region"], "RegionOne");
        assert_eq!(service["endpoints"][0]["region_id"], "RegionOne");
        assert!(service["id"].is_string() && service["endpoints"][0]["id"].is_string());
    }
    assert_eq!(catalog[1]["endpoints"][0]["url"], format!("{}/image", s.origin));
    let project_id = t["project"]["id"].as_str().expect("project id");
    assert_eq!(catalog[2]["endpoints"][0]["url"], format!("http://compute.example:8774/v2.1/{project_id}"));

    // By user id and project id; ?nocatalog.
    let user_id = t["user"]["id"].as_str().expect("user id");
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": ADMIN_PASSWORD}}}, "scope": {"project": {"id": project_id}}}});
    let by_id = s.call(Method::POST, "/v3/auth/tokens?nocatalog", None, Some(body)).await;
    assert_eq!(by_id.status, StatusCode::CREATED);
    assert_eq!(by_id.body["token"]["project"]["id"], project_id);
    assert!(by_id.body["token"].get("catalog").is_none());

    // Explicitly unscoped: no project, roles or catalog.
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}, "scope": "unscoped"}});
    let unscoped = s.call(Method::POST, "/v3/auth/tokens", None, Some(body)).await;
    assert_eq!(unscoped.status, StatusCode::CREATED);
    for key in ["project", "domain", "roles", "catalog", "is_domain"] {
        assert!(unscoped.body["token"].get(key).is_none(), "{key} in {}", unscoped.body);
    }
    // No scope at all: the default project (Keystone's behaviour).
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}}}});
    let default = s.call(Method::POST, "/v3/auth/tokens", None, Some(body)).await;
    assert_eq!(default.body["token"]["project"]["name"], "admin");

    // Re-scope the unscoped token with the token method.
    let unscoped_token = unscoped.header("x-subject-token").expect("token");
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped_token}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let rescoped = s.call(Method::POST, "/v3/auth/tokens", None, Some(body)).await;
    assert_eq!(rescoped.status, StatusCode::CREATED, "{}", rescoped.body);
    assert_eq!(rescoped.body["token"]["methods"], json!(["token", "password"]));
    assert_eq!(rescoped.body["token"]["audit_ids"][1], unscoped.body["token"]["audit_ids"][0]);
    assert_eq!(rescoped.body["token"]["expires_at"], unscoped.body["token"]["expires_at"]);

    // Domain scope needs a role on the domain.
    let admin = s.admin_token().await;
    let domain_scope = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}}, "scope": {"domain": {"name": "Default"}}}});
    let refused = s.call(Method::POST, "/v3/auth/tokens", None, Some(domain_scope.clone())).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let admin_role = s.role_id(&admin, "admin").await;
    let grant = s.call(Method::PUT, &format!("/v3/domains/default/users/{user_id}/roles/{admin_role}"), Some(&admin), None).await;
    assert_eq!(grant.status, StatusCode::NO_CONTENT);
    let domain_token = s.call(Method::POST, "/v3/auth/tokens", None, Some(domain_scope)).await;
    assert_eq!(domain_token.status, StatusCode::CREATED, "{}", domain_token.body);
    assert_eq!(domain_token.body["token"]["domain"], json!({"id": "default", "name": "Default"}));
    assert!(domain_token.body["token"].get("project").is_none());
    assert_eq!(domain_token.body["token"]["roles"].as_array().map(Vec::len), Some(3));
    let domain_catalog = domain_token.body["token"]["catalog"].as_array().expect("catalog");
    assert_eq!(domain_catalog.len(), 2, "the compute endpoint needs a project");
    let domains = s.get("/v3/auth/domains", &admin).await;
    assert_eq!(domains.body["domains"][0]["id"], "default");
}

#[tokio::test]
async fn bad_credentials_and_malformed_requests() {
    let s = start().await;
    let unauthorized = "The request you have made requires authentication.";
    let wrong = s.login("admin", "correct-horse-battery-staple", Some("admin")).await;
    assert_keystone_error(&wrong, 401, "Unauthorized", unauthorized);
    assert_eq!(wrong.header("www-authenticate"), Some(format!("Keystone uri=\"{}\"", s.origin).as_str()));
    assert!(wrong.header("x-subject-token").is_none());
    let unknown = s.login("nobody", "correct-horse-battery-staple", Some("admin")).await;
    assert_keystone_error(&unknown, 401, "Unauthorized", unauthorized);
    let post = |body: &'static str| {
        let request = s.http.post(format!("{}/v3/auth/tokens", s.root)).header("content-type", "application/json").body(body);
        async move {
            let response = request.send().await.expect("send");
            (response.status(), response.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = post("{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["title"], "Bad Request");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("Expecting to find valid JSON in request body.")));
    let (status, body) = post("{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("Expecting to find auth in request body.")));
    let (status, _) =
        post(r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a user name needs a domain");
    let (status, _) = post(r#"{"auth": {"identity": {"methods": ["password"]}}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(r#"{"auth": {"identity": {"methods": "password"}}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = post(r#"{"auth": {"identity": {"methods": ["totp"], "totp": {}}}}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "Attempted to authenticate with an unsupported method.");
    let (status, _) = post(r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 5, "domain": {"name": "Default"}, "password": "x"}}}}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(r#"{"auth": {"identity": {"methods": ["token"], "token": {"id": "t1.garbage.x"}}}}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Routing errors and size limits use the same envelope.
    let admin = s.admin_token().await;
    assert_keystone_error(&s.get("/v3/nothing-here", &admin).await, 404, "Not Found", "The resource could not be found.");
    let not_allowed = s.call(Method::PUT, "/v3/projects", Some(&admin), None).await;
    assert_keystone_error(&not_allowed, 405, "Method Not Allowed", "The method is not allowed for the requested URL.");
    let huge = json!({"project": {"name": "x".repeat(2 << 20)}});
    let too_large = s.call(Method::POST, "/v3/projects", Some(&admin), Some(huge)).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.body["error"]["title"], "Request Entity Too Large");
}

#[tokio::test]
async fn token_validation_head_and_revocation() {
    let s = start().await;
    let admin = s.admin_token().await;
    s.with_alice(&admin).await;
    let login = s.login("alice", "alice-pw", Some("demo")).await;
    let alice = login.header("x-subject-token").expect("token").to_string();

    let validate = |method: Method, auth: String, subject: String| {
        let s = &s;
        async move { s.call_with(method, "/v3/auth/tokens", Some(&auth), None, &[("X-Subject-Token", &subject)]).await }
    };
    let reply = validate(Method::GET, admin.clone(), alice.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-subject-token"), Some(alice.as_str()));
    assert_eq!(reply.body, login.body, "validation renders the issued body");
    let nocatalog = s.call_with(Method::GET, "/v3/auth/tokens?nocatalog", Some(&admin), None, &[("X-Subject-Token", &alice)]).await;
    assert!(nocatalog.body["token"].get("catalog").is_none());
    let head = validate(Method::HEAD, admin.clone(), alice.clone()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.body, Value::Null);
    // A user validates its own token but not somebody else's.
    assert_eq!(validate(Method::GET, alice.clone(), alice.clone()).await.status, StatusCode::OK);
    assert_keystone_error(
        &validate(Method::GET, alice.clone(), admin.clone()).await,
        403,
        "Forbidden",
        "You are not authorized to perform the requested action: identity:validate_token.",
    );
    // Missing or bad credentials.
    let no_auth = s.call_with(Method::GET, "/v3/auth/tokens", None, None, &[("X-Subject-Token", &alice)]).await;
    assert_eq!(no_auth.status, StatusCode::UNAUTHORIZED);
    let mut tampered = alice.clone();
    tampered.replace_range(10..11, if &alice[10..11] == "A" { "B" } else { "A" });
    assert_eq!(validate(Method::GET, tampered.clone(), alice.clone()).await.status, StatusCode::UNAUTHORIZED);
    let bad_subject = validate(Method::GET, admin.clone(), tampered.clone()).await;
    assert_keystone_error(&bad_subject, 404, "Not Found", &format!("Could not find token: {tampered}."));

    // Revocation: 204, then the token is gone everywhere.
    assert_eq!(validate(Method::DELETE, admin.clone(), alice.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(validate(Method::GET, admin.clone(), alice.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(validate(Method::HEAD, admin.clone(), alice.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(validate(Method::DELETE, admin.clone(), alice.clone()).await.status, StatusCode::NOT_FOUND);
    assert!(s.identity.validate(&alice).is_err());
    assert_eq!(s.get("/v3/auth/projects", &alice).await.status, StatusCode::UNAUTHORIZED);
    // A user may revoke its own token.
    let again = s.token("alice", "alice-pw", Some("demo")).await;
    assert_eq!(validate(Method::DELETE, again.clone(), again.clone()).await.status, StatusCode::NO_CONTENT);
    assert!(s.identity.validate(&again).is_err());
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let s = start_with(IdentityConfig { token_ttl: Duration::from_millis(800), ..config() }, "").await;
    let token = s.admin_token().await;
    assert_eq!(s.get("/v3/auth/projects", &token).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(s.get("/v3/auth/projects", &token).await.status, StatusCode::UNAUTHORIZED);
    let fresh = s.admin_token().await;
    let reply = s.call_with(Method::GET, "/v3/auth/tokens", Some(&fresh), None, &[("X-Subject-Token", &token)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn application_credentials() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (alice_id, demo_id) = s.with_alice(&admin).await;
    let alice = s.token("alice", "alice-pw", Some("demo")).await;
    let path = format!("/v3/users/{alice_id}/application_credentials");

    let created = s
        .call(
            Method::POST,
            &path,
            Some(&alice),
            Some(json!({"application_credential": {"name": "ci", "description": "pipeline", "roles": [], "access_rules": []}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let credential = &created.body["application_credential"];
    let (id, secret) = (credential["id"].as_str().expect("id"), credential["secret"].as_str().expect("secret"));
    assert_eq!(credential["project_id"], demo_id);
    assert_eq!(credential["unrestricted"], json!(false));
    assert_eq!(credential["expires_at"], Value::Null);
    let role_names: Vec<&str> = credential["roles"].as_array().expect("roles").iter().map(|r| r["name"].as_str().expect("name")).collect();
    assert_eq!(role_names, ["member", "reader"]);
    assert_eq!(credential["links"]["self"], format!("{}{path}/{id}", s.origin));
    let duplicate = s.call(Method::POST, &path, Some(&alice), Some(json!({"application_credential": {"name": "ci"}}))).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    // Authenticate with it, by id and by name + user.
    let by_id =
        json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": secret}}}});
    let token = s.call(Method::POST, "/v3/auth/tokens", None, Some(by_id.clone())).await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    assert_eq!(token.body["token"]["methods"], json!(["application_credential"]));
    assert_eq!(token.body["token"]["project"]["id"], demo_id);
    assert_eq!(token.body["token"]["application_credential"], json!({"id": id, "name": "ci", "restricted": true}));
    let by_name = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"name": "ci", "user": {"name": "alice", "domain": {"name": "Default"}}, "secret": secret}}}});
    assert_eq!(s.call(Method::POST, "/v3/auth/tokens", None, Some(by_name)).await.status, StatusCode::CREATED);
    let wrong =
        json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": id, "secret": "nope"}}}});
    assert_eq!(s.call(Method::POST, "/v3/auth/tokens", None, Some(wrong)).await.status, StatusCode::UNAUTHORIZED);

    // A restricted credential's token cannot make more credentials.
    let derived = token.header("x-subject-token").expect("token");
    let nested = s.call(Method::POST, &path, Some(derived), Some(json!({"application_credential": {"name": "nested"}}))).await;
    assert_eq!(nested.status, StatusCode::FORBIDDEN);

    // List, show; nobody creates credentials for someone else.
    let list = s.get(&path, &alice).await;
    assert_eq!(list.body["application_credentials"].as_array().map(Vec::len), Some(1));
    assert!(list.body["application_credentials"][0].get("secret").is_none());
    assert_eq!(s.get(&format!("{path}?name=ci"), &alice).await.body["application_credentials"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.get(&format!("{path}/{id}"), &alice).await.body["application_credential"]["name"], "ci");
    let admin_id = s.get("/v3/users?name=admin", &admin).await.body["users"][0]["id"].as_str().expect("id").to_string();
    let foreign = s
        .call(
            Method::POST,
            &format!("/v3/users/{admin_id}/application_credentials"),
            Some(&alice),
            Some(json!({"application_credential": {"name": "x"}})),
        )
        .await;
    assert_keystone_error(
        &foreign,
        403,
        "Forbidden",
        "You are not authorized to perform the requested action: Cannot create an application credential for another user.",
    );
    assert_eq!(s.get(&format!("/v3/users/{admin_id}/application_credentials"), &alice).await.status, StatusCode::FORBIDDEN);

    // Delete: its tokens stop working, and it can no longer authenticate.
    assert_eq!(s.call(Method::DELETE, &format!("{path}/{id}"), Some(&alice), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/v3/auth/projects", derived).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.call(Method::POST, "/v3/auth/tokens", None, Some(by_id)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get(&format!("{path}/{id}"), &alice).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_crud_as_openstackclient_does_it() {
    let s = start().await;
    let admin = s.admin_token().await;

    // `--domain default` / `Default`: the name in the id slot is answered.
    for domain in ["default", "Default"] {
        let reply = s.get(&format!("/v3/domains/{domain}"), &admin).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["domain"]["id"], "default");
        assert_eq!(reply.body["domain"]["links"]["self"], format!("{}/v3/domains/default", s.origin));
    }
    assert_eq!(s.get("/v3/domains?name=Default", &admin).await.body["domains"].as_array().map(Vec::len), Some(1));
    assert_eq!(s.get("/v3/domains/nope", &admin).await.status, StatusCode::NOT_FOUND);

    // project create / show / list.
    let (alice_id, demo_id) = s.with_alice(&admin).await;
    let project = s.get(&format!("/v3/projects/{demo_id}"), &admin).await;
    assert_eq!(project.status, StatusCode::OK);
    let p = &project.body["project"];
    assert_eq!((p["name"].as_str(), p["domain_id"].as_str(), p["parent_id"].as_str()), (Some("demo"), Some("default"), Some("default")));
    assert_eq!(p["is_domain"], json!(false));
    assert_eq!(p["links"]["self"], format!("{}/v3/projects/{demo_id}", s.origin));
    let duplicate =
        s.call(Method::POST, "/v3/projects", Some(&admin), Some(json!({"project": {"name": "demo", "domain_id": "default"}}))).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert_eq!(duplicate.body["error"]["title"], "Conflict");
    assert_eq!(s.get("/v3/projects/demo", &admin).await.status, StatusCode::NOT_FOUND, "a name in the id slot is a 404");
    let by_name = s.get("/v3/projects?name=demo&domain_id=default", &admin).await;
    assert_eq!(by_name.body["projects"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        by_name.body["links"],
        json!({"self": format!("{}/v3/projects?name=demo&domain_id=default", s.origin), "previous": null, "next": null})
    );
    assert_eq!(s.get("/v3/projects", &admin).await.body["projects"].as_array().map(Vec::len), Some(2));

    // user show / list; the password never comes back.
    let user = s.get(&format!("/v3/users/{alice_id}"), &admin).await;
    assert_eq!(user.body["user"]["name"], "alice");
    assert_eq!(user.body["user"]["domain_id"], "default");
    assert!(user.body["user"].get("password").is_none());
    assert_eq!(s.get("/v3/users/alice", &admin).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/v3/users?name=alice&domain_id=default", &admin).await.body["users"][0]["id"], alice_id);

    // role lookups: name in the id slot → 404, then ?name=.
    let missing = s.get("/v3/roles/member", &admin).await;
    assert_keystone_error(&missing, 404, "Not Found", "Could not find role: member.");
    let member = s.role_id(&admin, "member").await;
    assert_eq!(s.get(&format!("/v3/roles/{member}"), &admin).await.body["role"]["name"], "member");
    assert_eq!(s.get("/v3/roles", &admin).await.body["roles"].as_array().map(Vec::len), Some(3));
    let observer = s.call(Method::POST, "/v3/roles", Some(&admin), Some(json!({"role": {"name": "observer"}}))).await;
    assert_eq!(observer.status, StatusCode::CREATED);

    // grants.
    let grant = format!("/v3/projects/{demo_id}/users/{alice_id}/roles/{member}");
    assert_eq!(s.call(Method::HEAD, &grant, Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    let roles = s.get(&format!("/v3/projects/{demo_id}/users/{alice_id}/roles"), &admin).await;
    assert_eq!(roles.body["roles"][0]["name"], "member");
    assert_eq!(
        s.call(Method::PUT, &format!("/v3/projects/{demo_id}/users/{alice_id}/roles/nope"), Some(&admin), None).await.status,
        StatusCode::NOT_FOUND
    );

    // role assignment list --names, as OSC sends it.
    let listed = s.get(&format!("/v3/role_assignments?user.id={alice_id}&scope.project.id={demo_id}&include_names=True"), &admin).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        listed.body["role_assignments"],
        json!([{
            "role": {"id": member, "name": "member"},
            "user": {"id": alice_id, "name": "alice", "domain": {"id": "default", "name": "Default"}},
            "scope": {"project": {"id": demo_id, "name": "demo", "domain": {"id": "default", "name": "Default"}}},
            "links": {"assignment": format!("{}/v3/projects/{demo_id}/users/{alice_id}/roles/{member}", s.origin)},
        }])
    );
    let plain = s.get(&format!("/v3/role_assignments?user.id={alice_id}"), &admin).await;
    assert_eq!(plain.body["role_assignments"][0]["role"], json!({"id": member}));
    assert_eq!(plain.body["role_assignments"][0]["scope"], json!({"project": {"id": demo_id}}));
    let effective = s.get(&format!("/v3/role_assignments?user.id={alice_id}&effective&include_names=1"), &admin).await;
    let names: Vec<&str> =
        effective.body["role_assignments"].as_array().expect("list").iter().map(|a| a["role"]["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["member", "reader"]);
    assert!(effective.body["role_assignments"][1]["links"]["prior_role"].is_string());
    assert_eq!(s.get("/v3/role_assignments", &admin).await.body["role_assignments"].as_array().map(Vec::len), Some(2));
    assert_eq!(s.get("/v3/role_assignments?scope.project.id=x&scope.domain.id=y", &admin).await.status, StatusCode::BAD_REQUEST);

    // Disabling alice invalidates her tokens; re-enabling lets her back in.
    let alice = s.token("alice", "alice-pw", Some("demo")).await;
    let disabled = s.call(Method::PATCH, &format!("/v3/users/{alice_id}"), Some(&admin), Some(json!({"user": {"enabled": false}}))).await;
    assert_eq!(disabled.body["user"]["enabled"], json!(false));
    assert_eq!(s.get("/v3/auth/projects", &alice).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.login("alice", "alice-pw", Some("demo")).await.status, StatusCode::UNAUTHORIZED);
    s.call(Method::PATCH, &format!("/v3/users/{alice_id}"), Some(&admin), Some(json!({"user": {"enabled": true}}))).await;
    let alice = s.token("alice", "alice-pw", Some("demo")).await;
    let mine = s.get("/v3/auth/projects", &alice).await;
    assert_eq!(mine.body["projects"][0]["id"], demo_id);
    assert_eq!(s.get(&format!("/v3/users/{alice_id}/projects"), &alice).await.body["projects"][0]["name"], "demo");

    // Self-service password change (no token needed; the original is the credential).
    let change = |original: &str, new: &str| json!({"user": {"original_password": original, "password": new}});
    let bad = s.call(Method::POST, &format!("/v3/users/{alice_id}/password"), None, Some(change("wrong", "x"))).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let good = s.call(Method::POST, &format!("/v3/users/{alice_id}/password"), None, Some(change("alice-pw", "alice-pw2"))).await;
    assert_eq!(good.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/v3/auth/projects", &alice).await.status, StatusCode::UNAUTHORIZED);
    s.token("alice", "alice-pw2", Some("demo")).await;

    // project set, grant removal, user and project deletion.
    let renamed = s
        .call(Method::PATCH, &format!("/v3/projects/{demo_id}"), Some(&admin), Some(json!({"project": {"description": "Demo project"}})))
        .await;
    assert_eq!(renamed.body["project"]["description"], "Demo project");
    let moved =
        s.call(Method::PATCH, &format!("/v3/projects/{demo_id}"), Some(&admin), Some(json!({"project": {"domain_id": "other"}}))).await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.call(Method::DELETE, &grant, Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.call(Method::HEAD, &grant, Some(&admin), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.call(Method::DELETE, &grant, Some(&admin), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.call(Method::DELETE, &format!("/v3/users/{alice_id}"), Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("/v3/users/{alice_id}"), &admin).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.call(Method::DELETE, &format!("/v3/projects/{demo_id}"), Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("/v3/projects/{demo_id}"), &admin).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn non_admins_get_403_but_may_read_themselves() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (alice_id, demo_id) = s.with_alice(&admin).await;
    let alice = s.token("alice", "alice-pw", Some("demo")).await;
    let forbidden = |action: &str| format!("You are not authorized to perform the requested action: identity:{action}.");

    let create = s.call(Method::POST, "/v3/projects", Some(&alice), Some(json!({"project": {"name": "mine"}}))).await;
    assert_keystone_error(&create, 403, "Forbidden", &forbidden("create_project"));
    assert_keystone_error(&s.get("/v3/users", &alice).await, 403, "Forbidden", &forbidden("list_users"));
    assert_keystone_error(&s.get("/v3/projects", &alice).await, 403, "Forbidden", &forbidden("list_projects"));
    assert_keystone_error(&s.get("/v3/roles", &alice).await, 403, "Forbidden", &forbidden("list_roles"));
    let user = s.call(Method::POST, "/v3/users", Some(&alice), Some(json!({"user": {"name": "eve"}}))).await;
    assert_keystone_error(&user, 403, "Forbidden", &forbidden("create_user"));
    let member = s.role_id(&admin, "member").await;
    let admin_project = s.get("/v3/projects?name=admin", &admin).await.body["projects"][0]["id"].as_str().expect("id").to_string();
    let escalate = s.call(Method::PUT, &format!("/v3/projects/{admin_project}/users/{alice_id}/roles/{member}"), Some(&alice), None).await;
    assert_keystone_error(&escalate, 403, "Forbidden", &forbidden("create_grant"));
    assert_keystone_error(&s.get("/v3/role_assignments", &alice).await, 403, "Forbidden", &forbidden("list_role_assignments"));

    // What a user may see of itself.
    assert_eq!(s.get(&format!("/v3/users/{alice_id}"), &alice).await.status, StatusCode::OK);
    assert_eq!(s.get(&format!("/v3/projects/{demo_id}"), &alice).await.status, StatusCode::OK);
    assert_eq!(s.get(&format!("/v3/projects/{admin_project}"), &alice).await.status, StatusCode::FORBIDDEN);
    assert_eq!(s.get("/v3/domains/default", &alice).await.status, StatusCode::OK);
    assert_eq!(s.get(&format!("/v3/role_assignments?user.id={alice_id}"), &alice).await.status, StatusCode::OK);
    let catalog = s.get("/v3/auth/catalog", &alice).await;
    assert_eq!(catalog.status, StatusCode::OK);
    assert_eq!(catalog.body["catalog"].as_array().map(Vec::len), Some(3));
    assert_eq!(catalog.body["links"]["self"], format!("{}/v3/auth/catalog", s.origin));
    let unscoped = s.token("alice", "alice-pw", None).await;
    assert_eq!(s.get(&format!("/v3/projects/{demo_id}"), &unscoped).await.status, StatusCode::OK, "a project the user has a role on");
    assert_keystone_error(
        &s.get("/v3/auth/catalog", &unscoped).await,
        403,
        "Forbidden",
        "A project-scoped token is required to produce a service catalog.",
    );
    // And without any token, a 401.
    let anonymous = s.call(Method::GET, "/v3/projects", None, None).await;
    assert_keystone_error(&anonymous, 401, "Unauthorized", "The request you have made requires authentication.");
}

#[tokio::test]
async fn tokens_survive_restart_and_key_rotation() {
    let s = start().await;
    let before = s.admin_token().await;

    // "Restart": a new Identity and server on the same catalog.
    let reopened = Identity::open(s.catalog.clone(), config()).await.expect("reopen");
    let restarted = serve(reopened.clone(), s.catalog.clone(), "").await;
    assert_eq!(restarted.get("/v3/auth/projects", &before).await.status, StatusCode::OK);

    // Rotation: the old token stays valid, new tokens use the new key.
    let new_key = restarted.identity.rotate_token_key().await.expect("rotate");
    let after = restarted.admin_token().await;
    assert_eq!(key_id_of(&after), new_key);
    assert_ne!(key_id_of(&before), new_key);
    for token in [&before, &after] {
        let reply = restarted.call_with(Method::GET, "/v3/auth/tokens", Some(&after), None, &[("X-Subject-Token", token)]).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    // The first process learns the new key at once: the rotation is announced
    // through the catalog (NOTIFY on PostgreSQL), not left to its periodic refresh.
    let mut accepted = false;
    for _ in 0..100 {
        if s.get("/v3/auth/projects", &after).await.status == StatusCode::OK {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(accepted, "the other process did not learn the rotated key within a second");
}

/// The id → object map of a Keystone collection.
fn by_id(collection: &Value) -> std::collections::BTreeMap<String, Value> {
    collection.as_array().expect("array").iter().map(|v| (v["id"].as_str().expect("id").to_string(), v.clone())).collect()
}

#[tokio::test]
async fn services_endpoints_and_regions_match_the_token_catalog() {
    let s = start().await;
    let login = s.login("admin", ADMIN_PASSWORD, Some("admin")).await;
    assert_eq!(login.status, StatusCode::CREATED);
    let admin = login.header("x-subject-token").expect("token").to_string();
    let project_id = login.body["token"]["project"]["id"].as_str().expect("project").to_string();
    let token_catalog = login.body["token"]["catalog"].as_array().expect("catalog").clone();
    assert_eq!(token_catalog.len(), 3);

    // Services: Keystone's shape, one per catalog service, same ids/types/names.
    let services = s.get("/v3/services", &admin).await;
    assert_eq!(services.status, StatusCode::OK, "{}", services.body);
    assert_eq!(services.header("content-type"), Some("application/json"));
    assert_eq!(services.body["links"], json!({"self": format!("{}/v3/services", s.origin), "previous": null, "next": null}));
    let listed_services = by_id(&services.body["services"]);
    assert_eq!(listed_services.len(), 3);
    for service in &token_catalog {
        let id = service["id"].as_str().expect("id");
        assert_eq!(
            listed_services.get(id),
            Some(&json!({
                "id": id,
                "type": service["type"],
                "name": service["name"],
                "enabled": true,
                "links": {"self": format!("{}/v3/services/{id}", s.origin)},
            })),
            "token catalog service {service} is listed"
        );
        let shown = s.get(&format!("/v3/services/{id}"), &admin).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert_eq!(shown.body, json!({"service": listed_services[id]}));
    }
    let image_service = token_catalog.iter().find(|svc| svc["type"] == "image").expect("image service");
    let image_service_id = image_service["id"].as_str().expect("id").to_string();
    let of_type = s.get("/v3/services?type=image", &admin).await;
    assert_eq!(of_type.body["services"].as_array().map(Vec::len), Some(1));
    assert_eq!(of_type.body["services"][0]["id"], image_service_id.as_str());
    assert_eq!(of_type.body["links"]["self"], format!("{}/v3/services?type=image", s.origin));
    assert_eq!(s.get("/v3/services?name=nova", &admin).await.body["services"][0]["type"], "compute");
    assert_eq!(s.get("/v3/services?type=volumev3", &admin).await.body["services"], json!([]));

    // Endpoints: every endpoint of the token's catalog, same id, URL (with the
    // project placeholder as configured), interface and region.
    let endpoints = s.get("/v3/endpoints", &admin).await;
    assert_eq!(endpoints.status, StatusCode::OK, "{}", endpoints.body);
    assert_eq!(endpoints.body["links"], json!({"self": format!("{}/v3/endpoints", s.origin), "previous": null, "next": null}));
    let listed = by_id(&endpoints.body["endpoints"]);
    assert_eq!(listed.len(), 9);
    let mut seen = 0;
    for service in &token_catalog {
        for endpoint in service["endpoints"].as_array().expect("endpoints") {
            let id = endpoint["id"].as_str().expect("id");
            let l = listed.get(id).unwrap_or_else(|| panic!("token endpoint {endpoint} not in /v3/endpoints"));
            assert_eq!(l["url"].as_str().map(|u| u.replace("%(project_id)s", &project_id)).as_deref(), endpoint["url"].as_str());
            assert_eq!(l["interface"], endpoint["interface"]);
            assert_eq!(l["region_id"], endpoint["region_id"]);
            assert_eq!(l["region"], endpoint["region"]);
            assert_eq!(l["service_id"], service["id"]);
            seen += 1;
        }
    }
    assert_eq!(seen, 9);
    let public_image =
        listed.values().find(|e| e["service_id"] == image_service_id.as_str() && e["interface"] == "public").expect("public image");
    let public_image_id = public_image["id"].as_str().expect("id").to_string();
    assert_eq!(
        public_image,
        &json!({
            "id": public_image_id,
            "interface": "public",
            "region": "RegionOne",
            "region_id": "RegionOne",
            "service_id": image_service_id,
            "url": format!("{}/image", s.origin),
            "enabled": true,
            "links": {"self": format!("{}/v3/endpoints/{public_image_id}", s.origin)},
        }),
        "relative catalog URLs are made absolute"
    );
    assert!(listed.values().any(|e| e["url"] == "http://compute.example:8774/v2.1/%(project_id)s"), "templates are shown as configured");
    let shown = s.get(&format!("/v3/endpoints/{public_image_id}"), &admin).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, json!({"endpoint": public_image}));

    let count = |reply: &Reply| reply.body["endpoints"].as_array().map(Vec::len);
    assert_eq!(count(&s.get("/v3/endpoints?interface=public", &admin).await), Some(3));
    assert_eq!(count(&s.get(&format!("/v3/endpoints?service_id={image_service_id}"), &admin).await), Some(3));
    let one = s.get(&format!("/v3/endpoints?service_id={image_service_id}&interface=public&region_id=RegionOne"), &admin).await;
    assert_eq!(one.body["endpoints"], json!([public_image]));
    assert_eq!(count(&s.get("/v3/endpoints?region_id=RegionTwo", &admin).await), Some(0));
    assert_eq!(count(&s.get("/v3/endpoints?interface=nowhere", &admin).await), Some(0));

    // Regions: the catalog's one region.
    let region = json!({"id": "RegionOne", "description": "", "parent_region_id": null, "links": {"self": format!("{}/v3/regions/RegionOne", s.origin)}});
    let regions = s.get("/v3/regions", &admin).await;
    assert_eq!(regions.status, StatusCode::OK);
    assert_eq!(
        regions.body,
        json!({"regions": [region], "links": {"self": format!("{}/v3/regions", s.origin), "previous": null, "next": null}})
    );
    assert_eq!(s.get("/v3/regions/RegionOne", &admin).await.body, json!({"region": region}));
    assert_eq!(s.get("/v3/regions?parent_region_id=RegionOne", &admin).await.body["regions"], json!([]));
    let head = s.call(Method::HEAD, "/v3/regions", Some(&admin), None).await;
    assert_eq!((head.status, head.body), (StatusCode::OK, Value::Null));

    // Unknown ids: Keystone's 404s; the catalog is read-only here.
    assert_keystone_error(&s.get("/v3/services/nope", &admin).await, 404, "Not Found", "Could not find service: nope.");
    assert_keystone_error(&s.get("/v3/endpoints/nope", &admin).await, 404, "Not Found", "Could not find endpoint: nope.");
    assert_keystone_error(&s.get("/v3/regions/RegionTwo", &admin).await, 404, "Not Found", "Could not find region: RegionTwo.");
    let create = s.call(Method::POST, "/v3/services", Some(&admin), Some(json!({"service": {"type": "volume"}}))).await;
    assert_keystone_error(&create, 405, "Method Not Allowed", "The method is not allowed for the requested URL.");

    // Ids are derived, not stored: a restarted process (or another node with
    // the same configuration) lists the same ones.
    let restarted = serve(Identity::open(s.catalog.clone(), config()).await.expect("reopen"), s.catalog.clone(), "").await;
    let again = restarted.get("/v3/services", &admin).await;
    assert_eq!(by_id(&again.body["services"]).keys().collect::<Vec<_>>(), listed_services.keys().collect::<Vec<_>>());
    let again = by_id(&restarted.get("/v3/endpoints", &admin).await.body["endpoints"]);
    assert_eq!(again.get(&public_image_id).map(|e| &e["service_id"]), Some(&json!(image_service_id)));

    // Nested under a prefix, links keep it.
    let nested = start_with(config(), "/identity").await;
    let token = nested.admin_token().await;
    let listed = nested.get("/v3/endpoints?interface=admin", &token).await;
    assert_eq!(listed.body["links"]["self"], format!("{}/identity/v3/endpoints?interface=admin", nested.origin));
    let first = &listed.body["endpoints"][0];
    assert_eq!(first["links"]["self"], format!("{}/identity/v3/endpoints/{}", nested.origin, first["id"].as_str().expect("id")));
}

#[tokio::test]
async fn catalog_listings_need_an_admin_but_regions_any_token() {
    let s = start().await;
    let admin = s.admin_token().await;
    let (_, demo_id) = s.with_alice(&admin).await;
    let alice = s.token("alice", "alice-pw", Some("demo")).await;
    // bob holds only `reader` on the project.
    let bob = s
        .call(Method::POST, "/v3/users", Some(&admin), Some(json!({"user": {"name": "bob", "domain_id": "default", "password": "bob-pw"}})))
        .await;
    let bob_id = bob.body["user"]["id"].as_str().expect("id").to_string();
    let reader = s.role_id(&admin, "reader").await;
    let grant = s.call(Method::PUT, &format!("/v3/projects/{demo_id}/users/{bob_id}/roles/{reader}"), Some(&admin), None).await;
    assert_eq!(grant.status, StatusCode::NO_CONTENT);
    let bob = s.token("bob", "bob-pw", Some("demo")).await;

    let services = s.get("/v3/services", &admin).await.body["services"].clone();
    let endpoints = s.get("/v3/endpoints", &admin).await.body["endpoints"].clone();
    let service_id = services[0]["id"].as_str().expect("id").to_string();
    let endpoint_id = endpoints[0]["id"].as_str().expect("id").to_string();
    let forbidden = |action: &str| format!("You are not authorized to perform the requested action: identity:{action}.");
    for token in [&alice, &bob] {
        assert_keystone_error(&s.get("/v3/services", token).await, 403, "Forbidden", &forbidden("list_services"));
        assert_keystone_error(&s.get(&format!("/v3/services/{service_id}"), token).await, 403, "Forbidden", &forbidden("get_service"));
        assert_keystone_error(&s.get("/v3/services/nope", token).await, 403, "Forbidden", &forbidden("get_service"));
        assert_keystone_error(&s.get("/v3/endpoints?interface=public", token).await, 403, "Forbidden", &forbidden("list_endpoints"));
        assert_keystone_error(&s.get(&format!("/v3/endpoints/{endpoint_id}"), token).await, 403, "Forbidden", &forbidden("get_endpoint"));
        // Keystone lets any token read regions.
        assert_eq!(s.get("/v3/regions", token).await.body["regions"][0]["id"], "RegionOne");
        assert_eq!(s.get("/v3/regions/RegionOne", token).await.status, StatusCode::OK);
    }

    let unauthorized = "The request you have made requires authentication.";
    for path in ["/v3/services", "/v3/services/x", "/v3/endpoints", "/v3/endpoints/x", "/v3/regions", "/v3/regions/RegionOne"] {
        let anonymous = s.call(Method::GET, path, None, None).await;
        assert_keystone_error(&anonymous, 401, "Unauthorized", unauthorized);
        assert_eq!(anonymous.header("www-authenticate"), Some(format!("Keystone uri=\"{}\"", s.origin).as_str()), "{path}");
        let bogus = s.call(Method::GET, path, Some("not-a-token"), None).await;
        assert_keystone_error(&bogus, 401, "Unauthorized", unauthorized);
    }
}
