//! The `Identity` object: opening it (keys, revocations, background refresh),
//! minting and validating tokens, revocation and key rotation. Authentication
//! methods live in `authn`, admin operations in `admin`, bootstrap in `bootstrap`.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use futures::StreamExt;
use imagery_core::cluster::Seen;
use imagery_core::identity::Revocation;
use imagery_core::ports::{Catalog, CatalogError};
use imagery_core::time::{now, Timestamp};
use tokio::time::MissedTickBehavior;

use crate::at_rest::Sealer;
use crate::config::IdentityConfig;
use crate::error::{IdentityError, IdentityResult};
use crate::keyring::{new_signing_key, retired_keys, subject_revocation, KeyRing, Revocations, Subject};
use crate::password::{HashQueue, PasswordHasher};
use crate::principal::Principal;
use crate::rsa_keys::{generate_rsa_signing_key, RsaKeyRing, RSA_KEY_KIND};
use crate::token;
use crate::TOKEN_KEY_KIND;

pub struct Identity {
    pub(crate) catalog: Arc<dyn Catalog>,
    pub(crate) config: IdentityConfig,
    pub(crate) hasher: PasswordHasher,
    pub(crate) sealer: Sealer,
    keys: RwLock<KeyRing>,
    revocations: RwLock<Revocations>,
    rsa_keys: Arc<RsaKeyRing>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("config", &self.config).finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Identity {
    /// Load the signing keys (creating the first one on a fresh catalog) and the
    /// revocation list, and start reloading both every `refresh_interval` for as
    /// long as the returned `Arc` lives. With a key-encryption key, secrets an
    /// older version stored in clear are sealed first; a key that does not open
    /// the sealed ones fails here.
    pub async fn open(catalog: Arc<dyn Catalog>, config: IdentityConfig) -> IdentityResult<Arc<Identity>> {
        let hasher = PasswordHasher::new(config.password_hashing, HashQueue::of(&config)).await?;
        let sealer = Sealer::new(config.key_encryption_key.clone());
        let rsa_keys = Arc::new(RsaKeyRing::new(catalog.clone(), sealer.clone(), config.key_activation_delay));
        let identity = Arc::new(Identity {
            catalog,
            config,
            hasher,
            sealer,
            keys: RwLock::new(KeyRing::default()),
            revocations: RwLock::new(Revocations::default()),
            rsa_keys,
        });
        let sealed = identity.seal_plaintext_secrets().await?;
        if sealed > 0 {
            tracing::warn!(
                secrets = sealed,
                "encrypted plaintext secrets (token signing keys, access-key secrets) left in the catalog by an older version"
            );
        }
        identity.refresh().await?;
        if read(&identity.keys).is_empty() {
            identity.catalog.insert_signing_key(&identity.seal_signing_key(new_signing_key())?).await?;
            tracing::info!("created the first token signing key");
            // Reload rather than trust our insert: a process starting at the same
            // time may have created one too, and all must sign alike.
            identity.refresh().await?;
        }
        spawn_refresher(Arc::downgrade(&identity), identity.config.refresh_interval);
        Ok(identity)
    }

    /// The RSA keys that sign and verify RS256 access tokens (the Azure token
    /// endpoint's), loaded on first use and refreshed like the token keys.
    pub fn rsa_signing_keys(&self) -> &Arc<RsaKeyRing> {
        &self.rsa_keys
    }

    /// Add a new RSA signing key under the same policy as [`rotate_token_key`](Self::rotate_token_key):
    /// it verifies at once, signs after `key_activation_delay`, and keys no live
    /// token can use any more are deleted. Returns the new key's id.
    pub async fn rotate_rsa_signing_key(&self) -> IdentityResult<String> {
        let key = tokio::task::spawn_blocking(generate_rsa_signing_key)
            .await
            .map_err(|e| IdentityError::Backend(format!("RSA key generation did not finish: {e}")))??;
        self.rsa_keys.insert(&key).await?;
        let stored = self.catalog.list_signing_keys(RSA_KEY_KIND).await?;
        let cfg = &self.config;
        for id in retired_keys(&stored, now(), cfg.key_activation_delay, cfg.token_ttl, cfg.refresh_interval) {
            self.catalog.delete_signing_key(&id).await?;
            tracing::info!(key_id = %id, "deleted a retired RSA signing key");
        }
        self.rsa_keys.reload().await?;
        self.announce_change().await;
        tracing::info!(key_id = %key.id, "rotated the RSA signing key");
        Ok(key.id)
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// Reload signing keys and unexpired revocations from the catalog.
    pub async fn refresh(&self) -> IdentityResult<()> {
        let stored_keys = self
            .catalog
            .list_signing_keys(TOKEN_KEY_KIND)
            .await?
            .into_iter()
            .map(|key| self.open_signing_key(key))
            .collect::<IdentityResult<Vec<_>>>()?;
        let stored_revocations = self.catalog.list_revocations(now()).await?;
        let ring = KeyRing::from_stored(&stored_keys);
        if ring.is_empty() && !stored_keys.is_empty() {
            return Err(IdentityError::Backend("no usable token signing key in the catalog".into()));
        }
        *write(&self.keys) = ring;
        // Merge rather than replace: a revocation this process stored after the
        // list was read must not be forgotten, and revocations are never undone.
        let mut revocations = write(&self.revocations);
        for revocation in &stored_revocations {
            revocations.add(revocation);
        }
        revocations.prune(now());
        Ok(())
    }

    /// Add a new signing key. It verifies at once and signs once it is older than
    /// `key_activation_delay`; keys no live token can use any more are deleted.
    /// Returns the new key's id.
    pub async fn rotate_token_key(&self) -> IdentityResult<String> {
        let key = new_signing_key();
        self.catalog.insert_signing_key(&self.seal_signing_key(key.clone())?).await?;
        let stored = self.catalog.list_signing_keys(TOKEN_KEY_KIND).await?;
        let cfg = &self.config;
        for id in retired_keys(&stored, now(), cfg.key_activation_delay, cfg.token_ttl, cfg.refresh_interval) {
            self.catalog.delete_signing_key(&id).await?;
            tracing::info!(key_id = %id, "deleted a retired token signing key");
        }
        self.refresh().await?;
        self.announce_change().await;
        tracing::info!(key_id = %key.id, "rotated the token signing key");
        Ok(key.id)
    }

    /// Sign a token for `principal` with the current signing key.
    pub fn mint_token(&self, principal: &Principal) -> IdentityResult<String> {
        let keys = read(&self.keys);
        let key = keys
            .signing_key(now(), self.config.key_activation_delay)
            .ok_or_else(|| IdentityError::Backend("no token signing key loaded".into()))?;
        token::sign(principal, key).map_err(|e| IdentityError::Backend(format!("token encoding failed: {e}")))
    }

    /// Who `token` speaks for: signature (constant-time), expiry and revocation
    /// are checked in memory; the catalog is not consulted.
    pub fn validate(&self, token: &str) -> IdentityResult<Principal> {
        let principal = token::open(token.trim(), read(&self.keys).keys()).map_err(|d| IdentityError::unauthenticated(d.reason()))?;
        self.check_principal(&principal)?;
        Ok(principal)
    }

    /// Is a principal that another signed token names (an Azure access token)
    /// still good: not expired, and neither it nor its subject revoked?
    pub fn check_principal(&self, principal: &Principal) -> IdentityResult<()> {
        if principal.expires_at <= now() {
            return Err(IdentityError::unauthenticated("token expired"));
        }
        if read(&self.revocations).is_revoked(principal) {
            return Err(IdentityError::unauthenticated("token revoked"));
        }
        Ok(())
    }

    /// Revoke a valid token (and the tokens re-scoped from it); returns whom it
    /// spoke for. An invalid token is `Unauthenticated`.
    pub async fn revoke(&self, token: &str) -> IdentityResult<Principal> {
        let principal = self.validate(token)?;
        self.store_revocation(Revocation { audit_id: principal.audit_id.clone(), expires_at: principal.expires_at }).await?;
        tracing::info!(user_id = %principal.user_id, audit_id = %principal.audit_id, "token revoked");
        Ok(principal)
    }

    /// Revoke every token of a subject issued until now.
    pub(crate) async fn revoke_subject(&self, kind: Subject, id: &str) -> IdentityResult<()> {
        self.store_revocation(subject_revocation(kind, id, now(), self.config.token_ttl)).await
    }

    async fn store_revocation(&self, revocation: Revocation) -> IdentityResult<()> {
        match self.catalog.insert_revocation(&revocation).await {
            Ok(()) | Err(CatalogError::Duplicate(_)) => {}
            Err(e) => return Err(e.into()),
        }
        {
            let mut revocations = write(&self.revocations);
            revocations.prune(now());
            revocations.add(&revocation);
        }
        self.announce_change().await;
        Ok(())
    }

    /// Tell the other nodes to reload keys and revocations now (PostgreSQL
    /// NOTIFY); if that fails they still reload on their periodic refresh.
    async fn announce_change(&self) {
        if let Err(e) = self.catalog.notify(CHANGES_TOPIC).await {
            tracing::warn!(error = %e, "could not announce an identity change; other nodes see it at their next periodic reload");
        }
    }

    /// Replay protection shared by every node: remember a verified request
    /// signature of `access_key` until `expires_at`. `Replayed` if any node saw it
    /// before; `OverBudget` when the key already has `budget` live signatures (one
    /// key cannot exhaust what the others need).
    pub async fn remember_signature(&self, access_key: &str, signature: &str, expires_at: Timestamp, budget: u32) -> IdentityResult<Seen> {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(signature.as_bytes());
        let nonce: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(self.catalog.remember_nonce(&format!("ak:{access_key}"), &nonce, now(), expires_at, budget).await?)
    }
}

/// The catalog topic identity changes (revocations, key rotations) are announced on.
const CHANGES_TOPIC: &str = "identity";

/// Reload the token keys, revocations and RSA signing keys every `every`, for as
/// long as the identity lives (one loop for every key the catalog holds).
fn spawn_refresher(identity: Weak<Identity>, every: std::time::Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let mut changes = identity.upgrade().and_then(|i| i.catalog.subscribe(CHANGES_TOPIC));
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(every.max(std::time::Duration::from_millis(100)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            // Whichever comes first: another node's announcement, or the periodic
            // reload (the fallback when announcements are lost).
            match changes.as_mut() {
                Some(stream) => {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        next = stream.next() => if next.is_none() { changes = None },
                    }
                }
                None => {
                    ticks.tick().await;
                }
            }
            let Some(identity) = identity.upgrade() else {
                return;
            };
            if let Err(e) = identity.refresh().await {
                tracing::warn!(error = %e, "could not reload token keys and revocations; keeping the previous ones");
            }
            if let Err(e) = identity.rsa_keys.reload().await {
                tracing::warn!(error = %e, "could not reload RSA signing keys; keeping the previous ones");
            }
        }
    });
}
