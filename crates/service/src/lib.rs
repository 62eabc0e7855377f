//! The use cases of imagery. Every dialect translates its wire format into calls
//! on [`ImageService`] and renders what comes back; visibility, ownership, status
//! transitions, quotas and the upload pipeline are decided here and nowhere else.

mod catalog_ext;
pub mod config;
mod data;
mod images;
mod members;
mod upload;

use std::sync::Arc;

use imagery_core::ports::{BlobStore, Catalog, CatalogError};
use imagery_core::DomainError;

pub use config::{Quota, ServiceConfig};
pub use data::{Download, DownloadRange, ImportMethod, IMPORT_ERROR};
pub use images::{ImageListRequest, ListPage, NewImage, VisibilityParam};

/// The service: a catalog, a blob store and the operator's limits.
pub struct ImageService {
    catalog: Arc<dyn Catalog>,
    blobs: Arc<dyn BlobStore>,
    config: ServiceConfig,
}

impl ImageService {
    pub fn new(catalog: Arc<dyn Catalog>, blobs: Arc<dyn BlobStore>, config: ServiceConfig) -> Arc<Self> {
        Arc::new(ImageService { catalog, blobs, config })
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }
}

/// Catalog failures as the domain sees them. Backend details are logged here and
/// never shown to callers.
pub(crate) fn backend(err: CatalogError) -> DomainError {
    match err {
        CatalogError::Duplicate(what) => DomainError::Conflict(format!("{what} already exists.")),
        CatalogError::Stale => DomainError::Conflict("The image was modified concurrently; retry the request.".into()),
        CatalogError::Missing(what) => DomainError::NotFound(what),
        CatalogError::Backend(detail) => {
            tracing::error!(%detail, "catalog backend failure");
            DomainError::Unavailable("The image catalog is temporarily unavailable.".into())
        }
    }
}

pub(crate) fn io_failure(context: &str, err: std::io::Error) -> DomainError {
    tracing::error!(%err, context, "blob store failure");
    DomainError::Unavailable("The image store is temporarily unavailable.".into())
}
