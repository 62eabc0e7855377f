//! Signatures seen recently, so a captured request cannot be sent again while its
//! `X-Sdk-Date` is still acceptable. Bounded: entries leave when their date falls
//! out of the validity window, and a full cache refuses new requests rather than
//! forgetting live entries. Per process: several nodes each keep their own.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// A digest of (access key, signature): fixed size whatever the client sent.
type Key = [u8; 16];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: recorded.
    Fresh,
    /// Already seen and still within its window.
    Replayed,
    /// Too many live signatures to remember another one.
    Full,
}

#[derive(Default)]
struct Entries {
    expiry_of: HashMap<Key, i64>,
    by_expiry: BTreeSet<(i64, Key)>,
}

pub struct ReplayCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

fn key(access: &str, signature: &str) -> Key {
    let digest = Sha256::new().chain_update(access.as_bytes()).chain_update([0u8]).chain_update(signature.as_bytes()).finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        ReplayCache { capacity: capacity.max(1), entries: Mutex::new(Entries::default()) }
    }

    /// Record a verified signature valid until `expires_at` (Unix seconds).
    pub fn check_and_record(&self, access: &str, signature: &str, expires_at: i64, now: i64) -> Seen {
        let key = key(access, signature);
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some(&(expiry, old)) = entries.by_expiry.first() {
            if expiry >= now {
                break;
            }
            entries.by_expiry.pop_first();
            entries.expiry_of.remove(&old);
        }
        if entries.expiry_of.contains_key(&key) {
            return Seen::Replayed;
        }
        if entries.expiry_of.len() >= self.capacity {
            return Seen::Full;
        }
        entries.expiry_of.insert(key, expires_at);
        entries.by_expiry.insert((expires_at, key));
        Seen::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_and_stays_bounded() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.check_and_record("AK", "s1", 100, 0), Seen::Fresh);
        assert_eq!(cache.check_and_record("AK", "s1", 100, 50), Seen::Replayed);
        assert_eq!(cache.check_and_record("AK2", "s1", 100, 50), Seen::Fresh);
        assert_eq!(cache.check_and_record("AK", "s2", 100, 50), Seen::Full);
        // Once s1's window has passed it is forgotten, and there is room again.
        assert_eq!(cache.check_and_record("AK", "s2", 200, 101), Seen::Fresh);
        assert_eq!(cache.check_and_record("AK", "s1", 200, 101), Seen::Fresh);
    }
}
