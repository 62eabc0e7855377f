//! What the service reports to the process's metrics recorder (the server
//! exposes it to Prometheus): bytes moved, transfers in flight, failures of the
//! catalog and the blob store, garbage collection, jobs. Without a recorder
//! (tests, tools) every call is a no-op.

/// A transfer in progress, counted in `imagery_transfers_in_flight` until dropped.
pub(crate) struct Transfer(&'static str);

impl Transfer {
    pub(crate) fn start(direction: &'static str) -> Self {
        metrics::gauge!("imagery_transfers_in_flight", "direction" => direction).increment(1.0);
        Transfer(direction)
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        metrics::gauge!("imagery_transfers_in_flight", "direction" => self.0).decrement(1.0);
    }
}
