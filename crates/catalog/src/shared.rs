//! Request shaping both backends share beyond SQL text: the key range of an
//! alternate-key listing, `LIMIT` values, and how a duplicate is described in
//! `CatalogError`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use futures::stream::{BoxStream, StreamExt};
use imagery_core::cluster::Seen;
use imagery_core::identity::{ApplicationCredential, Project, User};
use imagery_core::operation::OperationRecord;
use tokio::sync::broadcast;

/// The bounds of `list_alt_keys`: keys of `namespace` from `lower` (exclusive when
/// `exclusive`) up to `upper` (exclusive, none when the prefix is empty).
pub(crate) struct AltKeyRange {
    pub namespace: String,
    pub lower: String,
    pub exclusive: bool,
    pub upper: Option<String>,
    pub limit: usize,
}

impl AltKeyRange {
    pub fn new(namespace: &str, prefix: &str, after: Option<&str>, limit: usize) -> Self {
        let (lower, exclusive) = match after {
            Some(after) if after >= prefix => (after.to_owned(), true),
            _ => (prefix.to_owned(), false),
        };
        AltKeyRange { namespace: namespace.to_owned(), lower, exclusive, upper: prefix_upper_bound(prefix), limit }
    }
}

/// The smallest string greater than every string starting with `prefix`, if any:
/// the exclusive upper bound of a prefix range under byte-wise (code point) order.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A row count for a `LIMIT` parameter.
pub(crate) fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn alt_key_duplicate(namespace: &str, key: &str) -> String {
    format!("alternate key {key:?} in namespace {namespace:?}")
}

pub(crate) fn operation_duplicate(op: &OperationRecord) -> String {
    match &op.idempotency_key {
        Some(key) => format!("operation {}/{} or idempotency key {key:?}", op.dialect, op.id),
        None => format!("operation {}/{}", op.dialect, op.id),
    }
}

pub(crate) fn project_duplicate(p: &Project) -> String {
    format!("project {} or name {:?} in domain {}", p.id, p.name, p.domain_id)
}

pub(crate) fn user_duplicate(u: &User) -> String {
    format!("user {} or name {:?} in domain {}", u.id, u.name, u.domain_id)
}

pub(crate) fn app_credential_duplicate(a: &ApplicationCredential) -> String {
    format!("application credential {} or name {:?} of user {}", a.id, a.name, a.user_id)
}

/// Change announcements within this process, by topic: what SQLite offers (one
/// node) and where PostgreSQL's listener delivers what other nodes NOTIFY.
#[derive(Clone, Default)]
pub(crate) struct Topics(Arc<Mutex<HashMap<String, broadcast::Sender<()>>>>);

impl Topics {
    fn sender(&self, topic: &str) -> broadcast::Sender<()> {
        let mut topics = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        topics.entry(topic.to_owned()).or_insert_with(|| broadcast::channel(16).0).clone()
    }

    pub fn announce(&self, topic: &str) {
        let _ = self.sender(topic).send(());
    }

    /// Every topic: after a reconnection, when something may have been missed.
    pub fn announce_all(&self) {
        let senders: Vec<_> = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect();
        for sender in senders {
            let _ = sender.send(());
        }
    }

    /// A stream of announcements; a subscriber that fell behind gets one item for
    /// all it missed.
    pub fn subscribe(&self, topic: &str) -> BoxStream<'static, ()> {
        let receiver = self.sender(topic).subscribe();
        futures::stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), receiver)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .boxed()
    }

    pub fn downgrade(&self) -> Weak<Mutex<HashMap<String, broadcast::Sender<()>>>> {
        Arc::downgrade(&self.0)
    }

    pub fn upgrade(weak: &Weak<Mutex<HashMap<String, broadcast::Sender<()>>>>) -> Option<Self> {
        weak.upgrade().map(Topics)
    }
}

/// The outcome of `remember_nonce`, decided the same way by both backends from
/// what the scope holds.
pub(crate) fn nonce_verdict(already_seen: bool, live_in_scope: i64, budget: u32) -> Option<Seen> {
    if already_seen {
        Some(Seen::Replayed)
    } else if live_in_scope >= i64::from(budget) {
        Some(Seen::OverBudget)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("ab"), Some("ac".into()));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("x\u{D7FF}"), Some("x\u{E000}".into()));
    }

    #[test]
    fn range_starts_after_the_later_bound() {
        let r = AltKeyRange::new("ns", "b", Some("a"), 5);
        assert_eq!((r.lower.as_str(), r.exclusive), ("b", false));
        let r = AltKeyRange::new("ns", "b", Some("bz"), 5);
        assert_eq!((r.lower.as_str(), r.exclusive, r.upper.as_deref()), ("bz", true, Some("c")));
    }
}
