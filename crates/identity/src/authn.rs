//! Authentication: password, token re-scope, application credential and access
//! key credentials become a `Principal` scoped to a project, a domain, or
//! nothing. Scoping to a project or domain needs a role assignment on it; the
//! token then carries those roles plus the roles they imply.

use std::fmt;

use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, User};
use imagery_core::time::{now, Timestamp};
use subtle::ConstantTimeEq;

use crate::error::{IdentityError, IdentityResult};
use crate::identity::Identity;
use crate::principal::{with_implied_roles, Principal, Scope};
use crate::secret::{random_b64, Secret};

/// A domain named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

/// A user named by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// A project named by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// An application credential named by id, or by name for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCredentialRef {
    Id(String),
    Name { name: String, user: UserRef },
}

/// What the new token should be scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    /// No scope asked: the user's default project if it may use it, else
    /// unscoped (an application credential always scopes to its project).
    Default,
    /// Explicitly unscoped (Keystone's `"scope": "unscoped"`).
    Unscoped,
    Project(ProjectRef),
    Domain(DomainRef),
}

#[derive(Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Password {
        user: UserRef,
        password: Secret,
    },
    /// Re-scope an existing, valid token of the same user.
    Token {
        token: String,
    },
    ApplicationCredential {
        credential: AppCredentialRef,
        secret: Secret,
    },
}

/// A freshly minted token and whom it speaks for.
#[derive(Clone)]
pub struct IssuedToken {
    pub token: String,
    pub principal: Principal,
}

/// Tokens are bearer secrets: `Debug` shows `<redacted>` instead.
impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Password { user, password } => f.debug_struct("Password").field("user", user).field("password", password).finish(),
            AuthMethod::Token { .. } => f.debug_struct("Token").field("token", &"<redacted>").finish(),
            AuthMethod::ApplicationCredential { credential, secret } => {
                f.debug_struct("ApplicationCredential").field("credential", credential).field("secret", secret).finish()
            }
        }
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("token", &"<redacted>").field("principal", &self.principal).finish()
    }
}

impl fmt::Display for DomainRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainRef::Id(id) => write!(f, "domain id {id}"),
            DomainRef::Name(name) => write!(f, "domain {name}"),
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "user id {id}"),
            UserRef::Name { name, domain } => write!(f, "user {name} in {domain}"),
        }
    }
}

impl AuthMethod {
    fn name(&self) -> &'static str {
        match self {
            AuthMethod::Password { .. } => "password",
            AuthMethod::Token { .. } => "token",
            AuthMethod::ApplicationCredential { .. } => "application_credential",
        }
    }

    /// Who is trying, for the log (never a secret).
    fn claimant(&self) -> String {
        match self {
            AuthMethod::Password { user, .. } => user.to_string(),
            AuthMethod::Token { .. } => "token bearer".to_string(),
            AuthMethod::ApplicationCredential { credential: AppCredentialRef::Id(id), .. } => format!("application credential {id}"),
            AuthMethod::ApplicationCredential { credential: AppCredentialRef::Name { name, user }, .. } => {
                format!("application credential {name} of {user}")
            }
        }
    }
}

fn unauthenticated(reason: impl Into<String>) -> IdentityError {
    IdentityError::unauthenticated(reason)
}

impl Identity {
    /// Check the credentials and mint a token for the requested scope. Every
    /// failure is `Unauthenticated` with its reason logged (never the secret).
    pub async fn authenticate(&self, method: AuthMethod, scope: ScopeRequest) -> IdentityResult<IssuedToken> {
        let (method_name, claimant) = (method.name(), method.claimant());
        let result = match method {
            AuthMethod::Password { user, password } => self.password_principal(&user, &password, scope).await,
            AuthMethod::Token { token } => self.rescoped_principal(&token, scope).await,
            AuthMethod::ApplicationCredential { credential, secret } => self.app_credential_principal(&credential, &secret, scope).await,
        };
        match result {
            Ok(principal) => {
                let token = self.mint_token(&principal)?;
                tracing::info!(method = method_name, user_id = %principal.user_id, user_name = %principal.user_name, audit_id = %principal.audit_id, "token issued");
                Ok(IssuedToken { token, principal })
            }
            Err(IdentityError::Unauthenticated { reason }) => {
                tracing::warn!(method = method_name, who = %claimant, reason = %reason, "authentication failed");
                metrics::counter!("imagery_auth_failures_total", "method" => method_name.to_string()).increment(1);
                Err(IdentityError::Unauthenticated { reason })
            }
            Err(e) => Err(e),
        }
    }

    /// Check an access key's secret and return the principal it acts as.
    pub async fn authenticate_access_key(&self, key_id: &str, secret: &str) -> IdentityResult<Principal> {
        let result = async {
            let stored = self.catalog.get_access_key(key_id).await?.ok_or_else(|| unauthenticated("no such access key"))?;
            let key = self.open_access_key(stored)?;
            if !bool::from(key.secret.as_bytes().ct_eq(secret.as_bytes())) {
                return Err(unauthenticated("wrong access key secret"));
            }
            self.access_key_principal(&key).await
        }
        .await;
        if let Err(IdentityError::Unauthenticated { reason }) = &result {
            tracing::warn!(method = "access_key", access_key_id = %key_id, reason = %reason, "authentication failed");
            metrics::counter!("imagery_auth_failures_total", "method" => "access_key").increment(1);
        }
        result
    }

    /// An access key with its secret, for front doors that verify request
    /// signatures by recomputing them.
    pub async fn access_key(&self, id: &str) -> IdentityResult<Option<AccessKey>> {
        self.catalog.get_access_key(id).await?.map(|key| self.open_access_key(key)).transpose()
    }

    /// The principal an already verified access key acts as: its user, scoped to
    /// the key's project (or the user's default project).
    pub async fn access_key_principal(&self, key: &AccessKey) -> IdentityResult<Principal> {
        let (user, domain) = self.enabled_user(&key.user_id).await?;
        let project_id = key
            .project_id
            .clone()
            .or_else(|| user.default_project_id.clone())
            .ok_or_else(|| unauthenticated("the access key names no project and its user has no default project"))?;
        let methods = vec!["access_key".to_string()];
        self.scoped_principal(&user, &domain, &ScopeRequest::Project(ProjectRef::Id(project_id)), methods, None, None, None).await
    }

    async fn password_principal(&self, user_ref: &UserRef, password: &Secret, scope: ScopeRequest) -> IdentityResult<Principal> {
        let user = self.lookup_user(user_ref).await?;
        let Some((user, hash)) = user.and_then(|u| u.password_hash.clone().map(|h| (u, h))) else {
            self.hasher.verify_decoy(password).await?;
            return Err(unauthenticated("no such user, or the user has no password"));
        };
        if !self.hasher.verify(password, &hash).await? {
            return Err(unauthenticated("wrong password"));
        }
        let domain = self.check_user_enabled(&user).await?;
        self.scoped_principal(&user, &domain, &scope, vec!["password".to_string()], None, None, None).await
    }

    async fn rescoped_principal(&self, token: &str, scope: ScopeRequest) -> IdentityResult<Principal> {
        let original = self.validate(token)?;
        if original.app_credential_id.is_some() {
            return Err(unauthenticated("a token from an application credential cannot be re-scoped"));
        }
        let (user, domain) = self.enabled_user(&original.user_id).await?;
        let mut methods = vec!["token".to_string()];
        methods.extend(original.methods.iter().filter(|m| *m != "token").cloned());
        let chain = original.parent_audit_id.clone().unwrap_or_else(|| original.audit_id.clone());
        self.scoped_principal(&user, &domain, &scope, methods, Some(original.expires_at), Some(chain), None).await
    }

    async fn app_credential_principal(
        &self,
        reference: &AppCredentialRef,
        secret: &Secret,
        scope: ScopeRequest,
    ) -> IdentityResult<Principal> {
        let Some(credential) = self.lookup_app_credential(reference).await? else {
            self.hasher.verify_decoy(secret).await?;
            return Err(unauthenticated("no such application credential"));
        };
        if !self.hasher.verify(secret, &credential.secret_hash).await? {
            return Err(unauthenticated("wrong application credential secret"));
        }
        if credential.expires_at.is_some_and(|t| t <= now()) {
            return Err(unauthenticated("application credential expired"));
        }
        let (user, domain) = self.enabled_user(&credential.user_id).await?;
        match &scope {
            ScopeRequest::Default => {}
            ScopeRequest::Project(p) if self.lookup_project(p).await?.is_some_and(|p| p.id == credential.project_id) => {}
            _ => return Err(unauthenticated("an application credential only scopes to its own project")),
        }
        let project_scope = ScopeRequest::Project(ProjectRef::Id(credential.project_id.clone()));
        let methods = vec!["application_credential".to_string()];
        let mut principal = self
            .scoped_principal(&user, &domain, &project_scope, methods, credential.expires_at, None, Some(credential.id.clone()))
            .await?;
        // The credential delegates the roles it names that the user still holds.
        let delegated = with_implied_roles(credential.roles.iter().cloned());
        principal.roles.retain(|r| delegated.iter().any(|d| d.eq_ignore_ascii_case(r)));
        if principal.roles.is_empty() {
            return Err(unauthenticated("the user no longer holds any role of the application credential"));
        }
        Ok(principal)
    }

    async fn lookup_app_credential(&self, reference: &AppCredentialRef) -> IdentityResult<Option<ApplicationCredential>> {
        match reference {
            AppCredentialRef::Id(id) => Ok(self.catalog.get_app_credential(id).await?),
            AppCredentialRef::Name { name, user } => {
                let Some(user) = self.lookup_user(user).await? else {
                    return Ok(None);
                };
                Ok(self.catalog.list_app_credentials(&user.id).await?.into_iter().find(|c| &c.name == name))
            }
        }
    }

    /// The user (enabled, in an enabled domain) and its domain.
    async fn enabled_user(&self, user_id: &str) -> IdentityResult<(User, Domain)> {
        let user = self.catalog.get_user(user_id).await?.ok_or_else(|| unauthenticated("the user no longer exists"))?;
        let domain = self.check_user_enabled(&user).await?;
        Ok((user, domain))
    }

    async fn check_user_enabled(&self, user: &User) -> IdentityResult<Domain> {
        if !user.enabled {
            return Err(unauthenticated("the user is disabled"));
        }
        match self.catalog.get_domain(&user.domain_id).await? {
            Some(domain) if domain.enabled => Ok(domain),
            Some(_) => Err(unauthenticated("the user's domain is disabled")),
            None => Err(unauthenticated("the user's domain does not exist")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn scoped_principal(
        &self,
        user: &User,
        user_domain: &Domain,
        scope: &ScopeRequest,
        methods: Vec<String>,
        expires_no_later_than: Option<Timestamp>,
        parent_audit_id: Option<String>,
        app_credential_id: Option<String>,
    ) -> IdentityResult<Principal> {
        let (scope, roles) = self.resolve_scope(user, scope).await?;
        let issued_at = now();
        let ttl = chrono::Duration::from_std(self.config.token_ttl).unwrap_or(chrono::Duration::hours(1));
        let mut expires_at = issued_at.checked_add_signed(ttl).unwrap_or(issued_at);
        if let Some(limit) = expires_no_later_than {
            expires_at = expires_at.min(limit);
        }
        Ok(Principal {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            user_domain_id: user_domain.id.clone(),
            user_domain_name: user_domain.name.clone(),
            scope,
            roles,
            methods,
            issued_at,
            expires_at,
            audit_id: random_b64(16),
            parent_audit_id,
            app_credential_id,
        })
    }

    async fn resolve_scope(&self, user: &User, request: &ScopeRequest) -> IdentityResult<(Scope, Vec<String>)> {
        match request {
            ScopeRequest::Unscoped => Ok((Scope::Unscoped, Vec::new())),
            ScopeRequest::Default => {
                let Some(project_id) = &user.default_project_id else {
                    return Ok((Scope::Unscoped, Vec::new()));
                };
                match self.project_scope(user, &ProjectRef::Id(project_id.clone())).await {
                    Err(IdentityError::Unauthenticated { reason }) => {
                        tracing::debug!(user_id = %user.id, %reason, "default project unusable; issuing an unscoped token");
                        Ok((Scope::Unscoped, Vec::new()))
                    }
                    other => other,
                }
            }
            ScopeRequest::Project(reference) => self.project_scope(user, reference).await,
            ScopeRequest::Domain(reference) => {
                let domain = self.lookup_domain(reference).await?.ok_or_else(|| unauthenticated(format!("no such scope {reference}")))?;
                if !domain.enabled {
                    return Err(unauthenticated("the scope domain is disabled"));
                }
                let roles = self.role_names_on(&user.id, &domain.id).await?;
                if roles.is_empty() {
                    return Err(unauthenticated(format!("the user has no role on domain {}", domain.id)));
                }
                Ok((Scope::Domain { id: domain.id, name: domain.name }, roles))
            }
        }
    }

    async fn project_scope(&self, user: &User, reference: &ProjectRef) -> IdentityResult<(Scope, Vec<String>)> {
        let project: Project = self.lookup_project(reference).await?.ok_or_else(|| unauthenticated("no such scope project"))?;
        if !project.enabled {
            return Err(unauthenticated(format!("project {} is disabled", project.id)));
        }
        let domain = match self.catalog.get_domain(&project.domain_id).await? {
            Some(d) if d.enabled => d,
            _ => return Err(unauthenticated("the project's domain is missing or disabled")),
        };
        let roles = self.role_names_on(&user.id, &project.id).await?;
        if roles.is_empty() {
            return Err(unauthenticated(format!("the user has no role on project {}", project.id)));
        }
        Ok((Scope::Project { id: project.id, name: project.name, domain_id: domain.id, domain_name: domain.name }, roles))
    }

    /// Names of the roles a user holds on a project or domain, implied ones included.
    pub async fn role_names_on(&self, user_id: &str, target_id: &str) -> IdentityResult<Vec<String>> {
        let assignments = self.catalog.list_role_assignments(Some(user_id), Some(target_id), None).await?;
        if assignments.is_empty() {
            return Ok(Vec::new());
        }
        let roles = self.catalog.list_roles().await?;
        let names = assignments.iter().filter_map(|a| roles.iter().find(|r| r.id == a.role_id)).map(|r| r.name.clone());
        Ok(with_implied_roles(names))
    }

    pub async fn lookup_domain(&self, reference: &DomainRef) -> IdentityResult<Option<Domain>> {
        Ok(match reference {
            DomainRef::Id(id) => self.catalog.get_domain(id).await?,
            DomainRef::Name(name) => self.catalog.find_domain_by_name(name).await?,
        })
    }

    pub async fn lookup_user(&self, reference: &UserRef) -> IdentityResult<Option<User>> {
        match reference {
            UserRef::Id(id) => Ok(self.catalog.get_user(id).await?),
            UserRef::Name { name, domain } => match self.lookup_domain(domain).await? {
                Some(domain) => Ok(self.catalog.find_user_by_name(&domain.id, name).await?),
                None => Ok(None),
            },
        }
    }

    pub async fn lookup_project(&self, reference: &ProjectRef) -> IdentityResult<Option<Project>> {
        match reference {
            ProjectRef::Id(id) => Ok(self.catalog.get_project(id).await?),
            ProjectRef::Name { name, domain } => match self.lookup_domain(domain).await? {
                Some(domain) => Ok(self.catalog.find_project_by_name(&domain.id, name).await?),
                None => Ok(None),
            },
        }
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn auth_method_and_issued_token_debug_hide_secrets() {
        let user = UserRef::Id("u1".into());
        let methods = [
            AuthMethod::Password { user: user.clone(), password: Secret::new("pass-SECRET") },
            AuthMethod::Token { token: "tok-SECRET".into() },
            AuthMethod::ApplicationCredential { credential: AppCredentialRef::Id("c1".into()), secret: Secret::new("app-SECRET") },
        ];
        for method in &methods {
            let text = format!("{method:?} {method:#?}");
            assert!(!text.contains("SECRET") && text.contains("<redacted>"), "{text}");
        }
        let now = imagery_core::time::now();
        let principal = Principal {
            user_id: "u1".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            user_domain_name: "Default".into(),
            scope: Scope::Unscoped,
            roles: vec![],
            methods: vec![],
            issued_at: now,
            expires_at: now,
            audit_id: "audit".into(),
            parent_audit_id: None,
            app_credential_id: None,
        };
        let issued = IssuedToken { token: "t1.tok-SECRET".into(), principal };
        let text = format!("{issued:?}");
        assert!(!text.contains("SECRET") && text.contains("<redacted>") && text.contains("alice"), "{text}");
    }
}
