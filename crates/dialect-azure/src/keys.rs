//! The RSA keys that sign and verify access tokens. They are identity signing
//! keys of kind [`SIGNING_KEY_KIND`] in the shared catalog (PKCS#8 PEM), so every
//! node sharing the catalog signs and verifies alike: the newest key signs, every
//! stored key verifies and is published in the JWKS. Each node reloads them
//! periodically and whenever a token names a key it has not loaded yet.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use imagery_core::identity::SigningKey;
use imagery_core::ports::{CatalogError, CatalogResult, IdentityCatalog};
use imagery_core::time::{now, Timestamp};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};

/// The `kind` of the catalog signing keys that sign Azure access tokens.
pub const SIGNING_KEY_KIND: &str = "azure-rsa";

const RSA_BITS: usize = 2048;
/// How often a token naming an unknown key may trigger a reload.
const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// A fresh 2048-bit RSA signing key, ready to store. CPU-heavy (tens of
/// milliseconds optimised, seconds in debug builds): run it off the async threads.
pub fn generate_signing_key() -> CatalogResult<SigningKey> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        .map_err(|e| CatalogError::Backend(format!("RSA key generation failed: {e}")))?;
    let pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| CatalogError::Backend(format!("RSA key encoding failed: {e}")))?;
    Ok(SigningKey {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind: SIGNING_KEY_KIND.into(),
        material: pem.to_string(),
        created_at: now(),
    })
}

/// Add a new signing key (it signs as soon as each node reloads) and delete the
/// keys superseded longer than `retire_after` ago (make it at least the token
/// lifetime plus the reload interval, so no live token loses its key). Returns
/// the new key's id.
pub async fn rotate_signing_key<C: IdentityCatalog + ?Sized>(catalog: &C, retire_after: Duration) -> CatalogResult<String> {
    let key = tokio::task::spawn_blocking(generate_signing_key)
        .await
        .map_err(|e| CatalogError::Backend(format!("RSA key generation did not finish: {e}")))??;
    catalog.insert_signing_key(&key).await?;
    let retire_after = chrono::Duration::from_std(retire_after).unwrap_or(chrono::Duration::MAX);
    let stored = newest_first(catalog.list_signing_keys(SIGNING_KEY_KIND).await?);
    let t = now();
    for pair in stored.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        if newer.created_at.checked_add_signed(retire_after).is_some_and(|at| at < t) {
            catalog.delete_signing_key(&older.id).await?;
            tracing::info!(key_id = %older.id, "deleted a retired Azure token signing key");
        }
    }
    tracing::info!(key_id = %key.id, "rotated the Azure token signing key");
    Ok(key.id)
}

fn newest_first(mut keys: Vec<SigningKey>) -> Vec<SigningKey> {
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    keys
}

/// A usable key: ring's key pair and its public components.
pub(crate) struct LoadedKey {
    pub id: String,
    created_at: Timestamp,
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl LoadedKey {
    fn from_stored(key: &SigningKey) -> Option<LoadedKey> {
        let body: String = key.material.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
        let der = STANDARD.decode(body).ok()?;
        let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        Some(LoadedKey { id: key.id.clone(), created_at: key.created_at, pair, n: public.n, e: public.e })
    }

    pub fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).ok()?;
        Some(signature)
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents { n: &self.n, e: &self.e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.id,
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }
}

/// The loaded keys, newest first.
pub(crate) struct KeyRing {
    catalog: Arc<dyn imagery_core::ports::Catalog>,
    keys: RwLock<Vec<Arc<LoadedKey>>>,
    last_reload: Mutex<Option<Instant>>,
    creating: tokio::sync::Mutex<()>,
}

impl KeyRing {
    pub fn new(catalog: Arc<dyn imagery_core::ports::Catalog>) -> KeyRing {
        KeyRing { catalog, keys: RwLock::new(Vec::new()), last_reload: Mutex::new(None), creating: tokio::sync::Mutex::new(()) }
    }

    fn current(&self) -> Vec<Arc<LoadedKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reload from the catalog, reusing keys already parsed.
    pub async fn reload(&self) -> CatalogResult<()> {
        let stored = newest_first(self.catalog.list_signing_keys(SIGNING_KEY_KIND).await?);
        let known = self.current();
        let loaded: Vec<Arc<LoadedKey>> = stored
            .iter()
            .filter_map(|k| {
                if let Some(existing) = known.iter().find(|l| l.id == k.id && l.created_at == k.created_at) {
                    return Some(existing.clone());
                }
                let key = LoadedKey::from_stored(k).map(Arc::new);
                if key.is_none() {
                    tracing::error!(key_id = %k.id, "ignoring an Azure signing key that is not an RSA PKCS#8 PEM key");
                }
                key
            })
            .collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(())
    }

    /// The key that signs: the newest. A catalog without one gets one.
    pub async fn signer(&self) -> CatalogResult<Arc<LoadedKey>> {
        if let Some(key) = self.current().first() {
            return Ok(key.clone());
        }
        let _guard = self.creating.lock().await;
        self.reload().await?;
        if let Some(key) = self.current().first() {
            return Ok(key.clone());
        }
        let key = tokio::task::spawn_blocking(generate_signing_key)
            .await
            .map_err(|e| CatalogError::Backend(format!("RSA key generation did not finish: {e}")))??;
        self.catalog.insert_signing_key(&key).await?;
        tracing::info!(key_id = %key.id, "created the first Azure token signing key");
        // Reload rather than trust the insert: another node may have made one too.
        self.reload().await?;
        self.current().first().cloned().ok_or_else(|| CatalogError::Backend("no usable Azure signing key".into()))
    }

    /// Keys that may have signed a token naming `kid` (every key when it names
    /// none). An unknown kid reloads the keys, at most once per second.
    pub async fn verifiers(&self, kid: Option<&str>) -> Vec<Arc<LoadedKey>> {
        let pick = |keys: Vec<Arc<LoadedKey>>| match kid {
            Some(kid) => keys.into_iter().filter(|k| k.id == kid).collect(),
            None => keys,
        };
        let found = pick(self.current());
        if !found.is_empty() {
            return found;
        }
        let may_reload = self.last_reload.lock().unwrap_or_else(|p| p.into_inner()).is_none_or(|t| t.elapsed() >= MISS_RELOAD_INTERVAL);
        if may_reload {
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "could not reload Azure signing keys");
            }
        }
        pick(self.current())
    }

    /// The public keys, as `/discovery/v2.0/keys` publishes them.
    pub async fn jwks(&self) -> CatalogResult<Value> {
        if self.current().is_empty() {
            self.signer().await?;
        }
        Ok(json!({"keys": self.current().iter().map(|k| k.jwk()).collect::<Vec<_>>()}))
    }
}

/// Reload the keys every `every` while the ring is in use.
pub(crate) fn spawn_refresher(ring: std::sync::Weak<KeyRing>, every: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(ring) = ring.upgrade() else {
                return;
            };
            if let Err(e) = ring.reload().await {
                tracing::warn!(error = %e, "could not reload Azure signing keys; keeping the previous ones");
            }
        }
    });
}
