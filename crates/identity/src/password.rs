//! Argon2id hashing of passwords and credential secrets. Hashing is deliberately
//! slow and memory-hard (19 MiB each), so it runs on the blocking pool behind ONE
//! semaphore with a bounded queue and a deadline: a flood of logins is refused
//! ([`IdentityError::Busy`]) instead of stalling the runtime or exhausting memory.
//! At most `max_concurrent` hashes exist at any moment, whatever arrives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::{IdentityConfig, PasswordHashing};
use crate::error::{IdentityError, IdentityResult};
use crate::secret::{random_bytes, Secret};

/// Keystone's `max_password_length`: longer inputs are refused before hashing.
pub(crate) const MAX_SECRET_LEN: usize = 4096;

/// How many hashes run at once, how many may wait, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashQueue {
    pub max_concurrent: usize,
    pub max_queued: usize,
    pub timeout: Duration,
}

impl HashQueue {
    pub(crate) fn of(config: &IdentityConfig) -> Self {
        HashQueue {
            max_concurrent: config.max_concurrent_hashes.max(1),
            max_queued: config.max_queued_hashes,
            timeout: config.hash_queue_timeout,
        }
    }
}

pub(crate) struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    queue: HashQueue,
    waiting: AtomicUsize,
    /// Hash of a random secret, verified against when the user does not exist so
    /// that an unknown user costs as much time as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    pub(crate) async fn new(cost: PasswordHashing, queue: HashQueue) -> IdentityResult<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| IdentityError::Backend(format!("invalid argon2 parameters: {e}")))?;
        let mut hasher = PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(queue.max_concurrent.max(1))),
            queue,
            waiting: AtomicUsize::new(0),
            decoy: String::new(),
        };
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

    /// A turn to hash: at once if one is free, else after waiting in a queue of
    /// bounded length for at most the queue timeout.
    async fn turn(&self) -> IdentityResult<tokio::sync::OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue.max_queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(queued = self.queue.max_queued, "password hashing queue full; refusing a login");
            return Err(IdentityError::Busy);
        }
        let waited = tokio::time::timeout(self.queue.timeout, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(IdentityError::Backend("password hasher closed".into())),
            Err(_) => {
                tracing::warn!(secs = self.queue.timeout.as_secs_f32(), "password hashing queue too slow; refusing a login");
                Err(IdentityError::Busy)
            }
        }
    }

    async fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> IdentityResult<T> + Send + 'static) -> IdentityResult<T> {
        let permit = self.turn().await?;
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

    fn queue(max_concurrent: usize, max_queued: usize) -> HashQueue {
        HashQueue { max_concurrent, max_queued, timeout: Duration::from_secs(5) }
    }

    /// One hash at a time, two may wait: of 12 verifications started together,
    /// at most 3 get a turn, the others are refused at once with `Busy`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_beyond_the_queue_is_refused_not_queued() {
        let cost = PasswordHashing { memory_kib: 8 * 1024, iterations: 3, parallelism: 1 };
        let hasher = Arc::new(PasswordHasher::new(cost, queue(1, 2)).await.expect("hasher"));
        let hash = hasher.hash(&Secret::new("pw")).await.expect("hash");
        let attempts = (0..12).map(|_| {
            let (hasher, hash) = (hasher.clone(), hash.clone());
            tokio::spawn(async move { hasher.verify(&Secret::new("wrong"), &hash).await })
        });
        let results = futures_join(attempts.collect()).await;
        let busy = results.iter().filter(|r| matches!(r, Err(IdentityError::Busy))).count();
        let done = results.iter().filter(|r| matches!(r, Ok(false))).count();
        assert_eq!(busy + done, 12, "{results:?}");
        assert!((1..=3).contains(&done) && busy >= 9, "{results:?}");
    }

    /// A turn not given within the deadline is refused.
    #[tokio::test]
    async fn waiting_past_the_deadline_is_refused() {
        let hasher = PasswordHasher::new(
            PasswordHashing::INSECURE_FAST,
            HashQueue { max_concurrent: 1, max_queued: 4, timeout: Duration::from_millis(50) },
        )
        .await
        .expect("hasher");
        let held = hasher.permits.clone().acquire_owned().await.expect("permit");
        assert_eq!(hasher.verify(&Secret::new("pw"), "x").await, Err(IdentityError::Busy));
        drop(held);
        assert_eq!(hasher.verify(&Secret::new("pw"), "x").await, Ok(false));
    }

    async fn futures_join(handles: Vec<tokio::task::JoinHandle<IdentityResult<bool>>>) -> Vec<IdentityResult<bool>> {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap_or_else(|e| Err(IdentityError::Backend(e.to_string()))));
        }
        out
    }

    #[tokio::test]
    async fn hashes_verify_and_mismatches_do_not() {
        let hasher = PasswordHasher::new(PasswordHashing::INSECURE_FAST, queue(2, 8)).await.expect("hasher");
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
        let hasher = PasswordHasher::new(PasswordHashing::DEFAULT, queue(1, 8)).await.expect("hasher");
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
