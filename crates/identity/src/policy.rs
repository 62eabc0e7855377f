//! Who may call the identity operations over an API, with Keystone's rule names
//! (`identity:create_project`, …) in the 403 message. Administration needs the
//! `admin` role; a user may read itself, its projects and its domain, and manage
//! its own application credentials and tokens.

use crate::error::{IdentityError, IdentityResult};
use crate::principal::{Principal, Scope};

/// The `service` role of OpenStack service users (they validate tokens).
const SERVICE_ROLE: &str = "service";

fn allow(allowed: bool, action: &str) -> IdentityResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(IdentityError::forbidden_action(action))
    }
}

/// Only an admin.
pub fn admin(caller: &Principal, action: &str) -> IdentityResult<()> {
    allow(caller.is_admin(), action)
}

/// An admin, or the user itself.
pub fn admin_or_user(caller: &Principal, user_id: &str, action: &str) -> IdentityResult<()> {
    allow(caller.is_admin() || caller.user_id == user_id, action)
}

/// An admin, a token scoped to that project, or a user holding a role on it
/// (`holds_role`, which the caller looks up only when the cheaper checks fail).
pub fn admin_or_project(caller: &Principal, project_id: &str, holds_role: bool, action: &str) -> IdentityResult<()> {
    allow(caller.is_admin() || caller.project_id() == Some(project_id) || holds_role, action)
}

/// Whether [`admin_or_project`] can decide without knowing the caller's roles
/// on the project.
pub fn needs_role_lookup(caller: &Principal, project_id: &str) -> bool {
    !caller.is_admin() && caller.project_id() != Some(project_id)
}

/// An admin, or a token whose user, project or domain scope lives in that domain.
pub fn admin_or_domain(caller: &Principal, domain_id: &str, action: &str) -> IdentityResult<()> {
    let related = caller.user_domain_id == domain_id
        || match &caller.scope {
            Scope::Project { domain_id: d, .. } => d == domain_id,
            Scope::Domain { id, .. } => id == domain_id,
            Scope::Unscoped => false,
        };
    allow(caller.is_admin() || related, action)
}

/// Validating, checking or revoking a token: an admin or service, or the
/// token's own user.
pub fn token_subject(caller: &Principal, subject: &Principal, action: &str) -> IdentityResult<()> {
    allow(caller.is_admin() || caller.has_role(SERVICE_ROLE) || caller.user_id == subject.user_id, action)
}
