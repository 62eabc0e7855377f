//! `imagery bootstrap` and `imagery admin …`: identity administration straight on
//! the catalog, for operators (and for setting up access keys before any token
//! exists).

use std::sync::Arc;

use clap::Subcommand;
use imagery_identity::{Identity, IdentityConfig, NewProject, NewUser, RoleRef, Secret};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a project in the Default domain.
    ProjectCreate {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects.
    ProjectList,
    /// Create a user (optionally with a role on a project).
    UserCreate {
        name: String,
        #[arg(long, env = "IMAGERY_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Secret,
        /// Project (name or id) to give the user a role on.
        #[arg(long)]
        project: Option<String>,
        /// Role to grant on --project.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Grant a role to a user on a project.
    RoleAdd {
        #[arg(long)]
        user: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        role: String,
    },
    /// Create an access key (id + secret) for a user: Huawei AK/SK, Azure client
    /// credentials, Yandex OAuth tokens. The secret is printed once.
    AccessKeyCreate {
        #[arg(long)]
        user: String,
        /// Project the key acts for (name or id); default: the user's only project.
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// PEM public key for JWT-signing clients (a Yandex service-account key:
        /// key id = `id`, service_account_id = the user's id, private key = yours).
        #[arg(long)]
        public_key: Option<std::path::PathBuf>,
    },
}

async fn open_identity(config: &Config) -> anyhow::Result<Arc<Identity>> {
    crate::data_dir::prepare(config)?;
    let (kek, kek_source) = crate::data_dir::key_encryption_key(config)?;
    let catalog = imagery_catalog::open(&config.database_url()).await.map_err(|e| anyhow::anyhow!("cannot open catalog: {e}"))?;
    Identity::open(catalog, IdentityConfig { key_encryption_key: Some(kek), ..IdentityConfig::default() })
        .await
        .map_err(|e| anyhow::anyhow!("cannot open identity: {e} (key-encryption key from {kek_source})"))
}

pub async fn bootstrap(config: &Config, admin_password: Option<String>) -> anyhow::Result<()> {
    let identity = open_identity(config).await?;
    let report = identity.bootstrap(admin_password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("admin user: {} (project {})", report.admin_user_id, report.admin_project_id);
    match (report.created_admin, report.admin_password) {
        (true, Some(p)) => println!("created admin; password: {}", p.expose()),
        (false, Some(_)) => println!("admin password updated"),
        _ => println!("already bootstrapped; nothing changed"),
    }
    Ok(())
}

async fn project_id(identity: &Identity, name_or_id: &str) -> anyhow::Result<String> {
    if let Some(p) = identity.get_project(name_or_id).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        return Ok(p.id);
    }
    let found = identity.list_projects(Some("default"), Some(name_or_id)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    found.into_iter().next().map(|p| p.id).ok_or_else(|| anyhow::anyhow!("no project named or with id '{name_or_id}'"))
}

async fn user_id(identity: &Identity, name_or_id: &str) -> anyhow::Result<String> {
    if let Some(u) = identity.get_user(name_or_id).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        return Ok(u.id);
    }
    let found = identity.list_users(Some("default"), Some(name_or_id)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    found.into_iter().next().map(|u| u.id).ok_or_else(|| anyhow::anyhow!("no user named or with id '{name_or_id}'"))
}

async fn grant(identity: &Identity, user: &str, project: &str, role: &str) -> anyhow::Result<()> {
    let role = identity
        .find_role(&RoleRef::Name(role.to_string()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("no role named '{role}'"))?;
    identity.grant_role(user, project, &role.id).await.map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn run(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let identity = open_identity(config).await?;
    identity.bootstrap(None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        AdminCommand::ProjectCreate { name, description } => {
            let p = identity
                .create_project(NewProject { name, domain_id: "default".into(), description, enabled: true })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", p.id);
        }
        AdminCommand::ProjectList => {
            for p in identity.list_projects(None, None).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("{}\t{}", p.id, p.name);
            }
        }
        AdminCommand::UserCreate { name, password, project, role } => {
            let default_project = match &project {
                Some(p) => Some(project_id(&identity, p).await?),
                None => None,
            };
            let user = identity
                .create_user(NewUser {
                    name,
                    domain_id: "default".into(),
                    password: Some(password),
                    enabled: true,
                    default_project_id: default_project.clone(),
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(project) = default_project {
                grant(&identity, &user.id, &project, &role).await?;
            }
            println!("{}", user.id);
        }
        AdminCommand::RoleAdd { user, project, role } => {
            let (user, project) = (user_id(&identity, &user).await?, project_id(&identity, &project).await?);
            grant(&identity, &user, &project, &role).await?;
        }
        AdminCommand::AccessKeyCreate { user, project, description, public_key } => {
            let user = user_id(&identity, &user).await?;
            let project = match project {
                Some(p) => Some(project_id(&identity, &p).await?),
                None => None,
            };
            let pem = match &public_key {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?),
                None => None,
            };
            let key = identity
                .create_access_key_with_public_key(&user, project.as_deref(), &description, pem.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} {}", key.id, key.secret);
            if key.public_key.is_some() {
                eprintln!("service account id (user id) for JWT clients: {user}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_a_new_user_password() {
        let command = AdminCommand::UserCreate {
            name: "alice".into(),
            password: Secret::new("alice-SECRET-pw"),
            project: None,
            role: "member".into(),
        };
        let text = format!("{command:?}");
        assert!(!text.contains("alice-SECRET-pw") && text.contains("<redacted>"), "{text}");
    }
}
