//! Yandex Cloud Compute v1 images, wire-compatible over REST and gRPC on one
//! listener: `ImageService`, `OperationService`, endpoint discovery
//! (`ApiEndpointService`) and IAM token exchange (`IamTokenService`), so the
//! unmodified `yandexcloud` SDK, `yc` and plain REST clients work against
//! imagery. This crate translates; every decision is the service's.
//!
//! Layout: `router` lists the REST surface; `api_server` routes gRPC vs REST,
//! authenticates and transcodes REST; `grpc` holds the tonic services; the use
//! cases live in one file per resource (`images`, `operations`, `iam`,
//! `endpoints`); `keys` maps folders and Yandex ids onto projects and images;
//! `views` and `json` render; `error` maps errors to gRPC codes and the REST
//! envelope. The protos are in `proto/` (see its README), compiled by `build.rs`.
//!
//! Choices where Yandex and imagery differ:
//! - OAuth tokens (`yandex_passport_oauth_token`) are `y0_<access key id>_<secret>`;
//!   service-account key JWTs (PS256) name the access key in `kid`, are verified
//!   against its `public_key` PEM, and carry the key's user id as `iss`.
//! - Create from `disk_id`/`snapshot_id`: imagery has no disks or snapshots, so
//!   the call fails with `NOT_FOUND` and creates nothing (no image left in ERROR).
//! - Create from `uri`: only URLs the service's import allow-list admits (it
//!   decides, for every importer); the disk format is taken from
//!   the URL's extension (`raw` otherwise). The operation finishes when the image
//!   is active, or fails (image in ERROR) when the import stops.
//! - `id asc` (the default order) is exact: image ids are order-preserving
//!   encodings of the canonical UUIDs.
//! - A project id is accepted wherever a folder id is; `standard-images` lists
//!   public images.
//!
//! Invariants: a folder is a project, an image's Yandex id is bound once and
//! never changes, Yandex-only attributes live in `imagery:yandex.*` reserved
//! properties, operations are persisted (pollable after a restart), and nothing
//! reachable from the network panics.

mod api_server;
mod auth;
mod codec;
mod endpoints;
mod error;
mod filter;
mod grpc;
mod iam;
mod ids;
mod images;
mod json;
mod keys;
mod operations;
pub mod pb;
mod router;
mod validation;
mod views;

pub use api_server::{router, YandexState};
pub use error::YandexRefusals;
pub use error::YcError;
pub use iam::OAUTH_PREFIX;
pub use keys::{FOLDER_NAMESPACE, IMAGE_NAMESPACE, STANDARD_IMAGES};

/// The Yandex folder id of an imagery project, bound on first use: what its
/// users pass as `folderId` (the project id itself is accepted too).
pub async fn folder_id(service: &imagery_service::ImageService, caller: &imagery_core::Caller, project: &str) -> Result<String, YcError> {
    keys::Ids::new(service, caller).folder(project).await
}
