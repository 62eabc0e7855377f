//! imagery's catalog: the image rows, memberships, alternate keys, operations and
//! identity records behind `imagery_core::ports::{ImageCatalog, IdentityCatalog}`,
//! stored in SQLite (embedded default, one node) or PostgreSQL (several nodes).
//!
//! Entry point: [`open`] with a URL. Both backends share their SQL (`statements`
//! and the `list_images` builder), their row decoding and their migrations layout;
//! one conformance suite (`tests/conformance`) runs against both.
//!
//! URLs:
//! - `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db` — created with
//!   its parent directory if missing;
//! - `sqlite::memory:` — a private in-memory database;
//! - `postgres://…` / `postgresql://…` — any libpq-style URL `tokio-postgres`
//!   accepts, e.g. `postgres://user:pw@host:5432/db?options=-c%20search_path%3Dschema`.

mod list_query;
mod migrations;
mod postgres;
mod rows;
mod shared;
mod sqlite;
mod statements;

use std::sync::Arc;

pub use imagery_core::ports::{Catalog, CatalogError, CatalogResult};
pub use postgres::PostgresCatalog;
pub use sqlite::SqliteCatalog;

/// The in-memory SQLite URL.
pub const SQLITE_MEMORY_URL: &str = "sqlite::memory:";

/// Opens the catalog a URL names (see the crate docs), running migrations first.
pub async fn open(url: &str) -> Result<Arc<dyn Catalog>, CatalogError> {
    match Backend::parse(url)? {
        Backend::SqliteMemory => Ok(Arc::new(SqliteCatalog::open_memory().await?)),
        Backend::SqliteFile(path) => Ok(Arc::new(SqliteCatalog::open_file(path).await?)),
        Backend::Postgres => Ok(Arc::new(PostgresCatalog::connect(url).await?)),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Backend<'a> {
    SqliteMemory,
    SqliteFile(&'a str),
    Postgres,
}

impl<'a> Backend<'a> {
    fn parse(url: &'a str) -> CatalogResult<Self> {
        if url == SQLITE_MEMORY_URL || url == "sqlite://:memory:" {
            return Ok(Backend::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(CatalogError::Backend("sqlite URL has no path: expected sqlite://path/to/file.db".into()));
            }
            return Ok(Backend::SqliteFile(path));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres);
        }
        Err(CatalogError::Backend(format!(
            "unsupported catalog URL {:?}: expected sqlite://path, sqlite::memory: or postgres://…",
            redact(url)
        )))
    }
}

/// The URL without anything that could be a password.
fn redact(url: &str) -> &str {
    match url.find("://") {
        Some(i) => &url[..i + 3],
        None => url.split(':').next().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_backends() {
        assert_eq!(Backend::parse("sqlite::memory:"), Ok(Backend::SqliteMemory));
        assert_eq!(Backend::parse("sqlite://data/catalog.db"), Ok(Backend::SqliteFile("data/catalog.db")));
        assert_eq!(Backend::parse("sqlite:///var/lib/imagery/c.db"), Ok(Backend::SqliteFile("/var/lib/imagery/c.db")));
        assert_eq!(Backend::parse("postgres://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::parse("postgresql://u@h/db"), Ok(Backend::Postgres));
        assert!(Backend::parse("sqlite://").is_err());
        let err = Backend::parse("mysql://root:secret@h/db").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }
}
