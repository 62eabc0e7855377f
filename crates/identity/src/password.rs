//! Argon2id hashing of passwords and credential secrets. Hashing is deliberately
//! slow, so it runs on the blocking pool behind a semaphore: a flood of logins
//! queues up instead of stalling the async runtime or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordHashing;
use crate::error::{IdentityError, IdentityResult};
use crate::secret::{random_bytes, Secret};

/// Keystone's `max_password_length`: longer inputs are refused before hashing.
pub(crate) const MAX_SECRET_LEN: usize = 4096;

pub(crate) struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Hash of a random secret, verified against when the user does not exist so
    /// that an unknown user costs as much time as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    pub(crate) async fn new(cost: PasswordHashing, max_concurrent: usize) -> IdentityResult<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| IdentityError::Backend(format!("invalid argon2 parameters: {e}")))?;
        let mut hasher = PasswordHasher { params, permits: Arc::new(Semaphore::new(max_concurrent.max(1))), decoy: String::new() };
        hasher.decoy = hasher.hash(&Secret::new(crate::secret::random_b64(24))).await?;
        Ok(hasher)
    }

    /// A PHC string (`$argon2id$v=19$m=…`) of `secret` with a fresh random salt.
    pub(crate) async fn hash(&self, secret: &Secret) -> IdentityResult<String> {
        let params = self.params.clone();
        let secret = secret.clone();
        self.run_blocking(move || {
            let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| IdentityError::Backend(format!("salt: {e}")))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(secret.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| IdentityError::Backend(format!("password hashing failed: {e}")))
        })
        .await
    }

    /// Does `secret` match the stored PHC string? A malformed stored hash or an
    /// over-long secret is a mismatch, never an error shown to the caller.
    pub(crate) async fn verify(&self, secret: &Secret, phc: &str) -> IdentityResult<bool> {
        if secret.expose().len() > MAX_SECRET_LEN {
            return Ok(false);
        }
        let secret = secret.clone();
        let phc = phc.to_string();
        self.run_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                tracing::error!("a stored password hash is not a valid PHC string");
                return Ok(false);
            };
            Ok(Argon2::default().verify_password(secret.expose().as_bytes(), &parsed).is_ok())
        })
        .await
    }

    /// Spend the time a real verification would, for an unknown principal.
    pub(crate) async fn verify_decoy(&self, secret: &Secret) -> IdentityResult<()> {
        let decoy = self.decoy.clone();
        self.verify(secret, &decoy).await.map(|_| ())
    }

    async fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> IdentityResult<T> + Send + 'static) -> IdentityResult<T> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| IdentityError::Backend("password hasher closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| IdentityError::Backend(format!("password hashing task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_mismatches_do_not() {
        let hasher = PasswordHasher::new(PasswordHashing::INSECURE_FAST, 2).await.expect("hasher");
        let hash = hasher.hash(&Secret::new("pw")).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$"));
        assert!(hasher.verify(&Secret::new("pw"), &hash).await.expect("verify"));
        assert!(!hasher.verify(&Secret::new("pW"), &hash).await.expect("verify"));
        assert!(!hasher.verify(&Secret::new("pw"), "not a phc string").await.expect("verify"));
        assert!(!hasher.verify(&Secret::new("x".repeat(MAX_SECRET_LEN + 1)), &hash).await.expect("verify"));
    }

    /// `cargo test --release -p imagery-identity -- --ignored default_cost`:
    /// the default parameters should cost tens of milliseconds, not seconds.
    #[tokio::test]
    #[ignore = "timing; meaningful in release builds only"]
    async fn default_cost() {
        let hasher = PasswordHasher::new(PasswordHashing::DEFAULT, 1).await.expect("hasher");
        let hash = hasher.hash(&Secret::new("pw")).await.expect("hash");
        let start = std::time::Instant::now();
        for _ in 0..10 {
            assert!(hasher.verify(&Secret::new("pw"), &hash).await.expect("verify"));
        }
        let each = start.elapsed() / 10;
        println!("argon2id m=19MiB t=2 p=1: {each:?} per verification");
        assert!(each < std::time::Duration::from_millis(200), "{each:?}");
    }
}
