//! The upload hasher against known vectors and one-shot hashing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use md5::{Digest, Md5};
use sha2::Sha512;

use imagery_store::UploadHasher;

async fn hash_in_chunks(data: &[u8], chunk: usize) -> imagery_store::Digests {
    let mut hasher = UploadHasher::new().unwrap();
    let shared = Bytes::copy_from_slice(data);
    let mut at = 0;
    while at < shared.len() {
        let end = (at + chunk).min(shared.len());
        hasher.update(&shared.slice(at..end)).await.unwrap();
        at = end;
    }
    hasher.finish().await.unwrap()
}

#[tokio::test]
async fn empty_input() {
    let d = UploadHasher::new().unwrap().finish().await.unwrap();
    assert_eq!(d.size, 0);
    assert_eq!(d.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        d.sha512_hex,
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    );
    assert_eq!(d.content_key(), d.sha512_hex);
}

#[tokio::test]
async fn known_vector_abc() {
    let d = hash_in_chunks(b"abc", 1).await;
    assert_eq!(d.size, 3);
    assert_eq!(d.md5_hex, "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        d.sha512_hex,
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_chunk_equals_one_shot() {
    let data: Vec<u8> = (0..5_000_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let md5 = hex::encode(Md5::digest(&data));
    let sha512 = hex::encode(Sha512::digest(&data));
    for chunk in [1_000_003, 65_536, 4097, 16 << 20] {
        let d = hash_in_chunks(&data, chunk).await;
        assert_eq!((d.size, &d.md5_hex, &d.sha512_hex), (data.len() as u64, &md5, &sha512), "chunk {chunk}");
    }
    let few = hash_in_chunks(&data[..10_000], 7).await;
    assert_eq!(few.sha512_hex, hex::encode(Sha512::digest(&data[..10_000])));
}

#[tokio::test]
async fn dropping_an_unfinished_hasher_is_fine() {
    let mut hasher = UploadHasher::new().unwrap();
    hasher.update(&Bytes::from_static(b"partial")).await.unwrap();
    assert_eq!(hasher.size(), 7);
    drop(hasher);
}
