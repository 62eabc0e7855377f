//! Long-running operations as Azure and Yandex expose them. The catalog persists
//! them so a poll after a restart still answers; the payload is the dialect's own.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: String,
    /// Which dialect created it (`azure`, `yandex`): ids are only looked up within one.
    pub dialect: String,
    pub project_id: String,
    /// The resource the operation acts on (an image id), for per-resource listings.
    pub target: Option<String>,
    pub description: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub done: bool,
    /// Dialect-specific state (metadata, response, error), opaque to the catalog.
    pub payload: serde_json::Value,
    /// Client idempotency key; a repeated key returns the existing operation.
    pub idempotency_key: Option<String>,
}
