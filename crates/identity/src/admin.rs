//! Identity administration as plain async methods, shared by the Keystone API and
//! the command line: domains, projects, users, roles, role assignments, access
//! keys and application credentials. Authorization is the caller's business (see
//! `policy`); these methods validate input and keep the catalog consistent, and
//! revoke the tokens a change invalidates.

use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, Role, RoleAssignment, User};
use imagery_core::ports::CatalogError;
use imagery_core::time::{now, Timestamp};

use crate::error::{IdentityError, IdentityResult};
use crate::identity::Identity;
use crate::keyring::{grant_id, Subject};
use crate::password::MAX_SECRET_LEN;
use crate::principal::{implied_role, with_implied_roles, Principal};
use crate::secret::{new_id, random_b64, random_string, Secret, ALNUM, UPPER_ALNUM};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub domain_id: String,
    pub password: Option<Secret>,
    pub enabled: bool,
    pub default_project_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub password: Option<Secret>,
    pub enabled: Option<bool>,
    /// `Some(None)` clears the default project.
    pub default_project_id: Option<Option<String>>,
}

/// A role named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppCredential {
    pub name: String,
    pub description: String,
    /// Chosen by the user; a random one is generated when absent.
    pub secret: Option<Secret>,
    pub expires_at: Option<Timestamp>,
    /// Roles to delegate (and the roles they imply); `None` or an empty list
    /// delegates all the token's roles.
    pub roles: Option<Vec<RoleRef>>,
    pub unrestricted: bool,
}

/// What a role is assigned on: Keystone keeps domains as a kind of project, and
/// so does imagery's catalog (an assignment's `project_id` may be a domain id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentTarget {
    Project(Project),
    Domain(Domain),
}

impl AssignmentTarget {
    pub fn id(&self) -> &str {
        match self {
            AssignmentTarget::Project(p) => &p.id,
            AssignmentTarget::Domain(d) => &d.id,
        }
    }
}

/// Criteria for listing assignments; `effective` adds the implied roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    pub user_id: Option<String>,
    /// A project or domain id.
    pub target_id: Option<String>,
    pub role_id: Option<String>,
    pub effective: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentEntry {
    pub user_id: String,
    pub target_id: String,
    pub role_id: String,
    /// For an implied assignment (effective listing), the role that implies it.
    pub implied_by: Option<String>,
}

const MAX_NAME_LEN: usize = 255;
const MAX_PROJECT_NAME_LEN: usize = 64;

fn check_name(kind: &str, name: &str, max: usize) -> IdentityResult<()> {
    if name.trim().is_empty() {
        return Err(IdentityError::BadRequest(format!("Invalid input for field 'name': the {kind} name must not be empty.")));
    }
    if name.chars().count() > max {
        return Err(IdentityError::BadRequest(format!("Invalid input for field 'name': the {kind} name is longer than {max} characters.")));
    }
    Ok(())
}

fn check_password(password: &Secret) -> IdentityResult<()> {
    if password.expose().len() > MAX_SECRET_LEN {
        return Err(IdentityError::BadRequest(format!("Password validation error: the password is longer than {MAX_SECRET_LEN} bytes.")));
    }
    Ok(())
}

/// A duplicate reported by the catalog (a concurrent create won the race).
fn duplicate_as(kind: &'static str, details: String) -> impl FnOnce(CatalogError) -> IdentityError {
    move |e| match e {
        CatalogError::Duplicate(_) => IdentityError::conflict(kind, details),
        other => other.into(),
    }
}

impl Identity {
    // ----- domains -----

    pub async fn create_domain(&self, id: Option<String>, name: &str, description: &str, enabled: bool) -> IdentityResult<Domain> {
        check_name("domain", name, MAX_PROJECT_NAME_LEN)?;
        if self.catalog.find_domain_by_name(name).await?.is_some() {
            return Err(IdentityError::conflict("domain", format!("Duplicate entry found with name {name}")));
        }
        let domain = Domain { id: id.unwrap_or_else(new_id), name: name.to_string(), description: description.to_string(), enabled };
        self.catalog.insert_domain(&domain).await.map_err(duplicate_as("domain", format!("Duplicate entry found with name {name}")))?;
        Ok(domain)
    }

    pub async fn get_domain(&self, id: &str) -> IdentityResult<Option<Domain>> {
        Ok(self.catalog.get_domain(id).await?)
    }

    pub async fn list_domains(&self) -> IdentityResult<Vec<Domain>> {
        Ok(self.catalog.list_domains().await?)
    }

    // ----- projects -----

    pub async fn create_project(&self, new: NewProject) -> IdentityResult<Project> {
        check_name("project", &new.name, MAX_PROJECT_NAME_LEN)?;
        if self.catalog.get_domain(&new.domain_id).await?.is_none() {
            return Err(IdentityError::not_found("domain", &new.domain_id));
        }
        let duplicate = || format!("it is not permitted to have two projects with the same name in the same domain : {}", new.name);
        if self.catalog.find_project_by_name(&new.domain_id, &new.name).await?.is_some() {
            return Err(IdentityError::conflict("project", duplicate()));
        }
        let project = Project {
            id: new_id(),
            name: new.name.clone(),
            domain_id: new.domain_id.clone(),
            description: new.description,
            enabled: new.enabled,
        };
        self.catalog.insert_project(&project).await.map_err(duplicate_as("project", duplicate()))?;
        tracing::info!(project_id = %project.id, name = %project.name, "project created");
        Ok(project)
    }

    pub async fn get_project(&self, id: &str) -> IdentityResult<Option<Project>> {
        Ok(self.catalog.get_project(id).await?)
    }

    /// Projects, optionally of one domain and/or with one name.
    pub async fn list_projects(&self, domain_id: Option<&str>, name: Option<&str>) -> IdentityResult<Vec<Project>> {
        let mut projects = self.catalog.list_projects().await?;
        projects.retain(|p| domain_id.is_none_or(|d| p.domain_id == d) && name.is_none_or(|n| p.name == n));
        Ok(projects)
    }

    pub async fn update_project(&self, id: &str, update: ProjectUpdate) -> IdentityResult<Project> {
        let mut project = self.catalog.get_project(id).await?.ok_or_else(|| IdentityError::not_found("project", id))?;
        if let Some(name) = update.name.filter(|n| *n != project.name) {
            check_name("project", &name, MAX_PROJECT_NAME_LEN)?;
            if self.catalog.find_project_by_name(&project.domain_id, &name).await?.is_some() {
                return Err(IdentityError::conflict(
                    "project",
                    format!("it is not permitted to have two projects with the same name in the same domain : {name}"),
                ));
            }
            project.name = name;
        }
        if let Some(description) = update.description {
            project.description = description;
        }
        let disabling = update.enabled == Some(false) && project.enabled;
        if let Some(enabled) = update.enabled {
            project.enabled = enabled;
        }
        self.catalog.update_project(&project).await?;
        if disabling {
            self.revoke_subject(Subject::Project, &project.id).await?;
        }
        Ok(project)
    }

    /// Delete a project with its role assignments, revoking its tokens.
    pub async fn delete_project(&self, id: &str) -> IdentityResult<()> {
        if self.catalog.get_project(id).await?.is_none() {
            return Err(IdentityError::not_found("project", id));
        }
        self.revoke_subject(Subject::Project, id).await?;
        for assignment in self.catalog.list_role_assignments(None, Some(id), None).await? {
            self.catalog.revoke_role(&assignment).await?;
        }
        if !self.catalog.delete_project(id).await? {
            return Err(IdentityError::not_found("project", id));
        }
        tracing::info!(project_id = %id, "project deleted");
        Ok(())
    }

    // ----- users -----

    pub async fn create_user(&self, new: NewUser) -> IdentityResult<User> {
        check_name("user", &new.name, MAX_NAME_LEN)?;
        if self.catalog.get_domain(&new.domain_id).await?.is_none() {
            return Err(IdentityError::not_found("domain", &new.domain_id));
        }
        let duplicate = || format!("Duplicate entry found with name {} at domain ID {}", new.name, new.domain_id);
        if self.catalog.find_user_by_name(&new.domain_id, &new.name).await?.is_some() {
            return Err(IdentityError::conflict("user", duplicate()));
        }
        let password_hash = match &new.password {
            Some(password) => {
                check_password(password)?;
                Some(self.hasher.hash(password).await?)
            }
            None => None,
        };
        let user = User {
            id: new_id(),
            name: new.name.clone(),
            domain_id: new.domain_id.clone(),
            password_hash,
            enabled: new.enabled,
            default_project_id: new.default_project_id.clone(),
            created_at: now(),
        };
        self.catalog.insert_user(&user).await.map_err(duplicate_as("user", duplicate()))?;
        tracing::info!(user_id = %user.id, name = %user.name, "user created");
        Ok(user)
    }

    pub async fn get_user(&self, id: &str) -> IdentityResult<Option<User>> {
        Ok(self.catalog.get_user(id).await?)
    }

    /// Users, optionally of one domain and/or with one name.
    pub async fn list_users(&self, domain_id: Option<&str>, name: Option<&str>) -> IdentityResult<Vec<User>> {
        let mut users = self.catalog.list_users().await?;
        users.retain(|u| domain_id.is_none_or(|d| u.domain_id == d) && name.is_none_or(|n| u.name == n));
        Ok(users)
    }

    /// Change a user; disabling it or setting its password revokes its tokens.
    pub async fn update_user(&self, id: &str, update: UserUpdate) -> IdentityResult<User> {
        let mut user = self.catalog.get_user(id).await?.ok_or_else(|| IdentityError::not_found("user", id))?;
        if let Some(name) = update.name.filter(|n| *n != user.name) {
            check_name("user", &name, MAX_NAME_LEN)?;
            if self.catalog.find_user_by_name(&user.domain_id, &name).await?.is_some() {
                return Err(IdentityError::conflict(
                    "user",
                    format!("Duplicate entry found with name {name} at domain ID {}", user.domain_id),
                ));
            }
            user.name = name;
        }
        let password_changed = update.password.is_some();
        if let Some(password) = &update.password {
            check_password(password)?;
            user.password_hash = Some(self.hasher.hash(password).await?);
        }
        let disabling = update.enabled == Some(false) && user.enabled;
        if let Some(enabled) = update.enabled {
            user.enabled = enabled;
        }
        if let Some(default_project_id) = update.default_project_id {
            user.default_project_id = default_project_id;
        }
        self.catalog.update_user(&user).await?;
        if disabling || password_changed {
            self.revoke_subject(Subject::User, &user.id).await?;
        }
        Ok(user)
    }

    /// A user changing its own password: the original must match (an unknown
    /// user is `Unauthenticated` too, so this cannot probe for users).
    pub async fn change_password(&self, user_id: &str, original: &Secret, new: Secret) -> IdentityResult<()> {
        let Some(user) = self.catalog.get_user(user_id).await? else {
            self.hasher.verify_decoy(original).await?;
            tracing::warn!(%user_id, reason = "no such user", "password change refused");
            return Err(IdentityError::unauthenticated("no such user"));
        };
        let matches = match &user.password_hash {
            Some(hash) => self.hasher.verify(original, hash).await?,
            None => false,
        };
        if !matches {
            tracing::warn!(user_id = %user.id, user_name = %user.name, reason = "wrong original password", "password change refused");
            return Err(IdentityError::unauthenticated("wrong original password"));
        }
        self.update_user(user_id, UserUpdate { password: Some(new), ..UserUpdate::default() }).await.map(|_| ())
    }

    /// Delete a user with its assignments, keys and credentials, revoking its tokens.
    pub async fn delete_user(&self, id: &str) -> IdentityResult<()> {
        if self.catalog.get_user(id).await?.is_none() {
            return Err(IdentityError::not_found("user", id));
        }
        self.revoke_subject(Subject::User, id).await?;
        if !self.catalog.delete_user(id).await? {
            return Err(IdentityError::not_found("user", id));
        }
        tracing::info!(user_id = %id, "user deleted");
        Ok(())
    }

    // ----- roles -----

    pub async fn create_role(&self, name: &str) -> IdentityResult<Role> {
        check_name("role", name, MAX_NAME_LEN)?;
        let duplicate = || format!("Duplicate entry found with name {name}");
        if self.catalog.find_role_by_name(name).await?.is_some() {
            return Err(IdentityError::conflict("role", duplicate()));
        }
        let role = Role { id: new_id(), name: name.to_string() };
        self.catalog.insert_role(&role).await.map_err(duplicate_as("role", duplicate()))?;
        Ok(role)
    }

    pub async fn get_role(&self, id: &str) -> IdentityResult<Option<Role>> {
        Ok(self.catalog.get_role(id).await?)
    }

    pub async fn find_role(&self, reference: &RoleRef) -> IdentityResult<Option<Role>> {
        Ok(match reference {
            RoleRef::Id(id) => self.catalog.get_role(id).await?,
            RoleRef::Name(name) => self.catalog.find_role_by_name(name).await?,
        })
    }

    pub async fn list_roles(&self, name: Option<&str>) -> IdentityResult<Vec<Role>> {
        let mut roles = self.catalog.list_roles().await?;
        roles.retain(|r| name.is_none_or(|n| r.name == n));
        Ok(roles)
    }

    // ----- role assignments -----

    /// The project or domain with this id.
    pub async fn assignment_target(&self, id: &str) -> IdentityResult<Option<AssignmentTarget>> {
        if let Some(project) = self.catalog.get_project(id).await? {
            return Ok(Some(AssignmentTarget::Project(project)));
        }
        Ok(self.catalog.get_domain(id).await?.map(AssignmentTarget::Domain))
    }

    async fn checked_assignment(&self, user_id: &str, target_id: &str, role_id: &str) -> IdentityResult<RoleAssignment> {
        if self.catalog.get_role(role_id).await?.is_none() {
            return Err(IdentityError::not_found("role", role_id));
        }
        if self.catalog.get_user(user_id).await?.is_none() {
            return Err(IdentityError::not_found("user", user_id));
        }
        if self.assignment_target(target_id).await?.is_none() {
            return Err(IdentityError::not_found("project", target_id));
        }
        Ok(RoleAssignment { user_id: user_id.to_string(), project_id: target_id.to_string(), role_id: role_id.to_string() })
    }

    /// Grant a role to a user on a project or domain (idempotent).
    pub async fn grant_role(&self, user_id: &str, target_id: &str, role_id: &str) -> IdentityResult<()> {
        let assignment = self.checked_assignment(user_id, target_id, role_id).await?;
        self.catalog.grant_role(&assignment).await?;
        tracing::info!(%user_id, %target_id, %role_id, "role granted");
        Ok(())
    }

    /// Remove a role assignment and revoke the user's tokens on that target.
    pub async fn revoke_role(&self, user_id: &str, target_id: &str, role_id: &str) -> IdentityResult<()> {
        let assignment = self.checked_assignment(user_id, target_id, role_id).await?;
        if !self.catalog.revoke_role(&assignment).await? {
            return Err(assignment_not_found(&assignment));
        }
        self.revoke_subject(Subject::Grant, &grant_id(user_id, target_id)).await?;
        tracing::info!(%user_id, %target_id, %role_id, "role revoked");
        Ok(())
    }

    /// Is the role directly assigned? Unknown user, target or role is `NotFound`.
    pub async fn check_role(&self, user_id: &str, target_id: &str, role_id: &str) -> IdentityResult<bool> {
        let assignment = self.checked_assignment(user_id, target_id, role_id).await?;
        let found = self.catalog.list_role_assignments(Some(user_id), Some(target_id), Some(role_id)).await?;
        Ok(found.contains(&assignment))
    }

    /// Assignments matching the filter; with `effective`, each assignment is
    /// followed by the roles it implies (admin ⇒ member ⇒ reader).
    pub async fn list_role_assignments(&self, filter: &AssignmentFilter) -> IdentityResult<Vec<AssignmentEntry>> {
        let role_filter = if filter.effective { None } else { filter.role_id.as_deref() };
        let direct = self.catalog.list_role_assignments(filter.user_id.as_deref(), filter.target_id.as_deref(), role_filter).await?;
        let mut entries: Vec<AssignmentEntry> = direct
            .into_iter()
            .map(|a| AssignmentEntry { user_id: a.user_id, target_id: a.project_id, role_id: a.role_id, implied_by: None })
            .collect();
        if filter.effective {
            let roles = self.catalog.list_roles().await?;
            let by_name = |name: &str| roles.iter().find(|r| r.name.eq_ignore_ascii_case(name));
            let mut implied = Vec::new();
            for entry in &entries {
                let mut prior = roles.iter().find(|r| r.id == entry.role_id);
                while let Some(role) = prior.and_then(|p| implied_role(&p.name).and_then(by_name).map(|r| (p, r))) {
                    let (prior_role, role) = role;
                    implied.push(AssignmentEntry {
                        user_id: entry.user_id.clone(),
                        target_id: entry.target_id.clone(),
                        role_id: role.id.clone(),
                        implied_by: Some(prior_role.id.clone()),
                    });
                    prior = Some(role);
                }
            }
            for entry in implied {
                let already =
                    entries.iter().any(|e| e.user_id == entry.user_id && e.target_id == entry.target_id && e.role_id == entry.role_id);
                if !already {
                    entries.push(entry);
                }
            }
            if let Some(role_id) = &filter.role_id {
                entries.retain(|e| &e.role_id == role_id);
            }
        }
        Ok(entries)
    }

    /// Roles directly assigned to a user on a project or domain.
    pub async fn roles_on(&self, user_id: &str, target_id: &str) -> IdentityResult<Vec<Role>> {
        let assignments = self.catalog.list_role_assignments(Some(user_id), Some(target_id), None).await?;
        let roles = self.catalog.list_roles().await?;
        Ok(roles.into_iter().filter(|r| assignments.iter().any(|a| a.role_id == r.id)).collect())
    }

    /// Projects on which the user holds any role.
    pub async fn user_projects(&self, user_id: &str) -> IdentityResult<Vec<Project>> {
        let assignments = self.catalog.list_role_assignments(Some(user_id), None, None).await?;
        let mut projects = Vec::new();
        for target in dedup(assignments.iter().map(|a| a.project_id.as_str())) {
            if let Some(project) = self.catalog.get_project(target).await? {
                projects.push(project);
            }
        }
        Ok(projects)
    }

    /// Domains on which the user holds any role.
    pub async fn user_domains(&self, user_id: &str) -> IdentityResult<Vec<Domain>> {
        let assignments = self.catalog.list_role_assignments(Some(user_id), None, None).await?;
        let mut domains = Vec::new();
        for target in dedup(assignments.iter().map(|a| a.project_id.as_str())) {
            if let Some(domain) = self.catalog.get_domain(target).await? {
                domains.push(domain);
            }
        }
        Ok(domains)
    }

    /// Role entities for names carried in a token (a name no longer in the
    /// catalog keeps its name as id).
    pub async fn roles_named(&self, names: &[String]) -> IdentityResult<Vec<Role>> {
        let roles = self.catalog.list_roles().await?;
        Ok(names
            .iter()
            .map(|name| roles.iter().find(|r| &r.name == name).cloned().unwrap_or_else(|| Role { id: name.clone(), name: name.clone() }))
            .collect())
    }

    // ----- access keys -----

    /// A new key pair for a user: a 20-character id and a 40-character secret.
    /// `project_id` fixes the project it acts on (else the user's default project).
    pub async fn create_access_key(&self, user_id: &str, project_id: Option<&str>, description: &str) -> IdentityResult<AccessKey> {
        self.create_access_key_with_public_key(user_id, project_id, description, None).await
    }

    /// An access key that also carries a public key (PEM), for front doors that
    /// authenticate by a JWT the holder signs with the private half (Yandex
    /// service-account keys).
    pub async fn create_access_key_with_public_key(
        &self,
        user_id: &str,
        project_id: Option<&str>,
        description: &str,
        public_key_pem: Option<&str>,
    ) -> IdentityResult<AccessKey> {
        if let Some(pem) = public_key_pem {
            let pem = pem.trim();
            if !(pem.starts_with("-----BEGIN") && pem.contains("PUBLIC KEY-----")) || pem.len() > 16 * 1024 {
                return Err(IdentityError::BadRequest("The public key must be a PEM-encoded public key.".into()));
            }
        }
        if self.catalog.get_user(user_id).await?.is_none() {
            return Err(IdentityError::not_found("user", user_id));
        }
        if let Some(project_id) = project_id {
            if self.catalog.get_project(project_id).await?.is_none() {
                return Err(IdentityError::not_found("project", project_id));
            }
        }
        let key = AccessKey {
            id: random_string(UPPER_ALNUM, 20),
            secret: random_string(ALNUM, 40),
            user_id: user_id.to_string(),
            project_id: project_id.map(str::to_string),
            description: description.to_string(),
            created_at: now(),
            public_key: public_key_pem.map(|p| p.trim().to_string()),
        };
        self.catalog.insert_access_key(&self.seal_access_key(&key)?).await?;
        tracing::info!(access_key_id = %key.id, %user_id, "access key created");
        Ok(key)
    }

    pub async fn list_access_keys(&self, user_id: &str) -> IdentityResult<Vec<AccessKey>> {
        self.catalog.list_access_keys(user_id).await?.into_iter().map(|key| self.open_access_key(key)).collect()
    }

    pub async fn delete_access_key(&self, id: &str) -> IdentityResult<()> {
        if !self.catalog.delete_access_key(id).await? {
            return Err(IdentityError::not_found("access key", id));
        }
        Ok(())
    }

    // ----- application credentials -----

    /// Create an application credential for the principal's user on its project.
    /// Returns the stored credential and its secret, which is never shown again.
    pub async fn create_app_credential(
        &self,
        principal: &Principal,
        new: NewAppCredential,
    ) -> IdentityResult<(ApplicationCredential, String)> {
        let project_id = principal
            .project_id()
            .ok_or_else(|| IdentityError::Forbidden("A project-scoped token is required to create an application credential.".into()))?;
        if let Some(credential_id) = &principal.app_credential_id {
            let unrestricted = self.catalog.get_app_credential(credential_id).await?.is_some_and(|c| c.unrestricted);
            if !unrestricted {
                return Err(IdentityError::forbidden_action(
                    "Using method 'application_credential' is not allowed for managing additional application credentials",
                ));
            }
        }
        check_name("application credential", &new.name, MAX_NAME_LEN)?;
        if self.catalog.list_app_credentials(&principal.user_id).await?.iter().any(|c| c.name == new.name) {
            return Err(IdentityError::conflict("application_credential", format!("Duplicate name, {}", new.name)));
        }
        if new.expires_at.is_some_and(|t| t <= now()) {
            return Err(IdentityError::BadRequest("Invalid application credential: the expiration date is in the past".into()));
        }
        // An empty list means "all", as in Keystone (openstackclient sends `[]`).
        let roles = match new.roles.as_deref() {
            None | Some([]) => principal.roles.clone(),
            Some(requested) => {
                let mut names = Vec::new();
                for reference in requested {
                    let role = self.find_role(reference).await?.ok_or_else(|| match reference {
                        RoleRef::Id(id) => IdentityError::not_found("role", id),
                        RoleRef::Name(name) => IdentityError::not_found("role", name),
                    })?;
                    names.push(role.name);
                }
                let names = with_implied_roles(names);
                if names.iter().any(|n| !principal.has_role(n)) {
                    return Err(IdentityError::BadRequest(
                        "Invalid application credential: Cannot create an application credential with unassigned role".into(),
                    ));
                }
                names
            }
        };
        let secret = match new.secret {
            Some(secret) if !secret.expose().is_empty() => {
                check_password(&secret)?;
                secret.expose().to_string()
            }
            _ => random_b64(64),
        };
        let credential = ApplicationCredential {
            id: new_id(),
            name: new.name,
            user_id: principal.user_id.clone(),
            project_id: project_id.to_string(),
            description: new.description,
            secret_hash: self.hasher.hash(&Secret::new(secret.clone())).await?,
            roles,
            expires_at: new.expires_at,
            unrestricted: new.unrestricted,
            created_at: now(),
        };
        self.catalog
            .insert_app_credential(&credential)
            .await
            .map_err(duplicate_as("application_credential", format!("Duplicate name, {}", credential.name)))?;
        tracing::info!(application_credential_id = %credential.id, user_id = %credential.user_id, "application credential created");
        Ok((credential, secret))
    }

    pub async fn list_app_credentials(&self, user_id: &str) -> IdentityResult<Vec<ApplicationCredential>> {
        Ok(self.catalog.list_app_credentials(user_id).await?)
    }

    pub async fn get_app_credential(&self, id: &str) -> IdentityResult<Option<ApplicationCredential>> {
        Ok(self.catalog.get_app_credential(id).await?)
    }

    /// Delete an application credential and revoke the tokens obtained with it.
    pub async fn delete_app_credential(&self, id: &str) -> IdentityResult<()> {
        if !self.catalog.delete_app_credential(id).await? {
            return Err(IdentityError::NotFound(format!("Could not find Application Credential: {id}.")));
        }
        self.revoke_subject(Subject::AppCredential, id).await
    }
}

fn assignment_not_found(a: &RoleAssignment) -> IdentityError {
    IdentityError::NotFound(format!(
        "Could not find role assignment with role: {}, user or group: {}, project, domain, or system: {}.",
        a.role_id, a.user_id, a.project_id
    ))
}

fn dedup<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for id in ids {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen
}
