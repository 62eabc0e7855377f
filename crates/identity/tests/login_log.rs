//! A failed login is logged with who tried and why, never with the password.
//! Alone in its test binary: it installs the process-wide log subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imagery_identity::{
    AuthMethod, DomainRef, Identity, IdentityConfig, NewUser, PasswordHashing, ProjectRef, ScopeRequest, Secret, UserRef,
};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn failed_login_log_names_the_user_but_not_the_password() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    let config = IdentityConfig {
        password_hashing: PasswordHashing::INSECURE_FAST,
        key_activation_delay: Duration::ZERO,
        ..IdentityConfig::default()
    };
    let identity = Identity::open(catalog, config).await.expect("open");
    identity.bootstrap(None).await.expect("bootstrap");
    let user = NewUser {
        name: "alice".into(),
        domain_id: "default".into(),
        password: Some("alice-pw".into()),
        enabled: true,
        default_project_id: None,
    };
    identity.create_user(user).await.expect("user");

    let attempt = "Tr0ub4dor&3-not-the-password";
    let login = |name: &str| AuthMethod::Password {
        user: UserRef::Name { name: name.into(), domain: DomainRef::Name("Default".into()) },
        password: Secret::new(attempt),
    };
    let scope = ScopeRequest::Project(ProjectRef::Name { name: "admin".into(), domain: DomainRef::Id("default".into()) });
    assert!(identity.authenticate(login("alice"), scope.clone()).await.is_err());
    assert!(identity.authenticate(login("nobody"), scope).await.is_err());

    let log = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN") && l.contains("authentication failed")).collect();
    assert_eq!(warnings.len(), 2, "{log}");
    assert!(warnings[0].contains("alice") && warnings[0].contains("wrong password"), "{}", warnings[0]);
    assert!(warnings[1].contains("nobody"), "{}", warnings[1]);
    assert!(!log.contains(attempt), "the password leaked into the log:\n{log}");
}
