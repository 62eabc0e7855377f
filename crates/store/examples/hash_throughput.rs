//! Measures the upload hasher (and the whole hash + local write + commit pipeline)
//! against one-shot single-thread hashing of the same bytes. Not a test: run it in
//! release mode next to `sha512sum` on the same file.
//!
//! ```text
//! head -c 1G /dev/urandom > /tmp/imagery-1g.bin
//! cargo run --release -p imagery-store --example hash_throughput -- /tmp/imagery-1g.bin [store parent dir]
//! ```

use std::time::Instant;

use bytes::Bytes;
use imagery_core::ports::BlobStore;
use imagery_store::{ObjectBlobStore, UploadHasher};
use md5::{Digest, Md5};
use sha2::Sha512;

const CHUNK: usize = 64 * 1024;

fn mib_per_s(bytes: usize, started: Instant) -> f64 {
    bytes as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/imagery-1g.bin".into());
    let data = Bytes::from(std::fs::read(&path)?);
    let len = data.len();
    println!("{path}: {} MiB, {CHUNK} B chunks", len >> 20);

    let started = Instant::now();
    let sha = hex::encode(Sha512::digest(&data));
    println!("sha512 one-shot, 1 thread : {:7.1} MiB/s", mib_per_s(len, started));

    let started = Instant::now();
    let md5 = hex::encode(Md5::digest(&data));
    println!("md5 one-shot, 1 thread    : {:7.1} MiB/s", mib_per_s(len, started));

    let started = Instant::now();
    let mut hasher = UploadHasher::new()?;
    for at in (0..len).step_by(CHUNK) {
        hasher.update(&data.slice(at..(at + CHUNK).min(len))).await?;
    }
    let digests = hasher.finish().await?;
    println!("UploadHasher md5+sha512   : {:7.1} MiB/s", mib_per_s(len, started));
    assert_eq!((digests.md5_hex.as_str(), digests.sha512_hex.as_str()), (md5.as_str(), sha.as_str()));

    let store_parent = std::env::args().nth(2).unwrap_or_else(|| "/tmp".into());
    let dir = tempfile::tempdir_in(&store_parent)?;
    let store = ObjectBlobStore::local(dir.path()).await?;
    let started = Instant::now();
    let mut writer = store.begin_write().await?;
    for at in (0..len).step_by(CHUNK) {
        writer.write(data.slice(at..(at + CHUNK).min(len))).await?;
    }
    writer.commit(&"0".repeat(128)).await?;
    println!("local write + fsync only  : {:7.1} MiB/s", mib_per_s(len, started));
    store.delete(&"0".repeat(128)).await?;

    let started = Instant::now();
    let mut writer = store.begin_write().await?;
    let mut hasher = UploadHasher::new()?;
    for at in (0..len).step_by(CHUNK) {
        let chunk = data.slice(at..(at + CHUNK).min(len));
        hasher.update(&chunk).await?;
        writer.write(chunk).await?;
    }
    let digests = hasher.finish().await?;
    writer.commit(digests.content_key()).await?;
    println!("hash + local write + fsync: {:7.1} MiB/s (store under {store_parent})", mib_per_s(len, started));
    Ok(())
}
