//! A channel of `Bytes` chunks from async code to a blocking worker thread, bounded by
//! the bytes in flight rather than by a chunk count, so memory stays bounded whatever
//! the chunk sizes. Chunks are moved, never copied (a `Bytes` clone is a refcount).

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

pub(crate) struct ChunkSender {
    tx: mpsc::UnboundedSender<Chunk>,
    budget: Arc<Semaphore>,
    limit: u32,
}

pub(crate) struct ChunkReceiver {
    rx: mpsc::UnboundedReceiver<Chunk>,
    budget: Arc<Semaphore>,
}

/// A chunk together with its share of the byte budget, returned when it is dropped.
pub(crate) struct Chunk {
    pub(crate) bytes: Bytes,
    _permit: OwnedSemaphorePermit,
}

/// The receiving worker is gone.
#[derive(Debug)]
pub(crate) struct Closed;

/// A channel holding at most `budget_bytes` of queued chunks (a bigger chunk waits
/// until the queue is empty, then goes alone).
pub(crate) fn channel(budget_bytes: u32) -> (ChunkSender, ChunkReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(budget_bytes as usize));
    (
        ChunkSender {
            tx,
            budget: budget.clone(),
            limit: budget_bytes,
        },
        ChunkReceiver { rx, budget },
    )
}

impl ChunkSender {
    pub(crate) async fn send(&self, bytes: Bytes) -> Result<(), Closed> {
        if bytes.is_empty() {
            return Ok(());
        }
        let permits = u32::try_from(bytes.len())
            .unwrap_or(u32::MAX)
            .min(self.limit);
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| Closed)?;
        self.tx
            .send(Chunk {
                bytes,
                _permit: permit,
            })
            .map_err(|_| Closed)
    }
}

impl ChunkReceiver {
    /// The next chunk, or `None` once every sender is gone. Blocks: call it only from
    /// a worker thread, never from async code.
    pub(crate) fn blocking_recv(&mut self) -> Option<Chunk> {
        self.rx.blocking_recv()
    }
}

impl Drop for ChunkReceiver {
    fn drop(&mut self) {
        // Wake a sender waiting for budget: nobody will return it any more.
        self.budget.close();
    }
}
