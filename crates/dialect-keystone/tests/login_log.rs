//! Over HTTP, a failed login logs the user and the reason, never the password.
//! Alone in its test binary: it installs the process-wide log subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imagery_dialect_keystone::{router, KeystoneState, ServiceCatalog};
use imagery_identity::{Identity, IdentityConfig, PasswordHashing};
use serde_json::json;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn wrong_password_is_logged_without_the_password() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing::subscriber::set_global_default(tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish())
        .expect("first subscriber");

    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    let config = IdentityConfig {
        password_hashing: PasswordHashing::INSECURE_FAST,
        key_activation_delay: Duration::ZERO,
        ..IdentityConfig::default()
    };
    let identity = Identity::open(catalog, config).await.expect("identity");
    identity.bootstrap(Some("the-real-password".into())).await.expect("bootstrap");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v3/auth/tokens", listener.local_addr().expect("addr"));
    tokio::spawn(axum::serve(listener, router(KeystoneState::new(identity, ServiceCatalog::default()))).into_future());

    let http = reqwest::Client::new();
    for user in ["admin", "nobody"] {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": "correct-horse-battery-staple"}}}}});
        let response = http.post(&url).json(&body).send().await.expect("send");
        assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    }
    let log = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN") && l.contains("authentication failed")).collect();
    assert_eq!(warnings.len(), 2, "{log}");
    assert!(warnings[0].contains("user admin in domain Default") && warnings[0].contains("wrong password"), "{log}");
    assert!(warnings[1].contains("user nobody"), "{log}");
    assert!(!log.contains("correct-horse-battery-staple"), "password leaked into the log:\n{log}");
}
