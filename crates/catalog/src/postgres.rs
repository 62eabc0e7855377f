//! The shared catalog for several API nodes: PostgreSQL through `tokio-postgres`
//! with a `deadpool-postgres` connection pool (no TLS) and per-connection statement
//! caches.
//!
//! Migrations run on a dedicated session holding an advisory lock, so any number of
//! nodes may start at once; each migration is its own transaction. Text columns use
//! `COLLATE "C"` so ordering matches SQLite's byte-wise comparison.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures::stream::{BoxStream, StreamExt};
use imagery_core::cluster::{Job, JobOutcome, JobState, Lease, Seen};
use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, Revocation, Role, RoleAssignment, SigningKey, User};
use imagery_core::operation::OperationRecord;
use imagery_core::ports::{CatalogError, CatalogResult, ClusterCatalog, IdentityCatalog, ImageCatalog, Usage};
use imagery_core::query::ListQuery;
use imagery_core::time::Timestamp;
use imagery_core::{Image, Member};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{AsyncMessage, Config, NoTls, Row};
use uuid::Uuid;

use crate::list_query::{list_images_query, matches_probe, role_assignments_query, Flavor, Sql, SqlValue, FEW_MATCHES};
use crate::rows::{self, Columns};
use crate::statements as st;
use crate::{migrations, shared};

const POOL_SIZE: usize = 16;
/// Serializes schema migrations across every node sharing the database.
const MIGRATION_LOCK: i64 = 0x696d_6167_6572_7931; // "imagery1"

/// The PostgreSQL catalog. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PostgresCatalog {
    pool: Pool,
    config: Config,
    topics: shared::Topics,
    /// Whether the LISTEN session has been started (on the first subscription).
    listening: Arc<std::sync::OnceLock<()>>,
}

/// The one channel imagery NOTIFYs on; the payload names the topic.
const CHANNEL: &str = "imagery_changes";

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PostgresCatalog {
    /// Connects to the database `url` names and brings its schema up to date.
    pub async fn connect(url: &str) -> CatalogResult<Self> {
        let config: Config = url.parse().map_err(|e| CatalogError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        migrate(&config).await?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| CatalogError::Backend(format!("postgres pool: {e}")))?;
        let config: Config = url.parse().map_err(|e| CatalogError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Ok(PostgresCatalog { pool, config, topics: shared::Topics::default(), listening: Arc::new(std::sync::OnceLock::new()) })
    }

    async fn client(&self) -> CatalogResult<Object> {
        self.pool.get().await.map_err(|e| CatalogError::Backend(format!("postgres pool: {e}")))
    }
}

/// One LISTEN session for the process, kept open (reconnecting after a second
/// when it drops) for as long as the catalog lives; what arrives is announced to
/// the topic's subscribers, and every topic is announced after each (re)connection
/// because notifications sent meanwhile are lost.
async fn listen(
    config: Config,
    topics: std::sync::Weak<std::sync::Mutex<std::collections::HashMap<String, tokio::sync::broadcast::Sender<()>>>>,
) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if tx.send(n.payload().to_owned()).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "postgres LISTEN session lost; reconnecting");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        match shared::Topics::upgrade(&topics) {
                            Some(t) => t.announce_all(),
                            None => return,
                        }
                        while let Some(topic) = rx.recv().await {
                            match shared::Topics::upgrade(&topics) {
                                Some(t) => t.announce(&topic),
                                None => return,
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %describe(&e), "postgres LISTEN failed"),
                }
                drop(client);
                let _ = driver.await;
            }
            Err(e) => tracing::warn!(error = %describe(&e), "cannot open the postgres LISTEN session; retrying"),
        }
        if topics.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn migrate(config: &Config) -> CatalogResult<()> {
    let (mut client, connection) =
        config.connect(NoTls).await.map_err(|e| CatalogError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
    let connection = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres migration connection failed");
        }
    });
    let result = run_migrations(&mut client).await;
    // Closing the session releases the advisory lock even if unlocking failed.
    drop(client);
    let _ = connection.await;
    result
}

async fn run_migrations(client: &mut tokio_postgres::Client) -> CatalogResult<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(backend)?;
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .await
        .map_err(backend)?;
    for (version, sql) in migrations::POSTGRES {
        let tx = client.transaction().await.map_err(backend)?;
        let applied: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", &[version])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(backend)?;
        if !applied {
            tx.batch_execute(sql).await.map_err(|e| CatalogError::Backend(format!("migration {version} failed: {}", describe(&e))))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &rows::micros(&imagery_core::time::now())],
            )
            .await
            .map_err(backend)?;
            tracing::info!(version, "applied postgres catalog migration");
        }
        tx.commit().await.map_err(backend)?;
    }
    let stored_max: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(backend)?;
    migrations::warn_if_newer("postgres", stored_max, migrations::POSTGRES);
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(backend)?;
    Ok(())
}

#[async_trait]
impl ClusterCatalog for PostgresCatalog {
    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool> {
        let client = self.client().await?;
        let (now, until) = (rows::micros(&now), rows::micros(&until));
        execute(&client, st::ACQUIRE_LEASE, &[&name, &holder, &now, &until]).await.map(deleted).map_err(backend)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::RELEASE_LEASE, &[&name, &holder]).await.map(drop).map_err(backend)
    }

    async fn get_lease(&self, name: &str) -> CatalogResult<Option<Lease>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_LEASE, &[&name], rows::decode_lease).await
    }

    async fn insert_job(&self, job: &Job) -> CatalogResult<()> {
        let client = self.client().await?;
        let v = rows::job_values(job);
        execute(
            &client,
            st::INSERT_JOB,
            &[
                &v.id,
                &job.kind,
                &v.image_id,
                &job.owner,
                &job.user_id,
                &job.request_id,
                &v.state,
                &v.input,
                &job.message,
                &v.result,
                &v.attempts,
                &job.claimed_by,
                &job.taken_from,
                &v.lease_expires_at,
                &v.created_at,
                &v.updated_at,
                &v.expires_at,
            ],
        )
        .await
        .map(drop)
        .map_err(|e| write_error(e, || format!("job {}", job.id), String::new))
    }

    async fn get_job(&self, id: Uuid) -> CatalogResult<Option<Job>> {
        let client = self.client().await?;
        let id = id.hyphenated().to_string();
        query_opt(&client, st::GET_JOB, &[&id], rows::decode_job).await
    }

    async fn list_jobs_for_image(&self, image_id: Uuid) -> CatalogResult<Vec<Job>> {
        let client = self.client().await?;
        let id = image_id.hyphenated().to_string();
        query_all(&client, st::LIST_JOBS_FOR_IMAGE, &[&id], rows::decode_job).await
    }

    async fn list_jobs(&self, state: Option<JobState>, after: Option<Uuid>, descending: bool, limit: usize) -> CatalogResult<Vec<Job>> {
        let client = self.client().await?;
        let state = state.map(JobState::as_str);
        let limit = shared::sql_limit(limit);
        let (sql, _) = st::list_jobs_statement(descending, after.is_some());
        match after {
            Some(after) => query_all(&client, sql, &[&state, &limit, &after.hyphenated().to_string()], rows::decode_job).await,
            None => query_all(&client, sql, &[&state, &limit], rows::decode_job).await,
        }
    }

    async fn claim_job(&self, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<Option<Job>> {
        let client = self.client().await?;
        let (now, until) = (rows::micros(&now), rows::micros(&until));
        query_opt(&client, st::CLAIM_JOB_POSTGRES, &[&node, &now, &until], rows::decode_job).await
    }

    async fn renew_job(&self, id: Uuid, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool> {
        let client = self.client().await?;
        let (id, now, until) = (id.hyphenated().to_string(), rows::micros(&now), rows::micros(&until));
        execute(&client, st::RENEW_JOB, &[&id, &node, &now, &until]).await.map(deleted).map_err(backend)
    }

    async fn settle_job(&self, id: Uuid, node: &str, outcome: &JobOutcome, now: Timestamp) -> CatalogResult<bool> {
        let client = self.client().await?;
        let (id, now) = (id.hyphenated().to_string(), rows::micros(&now));
        let (state, result, expires_at) =
            (outcome.state.as_str(), outcome.result.as_ref().map(|v| v.to_string()), rows::opt_micros(&outcome.expires_at));
        execute(&client, st::SETTLE_JOB, &[&id, &node, &state, &outcome.message, &result, &expires_at, &now])
            .await
            .map(deleted)
            .map_err(backend)
    }

    async fn purge_jobs(&self, now: Timestamp) -> CatalogResult<u64> {
        let client = self.client().await?;
        execute(&client, st::PURGE_JOBS, &[&rows::micros(&now)]).await.map_err(backend)
    }

    async fn remember_nonce(&self, scope: &str, nonce: &str, now: Timestamp, expires_at: Timestamp, budget: u32) -> CatalogResult<Seen> {
        let client = self.client().await?;
        let (now, expires_at) = (rows::micros(&now), rows::micros(&expires_at));
        execute(&client, st::FORGET_EXPIRED_NONCES, &[&scope, &now]).await.map_err(backend)?;
        let seen = query_opt(&client, st::NONCE_SEEN, &[&scope, &nonce], |r| r.boolean(0)).await?.unwrap_or(false);
        let live = query_opt(&client, st::COUNT_NONCES, &[&scope], |r| r.int(0)).await?.unwrap_or(0);
        if let Some(verdict) = shared::nonce_verdict(seen, live, budget) {
            return Ok(verdict);
        }
        // The insert is the atomic part: of two nodes seeing one signature at once, one wins.
        let inserted = execute(&client, st::INSERT_NONCE, &[&scope, &nonce, &expires_at]).await.map_err(backend)?;
        Ok(if inserted > 0 { Seen::Fresh } else { Seen::Replayed })
    }

    async fn notify(&self, topic: &str) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, "SELECT pg_notify($1, $2)", &[&CHANNEL, &topic]).await.map(drop).map_err(backend)?;
        // The LISTEN session hears it too, but a subscriber here need not wait for the round trip.
        self.topics.announce(topic);
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> Option<BoxStream<'static, ()>> {
        let stream = self.topics.subscribe(topic);
        if self.listening.set(()).is_ok() {
            tokio::spawn(listen(self.config.clone(), self.topics.downgrade()));
        }
        Some(stream)
    }
}

// ---- errors and row access ------------------------------------------------------

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn backend(e: tokio_postgres::Error) -> CatalogError {
    CatalogError::Backend(format!("postgres: {}", describe(&e)))
}

/// Maps a failed write: unique violations become `Duplicate(what)`, foreign-key
/// violations `Missing(parent)`.
fn write_error(e: tokio_postgres::Error, what: impl FnOnce() -> String, parent: impl FnOnce() -> String) -> CatalogError {
    match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => CatalogError::Duplicate(what()),
        Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => CatalogError::Missing(parent()),
        _ => backend(e),
    }
}

impl Columns for Row {
    fn text(&self, i: usize) -> CatalogResult<&str> {
        self.try_get(i).map_err(backend)
    }
    fn opt_text(&self, i: usize) -> CatalogResult<Option<&str>> {
        self.try_get(i).map_err(backend)
    }
    fn int(&self, i: usize) -> CatalogResult<i64> {
        self.try_get(i).map_err(backend)
    }
    fn opt_int(&self, i: usize) -> CatalogResult<Option<i64>> {
        self.try_get(i).map_err(backend)
    }
    fn boolean(&self, i: usize) -> CatalogResult<bool> {
        self.try_get(i).map_err(backend)
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each variant checks the parameter's type against its own Rust type.
        match self {
            SqlValue::Text(s) => s.to_sql_checked(ty, out),
            SqlValue::Int(i) => i.to_sql_checked(ty, out),
            SqlValue::Bool(b) => b.to_sql_checked(ty, out),
            SqlValue::TextList(l) => l.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

async fn query_opt<C: GenericClient, T>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
    decode: impl Fn(&Row) -> CatalogResult<T> + Send,
) -> CatalogResult<Option<T>> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    match c.query_opt(&stmt, params).await.map_err(backend)? {
        Some(row) => decode(&row).map(Some),
        None => Ok(None),
    }
}

async fn query_all<C: GenericClient, T>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
    decode: impl Fn(&Row) -> CatalogResult<T> + Send,
) -> CatalogResult<Vec<T>> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    c.query(&stmt, params).await.map_err(backend)?.iter().map(decode).collect()
}

async fn execute<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> Result<u64, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.execute(&stmt, params).await
}

/// Runs a statement whose text depends on the request (list filters and orders)
/// as an unnamed statement, typed by its parameters, in one round trip. It is
/// planned for its own values every time: a cached (named) statement turns to a
/// generic plan after five runs, and a generic plan cannot tell a tag on three
/// images from one on half the catalog (seconds instead of milliseconds at a
/// million images). Nothing is cached, so unusual shapes cannot grow a cache.
async fn query_dynamic<T>(client: &Object, sql: &Sql, decode: impl Fn(&Row) -> CatalogResult<T> + Send) -> CatalogResult<Vec<T>> {
    let params: Vec<(&(dyn ToSql + Sync), Type)> = sql
        .params
        .iter()
        .map(|p| {
            let ty = match p {
                SqlValue::Text(_) => Type::TEXT,
                SqlValue::Int(_) => Type::INT8,
                SqlValue::Bool(_) => Type::BOOL,
                SqlValue::TextList(_) => Type::TEXT_ARRAY,
            };
            (p as &(dyn ToSql + Sync), ty)
        })
        .collect();
    client.query_typed(&sql.text, &params).await.map_err(backend)?.iter().map(decode).collect()
}

async fn get_image_on<C: GenericClient>(c: &C, id: &Uuid) -> CatalogResult<Option<Image>> {
    let mut buf = [0u8; 36];
    let id = rows::uuid_text(id, &mut buf);
    query_opt(c, st::GET_IMAGE, &[&id], rows::decode_image).await
}

/// Writes the image columns in `INSERT_IMAGE` / `UPDATE_IMAGE` order; `version` is
/// the version to store (insert) or to expect (update).
async fn write_image_row<C: GenericClient>(c: &C, sql: &str, image: &Image, version: i64) -> Result<u64, tokio_postgres::Error> {
    let id = image.id.hyphenated().to_string();
    let (status, visibility) = (image.status.as_str(), image.visibility.as_str());
    let (created_at, updated_at, deleted_at) =
        (rows::micros(&image.created_at), rows::micros(&image.updated_at), rows::opt_micros(&image.deleted_at));
    let (tags, properties) = (rows::tags_json(&image.tags), rows::properties_json(&image.properties));
    execute(
        c,
        sql,
        &[
            &id,
            &image.name,
            &status,
            &visibility,
            &image.protected,
            &image.os_hidden,
            &image.owner,
            &image.min_disk,
            &image.min_ram,
            &image.container_format,
            &image.disk_format,
            &image.size,
            &image.virtual_size,
            &image.checksum,
            &image.os_hash_algo,
            &image.os_hash_value,
            &image.blob_key,
            &created_at,
            &updated_at,
            &deleted_at,
            &tags,
            &properties,
            &version,
        ],
    )
    .await
}

fn operation_params(op: &OperationRecord) -> (i64, i64, String) {
    (rows::micros(&op.created_at), rows::micros(&op.modified_at), rows::payload_json(&op.payload))
}

fn deleted(n: u64) -> bool {
    n > 0
}

#[async_trait]
impl ImageCatalog for PostgresCatalog {
    async fn insert_image(&self, image: &Image) -> CatalogResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        write_image_row(&tx, st::INSERT_IMAGE, image, image.version)
            .await
            .map_err(|e| write_error(e, || format!("image {}", image.id), || format!("image {}", image.id)))?;
        let id = image.id.hyphenated().to_string();
        let created = rows::micros(&image.created_at);
        for tag in &image.tags {
            execute(&tx, st::INSERT_TAG, &[&id, tag, &created]).await.map_err(backend)?;
        }
        for (name, value) in &image.properties {
            execute(&tx, st::UPSERT_PROPERTY, &[&id, name, value, &created]).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_image(&self, id: Uuid) -> CatalogResult<Option<Image>> {
        get_image_on(&self.client().await?, &id).await
    }

    async fn update_image(&self, image: &Image) -> CatalogResult<Image> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let id = image.id.hyphenated().to_string();
        let stored = query_opt(&tx, st::IMAGE_VERSION_FOR_UPDATE, &[&id], rows::decode_stored_state)
            .await?
            .ok_or_else(|| CatalogError::Missing(format!("image {}", image.id)))?;
        if stored.version != image.version {
            return Err(CatalogError::Stale);
        }
        if write_image_row(&tx, st::UPDATE_IMAGE, image, image.version).await.map_err(backend)? == 0 {
            return Err(CatalogError::Stale);
        }
        let changes = rows::child_changes(&stored, image);
        let created = rows::micros(&image.created_at);
        if created != stored.created_at {
            execute(&tx, st::RETIME_TAGS, &[&id, &created]).await.map_err(backend)?;
            execute(&tx, st::RETIME_PROPERTIES, &[&id, &created]).await.map_err(backend)?;
        }
        for tag in &changes.removed_tags {
            execute(&tx, st::DELETE_TAG, &[&id, tag]).await.map_err(backend)?;
        }
        for tag in &changes.added_tags {
            execute(&tx, st::INSERT_TAG, &[&id, tag, &created]).await.map_err(backend)?;
        }
        for name in &changes.removed_properties {
            execute(&tx, st::DELETE_PROPERTY, &[&id, name]).await.map_err(backend)?;
        }
        for (name, value) in &changes.set_properties {
            execute(&tx, st::UPSERT_PROPERTY, &[&id, name, value, &created]).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        let mut updated = image.clone();
        updated.version = image.version + 1;
        Ok(updated)
    }

    async fn list_images(&self, query: &ListQuery) -> CatalogResult<Vec<Image>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let marker = match query.marker {
            Some(id) => Some(get_image_on(&client, &id).await?.ok_or_else(|| CatalogError::Missing(format!("marker image {id}")))?),
            None => None,
        };
        let few = match matches_probe(Flavor::Postgres, query) {
            Some(probe) => query_dynamic(&client, &probe, |r| r.int(0)).await?.first().is_some_and(|n| *n <= FEW_MATCHES),
            None => false,
        };
        let sql = list_images_query(Flavor::Postgres, query, marker.as_ref(), few);
        query_dynamic(&client, &sql, rows::decode_image).await
    }

    async fn usage(&self, project_id: &str) -> CatalogResult<Usage> {
        let client = self.client().await?;
        let usage = query_opt(&client, st::USAGE, &[&project_id], |r| {
            Ok(Usage { image_count: r.int(0)?, stored_bytes: r.int(1)?, staged_bytes: r.int(2)? })
        })
        .await?;
        Ok(usage.unwrap_or_default())
    }

    async fn blob_in_use(&self, blob_key: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        Ok(query_opt(&client, st::BLOB_IN_USE, &[&blob_key], |r| r.boolean(0)).await?.unwrap_or(false))
    }

    async fn claim_blob(&self, blob_key: &str, now: Timestamp, stale_before: Timestamp) -> CatalogResult<bool> {
        let client = self.client().await?;
        let (now, stale) = (rows::micros(&now), rows::micros(&stale_before));
        execute(&client, st::CLAIM_BLOB, &[&blob_key, &now, &stale]).await.map(deleted).map_err(backend)
    }

    async fn begin_blob_deletion(&self, blob_key: &str, cutoff: Timestamp, now: Timestamp) -> CatalogResult<bool> {
        let client = self.client().await?;
        let (cutoff, now) = (rows::micros(&cutoff), rows::micros(&now));
        execute(&client, st::BEGIN_BLOB_DELETION, &[&blob_key, &cutoff, &now]).await.map(deleted).map_err(backend)
    }

    async fn end_blob_deletion(&self, blob_key: &str) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::END_BLOB_DELETION, &[&blob_key]).await.map(|_| ()).map_err(backend)
    }

    async fn insert_member(&self, m: &Member) -> CatalogResult<()> {
        let client = self.client().await?;
        let image_id = m.image_id.hyphenated().to_string();
        let (created_at, updated_at) = (rows::micros(&m.created_at), rows::micros(&m.updated_at));
        execute(&client, st::INSERT_MEMBER, &[&image_id, &m.member_id, &m.status.as_str(), &created_at, &updated_at])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("member {} of image {}", m.member_id, m.image_id), || format!("image {}", m.image_id)))
    }

    async fn get_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<Option<Member>> {
        let client = self.client().await?;
        let image_id = image_id.hyphenated().to_string();
        query_opt(&client, st::GET_MEMBER, &[&image_id, &member_id], rows::decode_member).await
    }

    async fn list_members(&self, image_id: Uuid) -> CatalogResult<Vec<Member>> {
        let client = self.client().await?;
        let image_id = image_id.hyphenated().to_string();
        query_all(&client, st::LIST_MEMBERS, &[&image_id], rows::decode_member).await
    }

    async fn update_member(&self, m: &Member) -> CatalogResult<()> {
        let client = self.client().await?;
        let image_id = m.image_id.hyphenated().to_string();
        let (created_at, updated_at) = (rows::micros(&m.created_at), rows::micros(&m.updated_at));
        let n = execute(&client, st::UPDATE_MEMBER, &[&image_id, &m.member_id, &m.status.as_str(), &created_at, &updated_at])
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(CatalogError::Missing(format!("member {} of image {}", m.member_id, m.image_id)));
        }
        Ok(())
    }

    async fn delete_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        let image_id = image_id.hyphenated().to_string();
        execute(&client, st::DELETE_MEMBER, &[&image_id, &member_id]).await.map(deleted).map_err(backend)
    }

    async fn insert_alt_key(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::INSERT_ALT_KEY, &[&namespace, &key, &target])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || shared::alt_key_duplicate(namespace, key), String::new))
    }

    async fn find_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<Option<String>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_ALT_KEY, &[&namespace, &key], rows::decode_single_string).await
    }

    async fn alt_key_of(&self, namespace: &str, target: &str) -> CatalogResult<Option<String>> {
        let client = self.client().await?;
        query_opt(&client, st::ALT_KEY_OF, &[&namespace, &target], rows::decode_single_string).await
    }

    async fn delete_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::DELETE_ALT_KEY, &[&namespace, &key]).await.map(deleted).map_err(backend)
    }

    async fn delete_alt_key_if(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::DELETE_ALT_KEY_IF, &[&namespace, &key, &target]).await.map(deleted).map_err(backend)
    }

    async fn list_alt_keys(
        &self,
        namespace: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> CatalogResult<Vec<(String, String)>> {
        let client = self.client().await?;
        let range = shared::AltKeyRange::new(namespace, prefix, after, limit);
        let decode = rows::decode_alt_key_pair;
        let (ns, lower, n) = (&range.namespace, &range.lower, shared::sql_limit(range.limit));
        match (&range.upper, range.exclusive) {
            (None, false) => query_all(&client, st::LIST_ALT_KEYS_FROM, &[ns, lower, &n], decode).await,
            (None, true) => query_all(&client, st::LIST_ALT_KEYS_AFTER, &[ns, lower, &n], decode).await,
            (Some(upper), false) => query_all(&client, st::LIST_ALT_KEYS_FROM_BELOW, &[ns, lower, upper, &n], decode).await,
            (Some(upper), true) => query_all(&client, st::LIST_ALT_KEYS_AFTER_BELOW, &[ns, lower, upper, &n], decode).await,
        }
    }

    async fn insert_operation(&self, op: &OperationRecord) -> CatalogResult<()> {
        let client = self.client().await?;
        let (created_at, modified_at, payload) = operation_params(op);
        execute(
            &client,
            st::INSERT_OPERATION,
            &[
                &op.id,
                &op.dialect,
                &op.project_id,
                &op.target,
                &op.description,
                &op.created_by,
                &created_at,
                &modified_at,
                &op.done,
                &payload,
                &op.idempotency_key,
            ],
        )
        .await
        .map(drop)
        .map_err(|e| write_error(e, || shared::operation_duplicate(op), String::new))
    }

    async fn get_operation(&self, dialect: &str, id: &str) -> CatalogResult<Option<OperationRecord>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_OPERATION, &[&dialect, &id], rows::decode_operation).await
    }

    async fn update_operation(&self, op: &OperationRecord) -> CatalogResult<()> {
        let client = self.client().await?;
        let (created_at, modified_at, payload) = operation_params(op);
        let n = execute(
            &client,
            st::UPDATE_OPERATION,
            &[
                &op.id,
                &op.dialect,
                &op.project_id,
                &op.target,
                &op.description,
                &op.created_by,
                &created_at,
                &modified_at,
                &op.done,
                &payload,
                &op.idempotency_key,
            ],
        )
        .await
        .map_err(|e| write_error(e, || shared::operation_duplicate(op), String::new))?;
        if n == 0 {
            return Err(CatalogError::Missing(format!("operation {}/{}", op.dialect, op.id)));
        }
        Ok(())
    }

    async fn list_operations(&self, dialect: &str, target: &str, after: Option<&str>, limit: usize) -> CatalogResult<Vec<OperationRecord>> {
        let client = self.client().await?;
        let n = shared::sql_limit(limit);
        let decode = rows::decode_operation;
        match after {
            None => query_all(&client, st::LIST_OPERATIONS, &[&dialect, &target, &n], decode).await,
            Some(after) => query_all(&client, st::LIST_OPERATIONS_AFTER, &[&dialect, &target, &after, &n], decode).await,
        }
    }

    async fn find_operation_by_idempotency_key(
        &self,
        dialect: &str,
        project_id: &str,
        key: &str,
    ) -> CatalogResult<Option<OperationRecord>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_OPERATION_BY_IDEMPOTENCY_KEY, &[&dialect, &project_id, &key], rows::decode_operation).await
    }
}

#[async_trait]
impl IdentityCatalog for PostgresCatalog {
    async fn insert_domain(&self, d: &Domain) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::INSERT_DOMAIN, &[&d.id, &d.name, &d.description, &d.enabled])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("domain {} ({})", d.id, d.name), String::new))
    }

    async fn get_domain(&self, id: &str) -> CatalogResult<Option<Domain>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_DOMAIN, &[&id], rows::decode_domain).await
    }

    async fn find_domain_by_name(&self, name: &str) -> CatalogResult<Option<Domain>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_DOMAIN_BY_NAME, &[&name], rows::decode_domain).await
    }

    async fn list_domains(&self) -> CatalogResult<Vec<Domain>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_DOMAINS, &[], rows::decode_domain).await
    }

    async fn insert_project(&self, p: &Project) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::INSERT_PROJECT, &[&p.id, &p.name, &p.domain_id, &p.description, &p.enabled])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || shared::project_duplicate(p), String::new))
    }

    async fn get_project(&self, id: &str) -> CatalogResult<Option<Project>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_PROJECT, &[&id], rows::decode_project).await
    }

    async fn find_project_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<Project>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_PROJECT_BY_NAME, &[&domain_id, &name], rows::decode_project).await
    }

    async fn list_projects(&self) -> CatalogResult<Vec<Project>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_PROJECTS, &[], rows::decode_project).await
    }

    async fn update_project(&self, p: &Project) -> CatalogResult<()> {
        let client = self.client().await?;
        let n = execute(&client, st::UPDATE_PROJECT, &[&p.id, &p.name, &p.domain_id, &p.description, &p.enabled])
            .await
            .map_err(|e| write_error(e, || shared::project_duplicate(p), String::new))?;
        if n == 0 {
            return Err(CatalogError::Missing(format!("project {}", p.id)));
        }
        Ok(())
    }

    async fn delete_project(&self, id: &str) -> CatalogResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        execute(&tx, st::DELETE_PROJECT_ASSIGNMENTS, &[&id]).await.map_err(backend)?;
        let n = execute(&tx, st::DELETE_PROJECT, &[&id]).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(deleted(n))
    }

    async fn insert_user(&self, u: &User) -> CatalogResult<()> {
        let client = self.client().await?;
        let created_at = rows::micros(&u.created_at);
        execute(&client, st::INSERT_USER, &[&u.id, &u.name, &u.domain_id, &u.password_hash, &u.enabled, &u.default_project_id, &created_at])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || shared::user_duplicate(u), String::new))
    }

    async fn get_user(&self, id: &str) -> CatalogResult<Option<User>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_USER, &[&id], rows::decode_user).await
    }

    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<User>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_USER_BY_NAME, &[&domain_id, &name], rows::decode_user).await
    }

    async fn list_users(&self) -> CatalogResult<Vec<User>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_USERS, &[], rows::decode_user).await
    }

    async fn update_user(&self, u: &User) -> CatalogResult<()> {
        let client = self.client().await?;
        let created_at = rows::micros(&u.created_at);
        let n = execute(
            &client,
            st::UPDATE_USER,
            &[&u.id, &u.name, &u.domain_id, &u.password_hash, &u.enabled, &u.default_project_id, &created_at],
        )
        .await
        .map_err(|e| write_error(e, || shared::user_duplicate(u), String::new))?;
        if n == 0 {
            return Err(CatalogError::Missing(format!("user {}", u.id)));
        }
        Ok(())
    }

    async fn delete_user(&self, id: &str) -> CatalogResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        for sql in [st::DELETE_USER_ASSIGNMENTS, st::DELETE_USER_ACCESS_KEYS, st::DELETE_USER_APP_CREDENTIALS] {
            execute(&tx, sql, &[&id]).await.map_err(backend)?;
        }
        let n = execute(&tx, st::DELETE_USER, &[&id]).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(deleted(n))
    }

    async fn insert_role(&self, r: &Role) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::INSERT_ROLE, &[&r.id, &r.name])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("role {} ({})", r.id, r.name), String::new))
    }

    async fn get_role(&self, id: &str) -> CatalogResult<Option<Role>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_ROLE, &[&id], rows::decode_role).await
    }

    async fn find_role_by_name(&self, name: &str) -> CatalogResult<Option<Role>> {
        let client = self.client().await?;
        query_opt(&client, st::FIND_ROLE_BY_NAME, &[&name], rows::decode_role).await
    }

    async fn list_roles(&self) -> CatalogResult<Vec<Role>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_ROLES, &[], rows::decode_role).await
    }

    async fn grant_role(&self, a: &RoleAssignment) -> CatalogResult<()> {
        let client = self.client().await?;
        execute(&client, st::GRANT_ROLE, &[&a.user_id, &a.project_id, &a.role_id]).await.map(drop).map_err(backend)
    }

    async fn revoke_role(&self, a: &RoleAssignment) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::REVOKE_ROLE, &[&a.user_id, &a.project_id, &a.role_id]).await.map(deleted).map_err(backend)
    }

    async fn list_role_assignments(
        &self,
        user_id: Option<&str>,
        project_id: Option<&str>,
        role_id: Option<&str>,
    ) -> CatalogResult<Vec<RoleAssignment>> {
        let client = self.client().await?;
        let sql = role_assignments_query(Flavor::Postgres, user_id, project_id, role_id);
        query_dynamic(&client, &sql, rows::decode_assignment).await
    }

    async fn insert_access_key(&self, k: &AccessKey) -> CatalogResult<()> {
        let client = self.client().await?;
        let created_at = rows::micros(&k.created_at);
        execute(&client, st::INSERT_ACCESS_KEY, &[&k.id, &k.secret, &k.user_id, &k.project_id, &k.description, &created_at, &k.public_key])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("access key {}", k.id), String::new))
    }

    async fn get_access_key(&self, id: &str) -> CatalogResult<Option<AccessKey>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_ACCESS_KEY, &[&id], rows::decode_access_key).await
    }

    async fn list_access_keys(&self, user_id: &str) -> CatalogResult<Vec<AccessKey>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_ACCESS_KEYS, &[&user_id], rows::decode_access_key).await
    }

    async fn delete_access_key(&self, id: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::DELETE_ACCESS_KEY, &[&id]).await.map(deleted).map_err(backend)
    }

    async fn replace_access_key_secret(&self, id: &str, expected: &str, secret: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::REPLACE_ACCESS_KEY_SECRET, &[&id, &expected, &secret]).await.map(|n| n > 0).map_err(backend)
    }

    async fn insert_app_credential(&self, a: &ApplicationCredential) -> CatalogResult<()> {
        let client = self.client().await?;
        let (roles, expires_at, created_at) = (rows::roles_json(&a.roles), rows::opt_micros(&a.expires_at), rows::micros(&a.created_at));
        execute(
            &client,
            st::INSERT_APP_CREDENTIAL,
            &[&a.id, &a.name, &a.user_id, &a.project_id, &a.description, &a.secret_hash, &roles, &expires_at, &a.unrestricted, &created_at],
        )
        .await
        .map(drop)
        .map_err(|e| write_error(e, || shared::app_credential_duplicate(a), String::new))
    }

    async fn get_app_credential(&self, id: &str) -> CatalogResult<Option<ApplicationCredential>> {
        let client = self.client().await?;
        query_opt(&client, st::GET_APP_CREDENTIAL, &[&id], rows::decode_app_credential).await
    }

    async fn list_app_credentials(&self, user_id: &str) -> CatalogResult<Vec<ApplicationCredential>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_APP_CREDENTIALS, &[&user_id], rows::decode_app_credential).await
    }

    async fn delete_app_credential(&self, id: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::DELETE_APP_CREDENTIAL, &[&id]).await.map(deleted).map_err(backend)
    }

    async fn insert_signing_key(&self, k: &SigningKey) -> CatalogResult<()> {
        let client = self.client().await?;
        let created_at = rows::micros(&k.created_at);
        execute(&client, st::INSERT_SIGNING_KEY, &[&k.id, &k.kind, &k.material, &created_at])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("signing key {}", k.id), String::new))
    }

    async fn list_signing_keys(&self, kind: &str) -> CatalogResult<Vec<SigningKey>> {
        let client = self.client().await?;
        query_all(&client, st::LIST_SIGNING_KEYS, &[&kind], rows::decode_signing_key).await
    }

    async fn delete_signing_key(&self, id: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::DELETE_SIGNING_KEY, &[&id]).await.map(deleted).map_err(backend)
    }

    async fn replace_signing_key_material(&self, id: &str, expected: &str, material: &str) -> CatalogResult<bool> {
        let client = self.client().await?;
        execute(&client, st::REPLACE_SIGNING_KEY_MATERIAL, &[&id, &expected, &material]).await.map(|n| n > 0).map_err(backend)
    }

    async fn insert_revocation(&self, r: &Revocation) -> CatalogResult<()> {
        let client = self.client().await?;
        let expires_at = rows::micros(&r.expires_at);
        execute(&client, st::INSERT_REVOCATION, &[&r.audit_id, &expires_at])
            .await
            .map(drop)
            .map_err(|e| write_error(e, || format!("revocation of {}", r.audit_id), String::new))
    }

    async fn list_revocations(&self, now: Timestamp) -> CatalogResult<Vec<Revocation>> {
        let client = self.client().await?;
        let now = rows::micros(&now);
        query_all(&client, st::LIST_REVOCATIONS, &[&now], rows::decode_revocation).await
    }
}
