//! Where objects live inside the store, and which blob keys are acceptable. Keys are
//! content addresses (hex digests), so anything that could escape the layout — a
//! slash, a dot-prefixed name, a non-ASCII character — is refused.

use std::io;

pub(crate) const STAGING: &str = "staging";
pub(crate) const BLOBS: &str = "blobs";
const MAX_KEY_LEN: usize = 255;

/// `staging/<id>`: the temporary object of one write.
pub(crate) fn staging_location(id: uuid::Uuid) -> String {
    format!("{STAGING}/{id}")
}

/// `blobs/<first two characters>/<key>`.
pub(crate) fn blob_location(key: &str) -> io::Result<String> {
    if !is_valid_key(key) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid blob key {key:?}")));
    }
    Ok(format!("{BLOBS}/{}/{key}", &key[..2]))
}

/// The key stored at `location`, if it is a well-formed blob location.
pub(crate) fn key_of(location: &str) -> Option<String> {
    let mut parts = location.split('/');
    let (Some(BLOBS), Some(shard), Some(key), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    (is_valid_key(key) && key.get(..2) == Some(shard)).then(|| key.to_string())
}

fn is_valid_key(key: &str) -> bool {
    (2..=MAX_KEY_LEN).contains(&key.len())
        && !key.starts_with('.')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_locations() {
        assert_eq!(blob_location("abcdef").unwrap(), "blobs/ab/abcdef");
        for bad in ["", "a", "../etc", "a/b", ".hidden", "ab cd", "é1", &"x".repeat(256)] {
            assert!(blob_location(bad).is_err(), "{bad:?}");
        }
        assert_eq!(key_of("blobs/ab/abcdef").as_deref(), Some("abcdef"));
        assert_eq!(key_of("blobs/xx/abcdef"), None);
        assert_eq!(key_of("blobs/ab/abcdef/more"), None);
        assert_eq!(key_of("staging/abcdef"), None);
    }
}
