//! What several nodes share through the catalog: leases (a node's heartbeat, the
//! one garbage collector), background jobs any node may run, and the signatures
//! seen recently (replay protection). No I/O here; the catalog stores them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time::Timestamp;

/// A named lease: held by `holder` until `expires_at`, then free for anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub expires_at: Timestamp,
}

/// The lease name of a node's heartbeat.
pub fn node_lease(node_id: &str) -> String {
    format!("node/{node_id}")
}

/// The lease the garbage collector holds while it runs, cluster-wide.
pub const GC_LEASE: &str = "gc";

/// Where a job is in its life (Glance's task statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a node to claim it.
    Pending,
    /// Claimed by a node whose lease on it has not expired.
    Processing,
    Success,
    Failure,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Processing => "processing",
            JobState::Success => "success",
            JobState::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => JobState::Pending,
            "processing" => JobState::Processing,
            "success" => JobState::Success,
            "failure" => JobState::Failure,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Success | JobState::Failure)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Background work persisted in the catalog so that it survives the node that
/// accepted it: claimed with a lease by any node, retried or failed with a reason.
/// Glance tasks, IMS jobs and the clouds' operations are views of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    /// What to do (`import`, …); `input` holds the parameters.
    pub kind: String,
    pub image_id: Option<Uuid>,
    /// The project the job acts for.
    pub owner: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub state: JobState,
    pub input: serde_json::Value,
    /// Why it failed, or what it is doing (empty when there is nothing to say).
    pub message: String,
    pub result: Option<serde_json::Value>,
    /// How many times a node has claimed it.
    pub attempts: i32,
    /// The node running it (while `processing`), or that ran it last.
    pub claimed_by: Option<String>,
    /// When a claim took it over from another node, that node.
    pub taken_from: Option<String>,
    pub lease_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Finished jobs are purged after this instant.
    pub expires_at: Option<Timestamp>,
}

impl Job {
    pub fn new(kind: &str, input: serde_json::Value, now: Timestamp) -> Self {
        Job {
            id: Uuid::new_v4(),
            kind: kind.to_string(),
            image_id: None,
            owner: None,
            user_id: None,
            request_id: None,
            state: JobState::Pending,
            input,
            message: String::new(),
            result: None,
            attempts: 0,
            claimed_by: None,
            taken_from: None,
            lease_expires_at: None,
            created_at: now,
            updated_at: now,
            expires_at: None,
        }
    }
}

/// How a job ends a claim: finished, or handed back for another attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub state: JobState,
    pub message: String,
    pub result: Option<serde_json::Value>,
    pub expires_at: Option<Timestamp>,
}

/// What the replay store says of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: recorded until it expires.
    Fresh,
    /// Already recorded and not yet expired.
    Replayed,
    /// The scope (an access key) holds as many live signatures as its budget allows.
    OverBudget,
}
