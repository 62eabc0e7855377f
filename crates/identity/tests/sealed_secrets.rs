//! Secrets at rest: with a key-encryption key, the token signing keys and
//! access-key secrets in the catalog are sealed; plaintext rows of an older
//! version are sealed on open; a different key refuses to open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use imagery_core::ports::Catalog;
use imagery_identity::{Identity, IdentityConfig, KeyEncryptionKey, PasswordHashing, TOKEN_KEY_KIND};

fn config(kek: Option<&KeyEncryptionKey>) -> IdentityConfig {
    IdentityConfig {
        password_hashing: PasswordHashing::INSECURE_FAST,
        key_activation_delay: Duration::ZERO,
        key_encryption_key: kek.cloned(),
        ..IdentityConfig::default()
    }
}

async fn catalog() -> Arc<dyn Catalog> {
    imagery_catalog::open("sqlite::memory:").await.expect("catalog")
}

/// A bootstrapped identity with one access key; returns (admin id, key id, secret).
async fn with_access_key(identity: &Identity) -> (String, String, String) {
    let report = identity.bootstrap(Some("admin-pw".into())).await.expect("bootstrap");
    let key = identity.create_access_key(&report.admin_user_id, Some(&report.admin_project_id), "sk").await.expect("access key");
    (report.admin_user_id, key.id, key.secret)
}

#[tokio::test]
async fn secrets_are_sealed_in_the_catalog_and_usable_in_memory() {
    let catalog = catalog().await;
    let kek = KeyEncryptionKey::generate();
    let identity = Identity::open(catalog.clone(), config(Some(&kek))).await.expect("open");
    let (admin_id, key_id, secret) = with_access_key(&identity).await;

    let stored = catalog.get_access_key(&key_id).await.expect("get").expect("stored");
    assert!(stored.secret.starts_with("enc:v1:") && !stored.secret.contains(&secret), "{}", stored.secret);
    for key in catalog.list_signing_keys(TOKEN_KEY_KIND).await.expect("keys") {
        assert!(key.material.starts_with("enc:v1:"), "token signing key {} is sealed", key.id);
    }

    let principal = identity.authenticate_access_key(&key_id, &secret).await.expect("access key auth");
    assert_eq!(identity.access_key(&key_id).await.expect("lookup").map(|k| k.secret), Some(secret.clone()));
    assert_eq!(identity.list_access_keys(&admin_id).await.expect("list")[0].secret, secret);
    let token = identity.mint_token(&principal).expect("mint");
    identity.rotate_token_key().await.expect("rotate");
    assert!(catalog.list_signing_keys(TOKEN_KEY_KIND).await.expect("keys").iter().all(|k| k.material.starts_with("enc:v1:")));

    // Another process with the same key reads the same secrets.
    let other = Identity::open(catalog.clone(), config(Some(&kek))).await.expect("reopen");
    assert_eq!(other.validate(&token).expect("token from the first process"), principal);
    other.authenticate_access_key(&key_id, &secret).await.expect("access key auth");
}

#[tokio::test]
async fn plaintext_rows_of_an_older_version_are_sealed_on_open() {
    let catalog = catalog().await;
    let old = Identity::open(catalog.clone(), config(None)).await.expect("open in clear");
    let (_, key_id, secret) = with_access_key(&old).await;
    let principal = old.authenticate_access_key(&key_id, &secret).await.expect("auth");
    let token = old.mint_token(&principal).expect("mint");
    assert_eq!(catalog.get_access_key(&key_id).await.expect("get").expect("stored").secret, secret, "no key: stored in clear");

    let kek = KeyEncryptionKey::generate();
    let upgraded = Identity::open(catalog.clone(), config(Some(&kek))).await.expect("upgrade");
    let stored = catalog.get_access_key(&key_id).await.expect("get").expect("stored");
    assert!(stored.secret.starts_with("enc:v1:"), "{}", stored.secret);
    let keys = catalog.list_signing_keys(TOKEN_KEY_KIND).await.expect("keys");
    assert!(keys.iter().all(|k| k.material.starts_with("enc:v1:")));
    assert_eq!(upgraded.validate(&token).expect("tokens signed before the upgrade stay valid"), principal);
    upgraded.authenticate_access_key(&key_id, &secret).await.expect("the secret still verifies");

    // Idempotent: opening again changes nothing.
    Identity::open(catalog.clone(), config(Some(&kek))).await.expect("again");
    assert_eq!(catalog.get_access_key(&key_id).await.expect("get").expect("stored").secret, stored.secret);
    assert_eq!(catalog.list_signing_keys(TOKEN_KEY_KIND).await.expect("keys"), keys);
}

#[tokio::test]
async fn a_different_key_or_none_refuses_to_open() {
    let catalog = catalog().await;
    let identity = Identity::open(catalog.clone(), config(Some(&KeyEncryptionKey::generate()))).await.expect("open");
    with_access_key(&identity).await;

    let err = Identity::open(catalog.clone(), config(Some(&KeyEncryptionKey::generate()))).await.expect_err("wrong key");
    let message = err.to_string();
    assert!(message.contains("cannot decrypt") && message.contains("the key-encryption key does not match"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    let err = Identity::open(catalog.clone(), config(None)).await.expect_err("no key");
    assert!(err.to_string().contains("no key-encryption key is configured"), "{err}");
}
