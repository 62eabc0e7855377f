//! The embedded catalog: SQLite through `rusqlite`, in WAL mode with
//! `synchronous=FULL` (a commit that returned is on disk).
//!
//! Concurrency: one writer connection and a small pool of reader connections, each
//! behind its own mutex, used only from `spawn_blocking`. Semaphores sized to the
//! connection counts keep blocking threads from piling up on the mutexes. WAL lets
//! readers run while the writer commits. Statements are cached per connection. An
//! in-memory database (`sqlite::memory:`) is a single connection used for both.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use imagery_core::cluster::{Job, JobOutcome, JobState, Lease, Seen};
use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, Revocation, Role, RoleAssignment, SigningKey, User};
use imagery_core::operation::OperationRecord;
use imagery_core::ports::{CatalogError, CatalogResult, ClusterCatalog, IdentityCatalog, ImageCatalog, Usage};
use imagery_core::query::ListQuery;
use imagery_core::time::Timestamp;
use imagery_core::{Image, Member};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection, ErrorCode, Params, Row, ToSql, TransactionBehavior};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::list_query::{list_images_query, matches_probe, role_assignments_query, Flavor, SqlValue, FEW_MATCHES};
use crate::rows::{self, Columns};
use crate::statements::{self as st, sqlite};
use crate::{migrations, shared};

/// Reader connections of a file database.
const READERS: usize = 4;
/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 128;

/// The SQLite catalog. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteCatalog {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    write_permits: Semaphore,
    read_permits: Semaphore,
    topics: shared::Topics,
}

impl SqliteCatalog {
    /// Opens (creating if missing, with its parent directory) the database file at
    /// `path` and brings its schema up to date.
    pub async fn open_file(path: impl AsRef<Path>) -> CatalogResult<Self> {
        let path = path.as_ref().to_path_buf();
        blocking(move || open_file_blocking(&path)).await
    }

    /// A private in-memory database (one connection), for tests and throwaway runs.
    pub async fn open_memory() -> CatalogResult<Self> {
        blocking(|| {
            let conn = Connection::open_in_memory().map_err(backend)?;
            let mut conn = configure(conn, ConnectionRole::Writer)?;
            migrate(&mut conn)?;
            Ok(SqliteCatalog::from_connections(conn, Vec::new()))
        })
        .await
    }

    fn from_connections(writer: Connection, readers: Vec<Connection>) -> Self {
        let read_permits = Semaphore::new(readers.len().max(1));
        SqliteCatalog {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers: readers.into_iter().map(Mutex::new).collect(),
                next_reader: AtomicUsize::new(0),
                write_permits: Semaphore::new(1),
                read_permits,
                topics: shared::Topics::default(),
            }),
        }
    }

    /// Runs `f` on a reader connection (the writer for in-memory databases).
    async fn read<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> CatalogResult<T> + Send + 'static,
    {
        let _permit = self.inner.read_permits.acquire().await.map_err(|_| closed())?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.with_reader(f)).await
    }

    /// Runs `f` on the writer connection.
    async fn write<T, F>(&self, f: F) -> CatalogResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> CatalogResult<T> + Send + 'static,
    {
        let _permit = self.inner.write_permits.acquire().await.map_err(|_| closed())?;
        let inner = Arc::clone(&self.inner);
        blocking(move || f(&mut lock(&inner.writer))).await
    }
}

impl Inner {
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let n = self.readers.len();
        if n == 0 {
            return f(&lock(&self.writer));
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            match self.readers[(start + k) % n].try_lock() {
                Ok(conn) => return f(&conn),
                Err(TryLockError::Poisoned(poisoned)) => return f(&poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        f(&lock(&self.readers[start]))
    }
}

/// A panic while holding a connection cannot leave it mid-transaction (rusqlite
/// rolls back on drop), so a poisoned lock is still usable.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> CatalogResult<T> + Send + 'static) -> CatalogResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| CatalogError::Backend(format!("sqlite task failed: {e}")))?
}

fn closed() -> CatalogError {
    CatalogError::Backend("sqlite catalog is closed".into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ConnectionRole {
    Writer,
    Reader,
}

fn open_file_blocking(path: &Path) -> CatalogResult<SqliteCatalog> {
    create_owner_only(path)?;
    let open = |role| {
        let conn = Connection::open(path).map_err(|e| CatalogError::Backend(format!("cannot open {}: {e}", path.display())))?;
        configure(conn, role)
    };
    let mut writer = open(ConnectionRole::Writer)?;
    let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CatalogError::Backend(format!("{} cannot use WAL journal mode (got {mode})", path.display())));
    }
    migrate(&mut writer)?;
    let readers = (0..READERS).map(|_| open(ConnectionRole::Reader)).collect::<CatalogResult<Vec<_>>>()?;
    Ok(SqliteCatalog::from_connections(writer, readers))
}

/// The catalog holds credentials: create its directory (0700) and an empty file
/// (0600) before SQLite does, which would use 0644. SQLite gives the `-wal` and
/// `-shm` files the database file's mode, so they are owner-only too. An existing
/// file is left as it is (the server fixes lax modes at start, with a warning).
fn create_owner_only(path: &Path) -> CatalogResult<()> {
    let failed = |what: &Path, e: std::io::Error| CatalogError::Backend(format!("cannot create {}: {e}", what.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(parent).map_err(|e| failed(parent, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(failed(path, e)),
    }
}

fn configure(conn: Connection, role: ConnectionRole) -> CatalogResult<Connection> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let pragmas = match role {
        // secure_delete: deleted and replaced rows (retired keys, secrets sealed on
        // upgrade) are overwritten, not left readable in free space.
        ConnectionRole::Writer => {
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON;"
        }
        // No mmap: every reader's mapping of the file would count in the process's
        // resident memory; a bounded page cache per reader keeps it predictable and
        // the OS page cache still serves the file.
        ConnectionRole::Reader => {
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; \
             PRAGMA cache_size = -4096; PRAGMA query_only = ON;"
        }
    };
    conn.execute_batch(pragmas).map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> CatalogResult<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .map_err(backend)?;
    for (version, sql) in migrations::SQLITE {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        let applied: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0)).map_err(backend)?;
        if !applied {
            tx.execute_batch(sql).map_err(|e| CatalogError::Backend(format!("migration {version} failed: {e}")))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, rows::micros(&imagery_core::time::now())],
            )
            .map_err(backend)?;
            tracing::info!(version, "applied sqlite catalog migration");
        }
        tx.commit().map_err(backend)?;
    }
    let stored_max: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(backend)?;
    migrations::warn_if_newer("sqlite", stored_max, migrations::SQLITE);
    Ok(())
}

// ---- errors and row access ------------------------------------------------------

fn backend(e: rusqlite::Error) -> CatalogError {
    CatalogError::Backend(format!("sqlite: {e}"))
}

/// Maps a failed write: unique violations become `Duplicate(what)`, foreign-key
/// violations `Missing(parent)`.
fn write_error(e: rusqlite::Error, what: impl FnOnce() -> String, parent: impl FnOnce() -> String) -> CatalogError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == ErrorCode::ConstraintViolation {
            match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return CatalogError::Duplicate(what());
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return CatalogError::Missing(parent()),
                _ => {}
            }
        }
    }
    backend(e)
}

impl Columns for Row<'_> {
    fn text(&self, i: usize) -> CatalogResult<&str> {
        self.get_ref(i).map_err(backend)?.as_str().map_err(|e| CatalogError::Backend(format!("sqlite column {i}: {e}")))
    }
    fn opt_text(&self, i: usize) -> CatalogResult<Option<&str>> {
        self.get_ref(i).map_err(backend)?.as_str_or_null().map_err(|e| CatalogError::Backend(format!("sqlite column {i}: {e}")))
    }
    fn int(&self, i: usize) -> CatalogResult<i64> {
        self.get_ref(i).map_err(backend)?.as_i64().map_err(|e| CatalogError::Backend(format!("sqlite column {i}: {e}")))
    }
    fn opt_int(&self, i: usize) -> CatalogResult<Option<i64>> {
        self.get_ref(i).map_err(backend)?.as_i64_or_null().map_err(|e| CatalogError::Backend(format!("sqlite column {i}: {e}")))
    }
    fn boolean(&self, i: usize) -> CatalogResult<bool> {
        self.int(i).map(|v| v != 0)
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            SqlValue::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            SqlValue::TextList(_) => return Err(rusqlite::Error::ToSqlConversionFailure("array parameters are PostgreSQL-only".into())),
        })
    }
}

fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&Row<'_>) -> CatalogResult<T>,
) -> CatalogResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = stmt.query(params).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

fn query_all<T>(conn: &Connection, sql: &str, params: impl Params, decode: impl Fn(&Row<'_>) -> CatalogResult<T>) -> CatalogResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let mut rows = stmt.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

fn execute(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn get_image_on(conn: &Connection, id: &Uuid) -> CatalogResult<Option<Image>> {
    let mut buf = [0u8; 36];
    query_opt(conn, sqlite!(st::GET_IMAGE), [rows::uuid_text(id, &mut buf)], |r| rows::decode_image(r))
}

/// Writes the image columns in `INSERT_IMAGE` / `UPDATE_IMAGE` order; `version` is
/// the version to store (insert) or to expect (update).
fn write_image_row(conn: &Connection, sql: &str, image: &Image, version: i64) -> rusqlite::Result<usize> {
    let mut buf = [0u8; 36];
    let id = rows::uuid_text(&image.id, &mut buf);
    execute(
        conn,
        sql,
        params![
            id,
            image.name,
            image.status.as_str(),
            image.visibility.as_str(),
            image.protected,
            image.os_hidden,
            image.owner,
            image.min_disk,
            image.min_ram,
            image.container_format,
            image.disk_format,
            image.size,
            image.virtual_size,
            image.checksum,
            image.os_hash_algo,
            image.os_hash_value,
            image.blob_key,
            rows::micros(&image.created_at),
            rows::micros(&image.updated_at),
            rows::opt_micros(&image.deleted_at),
            rows::tags_json(&image.tags),
            rows::properties_json(&image.properties),
            version,
        ],
    )
}

fn insert_image_on(conn: &mut Connection, image: &Image) -> CatalogResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    write_image_row(&tx, sqlite!(st::INSERT_IMAGE), image, image.version)
        .map_err(|e| write_error(e, || format!("image {}", image.id), || format!("image {}", image.id)))?;
    let mut buf = [0u8; 36];
    let id = rows::uuid_text(&image.id, &mut buf);
    let created = rows::micros(&image.created_at);
    for tag in &image.tags {
        execute(&tx, sqlite!(st::INSERT_TAG), params![id, tag, created]).map_err(backend)?;
    }
    for (name, value) in &image.properties {
        execute(&tx, sqlite!(st::UPSERT_PROPERTY), params![id, name, value, created]).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn update_image_on(conn: &mut Connection, image: &Image) -> CatalogResult<Image> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let mut buf = [0u8; 36];
    let id = rows::uuid_text(&image.id, &mut buf);
    let stored = query_opt(&tx, sqlite!(st::IMAGE_VERSION), [id], |r| rows::decode_stored_state(r))?
        .ok_or_else(|| CatalogError::Missing(format!("image {}", image.id)))?;
    if stored.version != image.version {
        return Err(CatalogError::Stale);
    }
    if write_image_row(&tx, sqlite!(st::UPDATE_IMAGE), image, image.version).map_err(backend)? == 0 {
        return Err(CatalogError::Stale);
    }
    let changes = rows::child_changes(&stored, image);
    let created = rows::micros(&image.created_at);
    if created != stored.created_at {
        execute(&tx, sqlite!(st::RETIME_TAGS), params![id, created]).map_err(backend)?;
        execute(&tx, sqlite!(st::RETIME_PROPERTIES), params![id, created]).map_err(backend)?;
    }
    for tag in changes.removed_tags {
        execute(&tx, sqlite!(st::DELETE_TAG), params![id, tag]).map_err(backend)?;
    }
    for tag in changes.added_tags {
        execute(&tx, sqlite!(st::INSERT_TAG), params![id, tag, created]).map_err(backend)?;
    }
    for name in changes.removed_properties {
        execute(&tx, sqlite!(st::DELETE_PROPERTY), params![id, name]).map_err(backend)?;
    }
    for (name, value) in changes.set_properties {
        execute(&tx, sqlite!(st::UPSERT_PROPERTY), params![id, name, value, created]).map_err(backend)?;
    }
    tx.commit().map_err(backend)?;
    let mut updated = image.clone();
    updated.version = image.version + 1;
    Ok(updated)
}

fn list_images_on(conn: &Connection, query: &ListQuery) -> CatalogResult<Vec<Image>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    let marker = match query.marker {
        Some(id) => Some(get_image_on(conn, &id)?.ok_or_else(|| CatalogError::Missing(format!("marker image {id}")))?),
        None => None,
    };
    let few = match matches_probe(Flavor::Sqlite, query) {
        Some(probe) => query_opt(conn, &probe.text, params_from_iter(probe.params.iter()), |r| r.int(0))?.is_some_and(|n| n <= FEW_MATCHES),
        None => false,
    };
    let sql = list_images_query(Flavor::Sqlite, query, marker.as_ref(), few);
    query_all(conn, &sql.text, params_from_iter(sql.params.iter()), |r| rows::decode_image(r))
}

/// Replace a stored secret, then leave no copy of the old value in the files:
/// `secure_delete` zeroes the old cell, and a truncating checkpoint moves the page
/// into the database and empties the WAL, which held the old page images.
fn replace_secret(conn: &Connection, sql: &str, args: &[String; 3]) -> CatalogResult<bool> {
    let changed = execute(conn, sql, params_from_iter(args.iter())).map_err(backend)? > 0;
    if changed {
        // Busy readers only postpone the truncation to a later checkpoint.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(backend)?;
    }
    Ok(changed)
}

fn owned(s: &str) -> String {
    s.to_owned()
}

#[async_trait]
impl ImageCatalog for SqliteCatalog {
    async fn insert_image(&self, image: &Image) -> CatalogResult<()> {
        let image = image.clone();
        self.write(move |c| insert_image_on(c, &image)).await
    }

    async fn get_image(&self, id: Uuid) -> CatalogResult<Option<Image>> {
        self.read(move |c| get_image_on(c, &id)).await
    }

    async fn update_image(&self, image: &Image) -> CatalogResult<Image> {
        let image = image.clone();
        self.write(move |c| update_image_on(c, &image)).await
    }

    async fn list_images(&self, query: &ListQuery) -> CatalogResult<Vec<Image>> {
        let query = query.clone();
        self.read(move |c| list_images_on(c, &query)).await
    }

    async fn usage(&self, project_id: &str) -> CatalogResult<Usage> {
        let project = owned(project_id);
        self.read(move |c| {
            query_opt(c, sqlite!(st::USAGE), [&project], |r| {
                Ok(Usage { image_count: r.int(0)?, stored_bytes: r.int(1)?, staged_bytes: r.int(2)? })
            })
            .map(Option::unwrap_or_default)
        })
        .await
    }

    async fn blob_in_use(&self, blob_key: &str) -> CatalogResult<bool> {
        let key = owned(blob_key);
        self.read(move |c| query_opt(c, sqlite!(st::BLOB_IN_USE), [&key], |r| r.boolean(0)).map(|v| v.unwrap_or(false))).await
    }

    async fn claim_blob(&self, blob_key: &str, now: Timestamp, stale_before: Timestamp) -> CatalogResult<bool> {
        let (key, now, stale) = (owned(blob_key), rows::micros(&now), rows::micros(&stale_before));
        self.write(move |c| execute(c, sqlite!(st::CLAIM_BLOB), params![key, now, stale]).map(|n| n > 0).map_err(backend)).await
    }

    async fn begin_blob_deletion(&self, blob_key: &str, cutoff: Timestamp, now: Timestamp) -> CatalogResult<bool> {
        let (key, cutoff, now) = (owned(blob_key), rows::micros(&cutoff), rows::micros(&now));
        self.write(move |c| execute(c, sqlite!(st::BEGIN_BLOB_DELETION), params![key, cutoff, now]).map(|n| n > 0).map_err(backend)).await
    }

    async fn end_blob_deletion(&self, blob_key: &str) -> CatalogResult<()> {
        let key = owned(blob_key);
        self.write(move |c| execute(c, sqlite!(st::END_BLOB_DELETION), params![key]).map(|_| ()).map_err(backend)).await
    }

    async fn insert_member(&self, member: &Member) -> CatalogResult<()> {
        let m = member.clone();
        self.write(move |c| {
            let mut buf = [0u8; 36];
            let image_id = rows::uuid_text(&m.image_id, &mut buf);
            execute(
                c,
                sqlite!(st::INSERT_MEMBER),
                params![image_id, m.member_id, m.status.as_str(), rows::micros(&m.created_at), rows::micros(&m.updated_at)],
            )
            .map(drop)
            .map_err(|e| write_error(e, || format!("member {} of image {}", m.member_id, m.image_id), || format!("image {}", m.image_id)))
        })
        .await
    }

    async fn get_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<Option<Member>> {
        let member_id = owned(member_id);
        self.read(move |c| {
            let mut buf = [0u8; 36];
            query_opt(c, sqlite!(st::GET_MEMBER), params![rows::uuid_text(&image_id, &mut buf), member_id], |r| rows::decode_member(r))
        })
        .await
    }

    async fn list_members(&self, image_id: Uuid) -> CatalogResult<Vec<Member>> {
        self.read(move |c| {
            let mut buf = [0u8; 36];
            query_all(c, sqlite!(st::LIST_MEMBERS), [rows::uuid_text(&image_id, &mut buf)], |r| rows::decode_member(r))
        })
        .await
    }

    async fn update_member(&self, member: &Member) -> CatalogResult<()> {
        let m = member.clone();
        self.write(move |c| {
            let mut buf = [0u8; 36];
            let image_id = rows::uuid_text(&m.image_id, &mut buf);
            let n = execute(
                c,
                sqlite!(st::UPDATE_MEMBER),
                params![image_id, m.member_id, m.status.as_str(), rows::micros(&m.created_at), rows::micros(&m.updated_at)],
            )
            .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::Missing(format!("member {} of image {}", m.member_id, m.image_id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<bool> {
        let member_id = owned(member_id);
        self.write(move |c| {
            let mut buf = [0u8; 36];
            execute(c, sqlite!(st::DELETE_MEMBER), params![rows::uuid_text(&image_id, &mut buf), member_id]).map(|n| n > 0).map_err(backend)
        })
        .await
    }

    async fn insert_alt_key(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<()> {
        let (namespace, key, target) = (owned(namespace), owned(key), owned(target));
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_ALT_KEY), params![namespace, key, target])
                .map(drop)
                .map_err(|e| write_error(e, || shared::alt_key_duplicate(&namespace, &key), String::new))
        })
        .await
    }

    async fn find_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<Option<String>> {
        let (namespace, key) = (owned(namespace), owned(key));
        self.read(move |c| query_opt(c, sqlite!(st::FIND_ALT_KEY), params![namespace, key], |r| rows::decode_single_string(r))).await
    }

    async fn alt_key_of(&self, namespace: &str, target: &str) -> CatalogResult<Option<String>> {
        let (namespace, target) = (owned(namespace), owned(target));
        self.read(move |c| query_opt(c, sqlite!(st::ALT_KEY_OF), params![namespace, target], |r| rows::decode_single_string(r))).await
    }

    async fn delete_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<bool> {
        let (namespace, key) = (owned(namespace), owned(key));
        self.write(move |c| execute(c, sqlite!(st::DELETE_ALT_KEY), params![namespace, key]).map(|n| n > 0).map_err(backend)).await
    }

    async fn delete_alt_key_if(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<bool> {
        let (namespace, key, target) = (owned(namespace), owned(key), owned(target));
        self.write(move |c| execute(c, sqlite!(st::DELETE_ALT_KEY_IF), params![namespace, key, target]).map(|n| n > 0).map_err(backend))
            .await
    }

    async fn list_alt_keys(
        &self,
        namespace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> CatalogResult<Vec<(String, String)>> {
        let range = shared::AltKeyRange::new(namespace, prefix, after, limit);
        self.read(move |c| {
            let decode = |r: &Row<'_>| rows::decode_alt_key_pair(r);
            let (ns, lower, n) = (&range.namespace, &range.lower, shared::sql_limit(range.limit));
            match (&range.upper, range.exclusive) {
                (None, false) => query_all(c, sqlite!(st::LIST_ALT_KEYS_FROM), params![ns, lower, n], decode),
                (None, true) => query_all(c, sqlite!(st::LIST_ALT_KEYS_AFTER), params![ns, lower, n], decode),
                (Some(upper), false) => query_all(c, sqlite!(st::LIST_ALT_KEYS_FROM_BELOW), params![ns, lower, upper, n], decode),
                (Some(upper), true) => query_all(c, sqlite!(st::LIST_ALT_KEYS_AFTER_BELOW), params![ns, lower, upper, n], decode),
            }
        })
        .await
    }

    async fn insert_operation(&self, op: &OperationRecord) -> CatalogResult<()> {
        let op = op.clone();
        self.write(move |c| {
            execute(
                c,
                sqlite!(st::INSERT_OPERATION),
                params![
                    op.id,
                    op.dialect,
                    op.project_id,
                    op.target,
                    op.description,
                    op.created_by,
                    rows::micros(&op.created_at),
                    rows::micros(&op.modified_at),
                    op.done,
                    rows::payload_json(&op.payload),
                    op.idempotency_key,
                ],
            )
            .map(drop)
            .map_err(|e| write_error(e, || shared::operation_duplicate(&op), String::new))
        })
        .await
    }

    async fn get_operation(&self, dialect: &str, id: &str) -> CatalogResult<Option<OperationRecord>> {
        let (dialect, id) = (owned(dialect), owned(id));
        self.read(move |c| query_opt(c, sqlite!(st::GET_OPERATION), params![dialect, id], |r| rows::decode_operation(r))).await
    }

    async fn update_operation(&self, op: &OperationRecord) -> CatalogResult<()> {
        let op = op.clone();
        self.write(move |c| {
            let n = execute(
                c,
                sqlite!(st::UPDATE_OPERATION),
                params![
                    op.id,
                    op.dialect,
                    op.project_id,
                    op.target,
                    op.description,
                    op.created_by,
                    rows::micros(&op.created_at),
                    rows::micros(&op.modified_at),
                    op.done,
                    rows::payload_json(&op.payload),
                    op.idempotency_key,
                ],
            )
            .map_err(|e| write_error(e, || shared::operation_duplicate(&op), String::new))?;
            if n == 0 {
                return Err(CatalogError::Missing(format!("operation {}/{}", op.dialect, op.id)));
            }
            Ok(())
        })
        .await
    }

    async fn list_operations(&self, dialect: &str, target: &str, after: Option<&str>, limit: usize) -> CatalogResult<Vec<OperationRecord>> {
        let (dialect, target, after) = (owned(dialect), owned(target), after.map(owned));
        self.read(move |c| {
            let decode = |r: &Row<'_>| rows::decode_operation(r);
            match &after {
                None => query_all(c, sqlite!(st::LIST_OPERATIONS), params![dialect, target, shared::sql_limit(limit)], decode),
                Some(after) => {
                    query_all(c, sqlite!(st::LIST_OPERATIONS_AFTER), params![dialect, target, after, shared::sql_limit(limit)], decode)
                }
            }
        })
        .await
    }

    async fn find_operation_by_idempotency_key(
        &self,
        dialect: &str,
        project_id: &str,
        key: &str,
    ) -> CatalogResult<Option<OperationRecord>> {
        let (dialect, project, key) = (owned(dialect), owned(project_id), owned(key));
        self.read(move |c| {
            query_opt(c, sqlite!(st::FIND_OPERATION_BY_IDEMPOTENCY_KEY), params![dialect, project, key], |r| rows::decode_operation(r))
        })
        .await
    }
}

#[async_trait]
impl IdentityCatalog for SqliteCatalog {
    async fn insert_domain(&self, d: &Domain) -> CatalogResult<()> {
        let d = d.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_DOMAIN), params![d.id, d.name, d.description, d.enabled])
                .map(drop)
                .map_err(|e| write_error(e, || format!("domain {} ({})", d.id, d.name), String::new))
        })
        .await
    }

    async fn get_domain(&self, id: &str) -> CatalogResult<Option<Domain>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_DOMAIN), [&id], |r| rows::decode_domain(r))).await
    }

    async fn find_domain_by_name(&self, name: &str) -> CatalogResult<Option<Domain>> {
        let name = owned(name);
        self.read(move |c| query_opt(c, sqlite!(st::FIND_DOMAIN_BY_NAME), [&name], |r| rows::decode_domain(r))).await
    }

    async fn list_domains(&self) -> CatalogResult<Vec<Domain>> {
        self.read(|c| query_all(c, sqlite!(st::LIST_DOMAINS), [], |r| rows::decode_domain(r))).await
    }

    async fn insert_project(&self, p: &Project) -> CatalogResult<()> {
        let p = p.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_PROJECT), params![p.id, p.name, p.domain_id, p.description, p.enabled])
                .map(drop)
                .map_err(|e| write_error(e, || shared::project_duplicate(&p), String::new))
        })
        .await
    }

    async fn get_project(&self, id: &str) -> CatalogResult<Option<Project>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_PROJECT), [&id], |r| rows::decode_project(r))).await
    }

    async fn find_project_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<Project>> {
        let (domain, name) = (owned(domain_id), owned(name));
        self.read(move |c| query_opt(c, sqlite!(st::FIND_PROJECT_BY_NAME), params![domain, name], |r| rows::decode_project(r))).await
    }

    async fn list_projects(&self) -> CatalogResult<Vec<Project>> {
        self.read(|c| query_all(c, sqlite!(st::LIST_PROJECTS), [], |r| rows::decode_project(r))).await
    }

    async fn update_project(&self, p: &Project) -> CatalogResult<()> {
        let p = p.clone();
        self.write(move |c| {
            let n = execute(c, sqlite!(st::UPDATE_PROJECT), params![p.id, p.name, p.domain_id, p.description, p.enabled])
                .map_err(|e| write_error(e, || shared::project_duplicate(&p), String::new))?;
            if n == 0 {
                return Err(CatalogError::Missing(format!("project {}", p.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_project(&self, id: &str) -> CatalogResult<bool> {
        let id = owned(id);
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            execute(&tx, sqlite!(st::DELETE_PROJECT_ASSIGNMENTS), [&id]).map_err(backend)?;
            let n = execute(&tx, sqlite!(st::DELETE_PROJECT), [&id]).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn insert_user(&self, u: &User) -> CatalogResult<()> {
        let u = u.clone();
        self.write(move |c| {
            execute(
                c,
                sqlite!(st::INSERT_USER),
                params![u.id, u.name, u.domain_id, u.password_hash, u.enabled, u.default_project_id, rows::micros(&u.created_at)],
            )
            .map(drop)
            .map_err(|e| write_error(e, || shared::user_duplicate(&u), String::new))
        })
        .await
    }

    async fn get_user(&self, id: &str) -> CatalogResult<Option<User>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_USER), [&id], |r| rows::decode_user(r))).await
    }

    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<User>> {
        let (domain, name) = (owned(domain_id), owned(name));
        self.read(move |c| query_opt(c, sqlite!(st::FIND_USER_BY_NAME), params![domain, name], |r| rows::decode_user(r))).await
    }

    async fn list_users(&self) -> CatalogResult<Vec<User>> {
        self.read(|c| query_all(c, sqlite!(st::LIST_USERS), [], |r| rows::decode_user(r))).await
    }

    async fn update_user(&self, u: &User) -> CatalogResult<()> {
        let u = u.clone();
        self.write(move |c| {
            let n = execute(
                c,
                sqlite!(st::UPDATE_USER),
                params![u.id, u.name, u.domain_id, u.password_hash, u.enabled, u.default_project_id, rows::micros(&u.created_at)],
            )
            .map_err(|e| write_error(e, || shared::user_duplicate(&u), String::new))?;
            if n == 0 {
                return Err(CatalogError::Missing(format!("user {}", u.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_user(&self, id: &str) -> CatalogResult<bool> {
        let id = owned(id);
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            for sql in
                [sqlite!(st::DELETE_USER_ASSIGNMENTS), sqlite!(st::DELETE_USER_ACCESS_KEYS), sqlite!(st::DELETE_USER_APP_CREDENTIALS)]
            {
                execute(&tx, sql, [&id]).map_err(backend)?;
            }
            let n = execute(&tx, sqlite!(st::DELETE_USER), [&id]).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn insert_role(&self, r: &Role) -> CatalogResult<()> {
        let r = r.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_ROLE), params![r.id, r.name])
                .map(drop)
                .map_err(|e| write_error(e, || format!("role {} ({})", r.id, r.name), String::new))
        })
        .await
    }

    async fn get_role(&self, id: &str) -> CatalogResult<Option<Role>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_ROLE), [&id], |r| rows::decode_role(r))).await
    }

    async fn find_role_by_name(&self, name: &str) -> CatalogResult<Option<Role>> {
        let name = owned(name);
        self.read(move |c| query_opt(c, sqlite!(st::FIND_ROLE_BY_NAME), [&name], |r| rows::decode_role(r))).await
    }

    async fn list_roles(&self) -> CatalogResult<Vec<Role>> {
        self.read(|c| query_all(c, sqlite!(st::LIST_ROLES), [], |r| rows::decode_role(r))).await
    }

    async fn grant_role(&self, a: &RoleAssignment) -> CatalogResult<()> {
        let a = a.clone();
        self.write(move |c| execute(c, sqlite!(st::GRANT_ROLE), params![a.user_id, a.project_id, a.role_id]).map(drop).map_err(backend))
            .await
    }

    async fn revoke_role(&self, a: &RoleAssignment) -> CatalogResult<bool> {
        let a = a.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::REVOKE_ROLE), params![a.user_id, a.project_id, a.role_id]).map(|n| n > 0).map_err(backend)
        })
        .await
    }

    async fn list_role_assignments(
        &self,
        user_id: Option<&str>,
        project_id: Option<&str>,
        role_id: Option<&str>,
    ) -> CatalogResult<Vec<RoleAssignment>> {
        let sql = role_assignments_query(Flavor::Sqlite, user_id, project_id, role_id);
        self.read(move |c| query_all(c, &sql.text, params_from_iter(sql.params.iter()), |r| rows::decode_assignment(r))).await
    }

    async fn insert_access_key(&self, k: &AccessKey) -> CatalogResult<()> {
        let k = k.clone();
        self.write(move |c| {
            execute(
                c,
                sqlite!(st::INSERT_ACCESS_KEY),
                params![k.id, k.secret, k.user_id, k.project_id, k.description, rows::micros(&k.created_at), k.public_key],
            )
            .map(drop)
            .map_err(|e| write_error(e, || format!("access key {}", k.id), String::new))
        })
        .await
    }

    async fn get_access_key(&self, id: &str) -> CatalogResult<Option<AccessKey>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_ACCESS_KEY), [&id], |r| rows::decode_access_key(r))).await
    }

    async fn list_access_keys(&self, user_id: &str) -> CatalogResult<Vec<AccessKey>> {
        let user = owned(user_id);
        self.read(move |c| query_all(c, sqlite!(st::LIST_ACCESS_KEYS), [&user], |r| rows::decode_access_key(r))).await
    }

    async fn delete_access_key(&self, id: &str) -> CatalogResult<bool> {
        let id = owned(id);
        self.write(move |c| execute(c, sqlite!(st::DELETE_ACCESS_KEY), [&id]).map(|n| n > 0).map_err(backend)).await
    }

    async fn replace_access_key_secret(&self, id: &str, expected: &str, secret: &str) -> CatalogResult<bool> {
        let args = [owned(id), owned(expected), owned(secret)];
        self.write(move |c| replace_secret(c, sqlite!(st::REPLACE_ACCESS_KEY_SECRET), &args)).await
    }

    async fn insert_app_credential(&self, a: &ApplicationCredential) -> CatalogResult<()> {
        let a = a.clone();
        self.write(move |c| {
            execute(
                c,
                sqlite!(st::INSERT_APP_CREDENTIAL),
                params![
                    a.id,
                    a.name,
                    a.user_id,
                    a.project_id,
                    a.description,
                    a.secret_hash,
                    rows::roles_json(&a.roles),
                    rows::opt_micros(&a.expires_at),
                    a.unrestricted,
                    rows::micros(&a.created_at),
                ],
            )
            .map(drop)
            .map_err(|e| write_error(e, || shared::app_credential_duplicate(&a), String::new))
        })
        .await
    }

    async fn get_app_credential(&self, id: &str) -> CatalogResult<Option<ApplicationCredential>> {
        let id = owned(id);
        self.read(move |c| query_opt(c, sqlite!(st::GET_APP_CREDENTIAL), [&id], |r| rows::decode_app_credential(r))).await
    }

    async fn list_app_credentials(&self, user_id: &str) -> CatalogResult<Vec<ApplicationCredential>> {
        let user = owned(user_id);
        self.read(move |c| query_all(c, sqlite!(st::LIST_APP_CREDENTIALS), [&user], |r| rows::decode_app_credential(r))).await
    }

    async fn delete_app_credential(&self, id: &str) -> CatalogResult<bool> {
        let id = owned(id);
        self.write(move |c| execute(c, sqlite!(st::DELETE_APP_CREDENTIAL), [&id]).map(|n| n > 0).map_err(backend)).await
    }

    async fn insert_signing_key(&self, k: &SigningKey) -> CatalogResult<()> {
        let k = k.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_SIGNING_KEY), params![k.id, k.kind, k.material, rows::micros(&k.created_at)])
                .map(drop)
                .map_err(|e| write_error(e, || format!("signing key {}", k.id), String::new))
        })
        .await
    }

    async fn list_signing_keys(&self, kind: &str) -> CatalogResult<Vec<SigningKey>> {
        let kind = owned(kind);
        self.read(move |c| query_all(c, sqlite!(st::LIST_SIGNING_KEYS), [&kind], |r| rows::decode_signing_key(r))).await
    }

    async fn delete_signing_key(&self, id: &str) -> CatalogResult<bool> {
        let id = owned(id);
        self.write(move |c| execute(c, sqlite!(st::DELETE_SIGNING_KEY), [&id]).map(|n| n > 0).map_err(backend)).await
    }

    async fn replace_signing_key_material(&self, id: &str, expected: &str, material: &str) -> CatalogResult<bool> {
        let args = [owned(id), owned(expected), owned(material)];
        self.write(move |c| replace_secret(c, sqlite!(st::REPLACE_SIGNING_KEY_MATERIAL), &args)).await
    }

    async fn insert_revocation(&self, r: &Revocation) -> CatalogResult<()> {
        let r = r.clone();
        self.write(move |c| {
            execute(c, sqlite!(st::INSERT_REVOCATION), params![r.audit_id, rows::micros(&r.expires_at)])
                .map(drop)
                .map_err(|e| write_error(e, || format!("revocation of {}", r.audit_id), String::new))
        })
        .await
    }

    async fn list_revocations(&self, now: Timestamp) -> CatalogResult<Vec<Revocation>> {
        let now = rows::micros(&now);
        self.read(move |c| query_all(c, sqlite!(st::LIST_REVOCATIONS), [now], |r| rows::decode_revocation(r))).await
    }
}

#[async_trait]
impl ClusterCatalog for SqliteCatalog {
    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool> {
        let (name, holder, now, until) = (owned(name), owned(holder), rows::micros(&now), rows::micros(&until));
        self.write(move |c| execute(c, sqlite!(st::ACQUIRE_LEASE), params![name, holder, now, until]).map(|n| n > 0).map_err(backend)).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> CatalogResult<()> {
        let (name, holder) = (owned(name), owned(holder));
        self.write(move |c| execute(c, sqlite!(st::RELEASE_LEASE), params![name, holder]).map(drop).map_err(backend)).await
    }

    async fn get_lease(&self, name: &str) -> CatalogResult<Option<Lease>> {
        let name = owned(name);
        self.read(move |c| query_opt(c, sqlite!(st::GET_LEASE), params![name], |r| rows::decode_lease(r))).await
    }

    async fn insert_job(&self, job: &Job) -> CatalogResult<()> {
        let job = job.clone();
        self.write(move |c| {
            let v = rows::job_values(&job);
            execute(
                c,
                sqlite!(st::INSERT_JOB),
                params![
                    v.id,
                    job.kind,
                    v.image_id,
                    job.owner,
                    job.user_id,
                    job.request_id,
                    v.state,
                    v.input,
                    job.message,
                    v.result,
                    v.attempts,
                    job.claimed_by,
                    job.taken_from,
                    v.lease_expires_at,
                    v.created_at,
                    v.updated_at,
                    v.expires_at,
                ],
            )
            .map(drop)
            .map_err(|e| write_error(e, || format!("job {}", job.id), String::new))
        })
        .await
    }

    async fn get_job(&self, id: Uuid) -> CatalogResult<Option<Job>> {
        let id = id.hyphenated().to_string();
        self.read(move |c| query_opt(c, sqlite!(st::GET_JOB), params![id], |r| rows::decode_job(r))).await
    }

    async fn list_jobs_for_image(&self, image_id: Uuid) -> CatalogResult<Vec<Job>> {
        let id = image_id.hyphenated().to_string();
        self.read(move |c| query_all(c, sqlite!(st::LIST_JOBS_FOR_IMAGE), params![id], |r| rows::decode_job(r))).await
    }

    async fn list_jobs(&self, state: Option<JobState>, after: Option<Uuid>, descending: bool, limit: usize) -> CatalogResult<Vec<Job>> {
        let state = state.map(JobState::as_str);
        let limit = shared::sql_limit(limit);
        self.read(move |c| {
            let (_, sql) = st::list_jobs_statement(descending, after.is_some());
            match after {
                Some(after) => query_all(c, sql, params![state, limit, after.hyphenated().to_string()], |r| rows::decode_job(r)),
                None => query_all(c, sql, params![state, limit], |r| rows::decode_job(r)),
            }
        })
        .await
    }

    async fn claim_job(&self, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<Option<Job>> {
        let (node, now, until) = (owned(node), rows::micros(&now), rows::micros(&until));
        self.write(move |c| query_opt(c, sqlite!(st::CLAIM_JOB_SQLITE), params![node, now, until], |r| rows::decode_job(r))).await
    }

    async fn renew_job(&self, id: Uuid, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool> {
        let (id, node, now, until) = (id.hyphenated().to_string(), owned(node), rows::micros(&now), rows::micros(&until));
        self.write(move |c| execute(c, sqlite!(st::RENEW_JOB), params![id, node, now, until]).map(|n| n > 0).map_err(backend)).await
    }

    async fn settle_job(&self, id: Uuid, node: &str, outcome: &JobOutcome, now: Timestamp) -> CatalogResult<bool> {
        let (id, node, now) = (id.hyphenated().to_string(), owned(node), rows::micros(&now));
        let (state, message) = (outcome.state.as_str(), outcome.message.clone());
        let (result, expires_at) = (outcome.result.as_ref().map(|v| v.to_string()), rows::opt_micros(&outcome.expires_at));
        self.write(move |c| {
            execute(c, sqlite!(st::SETTLE_JOB), params![id, node, state, message, result, expires_at, now]).map(|n| n > 0).map_err(backend)
        })
        .await
    }

    async fn purge_jobs(&self, now: Timestamp) -> CatalogResult<u64> {
        let now = rows::micros(&now);
        self.write(move |c| execute(c, sqlite!(st::PURGE_JOBS), params![now]).map(|n| n as u64).map_err(backend)).await
    }

    async fn remember_nonce(&self, scope: &str, nonce: &str, now: Timestamp, expires_at: Timestamp, budget: u32) -> CatalogResult<Seen> {
        let (scope, nonce, now, expires_at) = (owned(scope), owned(nonce), rows::micros(&now), rows::micros(&expires_at));
        self.write(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            execute(&tx, sqlite!(st::FORGET_EXPIRED_NONCES), params![scope, now]).map_err(backend)?;
            let seen = query_opt(&tx, sqlite!(st::NONCE_SEEN), params![scope, nonce], |r| r.boolean(0))?.unwrap_or(false);
            let live = query_opt(&tx, sqlite!(st::COUNT_NONCES), params![scope], |r| r.int(0))?.unwrap_or(0);
            if let Some(verdict) = shared::nonce_verdict(seen, live, budget) {
                return Ok(verdict);
            }
            let inserted = execute(&tx, sqlite!(st::INSERT_NONCE), params![scope, nonce, expires_at]).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(if inserted > 0 { Seen::Fresh } else { Seen::Replayed })
        })
        .await
    }

    async fn notify(&self, topic: &str) -> CatalogResult<()> {
        self.inner.topics.announce(topic);
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> Option<BoxStream<'static, ()>> {
        Some(self.inner.topics.subscribe(topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagery_core::member::MemberStatus;
    use imagery_core::query::{Filter, ListScope, SortDir, SortKey};

    fn plan(conn: &Connection, query: &ListQuery, marker: Option<&Image>) -> String {
        let sql = list_images_query(Flavor::Sqlite, query, marker, false);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text)).unwrap();
        let mut rows = stmt.query(params_from_iter(sql.params.iter())).unwrap();
        let mut out = String::new();
        while let Some(row) = rows.next().unwrap() {
            out.push_str(&row.get::<_, String>(3).unwrap());
            out.push('\n');
        }
        out
    }

    fn user() -> ListScope {
        ListScope {
            is_admin: false,
            project_id: Some("p".into()),
            visibility: None,
            include_community: false,
            member_status: Some(MemberStatus::Accepted),
            os_hidden: None,
        }
    }

    /// Pages of the default order and of a name sort are index range scans in
    /// sort order: a page deep in the list costs what the first page costs. A
    /// project's view reads each branch of its union from its own index (its own
    /// images by owner, public ones in page order, its memberships), never the
    /// whole catalog; a tag filter in the default order reads the tag's rows in
    /// page order.
    #[test]
    fn keyset_pages_are_index_ranges() {
        let mut conn = configure(Connection::open_in_memory().unwrap(), ConnectionRole::Writer).unwrap();
        migrate(&mut conn).unwrap();
        let mut marker = Image::new(Uuid::new_v4(), None, imagery_core::time::now());
        marker.name = Some("m".into());
        let mut q = ListQuery::new(ListScope::everything(), 25);
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("SEARCH images USING INDEX images_created ((created_at,id)<(?,?))"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        q.scope = user();
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("SEARCH images USING INDEX images_owner (owner=? AND (created_at,id)<(?,?))"), "{p}");
        assert!(p.contains("SEARCH images USING INDEX images_visibility (visibility=? AND (created_at,id)<(?,?))"), "{p}");
        assert!(p.contains("SEARCH image_members USING COVERING INDEX image_members_member (member_id=?"), "{p}");
        assert!(p.contains("MERGE (UNION ALL)") && !p.contains("SCAN images"), "{p}");
        q.sort = vec![(SortKey::Size, SortDir::Desc)];
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("USING INDEX images_public_size"), "{p}");
        q.scope = ListScope::everything();
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("USING INDEX images_size") && !p.contains("TEMP B-TREE"), "{p}");
        q.sort = vec![(SortKey::Name, SortDir::Asc)];
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("SEARCH images USING INDEX images_name ((name,created_at,id)>(?,?,?))"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        q.filters = vec![Filter::Tag("x".into())];
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("USING INDEX images_name") && !p.contains("TEMP B-TREE"), "{p}");
        q.sort = vec![(SortKey::CreatedAt, SortDir::Desc)];
        let p = plan(&conn, &q, Some(&marker));
        assert!(p.contains("SEARCH image_tags USING COVERING INDEX image_tags_tag (tag=? AND (image_created_at,image_id)<(?,?))"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[tokio::test]
    async fn file_connections_are_durable_wal() {
        let dir = std::env::temp_dir().join(format!("imagery-catalog-pragmas-{}", Uuid::new_v4()));
        let catalog = SqliteCatalog::open_file(dir.join("c.db")).await.unwrap();
        let pragmas = |c: &Connection| -> (String, i64, i64, i64) {
            (
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap(),
                c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap(),
                c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap(),
                c.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap(),
            )
        };
        let expected = ("wal".to_string(), 2, 1, 10_000);
        assert_eq!(pragmas(&lock(&catalog.inner.writer)), expected);
        assert_eq!(catalog.inner.readers.len(), READERS);
        for reader in &catalog.inner.readers {
            assert_eq!(pragmas(&lock(reader)), expected);
        }
        drop(catalog);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The catalog holds credentials: its directory, file, `-wal` and `-shm` are
    /// owner-only from the start.
    #[cfg(unix)]
    #[tokio::test]
    async fn new_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = std::env::temp_dir().join(format!("imagery-catalog-modes-{}", Uuid::new_v4()));
        let path = dir.join("nested").join("c.db");
        let catalog = SqliteCatalog::open_file(&path).await.unwrap();
        catalog.insert_domain(&Domain { id: "d".into(), name: "D".into(), description: String::new(), enabled: true }).await.unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("nested")), 0o700);
        for file in ["c.db", "c.db-wal", "c.db-shm"] {
            assert_eq!(mode(&dir.join("nested").join(file)), 0o600, "{file}");
        }
        drop(catalog);
        let _ = std::fs::remove_dir_all(dir);
    }
}
