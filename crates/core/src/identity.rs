//! Identity entities shared by every authentication front door: domains, projects,
//! users, roles and their assignments, access keys, application credentials, and
//! the signing keys tokens are minted with.
//!
//! Types holding a secret (or a hash of one) have a hand-written `Debug` that
//! shows `<redacted>` in its place, so a stray `{:?}` cannot leak it into a log.

use std::fmt;

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

const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("domain_id", &self.domain_id)
            .field("password_hash", &self.password_hash.as_ref().map(|_| REDACTED))
            .field("enabled", &self.enabled)
            .field("default_project_id", &self.default_project_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &REDACTED)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("description", &self.description)
            .field("created_at", &self.created_at)
            .field("public_key", &self.public_key)
            .finish()
    }
}

impl fmt::Debug for ApplicationCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationCredential")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("description", &self.description)
            .field("secret_hash", &REDACTED)
            .field("roles", &self.roles)
            .field("expires_at", &self.expires_at)
            .field("unrestricted", &self.unrestricted)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("material", &REDACTED)
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now;

    const SECRET: &str = "s3cr3t-VALUE-that-must-not-show";

    fn shown(value: &impl fmt::Debug) -> String {
        let text = format!("{value:?} {value:#?}");
        assert!(text.contains(REDACTED), "{text}");
        text
    }

    #[test]
    fn access_key_debug_hides_the_secret() {
        let key = AccessKey {
            id: "AKID".into(),
            secret: SECRET.into(),
            user_id: "u".into(),
            project_id: None,
            description: String::new(),
            created_at: now(),
            public_key: None,
        };
        let text = shown(&key);
        assert!(!text.contains(SECRET) && text.contains("AKID"), "{text}");
    }

    #[test]
    fn signing_key_debug_hides_the_material() {
        let key = SigningKey { id: "k1".into(), kind: "token-hmac".into(), material: SECRET.into(), created_at: now() };
        let text = shown(&key);
        assert!(!text.contains(SECRET) && text.contains("k1"), "{text}");
    }

    #[test]
    fn user_debug_hides_the_password_hash() {
        let user = User {
            id: "u1".into(),
            name: "alice".into(),
            domain_id: "default".into(),
            password_hash: Some(SECRET.into()),
            enabled: true,
            default_project_id: None,
            created_at: now(),
        };
        let text = shown(&user);
        assert!(!text.contains(SECRET) && text.contains("alice"), "{text}");
    }

    #[test]
    fn app_credential_debug_hides_the_secret_hash() {
        let credential = ApplicationCredential {
            id: "c1".into(),
            name: "ci".into(),
            user_id: "u1".into(),
            project_id: "p1".into(),
            description: String::new(),
            secret_hash: SECRET.into(),
            roles: vec!["member".into()],
            expires_at: None,
            unrestricted: false,
            created_at: now(),
        };
        let text = shown(&credential);
        assert!(!text.contains(SECRET) && text.contains("ci"), "{text}");
    }
}
