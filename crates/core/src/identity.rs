//! Identity entities shared by every authentication front door: domains, projects,
//! users, roles and their assignments, access keys, application credentials, and
//! the signing keys tokens are minted with.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    /// Argon2 PHC string; `None` means password login is impossible.
    pub password_hash: Option<String>,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub user_id: String,
    pub project_id: String,
    pub role_id: String,
}

/// A long-lived key pair for signature- or secret-based front doors (Huawei AK/SK,
/// Azure client credentials, Yandex OAuth tokens). The secret must be recoverable
/// because request signatures are verified by recomputing them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub user_id: String,
    /// The project the key acts for; `None` means the user's default project.
    pub project_id: Option<String>,
    pub description: String,
    pub created_at: Timestamp,
    /// Public key (PEM) for keys that authenticate by signed JWT (Yandex service-account keys).
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCredential {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub project_id: String,
    pub description: String,
    /// Argon2 PHC string of the secret.
    pub secret_hash: String,
    /// Role names delegated; a subset of the user's roles on the project at creation.
    pub roles: Vec<String>,
    pub expires_at: Option<Timestamp>,
    pub unrestricted: bool,
    pub created_at: Timestamp,
}

/// Key material for minting tokens. `kind` tells which front door uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub id: String,
    pub kind: String,
    pub material: String,
    pub created_at: Timestamp,
}

/// A revoked token, by its audit id, kept until the token would have expired anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub audit_id: String,
    pub expires_at: Timestamp,
}
