//! The fixed SQL statements both backends run, written once in PostgreSQL's `$N`
//! placeholder style. SQLite understands the same text with `?N` placeholders; the
//! [`sqlite!`] macro rewrites a statement at compile time, so neither backend pays
//! for the translation at run time and the two can never drift apart.

/// Rewrites `$` to `?` byte by byte (the statements use `$` only in placeholders).
pub(crate) const fn dollar_to_question<const N: usize>(pg: &str) -> [u8; N] {
    let bytes = pg.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if bytes[i] == b'$' { b'?' } else { bytes[i] };
        i += 1;
    }
    out
}

/// The SQLite spelling of one of this module's statements, computed at compile time.
macro_rules! sqlite {
    ($pg:expr) => {{
        const PG: &str = $pg;
        const BYTES: [u8; PG.len()] = $crate::statements::dollar_to_question::<{ PG.len() }>(PG);
        const SQL: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("SQL statement is not UTF-8"),
        };
        SQL
    }};
}
pub(crate) use sqlite;

/// The image columns in the order `rows::decode_image` reads them.
macro_rules! image_columns {
    () => {
        "id, name, status, visibility, protected, os_hidden, owner, min_disk, min_ram, container_format, disk_format, \
         size, virtual_size, checksum, os_hash_algo, os_hash_value, blob_key, created_at, updated_at, deleted_at, \
         tags, properties, version"
    };
}
pub(crate) use image_columns;

// ---- images -------------------------------------------------------------------

pub(crate) const INSERT_IMAGE: &str = concat!(
    "INSERT INTO images (",
    image_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
);
pub(crate) const GET_IMAGE: &str = concat!("SELECT ", image_columns!(), " FROM images WHERE id = $1");
/// What `update_image` needs to decide between `Stale`, `Missing` and which child
/// rows to rewrite. PostgreSQL appends `FOR UPDATE`; SQLite's write lock is taken by
/// `BEGIN IMMEDIATE`.
pub(crate) const IMAGE_VERSION: &str = "SELECT version, tags, properties, created_at FROM images WHERE id = $1";
pub(crate) const IMAGE_VERSION_FOR_UPDATE: &str = "SELECT version, tags, properties, created_at FROM images WHERE id = $1 FOR UPDATE";
/// Parameters as in `INSERT_IMAGE` except `$23`, which is the expected version.
pub(crate) const UPDATE_IMAGE: &str = "UPDATE images SET name = $2, status = $3, visibility = $4, protected = $5, \
     os_hidden = $6, owner = $7, min_disk = $8, min_ram = $9, container_format = $10, disk_format = $11, size = $12, \
     virtual_size = $13, checksum = $14, os_hash_algo = $15, os_hash_value = $16, blob_key = $17, created_at = $18, \
     updated_at = $19, deleted_at = $20, tags = $21, properties = $22, version = version + 1 \
     WHERE id = $1 AND version = $23";
/// Tag and property rows carry their image's `created_at` (`$3` / `$4`): the
/// listing reads them in page order (migration v5).
pub(crate) const INSERT_TAG: &str = "INSERT INTO image_tags (image_id, tag, image_created_at) VALUES ($1, $2, $3)";
pub(crate) const DELETE_TAG: &str = "DELETE FROM image_tags WHERE image_id = $1 AND tag = $2";
pub(crate) const UPSERT_PROPERTY: &str = "INSERT INTO image_properties (image_id, name, value, image_created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (image_id, name) DO UPDATE SET value = excluded.value, \
     image_created_at = excluded.image_created_at";
/// When an update moves an image's `created_at`, its child rows follow.
pub(crate) const RETIME_TAGS: &str = "UPDATE image_tags SET image_created_at = $2 WHERE image_id = $1";
pub(crate) const RETIME_PROPERTIES: &str = "UPDATE image_properties SET image_created_at = $2 WHERE image_id = $1";
pub(crate) const DELETE_PROPERTY: &str = "DELETE FROM image_properties WHERE image_id = $1 AND name = $2";
pub(crate) const USAGE: &str = "SELECT CAST(COUNT(*) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN status IN ('active', 'deactivated', 'saving') THEN size ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN status IN ('uploading', 'importing') THEN size ELSE 0 END), 0) AS BIGINT) \
     FROM images WHERE owner = $1 AND status NOT IN ('deleted', 'pending_delete')";
/// A claim wins unless a live deletion holds the key.
pub(crate) const CLAIM_BLOB: &str = "INSERT INTO blob_leases (blob_key, kind, at) VALUES ($1, 'claim', $2) \
     ON CONFLICT (blob_key) DO UPDATE SET kind = 'claim', at = excluded.at \
     WHERE blob_leases.kind = 'claim' OR blob_leases.at < $3";
/// A deletion wins only over no lease or a claim older than the cutoff, and only
/// while no image references the blob — one statement, so no commit slips between.
pub(crate) const BEGIN_BLOB_DELETION: &str = "INSERT INTO blob_leases (blob_key, kind, at) \
     SELECT $1, 'delete', $3 WHERE NOT EXISTS (SELECT 1 FROM images WHERE blob_key = $1 AND status <> 'deleted') \
     ON CONFLICT (blob_key) DO UPDATE SET kind = 'delete', at = excluded.at \
     WHERE blob_leases.kind = 'claim' AND blob_leases.at < $2";
pub(crate) const END_BLOB_DELETION: &str = "DELETE FROM blob_leases WHERE blob_key = $1 AND kind = 'delete'";
pub(crate) const BLOB_IN_USE: &str = "SELECT EXISTS (SELECT 1 FROM images WHERE blob_key = $1 AND status <> 'deleted')";

// ---- cluster: leases, jobs, replay nonces ----------------------------------------

/// Granted when free, expired (`$3` = now) or already the holder's.
pub(crate) const ACQUIRE_LEASE: &str = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE leases.holder = $2 OR leases.expires_at < $3";
pub(crate) const RELEASE_LEASE: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";
pub(crate) const GET_LEASE: &str = "SELECT name, holder, expires_at FROM leases WHERE name = $1";

macro_rules! job_columns {
    () => {
        "id, kind, image_id, owner, user_id, request_id, state, input, message, result, attempts, \
         claimed_by, taken_from, lease_expires_at, created_at, updated_at, expires_at"
    };
}

pub(crate) const INSERT_JOB: &str =
    concat!("INSERT INTO jobs (", job_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)");
pub(crate) const GET_JOB: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
pub(crate) const LIST_JOBS_FOR_IMAGE: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE image_id = $1 ORDER BY created_at, id");
/// Listing all jobs: `$1` a state or NULL, `$2` the limit (`_AFTER`: `$3` the marker job).
macro_rules! list_jobs {
    ($order:literal, $after:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR state = CAST($1 AS TEXT))",
            $after,
            " ORDER BY created_at ",
            $order,
            ", id ",
            $order,
            " LIMIT $2"
        )
    };
}
pub(crate) const LIST_JOBS_ASC: &str = list_jobs!("ASC", "");
pub(crate) const LIST_JOBS_DESC: &str = list_jobs!("DESC", "");
pub(crate) const LIST_JOBS_ASC_AFTER: &str = list_jobs!("ASC", " AND (created_at, id) > (SELECT created_at, id FROM jobs WHERE id = $3)");
pub(crate) const LIST_JOBS_DESC_AFTER: &str = list_jobs!("DESC", " AND (created_at, id) < (SELECT created_at, id FROM jobs WHERE id = $3)");

/// The statement for a job listing's order and marker.
pub(crate) fn list_jobs_statement(descending: bool, after: bool) -> (&'static str, &'static str) {
    match (descending, after) {
        (false, false) => (LIST_JOBS_ASC, sqlite!(LIST_JOBS_ASC)),
        (true, false) => (LIST_JOBS_DESC, sqlite!(LIST_JOBS_DESC)),
        (false, true) => (LIST_JOBS_ASC_AFTER, sqlite!(LIST_JOBS_ASC_AFTER)),
        (true, true) => (LIST_JOBS_DESC_AFTER, sqlite!(LIST_JOBS_DESC_AFTER)),
    }
}
/// The claim (`$1` node, `$2` now, `$3` lease end); `taken_from` keeps the node
/// whose lease expired (SET expressions see the row as it was).
macro_rules! claim_job {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'processing', \
             taken_from = CASE WHEN state = 'processing' THEN claimed_by ELSE NULL END, \
             claimed_by = $1, lease_expires_at = $3, attempts = attempts + 1, updated_at = $2 \
             WHERE id = (SELECT id FROM jobs WHERE state IN ('pending', 'processing') \
             AND (state = 'pending' OR lease_expires_at < $2) ORDER BY created_at, id LIMIT 1",
            $lock,
            ") RETURNING ",
            job_columns!()
        )
    };
}
/// PostgreSQL: concurrent claimers skip each other's rows instead of waiting.
pub(crate) const CLAIM_JOB_POSTGRES: &str = claim_job!(" FOR UPDATE SKIP LOCKED");
/// SQLite has one writer: no row locks.
pub(crate) const CLAIM_JOB_SQLITE: &str = claim_job!("");
pub(crate) const RENEW_JOB: &str = "UPDATE jobs SET lease_expires_at = $4, updated_at = $3 \
     WHERE id = $1 AND claimed_by = $2 AND state = 'processing'";
pub(crate) const SETTLE_JOB: &str = "UPDATE jobs SET state = $3, message = $4, result = $5, expires_at = $6, updated_at = $7, \
     lease_expires_at = NULL WHERE id = $1 AND claimed_by = $2 AND state = 'processing'";
pub(crate) const PURGE_JOBS: &str = "DELETE FROM jobs WHERE state IN ('success', 'failure') AND expires_at < $1";

pub(crate) const FORGET_EXPIRED_NONCES: &str = "DELETE FROM replay_nonces WHERE scope = $1 AND expires_at < $2";
pub(crate) const NONCE_SEEN: &str = "SELECT EXISTS (SELECT 1 FROM replay_nonces WHERE scope = $1 AND nonce = $2)";
pub(crate) const COUNT_NONCES: &str = "SELECT COUNT(*) FROM replay_nonces WHERE scope = $1";
pub(crate) const INSERT_NONCE: &str =
    "INSERT INTO replay_nonces (scope, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT (scope, nonce) DO NOTHING";

// ---- members ------------------------------------------------------------------

pub(crate) const INSERT_MEMBER: &str =
    "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const GET_MEMBER: &str = "SELECT image_id, member_id, status, created_at, updated_at FROM image_members \
     WHERE image_id = $1 AND member_id = $2";
pub(crate) const LIST_MEMBERS: &str = "SELECT image_id, member_id, status, created_at, updated_at FROM image_members \
     WHERE image_id = $1 ORDER BY created_at, member_id";
pub(crate) const UPDATE_MEMBER: &str =
    "UPDATE image_members SET status = $3, created_at = $4, updated_at = $5 WHERE image_id = $1 AND member_id = $2";
pub(crate) const DELETE_MEMBER: &str = "DELETE FROM image_members WHERE image_id = $1 AND member_id = $2";

// ---- alternate keys -----------------------------------------------------------

pub(crate) const INSERT_ALT_KEY: &str = "INSERT INTO alt_keys (namespace, alt_key, target) VALUES ($1, $2, $3)";
pub(crate) const FIND_ALT_KEY: &str = "SELECT target FROM alt_keys WHERE namespace = $1 AND alt_key = $2";
pub(crate) const ALT_KEY_OF: &str = "SELECT alt_key FROM alt_keys WHERE namespace = $1 AND target = $2 ORDER BY alt_key LIMIT 1";
pub(crate) const DELETE_ALT_KEY: &str = "DELETE FROM alt_keys WHERE namespace = $1 AND alt_key = $2";
pub(crate) const DELETE_ALT_KEY_IF: &str = "DELETE FROM alt_keys WHERE namespace = $1 AND alt_key = $2 AND target = $3";
/// Listing: `$2` is the inclusive (`_FROM`) or exclusive (`_AFTER`) lower bound,
/// `$3` the exclusive upper bound of the prefix range (`_BELOW`), last the limit.
pub(crate) const LIST_ALT_KEYS_FROM: &str =
    "SELECT alt_key, target FROM alt_keys WHERE namespace = $1 AND alt_key >= $2 ORDER BY alt_key LIMIT $3";
pub(crate) const LIST_ALT_KEYS_AFTER: &str =
    "SELECT alt_key, target FROM alt_keys WHERE namespace = $1 AND alt_key > $2 ORDER BY alt_key LIMIT $3";
pub(crate) const LIST_ALT_KEYS_FROM_BELOW: &str = "SELECT alt_key, target FROM alt_keys \
     WHERE namespace = $1 AND alt_key >= $2 AND alt_key < $3 ORDER BY alt_key LIMIT $4";
pub(crate) const LIST_ALT_KEYS_AFTER_BELOW: &str = "SELECT alt_key, target FROM alt_keys \
     WHERE namespace = $1 AND alt_key > $2 AND alt_key < $3 ORDER BY alt_key LIMIT $4";

// ---- operations ---------------------------------------------------------------

macro_rules! operation_columns {
    () => {
        "id, dialect, project_id, target, description, created_by, created_at, modified_at, done, payload, idempotency_key"
    };
}

pub(crate) const INSERT_OPERATION: &str =
    concat!("INSERT INTO operations (", operation_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
pub(crate) const GET_OPERATION: &str = concat!("SELECT ", operation_columns!(), " FROM operations WHERE dialect = $1 AND id = $2");
pub(crate) const UPDATE_OPERATION: &str = "UPDATE operations SET project_id = $3, target = $4, description = $5, \
     created_by = $6, created_at = $7, modified_at = $8, done = $9, payload = $10, idempotency_key = $11 \
     WHERE id = $1 AND dialect = $2";
pub(crate) const LIST_OPERATIONS: &str = concat!(
    "SELECT ",
    operation_columns!(),
    " FROM operations WHERE dialect = $1 AND target = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
);
/// Newest first, strictly after the operation `$3` in that order (nothing when `$3`
/// is unknown).
pub(crate) const LIST_OPERATIONS_AFTER: &str = concat!(
    "SELECT ",
    operation_columns!(),
    " FROM operations WHERE dialect = $1 AND target = $2 AND (created_at, id) < \
     (SELECT created_at, id FROM operations WHERE dialect = $1 AND id = $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4"
);
pub(crate) const FIND_OPERATION_BY_IDEMPOTENCY_KEY: &str =
    concat!("SELECT ", operation_columns!(), " FROM operations WHERE dialect = $1 AND project_id = $2 AND idempotency_key = $3");

// ---- domains, projects, users, roles --------------------------------------------

pub(crate) const INSERT_DOMAIN: &str = "INSERT INTO domains (id, name, description, enabled) VALUES ($1, $2, $3, $4)";
pub(crate) const GET_DOMAIN: &str = "SELECT id, name, description, enabled FROM domains WHERE id = $1";
pub(crate) const FIND_DOMAIN_BY_NAME: &str = "SELECT id, name, description, enabled FROM domains WHERE name = $1";
pub(crate) const LIST_DOMAINS: &str = "SELECT id, name, description, enabled FROM domains ORDER BY id";

pub(crate) const INSERT_PROJECT: &str = "INSERT INTO projects (id, name, domain_id, description, enabled) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const GET_PROJECT: &str = "SELECT id, name, domain_id, description, enabled FROM projects WHERE id = $1";
pub(crate) const FIND_PROJECT_BY_NAME: &str =
    "SELECT id, name, domain_id, description, enabled FROM projects WHERE domain_id = $1 AND name = $2";
pub(crate) const LIST_PROJECTS: &str = "SELECT id, name, domain_id, description, enabled FROM projects ORDER BY id";
pub(crate) const UPDATE_PROJECT: &str = "UPDATE projects SET name = $2, domain_id = $3, description = $4, enabled = $5 WHERE id = $1";
pub(crate) const DELETE_PROJECT: &str = "DELETE FROM projects WHERE id = $1";
pub(crate) const DELETE_PROJECT_ASSIGNMENTS: &str = "DELETE FROM role_assignments WHERE project_id = $1";

macro_rules! user_columns {
    () => {
        "id, name, domain_id, password_hash, enabled, default_project_id, created_at"
    };
}
pub(crate) const INSERT_USER: &str = concat!("INSERT INTO users (", user_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)");
pub(crate) const GET_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
pub(crate) const FIND_USER_BY_NAME: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE domain_id = $1 AND name = $2");
pub(crate) const LIST_USERS: &str = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");
pub(crate) const UPDATE_USER: &str = "UPDATE users SET name = $2, domain_id = $3, password_hash = $4, enabled = $5, \
     default_project_id = $6, created_at = $7 WHERE id = $1";
pub(crate) const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";
pub(crate) const DELETE_USER_ASSIGNMENTS: &str = "DELETE FROM role_assignments WHERE user_id = $1";
pub(crate) const DELETE_USER_ACCESS_KEYS: &str = "DELETE FROM access_keys WHERE user_id = $1";
pub(crate) const DELETE_USER_APP_CREDENTIALS: &str = "DELETE FROM app_credentials WHERE user_id = $1";

pub(crate) const INSERT_ROLE: &str = "INSERT INTO roles (id, name) VALUES ($1, $2)";
pub(crate) const GET_ROLE: &str = "SELECT id, name FROM roles WHERE id = $1";
pub(crate) const FIND_ROLE_BY_NAME: &str = "SELECT id, name FROM roles WHERE name = $1";
pub(crate) const LIST_ROLES: &str = "SELECT id, name FROM roles ORDER BY id";

pub(crate) const GRANT_ROLE: &str =
    "INSERT INTO role_assignments (user_id, project_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub(crate) const REVOKE_ROLE: &str = "DELETE FROM role_assignments WHERE user_id = $1 AND project_id = $2 AND role_id = $3";

// ---- credentials and keys -----------------------------------------------------

macro_rules! access_key_columns {
    () => {
        "id, secret, user_id, project_id, description, created_at, public_key"
    };
}
pub(crate) const INSERT_ACCESS_KEY: &str =
    concat!("INSERT INTO access_keys (", access_key_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)");
pub(crate) const GET_ACCESS_KEY: &str = concat!("SELECT ", access_key_columns!(), " FROM access_keys WHERE id = $1");
pub(crate) const LIST_ACCESS_KEYS: &str =
    concat!("SELECT ", access_key_columns!(), " FROM access_keys WHERE user_id = $1 ORDER BY created_at, id");
pub(crate) const DELETE_ACCESS_KEY: &str = "DELETE FROM access_keys WHERE id = $1";
pub(crate) const REPLACE_ACCESS_KEY_SECRET: &str = "UPDATE access_keys SET secret = $3 WHERE id = $1 AND secret = $2";

macro_rules! app_credential_columns {
    () => {
        "id, name, user_id, project_id, description, secret_hash, roles, expires_at, unrestricted, created_at"
    };
}
pub(crate) const INSERT_APP_CREDENTIAL: &str =
    concat!("INSERT INTO app_credentials (", app_credential_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
pub(crate) const GET_APP_CREDENTIAL: &str = concat!("SELECT ", app_credential_columns!(), " FROM app_credentials WHERE id = $1");
pub(crate) const LIST_APP_CREDENTIALS: &str =
    concat!("SELECT ", app_credential_columns!(), " FROM app_credentials WHERE user_id = $1 ORDER BY created_at, id");
pub(crate) const DELETE_APP_CREDENTIAL: &str = "DELETE FROM app_credentials WHERE id = $1";

pub(crate) const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys (id, kind, material, created_at) VALUES ($1, $2, $3, $4)";
pub(crate) const LIST_SIGNING_KEYS: &str =
    "SELECT id, kind, material, created_at FROM signing_keys WHERE kind = $1 ORDER BY created_at DESC, id DESC";
pub(crate) const DELETE_SIGNING_KEY: &str = "DELETE FROM signing_keys WHERE id = $1";
pub(crate) const REPLACE_SIGNING_KEY_MATERIAL: &str = "UPDATE signing_keys SET material = $3 WHERE id = $1 AND material = $2";

pub(crate) const INSERT_REVOCATION: &str = "INSERT INTO revocations (audit_id, expires_at) VALUES ($1, $2)";
pub(crate) const LIST_REVOCATIONS: &str = "SELECT audit_id, expires_at FROM revocations WHERE expires_at > $1 ORDER BY audit_id";

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_spelling_swaps_only_placeholders() {
        assert_eq!(sqlite!("SELECT a FROM t WHERE b = $1 AND c = $12"), "SELECT a FROM t WHERE b = ?1 AND c = ?12");
        assert_eq!(sqlite!(super::GET_IMAGE).matches('?').count(), 1);
    }
}
