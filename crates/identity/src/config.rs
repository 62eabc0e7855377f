//! How the identity core is tuned: token lifetime, how often keys and
//! revocations are reloaded, when a rotated key starts signing, and what a
//! password hash costs, and the key that seals the catalog's secrets.

use std::time::Duration;

use crate::at_rest::KeyEncryptionKey;

#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// How long an issued token is valid.
    pub token_ttl: Duration,
    /// How often signing keys and revocations are reloaded from the catalog, so
    /// that several processes sharing one catalog agree.
    pub refresh_interval: Duration,
    /// How long a freshly rotated key only verifies before it also signs. Every
    /// process must have loaded it before a token it signed reaches them, so the
    /// default is twice `refresh_interval`; a single process may use zero.
    pub key_activation_delay: Duration,
    /// Argon2 cost of new password and secret hashes (verification uses the
    /// parameters stored in each hash).
    pub password_hashing: PasswordHashing,
    /// How many password hashes may be computed at once; further logins wait.
    /// Bounds the memory and CPU an attacker can make logins consume.
    pub max_concurrent_hashes: usize,
    /// How many more may wait for a turn; beyond, a login is refused at once
    /// ([`IdentityError::Busy`](crate::IdentityError::Busy), 503).
    pub max_queued_hashes: usize,
    /// How long a login waits for its turn before it is refused the same way.
    pub hash_queue_timeout: Duration,
    /// Seals token signing keys and access-key secrets in the catalog. `None`
    /// stores them in clear (tests and embedded use; the server always sets one).
    pub key_encryption_key: Option<KeyEncryptionKey>,
}

/// Argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordHashing {
    /// About 10–30 ms per hash on a server core (OWASP's argon2id minimum).
    pub const DEFAULT: PasswordHashing = PasswordHashing { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
    /// Cheap hashes for tests; never for real passwords.
    pub const INSECURE_FAST: PasswordHashing = PasswordHashing { memory_kib: 64, iterations: 1, parallelism: 1 };
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing::DEFAULT
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        let refresh_interval = Duration::from_secs(60);
        IdentityConfig {
            token_ttl: Duration::from_secs(3600),
            refresh_interval,
            key_activation_delay: refresh_interval * 2,
            password_hashing: PasswordHashing::DEFAULT,
            max_concurrent_hashes: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(1),
            max_queued_hashes: 64,
            hash_queue_timeout: Duration::from_secs(5),
            key_encryption_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key_encryption_key() {
        let config =
            IdentityConfig { key_encryption_key: Some(KeyEncryptionKey::from_bytes(&[7; 32]).expect("key")), ..Default::default() };
        let text = format!("{config:?}");
        assert!(text.contains("<redacted>") && !text.contains("7, 7"), "{text}");
    }
}
