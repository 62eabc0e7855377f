//! The RSA keys that sign and verify RS256 access tokens (Azure's Entra-ID-style
//! tokens). Like the HMAC token keys they are identity signing keys in the shared
//! catalog — kind [`RSA_KEY_KIND`], PKCS#8 PEM sealed with the key-encryption key —
//! under the same rotation policy: a new key verifies at once and signs once it is
//! older than `key_activation_delay`; keys no live token can use are deleted. Every
//! stored key verifies and is published in the JWKS. Each node reloads them
//! periodically and whenever a token names a key it has not loaded yet.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use imagery_core::identity::SigningKey;
use imagery_core::ports::{CatalogError, CatalogResult};

use crate::at_rest::{Sealer, SecretOf};
use imagery_core::time::{now, Timestamp};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};

/// The `kind` of the catalog signing keys that sign RS256 (Azure) access tokens.
pub const RSA_KEY_KIND: &str = "azure-rsa";

const RSA_BITS: usize = 2048;
/// How often a token naming an unknown key may trigger a reload.
const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// A fresh 2048-bit RSA signing key, ready to store. CPU-heavy (tens of
/// milliseconds optimised, seconds in debug builds): run it off the async threads.
pub fn generate_rsa_signing_key() -> CatalogResult<SigningKey> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        .map_err(|e| CatalogError::Backend(format!("RSA key generation failed: {e}")))?;
    let pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| CatalogError::Backend(format!("RSA key encoding failed: {e}")))?;
    Ok(SigningKey {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind: RSA_KEY_KIND.into(),
        material: pem.to_string(),
        created_at: now(),
    })
}

fn newest_first(mut keys: Vec<SigningKey>) -> Vec<SigningKey> {
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    keys
}

/// A usable key: ring's key pair and its public components.
pub struct RsaKey {
    pub id: String,
    created_at: Timestamp,
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaKey {
    fn from_stored(key: &SigningKey) -> Option<RsaKey> {
        let body: String = key.material.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
        let der = STANDARD.decode(body).ok()?;
        let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        Some(RsaKey { id: key.id.clone(), created_at: key.created_at, pair, n: public.n, e: public.e })
    }

    pub fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).ok()?;
        Some(signature)
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents { n: &self.n, e: &self.e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
    }

    pub fn jwk(&self) -> Value {
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
pub struct RsaKeyRing {
    catalog: Arc<dyn imagery_core::ports::Catalog>,
    sealer: Sealer,
    activation_delay: Duration,
    keys: RwLock<Vec<Arc<RsaKey>>>,
    last_reload: Mutex<Option<Instant>>,
    creating: tokio::sync::Mutex<()>,
}

impl RsaKeyRing {
    pub(crate) fn new(catalog: Arc<dyn imagery_core::ports::Catalog>, sealer: Sealer, activation_delay: Duration) -> RsaKeyRing {
        RsaKeyRing {
            catalog,
            sealer,
            activation_delay,
            keys: RwLock::new(Vec::new()),
            last_reload: Mutex::new(None),
            creating: tokio::sync::Mutex::new(()),
        }
    }

    fn open(&self, key: SigningKey) -> Option<SigningKey> {
        match self.sealer.open(SecretOf::SigningKey { kind: &key.kind, id: &key.id }, &key.material) {
            Ok(material) => Some(SigningKey { material, ..key }),
            Err(e) => {
                tracing::error!(key_id = %key.id, error = %e, "ignoring an RSA signing key that cannot be opened");
                None
            }
        }
    }

    fn seal(&self, key: &SigningKey) -> CatalogResult<SigningKey> {
        let material = self
            .sealer
            .seal(SecretOf::SigningKey { kind: &key.kind, id: &key.id }, &key.material)
            .map_err(|e| CatalogError::Backend(e.to_string()))?;
        Ok(SigningKey { material, ..key.clone() })
    }

    fn current(&self) -> Vec<Arc<RsaKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn active(&self) -> Option<Arc<RsaKey>> {
        let keys = self.current();
        let delay = chrono::Duration::from_std(self.activation_delay).unwrap_or(chrono::Duration::MAX);
        let t = now();
        let ready = keys.iter().find(|k| k.created_at.checked_add_signed(delay).is_some_and(|at| at <= t));
        ready.or(keys.last()).cloned()
    }

    /// Add a freshly generated key (sealed).
    pub(crate) async fn insert(&self, key: &SigningKey) -> CatalogResult<()> {
        self.catalog.insert_signing_key(&self.seal(key)?).await
    }

    /// Reload from the catalog, reusing keys already parsed.
    pub async fn reload(&self) -> CatalogResult<()> {
        let stored: Vec<SigningKey> =
            newest_first(self.catalog.list_signing_keys(RSA_KEY_KIND).await?).into_iter().filter_map(|k| self.open(k)).collect();
        let known = self.current();
        let loaded: Vec<Arc<RsaKey>> = stored
            .iter()
            .filter_map(|k| {
                if let Some(existing) = known.iter().find(|l| l.id == k.id && l.created_at == k.created_at) {
                    return Some(existing.clone());
                }
                let key = RsaKey::from_stored(k).map(Arc::new);
                if key.is_none() {
                    tracing::error!(key_id = %k.id, "ignoring a signing key that is not an RSA PKCS#8 PEM key");
                }
                key
            })
            .collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(())
    }

    /// The key that signs: the newest that is older than the activation delay
    /// (every node has loaded it by then), else the oldest. A catalog without
    /// one gets one.
    pub async fn signer(&self) -> CatalogResult<Arc<RsaKey>> {
        if let Some(key) = self.active() {
            return Ok(key);
        }
        let _guard = self.creating.lock().await;
        self.reload().await?;
        if let Some(key) = self.current().first() {
            return Ok(key.clone());
        }
        let key = tokio::task::spawn_blocking(generate_rsa_signing_key)
            .await
            .map_err(|e| CatalogError::Backend(format!("RSA key generation did not finish: {e}")))??;
        self.catalog.insert_signing_key(&self.seal(&key)?).await?;
        tracing::info!(key_id = %key.id, "created the first RSA token signing key");
        // Reload rather than trust the insert: another node may have made one too.
        self.reload().await?;
        self.current().first().cloned().ok_or_else(|| CatalogError::Backend("no usable RSA signing key".into()))
    }

    /// Keys that may have signed a token naming `kid` (every key when it names
    /// none). An unknown kid reloads the keys, at most once per second.
    pub async fn verifiers(&self, kid: Option<&str>) -> Vec<Arc<RsaKey>> {
        let pick = |keys: Vec<Arc<RsaKey>>| match kid {
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
                tracing::warn!(error = %e, "could not reload RSA signing keys");
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

#[cfg(test)]
#[path = "fuzz.rs"]
mod fuzz;
