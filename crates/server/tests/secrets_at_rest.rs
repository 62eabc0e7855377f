//! Secrets at rest, on a real server: a fresh data dir is owner-only (0700, files
//! 0600); an older install left readable is tightened at start with one warning;
//! the catalog file holds no plaintext secret; a different key-encryption key
//! refuses to start; plaintext rows of an older version are sealed at start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{start_in, test_config, ALICE};
use imagery_identity::{Identity, IdentityConfig, PasswordHashing, TOKEN_KEY_KIND};
use imagery_server::config::Config;
use imagery_server::serve::{start_with_listeners, Listeners};
use serde_json::json;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Every directory and file the server keeps under `data`, whatever it is.
fn walk(data: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    let mut pending = vec![data.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

/// An image with bytes, so that the blob tree has a blob in it.
async fn upload_one(s: &common::TestServer) {
    let image = s.create(ALICE, json!({"name": "private", "disk_format": "raw", "container_format": "bare"})).await;
    let id = image["id"].as_str().expect("id");
    assert_eq!(s.upload(ALICE, id, b"private image bytes ".repeat(100)).await, 204);
}

fn catalog_bytes(data: &Path) -> Vec<u8> {
    ["catalog.db", "catalog.db-wal"].iter().flat_map(|f| std::fs::read(data.join(f)).unwrap_or_default()).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn fresh_data_dir_is_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let s = start_in(dir, true, |c| c.data_dir = data.clone()).await;
    upload_one(&s).await;

    assert_eq!(mode(&data), 0o700, "data dir");
    let expected = [
        "catalog.db",
        "catalog.db-wal",
        "catalog.db-shm",
        "kek",
        "admin-openrc.sh",
        "tls/key.pem",
        "blobs",
        "blobs/staging",
        "blobs/blobs",
    ];
    for name in expected {
        assert!(data.join(name).exists(), "{name} exists");
    }
    let everything = walk(&data);
    assert!(everything.iter().any(|p| p.starts_with(data.join("blobs/blobs")) && p.is_file()), "a blob was written");
    for path in everything {
        // The self-signed certificate is public; it sits in the owner-only tls/.
        if path.ends_with("tls/cert.pem") {
            continue;
        }
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{}", path.display());
    }
    assert_eq!(std::fs::metadata(data.join("kek")).expect("kek").len(), 32);
    s.stop().await;
}

/// Log lines written while `f` runs on this thread.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn readable_install_is_tightened_at_start_with_one_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let s = start_in(dir, true, |c| c.data_dir = data.clone()).await;
    upload_one(&s).await;
    let dir = s.stop().await;

    // What an older version (umask 022) left behind.
    for path in walk(&data).into_iter().chain([data.clone()]) {
        let lax = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(lax)).expect("chmod");
    }

    let log = Arc::new(Mutex::new(Vec::new()));
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || Captured(writer.clone()))
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let s = {
        let _guard = tracing::subscriber::set_default(subscriber);
        start_in(dir, true, |c| c.data_dir = data.clone()).await
    };
    let log = String::from_utf8(log.lock().expect("log").clone()).expect("utf-8");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("removed their permissions")).collect();
    assert_eq!(warnings.len(), 1, "one warning line: {log}");
    assert!(warnings[0].contains("catalog.db") && warnings[0].contains("blobs"), "names what was fixed: {}", warnings[0]);

    assert_eq!(mode(&data), 0o700);
    for name in ["catalog.db", "catalog.db-wal", "kek", "admin-openrc.sh", "tls/key.pem"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    for path in walk(&data.join("blobs")) {
        assert_eq!(mode(&path), if path.is_dir() { 0o700 } else { 0o600 }, "{}", path.display());
    }
    s.stop().await;
}

#[tokio::test]
async fn catalog_file_holds_no_plaintext_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let s = start_in(dir, false, |_| {}).await;
    let identity = s.running.as_ref().expect("running").identity.clone();
    let admin = identity.list_users(Some("default"), Some("admin")).await.expect("users").remove(0);
    let key = identity.create_access_key(&admin.id, None, "huawei").await.expect("access key");
    assert_eq!(identity.access_key(&key.id).await.expect("lookup").expect("key").secret, key.secret);

    let bytes = catalog_bytes(&data);
    assert!(contains(&bytes, &key.id), "the key id is there (the search works)");
    assert!(!contains(&bytes, &key.secret), "the access-key secret is not stored in clear");
    assert!(contains(&bytes, "enc:v1:"));
    s.stop().await;
}

async fn start_quietly(config: Config) -> anyhow::Result<imagery_server::Running> {
    start_with_listeners(config, Listeners::default()).await
}

#[tokio::test]
async fn a_different_key_encryption_key_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), false);
    start_quietly(config.clone()).await.expect("first start").stop().await;

    std::fs::write(dir.path().join("kek"), [7u8; 32]).expect("replace the key");
    let err = start_quietly(config.clone()).await.err().expect("a wrong key file refuses to start").to_string();
    assert!(err.contains("cannot decrypt") && err.contains("the key-encryption key does not match"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");

    let from_env = Config { kek: Some("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into()), ..config.clone() };
    let err = start_quietly(from_env).await.err().expect("a wrong IMAGERY_KEK refuses to start").to_string();
    assert!(err.contains("the key-encryption key does not match") && err.contains("IMAGERY_KEK"), "{err}");

    let garbage = Config { kek: Some("not a key".into()), ..config };
    let err = start_quietly(garbage).await.err().expect("an unusable key refuses to start").to_string();
    assert!(err.contains("base64"), "{err}");
}

#[tokio::test]
async fn shared_key_from_configuration_creates_no_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("shared.kek");
    std::fs::write(&key_file, "Y2x1c3Rlci13aWRlLWtleS1lbmNyeXB0aW9uLWtleSE=\n").expect("write");
    let data = dir.path().join("node1");
    let config = Config { kek_file: Some(key_file.clone()), ..test_config(&data, false) };
    start_quietly(config.clone()).await.expect("start with the shared key").stop().await;
    assert!(!data.join("kek").exists());
    let node2 = Config { data_dir: dir.path().join("node2"), database_url: Some(config.database_url()), ..config };
    start_quietly(node2).await.expect("another node with the same key reads the same catalog").stop().await;
}

#[tokio::test]
async fn plaintext_rows_of_an_older_version_are_sealed_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path(), false);
    // An older version: the same catalog, secrets stored in clear.
    let (key_id, secret) = {
        std::fs::create_dir_all(dir.path()).expect("mkdir");
        let catalog = imagery_catalog::open(&config.database_url()).await.expect("catalog");
        let old = IdentityConfig { password_hashing: PasswordHashing::INSECURE_FAST, ..IdentityConfig::default() };
        let identity = Identity::open(catalog.clone(), old).await.expect("old identity");
        let report = identity.bootstrap(Some("admin-pw".into())).await.expect("bootstrap");
        let key = identity.create_access_key(&report.admin_user_id, None, "old").await.expect("access key");
        assert_eq!(catalog.get_access_key(&key.id).await.expect("get").expect("key").secret, key.secret, "stored in clear");
        (key.id, key.secret)
    };

    let running = start_quietly(config.clone()).await.expect("upgrade start");
    let catalog = imagery_catalog::open(&config.database_url()).await.expect("catalog");
    let stored = catalog.get_access_key(&key_id).await.expect("get").expect("key");
    assert!(stored.secret.starts_with("enc:v1:"), "sealed: {}", stored.secret);
    let keys = catalog.list_signing_keys(TOKEN_KEY_KIND).await.expect("keys");
    assert!(!keys.is_empty() && keys.iter().all(|k| k.material.starts_with("enc:v1:")), "token signing keys sealed");
    running.identity.authenticate_access_key(&key_id, &secret).await.expect("the secret still verifies");
    running.stop().await;
    assert!(!contains(&catalog_bytes(dir.path()), &secret));

    // Idempotent: another start changes nothing and still reads them.
    let again = start_quietly(config).await.expect("second start");
    assert_eq!(catalog.get_access_key(&key_id).await.expect("get").expect("key").secret, stored.secret);
    again.identity.authenticate_access_key(&key_id, &secret).await.expect("still verifies");
    again.stop().await;
}
