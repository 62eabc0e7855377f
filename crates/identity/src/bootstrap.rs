//! First start and `imagery bootstrap`: the `Default` domain, the `admin`,
//! `member` and `reader` roles, the `admin` project and the `admin` user with the
//! admin role on it. On first start the generated password is written once to an
//! owner-only `admin-openrc.sh`.

use std::io::Write;
use std::path::{Path, PathBuf};

use imagery_core::identity::{Domain, Project, Role, User};
use imagery_core::ports::CatalogError;

use crate::admin::{NewProject, NewUser, UserUpdate};
use crate::error::{IdentityError, IdentityResult};
use crate::identity::Identity;
use crate::secret::{random_string, Secret, ALNUM};
use crate::{ADMIN_ROLE, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, MEMBER_ROLE, READER_ROLE};

/// The user and project bootstrap creates.
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PROJECT: &str = "admin";
/// The credentials file written on first start, in the data directory.
pub const OPENRC_FILE: &str = "admin-openrc.sh";

/// What `bootstrap` found or did.
#[derive(Debug, Clone)]
pub struct BootstrapReport {
    pub admin_user_id: String,
    pub admin_project_id: String,
    /// The admin user did not exist before.
    pub created_admin: bool,
    /// The password set now (generated if none was given), if any was set.
    pub admin_password: Option<Secret>,
}

impl Identity {
    /// On a catalog with no `admin` user in `Default`, bootstrap with a random
    /// password and write `<data_dir>/admin-openrc.sh` (mode 0600) for it.
    /// Returns the file's path, or `None` when already bootstrapped.
    pub async fn bootstrap_first_start(&self, data_dir: &Path, public_auth_url: &str) -> IdentityResult<Option<PathBuf>> {
        if self.admin_user().await?.is_some() {
            return Ok(None);
        }
        let password = random_string(ALNUM, 32);
        let path = data_dir.join(OPENRC_FILE);
        // The file comes first: an admin whose password nobody knows would be worse
        // than a file for an admin that a crash left uncreated.
        write_owner_only(&path, openrc(public_auth_url, &password).as_bytes())
            .map_err(|e| IdentityError::Backend(format!("cannot write {}: {e}", path.display())))?;
        match self.bootstrap_with(Some(Secret::new(password)), true).await {
            Ok(report) if report.created_admin => {
                tracing::info!(path = %path.display(), "first start: created the admin user; credentials written to the openrc file");
                Ok(Some(path))
            }
            Ok(_) => {
                // Another process bootstrapped concurrently; its password is the one.
                let _ = std::fs::remove_file(&path);
                Ok(None)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Make sure the domain, roles, project and admin exist (idempotent). A given
    /// password is set on the admin even if it exists; a new admin without one
    /// gets a random password, returned in the report.
    pub async fn bootstrap(&self, admin_password: Option<String>) -> IdentityResult<BootstrapReport> {
        self.bootstrap_with(admin_password.map(Secret::new), false).await
    }

    async fn admin_user(&self) -> IdentityResult<Option<User>> {
        Ok(self.catalog.find_user_by_name(DEFAULT_DOMAIN_ID, ADMIN_USER).await?)
    }

    async fn bootstrap_with(&self, password: Option<Secret>, only_if_new: bool) -> IdentityResult<BootstrapReport> {
        if self.catalog.get_domain(DEFAULT_DOMAIN_ID).await?.is_none() {
            let domain = Domain {
                id: DEFAULT_DOMAIN_ID.into(),
                name: DEFAULT_DOMAIN_NAME.into(),
                description: "The default domain".into(),
                enabled: true,
            };
            tolerate_duplicate(self.catalog.insert_domain(&domain).await)?;
        }
        let mut admin_role = None;
        for name in [ADMIN_ROLE, MEMBER_ROLE, READER_ROLE] {
            let role = match self.catalog.find_role_by_name(name).await? {
                Some(role) => role,
                None => {
                    let role = Role { id: crate::secret::new_id(), name: name.into() };
                    tolerate_duplicate(self.catalog.insert_role(&role).await)?;
                    self.catalog.find_role_by_name(name).await?.ok_or_else(|| IdentityError::Backend(format!("role {name} vanished")))?
                }
            };
            if name == ADMIN_ROLE {
                admin_role = Some(role);
            }
        }
        let admin_role = admin_role.ok_or_else(|| IdentityError::Backend("admin role missing".into()))?;
        let project = self.ensure_admin_project().await?;

        let (user, created_admin, admin_password) = match self.admin_user().await? {
            Some(user) if only_if_new => (user, false, None),
            Some(user) => match password {
                Some(password) => {
                    let update = UserUpdate { password: Some(password.clone()), enabled: Some(true), ..UserUpdate::default() };
                    (self.update_user(&user.id, update).await?, false, Some(password))
                }
                None => (user, false, None),
            },
            None => {
                let password = password.unwrap_or_else(|| Secret::new(random_string(ALNUM, 32)));
                let new = NewUser {
                    name: ADMIN_USER.into(),
                    domain_id: DEFAULT_DOMAIN_ID.into(),
                    password: Some(password.clone()),
                    enabled: true,
                    default_project_id: Some(project.id.clone()),
                };
                match self.create_user(new).await {
                    Ok(user) => (user, true, Some(password)),
                    Err(IdentityError::Conflict(_)) => {
                        let user = self.admin_user().await?.ok_or_else(|| IdentityError::Backend("admin user vanished".into()))?;
                        (user, false, None)
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        self.grant_role(&user.id, &project.id, &admin_role.id).await?;
        Ok(BootstrapReport { admin_user_id: user.id, admin_project_id: project.id, created_admin, admin_password })
    }

    async fn ensure_admin_project(&self) -> IdentityResult<Project> {
        if let Some(project) = self.catalog.find_project_by_name(DEFAULT_DOMAIN_ID, ADMIN_PROJECT).await? {
            return Ok(project);
        }
        let new = NewProject {
            name: ADMIN_PROJECT.into(),
            domain_id: DEFAULT_DOMAIN_ID.into(),
            description: "Bootstrap project for the admin user".into(),
            enabled: true,
        };
        match self.create_project(new).await {
            Ok(project) => Ok(project),
            Err(IdentityError::Conflict(_)) => self
                .catalog
                .find_project_by_name(DEFAULT_DOMAIN_ID, ADMIN_PROJECT)
                .await?
                .ok_or_else(|| IdentityError::Backend("admin project vanished".into())),
            Err(e) => Err(e),
        }
    }
}

fn tolerate_duplicate(result: Result<(), CatalogError>) -> IdentityResult<()> {
    match result {
        Ok(()) | Err(CatalogError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn openrc(auth_url: &str, password: &str) -> String {
    // Plain when the value is shell-safe (the usual URL and the generated
    // password), single-quoted otherwise.
    let quote = |v: &str| {
        if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || ":/._~%+@,-".contains(c)) {
            v.to_string()
        } else {
            format!("'{}'", v.replace('\'', r"'\''"))
        }
    };
    format!(
        "# imagery admin credentials, written once on first start.\n\
         export OS_AUTH_URL={}\n\
         export OS_USERNAME={ADMIN_USER}\n\
         export OS_PASSWORD={}\n\
         export OS_PROJECT_NAME={ADMIN_PROJECT}\n\
         export OS_USER_DOMAIN_NAME={DEFAULT_DOMAIN_NAME}\n\
         export OS_PROJECT_DOMAIN_NAME={DEFAULT_DOMAIN_NAME}\n\
         export OS_IDENTITY_API_VERSION=3\n",
        quote(auth_url),
        quote(password),
    )
}

/// Write `contents` to `path` through a temporary file created with mode 0600,
/// so the secret is never readable by others, even for a moment, and a reader
/// never sees half a file.
fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", OPENRC_FILE, crate::secret::random_string(ALNUM, 8)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
