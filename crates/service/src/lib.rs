//! The use cases of imagery. Every dialect translates its wire format into calls
//! on [`ImageService`] and renders what comes back; visibility, ownership, status
//! transitions, quotas and the upload pipeline are decided here and nowhere else.

mod authorize;
mod catalog_ext;
mod cluster;
pub mod config;
mod data;
mod fetch;
mod images;
mod jobs;
mod members;
mod names;
pub mod sources;
mod telemetry;
mod upload;

use std::sync::Arc;

use imagery_core::ports::{BlobStore, Catalog, CatalogError};
use imagery_core::DomainError;

pub use authorize::Action;
pub use config::{Quota, ServiceConfig};
pub use data::{Download, DownloadRange, ImportMethod, IMPORT_ERROR};
pub use images::{EditRules, ImageListRequest, ListPage, NewImage, VisibilityParam};
pub use jobs::{JobOrigin, IMPORT_JOB, LEGACY_IMPORT_JOB};
pub use sources::ImportSources;

/// The service: a catalog, a blob store and the operator's limits.
pub struct ImageService {
    catalog: Arc<dyn Catalog>,
    blobs: Arc<dyn BlobStore>,
    config: ServiceConfig,
    sources: ImportSources,
    /// The HTTP client imports fetch with: redirects re-checked against `sources`,
    /// every address checked (see [`fetch`]).
    fetcher: fetch::Fetcher,
    workers: Arc<jobs::Workers>,
    /// Uploads and stagings running in this process, by image.
    in_flight: InFlight,
}

/// The images this process is writing bytes for right now (counted: a second,
/// refused attempt on the same image must not hide the first).
#[derive(Default)]
pub(crate) struct InFlight(Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>>);

/// Removes its image from [`InFlight`] when dropped (the write ended, whatever way).
pub(crate) struct InFlightGuard(Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>>, uuid::Uuid);

impl InFlight {
    pub(crate) fn enter(&self, id: uuid::Uuid) -> InFlightGuard {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(id).or_default() += 1;
        InFlightGuard(Arc::clone(&self.0), id)
    }

    pub(crate) fn contains(&self, id: uuid::Uuid) -> bool {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&id)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut running = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = running.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.1);
            }
        }
    }
}

/// The service acting for itself: crash recovery and garbage collection, work no
/// request asked for. Only [`ImageService::with_system_caller`] hands one out, so
/// only whoever builds the service (the server) holds it; dialects, which are
/// given the service, cannot act as the system.
#[derive(Clone)]
pub struct SystemCaller {
    _private: (),
}

impl ImageService {
    pub fn new(catalog: Arc<dyn Catalog>, blobs: Arc<dyn BlobStore>, config: ServiceConfig) -> Arc<Self> {
        let sources = ImportSources::parse(&config.web_download_allow);
        let fetcher = fetch::Fetcher::new(&config, &sources);
        Arc::new(ImageService { catalog, blobs, config, sources, fetcher, workers: Arc::default(), in_flight: InFlight::default() })
    }

    /// The service and its system caller, for the process that runs background work.
    pub fn with_system_caller(catalog: Arc<dyn Catalog>, blobs: Arc<dyn BlobStore>, config: ServiceConfig) -> (Arc<Self>, SystemCaller) {
        (Self::new(catalog, blobs, config), SystemCaller { _private: () })
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }
}

/// Catalog failures as the domain sees them. Backend details are logged here and
/// never shown to callers.
pub(crate) fn backend(err: CatalogError) -> DomainError {
    match err {
        CatalogError::Duplicate(what) => DomainError::Conflict(format!("{what} already exists.").into()),
        CatalogError::Stale => DomainError::Conflict("The image was modified concurrently; retry the request.".into()),
        CatalogError::Missing(what) => DomainError::NotFound(what.into()),
        CatalogError::Backend(detail) => {
            metrics::counter!("imagery_catalog_errors_total").increment(1);
            tracing::error!(%detail, "catalog backend failure");
            DomainError::Unavailable("The image catalog is temporarily unavailable.".into())
        }
    }
}

/// Blob-store failures as the domain sees them: a full store is the caller's
/// over-limit (Glance answers 413 "Image storage media is full"), anything else
/// an outage. Details are logged here and never shown to callers.
pub(crate) fn io_failure(context: &str, err: std::io::Error) -> DomainError {
    use std::io::ErrorKind;
    metrics::counter!("imagery_blob_store_errors_total", "operation" => context.to_string()).increment(1);
    if matches!(err.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) {
        tracing::error!(%err, context, "blob store is full");
        return DomainError::OverLimit(imagery_core::Problem::StoreFull);
    }
    tracing::error!(%err, context, "blob store failure");
    DomainError::Unavailable("The image store is temporarily unavailable.".into())
}
