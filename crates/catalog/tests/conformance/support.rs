//! The harness: opens a fresh catalog of the requested backend for each case,
//! hands it over, and cleans up afterwards (a temporary directory for SQLite files,
//! a schema of its own for PostgreSQL, dropped even when the case fails).

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Once};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use imagery_catalog::{open, Catalog};
use imagery_core::image::{Image, ImageStatus, Visibility};
use imagery_core::time::from_micros;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// The variable naming a PostgreSQL database the suite may create schemas in.
pub const POSTGRES_URL_VAR: &str = "IMAGERY_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

/// What a case gets: the catalog, and a URL that opens the same store again
/// (`None` for in-memory SQLite, which cannot be shared).
pub struct Ctx {
    pub catalog: Arc<dyn Catalog>,
    pub url: Option<String>,
}

pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    match backend {
        Backend::SqliteMemory => {
            let catalog = open("sqlite::memory:").await.expect("open in-memory sqlite");
            case(Ctx { catalog, url: None }).await;
        }
        Backend::SqliteFile => {
            let dir = tempfile::tempdir().expect("temporary directory");
            // A missing parent directory must be created by `open`.
            let url = format!("sqlite://{}/nested/dir/catalog.db", dir.path().display());
            let catalog = open(&url).await.expect("open sqlite file");
            case(Ctx { catalog, url: Some(url) }).await;
        }
        Backend::Postgres => {
            let Some(admin_url) = postgres_url() else {
                return;
            };
            let schema = format!("imagery_test_{}", Uuid::new_v4().simple());
            admin_execute(&admin_url, &format!("CREATE SCHEMA {schema}")).await;
            let url = with_search_path(&admin_url, &schema);
            let outcome = AssertUnwindSafe(async {
                let catalog = open(&url).await.expect("open postgres catalog");
                case(Ctx { catalog, url: Some(url.clone()) }).await;
            })
            .catch_unwind()
            .await;
            admin_execute(&admin_url, &format!("DROP SCHEMA {schema} CASCADE")).await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// The PostgreSQL URL, or `None` (after a loud note) when the suite should skip
/// PostgreSQL. Under CI a missing URL is a failure, so the backend is never
/// silently untested there.
fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{POSTGRES_URL_VAR} is not set, but CI is: the PostgreSQL catalog must be tested in CI. \
             Start a server with `scripts/postgres-test-server.sh start DIR` and export the URL it prints as {POSTGRES_URL_VAR}."
        ),
        _ => {
            // Written past the test harness's output capture, once per run, so the
            // skip is seen even when every test passes.
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n************************************************************************\n\
                     * SKIPPING the PostgreSQL conformance tests: {POSTGRES_URL_VAR} is not set.\n\
                     * Run: export {POSTGRES_URL_VAR}=$(scripts/postgres-test-server.sh start /tmp/imagery-pg)\n\
                     ************************************************************************\n"
                );
            });
            None
        }
    }
}

fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Run raw SQL against the store `url` names (SQLite file or PostgreSQL), as an
/// operator's tool or an older imagery would.
pub async fn execute_raw(url: &str, sql: &str) {
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            let connection = rusqlite::Connection::open(path).expect("open the SQLite file");
            connection.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        None => admin_execute(url, sql).await,
    }
}

async fn admin_execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect to the PostgreSQL test server");
    let task = tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    drop(client);
    let _ = task.await;
}

// ---- fixtures -------------------------------------------------------------------

/// An instant `n` microseconds after a fixed base (exact to the microsecond).
pub fn at(n: i64) -> DateTime<Utc> {
    from_micros(1_700_000_000_123_456 + n)
}

pub fn image(name: &str, owner: Option<&str>, visibility: Visibility) -> Image {
    let mut img = Image::new(Uuid::new_v4(), owner.map(str::to_owned), at(0));
    img.name = Some(name.to_owned());
    img.visibility = visibility;
    img.status = ImageStatus::Active;
    img
}

/// Sorted names of a list result, for set comparisons.
pub fn names(images: &[Image]) -> Vec<String> {
    let mut names: Vec<String> = images.iter().map(|i| i.name.clone().unwrap_or_default()).collect();
    names.sort();
    names
}

pub fn sorted(expected: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}
