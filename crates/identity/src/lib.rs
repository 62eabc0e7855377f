//! The identity core of imagery: users, projects, roles and credentials kept in
//! the catalog, and the signed, expiring tokens every dialect accepts.
//!
//! Entry points:
//! - [`Identity::open`] loads the token signing keys (creating the first one) and
//!   the revocation list, and keeps both fresh in the background.
//! - [`Identity::authenticate`] (password, token re-scope, application credential)
//!   and [`Identity::authenticate_access_key`] turn credentials into a [`Principal`];
//!   [`Identity::validate`] turns a token back into one without touching the catalog.
//! - The admin operations (projects, users, roles, assignments, access keys,
//!   application credentials) are plain async methods shared by the Keystone API
//!   and the command line; [`policy`] says who may call them over an API.
//! - [`Identity::rsa_signing_keys`] signs and verifies RS256 tokens (the Azure
//!   token endpoint's) with RSA keys under the same rotation policy.
//! - [`Identity::bootstrap_first_start`] and [`Identity::bootstrap`] create the
//!   `Default` domain, the `admin`/`member`/`reader` roles and the first admin.
//!
//! Invariants: a password or secret is never logged nor stored in clear: passwords
//! and application-credential secrets are hashed; token signing keys and
//! access-key secrets (which signatures are verified by recomputing) are sealed
//! with the key-encryption key (`at_rest`), outside the catalog; every
//! failed authentication is the same [`IdentityError::Unauthenticated`] to the
//! caller, with the reason only in the log.

mod admin;
mod at_rest;
mod authn;
mod bootstrap;
mod config;
mod error;
mod identity;
mod keyring;
mod password;
pub mod policy;
mod principal;
mod rsa_keys;
mod secret;
mod token;

pub use admin::{
    AssignmentEntry, AssignmentFilter, AssignmentTarget, NewAppCredential, NewProject, NewUser, ProjectUpdate, RoleRef, UserUpdate,
};
pub use at_rest::KeyEncryptionKey;
pub use authn::{AppCredentialRef, AuthMethod, DomainRef, IssuedToken, ProjectRef, ScopeRequest, UserRef};
pub use bootstrap::{BootstrapReport, OPENRC_FILE};
pub use config::{IdentityConfig, PasswordHashing};
pub use error::{IdentityError, IdentityResult};
pub use identity::Identity;
pub use principal::{Principal, Scope};
pub use rsa_keys::{generate_rsa_signing_key, RsaKey, RsaKeyRing, RSA_KEY_KIND};
pub use secret::Secret;

/// The id of the domain every deployment has, as Keystone names it.
pub const DEFAULT_DOMAIN_ID: &str = "default";
/// The name of that domain.
pub const DEFAULT_DOMAIN_NAME: &str = "Default";
/// The role that may administer identity and see every image.
pub const ADMIN_ROLE: &str = "admin";
/// The role that may create and change a project's images.
pub const MEMBER_ROLE: &str = "member";
/// The role that may read a project's images.
pub const READER_ROLE: &str = "reader";
/// The `kind` of the catalog signing keys that sign tokens.
pub const TOKEN_KEY_KIND: &str = "token-hmac";
