//! The Keystone v3 front door: the subset of the Identity API that keystoneauth,
//! openstackclient, openstacksdk and tempest actually call — version discovery,
//! token issue/validate/revoke with a service catalog, application credentials,
//! the identity administration openstackclient performs, and read-only
//! listings of that catalog (`/v3/services`, `/v3/endpoints`, `/v3/regions`).
//!
//! Layout (as every dialect): `router` parses method + path into one `Endpoint`
//! listing the whole surface, `api_server` dispatches it, `error` renders
//! Keystone's error envelope, and one module per resource holds the handlers.
//! Every rule lives in `imagery-identity`; this crate only speaks the wire format.
//!
//! The router serves paths relative to the identity root (`/`, `/v3/…`); the
//! server may mount it at `/` of its own listener or nest it (e.g. `/identity`).

mod api_server;
mod app_credentials;
mod auth;
mod context;
mod discovery;
mod domains;
mod endpoints;
mod error;
mod projects;
mod regions;
mod role_assignments;
mod roles;
pub mod router;
mod service_catalog;
mod services;
mod users;
mod validator;
mod views;

pub use api_server::router;
pub use error::KeystoneRefusals;
pub use service_catalog::{CatalogEndpoint, ServiceCatalog};
pub use validator::IdentityValidator;

use std::sync::Arc;

use imagery_identity::Identity;

/// What the Keystone router needs.
#[derive(Clone)]
pub struct KeystoneState {
    pub identity: Arc<Identity>,
    /// The endpoints advertised in token catalogs (the identity endpoint included).
    pub catalog: ServiceCatalog,
    /// The public URL of the identity root (e.g. `https://cloud.example/identity`),
    /// used in links and `WWW-Authenticate`; when `None`, it is derived from the
    /// request's `Host` (and `X-Forwarded-Proto`) plus the prefix the router is
    /// nested under.
    pub public_url: Option<String>,
}

impl KeystoneState {
    pub fn new(identity: Arc<Identity>, catalog: ServiceCatalog) -> Self {
        KeystoneState { identity, catalog, public_url: None }
    }
}
