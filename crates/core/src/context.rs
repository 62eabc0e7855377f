//! Who is calling. Every dialect authenticates its own way and produces a `Caller`;
//! the service decides everything from it.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// The project (tenant) the caller acts for; `None` for unscoped or no-auth callers.
    pub project_id: Option<String>,
    /// Lower-cased role names on `project_id`.
    pub roles: BTreeSet<String>,
}

impl Caller {
    pub fn new(user_id: Option<String>, project_id: Option<String>, roles: impl IntoIterator<Item = String>) -> Self {
        Caller { user_id, user_name: None, project_id, roles: roles.into_iter().map(|r| r.to_ascii_lowercase()).collect() }
    }

    /// The development no-auth context: an admin without a project, as Glance's
    /// `unauthenticated-context` pipeline does.
    pub fn anonymous_admin() -> Self {
        Caller::new(None, None, ["admin".to_string()])
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// `admin` implies `member` implies `reader`, as Keystone's implied roles do.
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn is_member(&self) -> bool {
        self.is_admin() || self.has_role("member") || self.has_role("_member_")
    }

    pub fn is_reader(&self) -> bool {
        self.is_member() || self.has_role("reader")
    }

    pub fn project(&self) -> Option<&str> {
        self.project_id.as_deref()
    }
}
