//! A channel of `Bytes` chunks from async code to a blocking worker thread, bounded by
//! the bytes in flight rather than by a chunk count, so memory stays bounded whatever
//! the chunk sizes. Chunks are moved, never copied (a `Bytes` clone is a refcount).
//!
//! Small chunks (HTTP bodies arrive in pieces of a few KiB) are handed over in
//! batches of about [`BATCH_BYTES`]: one wake-up of the worker per batch instead of
//! per chunk keeps context switches from eating the two cores the hashes need.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Bytes gathered before the worker is handed a batch.
const BATCH_BYTES: usize = 1 << 20;

pub(crate) struct ChunkSender {
    tx: mpsc::UnboundedSender<Batch>,
    budget: Arc<Semaphore>,
    limit: u32,
    pending: Vec<Bytes>,
    pending_bytes: usize,
}

pub(crate) struct ChunkReceiver {
    rx: mpsc::UnboundedReceiver<Batch>,
    budget: Arc<Semaphore>,
}

/// Consecutive chunks together with their share of the byte budget, returned when
/// the batch is dropped.
pub(crate) struct Batch {
    pub(crate) chunks: Vec<Bytes>,
    _permit: OwnedSemaphorePermit,
}

/// The receiving worker is gone.
#[derive(Debug)]
pub(crate) struct Closed;

/// A channel holding at most `budget_bytes` of queued chunks (a bigger batch waits
/// until the queue is empty, then goes alone).
pub(crate) fn channel(budget_bytes: u32) -> (ChunkSender, ChunkReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(budget_bytes as usize));
    let sender = ChunkSender { tx, budget: budget.clone(), limit: budget_bytes, pending: Vec::new(), pending_bytes: 0 };
    (sender, ChunkReceiver { rx, budget })
}

impl ChunkSender {
    /// Queue `bytes`; it reaches the worker with its batch.
    pub(crate) async fn send(&mut self, bytes: Bytes) -> Result<(), Closed> {
        if self.tx.is_closed() {
            return Err(Closed);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        self.pending_bytes += bytes.len();
        self.pending.push(bytes);
        if self.pending_bytes >= BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hand the pending chunks over now.
    pub(crate) async fn flush(&mut self) -> Result<(), Closed> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let permits = u32::try_from(self.pending_bytes).unwrap_or(u32::MAX).min(self.limit);
        let permit = self.budget.clone().acquire_many_owned(permits).await.map_err(|_| Closed)?;
        let chunks = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.tx.send(Batch { chunks, _permit: permit }).map_err(|_| Closed)
    }

    /// Flush, then close the channel: the worker sees the end of the stream.
    pub(crate) async fn close(mut self) -> Result<(), Closed> {
        self.flush().await
    }
}

impl ChunkReceiver {
    /// The next batch, or `None` once the sender is gone. Blocks: call it only from a
    /// worker thread, never from async code.
    pub(crate) fn blocking_recv(&mut self) -> Option<Batch> {
        self.rx.blocking_recv()
    }
}

impl Drop for ChunkReceiver {
    fn drop(&mut self) {
        // Wake a sender waiting for budget: nobody will return it any more.
        self.budget.close();
    }
}
