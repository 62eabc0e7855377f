//! Yandex-style ids: 20 characters, a 3-character prefix naming the kind of
//! resource, then 17 characters of base32hex (`0-9a-v`).
//!
//! An image's id is the base32hex of the first 85 bits of its canonical UUID, so
//! every node derives the same id for the same image, and ids sort exactly as the
//! UUIDs do (the catalog's `id` order is the Yandex `id asc` order). A folder's id
//! is derived from a hash of its project id. Both are bound as alternate keys on
//! first use and never change afterwards.

use sha2::{Digest, Sha256};
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
const BODY_LEN: usize = 17;
/// Compute resources (images, operations) in ru-central1.
const COMPUTE_PREFIX: &str = "fd8";
/// Folders and clouds.
const FOLDER_PREFIX: &str = "b1g";
/// The longest id Yandex accepts in any `*_id` field.
pub const MAX_ID_LEN: usize = 50;

/// The first `chars` base32hex digits of `bytes` (most significant bit first),
/// zero-padded if `bytes` runs out.
fn base32hex(bytes: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    let mut input = bytes.iter().copied();
    let (mut acc, mut bits) = (0u32, 0u32);
    while out.len() < chars {
        if bits < 5 {
            acc = (acc << 8) | u32::from(input.next().unwrap_or(0));
            bits += 8;
        }
        bits -= 5;
        out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        acc &= (1 << bits) - 1;
    }
    out
}

/// Candidate Yandex ids for an image, best first: the order-preserving one, then
/// hashed ones in case an (astronomically unlikely) 85-bit prefix collision
/// already took it. Every node walks the same sequence.
pub fn image_id_candidates(image: Uuid) -> impl Iterator<Item = String> {
    let first = format!("{COMPUTE_PREFIX}{}", base32hex(image.as_bytes(), BODY_LEN));
    std::iter::once(first).chain((1..4u8).map(move |n| {
        let digest = Sha256::digest(format!("yandex.image:{image}:{n}"));
        format!("{COMPUTE_PREFIX}{}", base32hex(&digest, BODY_LEN))
    }))
}

/// Candidate folder ids for a project (see [`image_id_candidates`]).
pub fn folder_id_candidates(project: &str) -> impl Iterator<Item = String> + '_ {
    (0..4u8).map(move |n| {
        let digest = Sha256::digest(format!("yandex.folder:{project}:{n}"));
        format!("{FOLDER_PREFIX}{}", base32hex(&digest, BODY_LEN))
    })
}

/// A fresh random operation id (same scheme as compute resources, as Yandex does).
pub fn new_operation_id() -> String {
    format!("{COMPUTE_PREFIX}{}", base32hex(Uuid::new_v4().as_bytes(), BODY_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32hex_digits() {
        assert_eq!(base32hex(&[0xff, 0xff], 4), "vvvg");
        assert_eq!(base32hex(&[0x00, 0x44], 4), "0120");
        assert_eq!(base32hex(&[], 3), "000");
    }

    #[test]
    fn image_ids_have_the_yandex_shape_and_sort_like_uuids() {
        let mut uuids: Vec<Uuid> = (0..200).map(|_| Uuid::new_v4()).collect();
        uuids.sort();
        let ids: Vec<String> = uuids.iter().map(|u| image_id_candidates(*u).next().unwrap_or_default()).collect();
        for id in &ids {
            assert_eq!(id.len(), 20);
            assert!(id.starts_with("fd8"));
            assert!(id.bytes().all(|b| ALPHABET.contains(&b)));
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let u = uuids[0];
        assert_eq!(image_id_candidates(u).collect::<Vec<_>>(), image_id_candidates(u).collect::<Vec<_>>());
    }

    #[test]
    fn folder_ids_are_deterministic() {
        let a: Vec<String> = folder_id_candidates("p1").collect();
        assert_eq!(a, folder_id_candidates("p1").collect::<Vec<_>>());
        assert_ne!(a[0], folder_id_candidates("p2").next().unwrap_or_default());
        assert!(a[0].starts_with("b1g") && a[0].len() == 20);
        assert_ne!(new_operation_id(), new_operation_id());
    }
}
