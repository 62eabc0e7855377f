//! Who a token speaks for: the authenticated user, the scope it acts on and the
//! roles it holds there. Every front door turns its credentials into one.

use imagery_core::time::Timestamp;
use imagery_core::Caller;
use serde::{Deserialize, Serialize};

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Project { id: String, name: String, domain_id: String, domain_name: String },
    Domain { id: String, name: String },
    Unscoped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: String,
    pub user_name: String,
    pub user_domain_id: String,
    pub user_domain_name: String,
    pub scope: Scope,
    /// Role names on the scope, implied roles included (admin ⇒ member ⇒ reader), sorted.
    pub roles: Vec<String>,
    /// How the user authenticated, Keystone style: `password`, `token`,
    /// `application_credential`, `access_key`.
    pub methods: Vec<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Random id of this token, for revocation and audit.
    pub audit_id: String,
    /// The audit id of the token this one was re-scoped from (its audit chain);
    /// revoking that token revokes this one too.
    pub parent_audit_id: Option<String>,
    pub app_credential_id: Option<String>,
}

impl Principal {
    /// The context the service decides from.
    pub fn caller(&self) -> Caller {
        let mut caller = Caller::new(Some(self.user_id.clone()), self.project_id().map(str::to_string), self.roles.iter().cloned());
        caller.user_name = Some(self.user_name.clone());
        caller
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Domain { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(crate::ADMIN_ROLE)
    }

    /// Keystone's `audit_ids`: this token's id, then its chain's.
    pub fn audit_ids(&self) -> Vec<String> {
        std::iter::once(self.audit_id.clone()).chain(self.parent_audit_id.clone()).collect()
    }
}

/// Role names with the roles they imply added: admin ⇒ member ⇒ reader.
pub(crate) fn with_implied_roles(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for name in names {
        let mut current = Some(name);
        while let Some(role) = current {
            current = implied_role(&role).map(str::to_string);
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    roles.sort();
    roles
}

/// The role a role directly implies, if any.
pub(crate) fn implied_role(name: &str) -> Option<&'static str> {
    match name {
        n if n.eq_ignore_ascii_case(crate::ADMIN_ROLE) => Some(crate::MEMBER_ROLE),
        n if n.eq_ignore_ascii_case(crate::MEMBER_ROLE) => Some(crate::READER_ROLE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_member_and_reader() {
        assert_eq!(with_implied_roles(["admin".to_string()]), ["admin", "member", "reader"]);
        assert_eq!(with_implied_roles(["member".to_string(), "custom".to_string()]), ["custom", "member", "reader"]);
        assert_eq!(with_implied_roles(["reader".to_string()]), ["reader"]);
    }
}
