//! Azure Resource Manager, wire-compatible enough for azure-identity +
//! azure-mgmt-compute + azure-mgmt-resource (and `az image`): the Entra ID
//! client-credentials token endpoint with its discovery documents and JWKS,
//! `Microsoft.Compute/images`, resource groups, and the long-running operation
//! protocol ARM clients poll. This crate translates; every decision about images
//! is the service's.
//!
//! Layout: `router` lists the whole surface; `api_server` authenticates and
//! dispatches; `error` renders ARM and OAuth errors; one file per resource
//! (`token`, `subscriptions`, `resource_groups`, `images`, `operations`).
//!
//! Tenancy and storage (other dialects may rely on these):
//! - a tenant is an identity domain (`tid` = its id, GUID-formatted when it is
//!   32 hex digits); a service principal is a user's access key (client id = key
//!   id, client secret = key secret);
//! - a subscription is a project: its id is the project id as a GUID when the id
//!   is 32 hex digits, else a GUID bound in the alternate-key namespace
//!   [`SUBSCRIPTION_NAMESPACE`] (`<guid>` → project id);
//! - a resource group is the alternate key [`RESOURCE_GROUP_NAMESPACE`]
//!   `<project_id>/<rg lowercase>` whose target is a small JSON document
//!   `{"name", "location", "tags"?, "managedBy"?}`;
//! - an Azure image is an imagery image with the alternate key
//!   [`IMAGE_NAMESPACE`] `<project_id>/<rg lowercase>/<name lowercase>` → image
//!   uuid; Azure-only attributes live in reserved `imagery:azure.*` properties
//!   (see `model`); `os_type` (linux/windows) and `min_disk` (= diskSizeGB) are
//!   the canonical fields other dialects see, and the Glance name is the ARM name;
//! - images without an Azure key (created through other dialects) appear in the
//!   configured default resource group as `image-<uuid>`.
//!
//! Tokens are RS256 JWTs signed with RSA keys kept as identity signing keys of
//! kind `azure-rsa`, owned and rotated by identity (`Identity::rsa_signing_keys`); the newest signs, every stored one verifies, and
//! each node reloads them periodically (and at once when it meets an unknown
//! `kid`). A token carries an imagery identity token, so revocations made in
//! identity (user disabled, role removed) apply to it at once.

mod api_server;
mod api_version;
mod auth;
mod error;
mod ids;
mod images;
mod jwt;
mod model;
mod operations;
mod resource_groups;
mod router;
mod subscriptions;
mod token;

pub use api_server::{router, AzureState};

/// Alternate-key namespace of Azure image names: `<project_id>/<rg>/<name>` (lowercase) → image uuid.
pub const IMAGE_NAMESPACE: &str = "azure.image";
/// Alternate-key namespace of resource groups: `<project_id>/<rg>` (lowercase) → JSON metadata.
pub const RESOURCE_GROUP_NAMESPACE: &str = "azure.rg";
/// Alternate-key namespace of subscription ids of projects whose id is not 32 hex digits: `<guid>` → project id.
pub const SUBSCRIPTION_NAMESPACE: &str = "azure.subscription";
/// The `dialect` of the operations this crate records.
pub const OPERATION_DIALECT: &str = "azure";

pub use error::AzureRefusals;
