//! This node among others: its heartbeat lease in the catalog. A node that stops
//! renewing it (crashed, cut off) is presumed dead once it expires, and the others
//! take over its work (see `recover` in `data.rs` and the job claims in `jobs.rs`).

use std::time::Duration;

use imagery_core::cluster::node_lease;
use imagery_core::time::now;
use imagery_core::{DomainError, DomainResult};

use crate::{backend, ImageService, SystemCaller};

impl ImageService {
    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// Take this node's heartbeat lease as `incarnation` (this run of the process).
    /// `previous` is the incarnation this node's last run recorded, if it is known
    /// to be dead (the server holds the data directory's lock): its lease is taken
    /// over at once. Any other holder is another live process using this node id:
    /// wait up to one lease period for it to expire (a crash elsewhere), then refuse.
    pub async fn join_cluster(&self, _system: &SystemCaller, incarnation: &str, previous: Option<&str>) -> DomainResult<()> {
        let name = node_lease(&self.config.node_id);
        let deadline = tokio::time::Instant::now() + self.config.node_lease().to_std().unwrap_or(Duration::from_secs(15));
        loop {
            let t = now();
            if self.catalog.acquire_lease(&name, incarnation, t, t + self.config.node_lease()).await.map_err(backend)? {
                return Ok(());
            }
            let holder = self.catalog.get_lease(&name).await.map_err(backend)?.map(|l| l.holder);
            if let (Some(previous), Some(holder)) = (previous, holder.as_deref()) {
                if previous == holder {
                    tracing::info!(node = %self.config.node_id, "taking over the heartbeat lease of this node's previous run");
                    self.catalog.release_lease(&name, previous).await.map_err(backend)?;
                    continue;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DomainError::Conflict(
                    format!(
                        "Another live imagery node uses the node id '{}' (its heartbeat lease is held by {}). Give every node its own id (node_id in the configuration, or its own data directory).",
                        self.config.node_id,
                        holder.unwrap_or_default()
                    )
                    .into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Renew the heartbeat; `false` when another process took this node id's lease
    /// (this node was presumed dead: its in-flight work was taken over).
    pub async fn heartbeat(&self, _system: &SystemCaller, incarnation: &str) -> DomainResult<bool> {
        let t = now();
        self.catalog.acquire_lease(&node_lease(&self.config.node_id), incarnation, t, t + self.config.node_lease()).await.map_err(backend)
    }

    /// How often to renew the heartbeat: a third of the lease.
    pub fn heartbeat_interval(&self) -> Duration {
        self.config.node_lease().to_std().unwrap_or(Duration::from_secs(15)) / 3
    }

    /// Leaving cleanly (after in-flight work drained): others need not wait for the lease.
    pub async fn leave_cluster(&self, _system: &SystemCaller, incarnation: &str) {
        self.drain_workers(Duration::from_secs(10)).await;
        if let Err(err) = self.catalog.release_lease(&node_lease(&self.config.node_id), incarnation).await {
            tracing::warn!(%err, "could not release the heartbeat lease; it expires by itself");
        }
    }
}

impl ImageService {
    /// Readiness: can this node reach the catalog and the blob store right now?
    /// `Err` names which one is not answering (for the operator, not for clients).
    pub async fn check_ready(&self) -> Result<(), &'static str> {
        if self.catalog.get_lease(&node_lease(&self.config.node_id)).await.is_err() {
            return Err("catalog");
        }
        match self.blobs.read("readiness-probe-0000000000000000", None).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(_) => Err("blob store"),
        }
    }
}
