//! The single-pass upload hasher: size, MD5 (Glance `checksum`) and SHA-512 (Glance
//! `os_hash_value` and the blob's content address), computed as the upload streams.
//!
//! MD5 and SHA-512 each run on their own OS thread, fed through byte-bounded channels
//! of `Bytes` (refcounted, never copied), so the two hashes overlap with each other
//! and with the async write of the same chunks. Throughput is that of the slower
//! hash, SHA-512, on one core.

use std::io;

use bytes::Bytes;
use md5::Md5;
use sha2::{Digest, Sha512};
use tokio::sync::oneshot;

use crate::pipe::{self, ChunkSender};

/// Bytes queued for each hash thread at most.
const HASH_BUDGET: u32 = 4 << 20;

/// What an upload hashed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub md5_hex: String,
    pub sha512_hex: String,
}

impl Digests {
    /// The blob key of these bytes: their SHA-512, in hex.
    pub fn content_key(&self) -> &str {
        &self.sha512_hex
    }
}

/// Feed it every chunk of an upload with [`update`](Self::update), then
/// [`finish`](Self::finish). Dropping it unfinished stops its threads.
pub struct UploadHasher {
    size: u64,
    md5: HashThread,
    sha512: HashThread,
}

struct HashThread {
    chunks: ChunkSender,
    hex: oneshot::Receiver<String>,
}

impl HashThread {
    fn spawn<D: Digest + Send + 'static>(name: &str) -> io::Result<Self> {
        let (chunks, mut rx) = pipe::channel(HASH_BUDGET);
        let (hex_tx, hex) = oneshot::channel();
        std::thread::Builder::new().name(name.to_string()).spawn(move || {
            let mut digest = D::new();
            while let Some(batch) = rx.blocking_recv() {
                for chunk in &batch.chunks {
                    digest.update(chunk);
                }
            }
            // The receiver is gone if the hasher was dropped unfinished: nothing to do.
            let _ = hex_tx.send(hex::encode(digest.finalize()));
        })?;
        Ok(HashThread { chunks, hex })
    }

    async fn finish(self) -> io::Result<String> {
        self.chunks.close().await.map_err(|_| thread_lost())?;
        self.hex.await.map_err(|_| thread_lost())
    }
}

fn thread_lost() -> io::Error {
    io::Error::other("a hash thread stopped unexpectedly")
}

impl UploadHasher {
    /// Starts the two hash threads.
    pub fn new() -> io::Result<Self> {
        Ok(UploadHasher { size: 0, md5: HashThread::spawn::<Md5>("imagery-md5")?, sha512: HashThread::spawn::<Sha512>("imagery-sha512")? })
    }

    /// Hash the next chunk. Returns once both threads have it queued, which waits
    /// only while a thread is a few MiB behind.
    pub async fn update(&mut self, chunk: &Bytes) -> io::Result<()> {
        self.md5.chunks.send(chunk.clone()).await.map_err(|_| thread_lost())?;
        self.sha512.chunks.send(chunk.clone()).await.map_err(|_| thread_lost())?;
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes hashed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Wait for both threads to drain their queues, and return the digests.
    pub async fn finish(self) -> io::Result<Digests> {
        let (md5_hex, sha512_hex) = futures::try_join!(self.md5.finish(), self.sha512.finish())?;
        Ok(Digests { size: self.size, md5_hex, sha512_hex })
    }
}
