//! What every dialect's test harness starts from: an in-memory catalog and blob
//! store, the service over them, a bootstrapped identity with cheap password
//! hashes, accounts (a user with a role in a project and an access key), and a
//! router served on a loopback port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imagery_core::identity::{AccessKey, Project};
use imagery_core::ports::{BlobStore, Catalog};
use imagery_core::Caller;
use imagery_identity::{BootstrapReport, Identity, IdentityConfig, NewProject, NewUser, PasswordHashing, RoleRef, DEFAULT_DOMAIN_ID};
use imagery_service::{ImageService, ServiceConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The bootstrap admin's password in every test world.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// The parts a dialect is built over.
pub struct Backends {
    pub catalog: Arc<dyn Catalog>,
    pub blobs: Arc<dyn BlobStore>,
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    /// The bootstrap admin (user and project ids).
    pub admin: BootstrapReport,
}

/// Fresh backends: SQLite in memory, blobs in memory, `config` for the service,
/// identity with fast hashes and keys that sign at once, tuned by `tune`.
pub async fn backends(config: ServiceConfig, tune: impl FnOnce(&mut IdentityConfig)) -> Backends {
    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    backends_on(catalog, config, tune).await
}

/// The same over a given catalog (a restart keeps the catalog).
pub async fn backends_on(catalog: Arc<dyn Catalog>, config: ServiceConfig, tune: impl FnOnce(&mut IdentityConfig)) -> Backends {
    let blobs = imagery_store::open("memory://").await.expect("blob store");
    let service = ImageService::new(catalog.clone(), blobs.clone(), config);
    let mut identity_config = IdentityConfig {
        password_hashing: PasswordHashing::INSECURE_FAST,
        key_activation_delay: Duration::ZERO,
        ..IdentityConfig::default()
    };
    tune(&mut identity_config);
    let identity = Identity::open(catalog.clone(), identity_config).await.expect("identity");
    let admin = identity.bootstrap(Some(ADMIN_PASSWORD.into())).await.expect("bootstrap");
    Backends { catalog, blobs, service, identity, admin }
}

/// A user with `role` in a project, and an access key for that project.
pub struct Account {
    pub user_id: String,
    pub project: Project,
    pub key: AccessKey,
}

impl Account {
    pub fn project_id(&self) -> &str {
        &self.project.id
    }

    /// The caller this account is, with these roles.
    pub fn caller(&self, roles: &[&str]) -> Caller {
        Caller::new(Some(self.user_id.clone()), Some(self.project.id.clone()), roles.iter().map(|r| r.to_string()))
    }
}

/// The project named `name` in the default domain, created if missing.
pub async fn project(identity: &Identity, name: &str) -> Project {
    if let Some(found) = identity.list_projects(None, Some(name)).await.expect("projects").into_iter().next() {
        return found;
    }
    let new = NewProject { name: name.into(), domain_id: DEFAULT_DOMAIN_ID.into(), description: String::new(), enabled: true };
    identity.create_project(new).await.expect("project")
}

/// A new user `user` with `role` in `project` and an access key labelled `label`.
pub async fn account(identity: &Identity, user: &str, project: &Project, role: &str, label: &str) -> Account {
    let new = NewUser {
        name: user.into(),
        domain_id: project.domain_id.clone(),
        password: None,
        enabled: true,
        default_project_id: Some(project.id.clone()),
    };
    let created = identity.create_user(new).await.expect("user");
    let role = identity.find_role(&RoleRef::Name(role.into())).await.expect("role lookup").expect("role");
    identity.grant_role(&created.id, &project.id, &role.id).await.expect("grant");
    let key = identity.create_access_key(&created.id, Some(&project.id), label).await.expect("access key");
    Account { user_id: created.id, project: project.clone(), key }
}

/// The bootstrap admin as an account, with a fresh access key.
pub async fn admin_account(backends: &Backends, label: &str) -> Account {
    let project = backends.identity.get_project(&backends.admin.admin_project_id).await.expect("admin project").expect("exists");
    let key = backends.identity.create_access_key(&backends.admin.admin_user_id, Some(&project.id), label).await.expect("access key");
    Account { user_id: backends.admin.admin_user_id.clone(), project, key }
}

/// Serve `app` on a loopback port: its address and the server task.
pub async fn serve(app: axum::Router) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}
