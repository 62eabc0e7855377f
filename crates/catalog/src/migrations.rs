//! The catalog schema as versioned migrations, one list per backend. Each entry is
//! applied once, in its own transaction, and recorded in `schema_migrations`; a
//! migration is never edited after release — schema changes append a new version.
//!
//! Layout decisions shared by both backends:
//! - timestamps are integer microseconds since the Unix epoch (UTC), exact round trip;
//! - ids are text (UUIDs in lower-case hyphenated form, which sorts like the bytes);
//! - `images.tags` / `images.properties` hold JSON copies of the `image_tags` /
//!   `image_properties` rows so that reading an image is one indexed lookup, while
//!   the child tables serve the indexed tag and property filters of `list_images`;
//! - text compares byte-wise (SQLite's BINARY, PostgreSQL's `COLLATE "C"`) so both
//!   backends order names identically; NULL sorts as the smallest value.

/// `(version, sql)` pairs in ascending version order.
pub(crate) type Migration = (i64, &'static str);

pub(crate) const SQLITE: &[Migration] = &[(1, SQLITE_V1), (2, SQLITE_V2), (3, SQLITE_V3), (4, SQLITE_V4), (5, SQLITE_V5)];
pub(crate) const POSTGRES: &[Migration] = &[(1, POSTGRES_V1), (2, POSTGRES_V2), (3, POSTGRES_V3), (4, POSTGRES_V4), (5, POSTGRES_V5)];

/// v5: listing at scale. Every list filter and sort key answers its first page from
/// an index in page order instead of scanning or sorting the catalog:
/// - tag and property rows carry their image's `created_at` (`image_created_at`,
///   kept equal by the writes), so a tag or property filter reads its matching
///   images already newest-first (`list_query`'s driving filter);
/// - one `(key, created_at, id)` index per sort key and per filtered column that
///   had none (status, visibility, formats, size, min_disk, min_ram); `updated_at`
///   gains `created_at` as its tie-breaker, as the effective sort has it;
/// - hidden images (few) have their own partial index;
/// - public images (few, and in every project's view) have partial indexes for
///   each sort key and filtered column: a non-admin's list reads them as one
///   branch of its union (`list_query`), and only public images pay for them.
const SQLITE_V5: &str = r#"
ALTER TABLE image_tags ADD COLUMN image_created_at INTEGER NOT NULL DEFAULT 0;
UPDATE image_tags SET image_created_at = (SELECT created_at FROM images WHERE images.id = image_tags.image_id);
DROP INDEX image_tags_tag;
CREATE INDEX image_tags_tag ON image_tags (tag, image_created_at, image_id);

ALTER TABLE image_properties ADD COLUMN image_created_at INTEGER NOT NULL DEFAULT 0;
UPDATE image_properties SET image_created_at = (SELECT created_at FROM images WHERE images.id = image_properties.image_id);
DROP INDEX image_properties_name;
CREATE INDEX image_properties_name ON image_properties (name, value, image_created_at, image_id);

CREATE INDEX images_status ON images (status, created_at, id);
CREATE INDEX images_visibility ON images (visibility, created_at, id);
CREATE INDEX images_container_format ON images (container_format, created_at, id);
CREATE INDEX images_disk_format ON images (disk_format, created_at, id);
CREATE INDEX images_size ON images (size, created_at, id);
CREATE INDEX images_min_disk ON images (min_disk, created_at, id);
CREATE INDEX images_min_ram ON images (min_ram, created_at, id);
DROP INDEX images_updated;
CREATE INDEX images_updated ON images (updated_at, created_at, id);
CREATE INDEX images_hidden ON images (created_at, id) WHERE os_hidden = 1;
CREATE INDEX images_public_name ON images (name, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_status ON images (status, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_container_format ON images (container_format, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_disk_format ON images (disk_format, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_size ON images (size, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_min_disk ON images (min_disk, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_min_ram ON images (min_ram, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_updated ON images (updated_at, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_id ON images (id) WHERE visibility = 'public';
"#;

const POSTGRES_V5: &str = r#"
ALTER TABLE image_tags ADD COLUMN image_created_at BIGINT NOT NULL DEFAULT 0;
UPDATE image_tags SET image_created_at = images.created_at FROM images WHERE images.id = image_tags.image_id;
DROP INDEX image_tags_tag;
CREATE INDEX image_tags_tag ON image_tags (tag, image_created_at, image_id);

ALTER TABLE image_properties ADD COLUMN image_created_at BIGINT NOT NULL DEFAULT 0;
UPDATE image_properties SET image_created_at = images.created_at FROM images WHERE images.id = image_properties.image_id;
DROP INDEX image_properties_name;
CREATE INDEX image_properties_name ON image_properties (name, value, image_created_at, image_id);

CREATE INDEX images_status ON images (status, created_at, id);
CREATE INDEX images_visibility ON images (visibility, created_at, id);
CREATE INDEX images_container_format ON images (container_format ASC NULLS FIRST, created_at, id);
CREATE INDEX images_disk_format ON images (disk_format ASC NULLS FIRST, created_at, id);
CREATE INDEX images_size ON images (size ASC NULLS FIRST, created_at, id);
CREATE INDEX images_min_disk ON images (min_disk, created_at, id);
CREATE INDEX images_min_ram ON images (min_ram, created_at, id);
DROP INDEX images_updated;
CREATE INDEX images_updated ON images (updated_at, created_at, id);
CREATE INDEX images_hidden ON images (created_at, id) WHERE os_hidden;
CREATE INDEX images_public_name ON images (name ASC NULLS FIRST, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_status ON images (status, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_container_format ON images (container_format ASC NULLS FIRST, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_disk_format ON images (disk_format ASC NULLS FIRST, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_size ON images (size ASC NULLS FIRST, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_min_disk ON images (min_disk, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_min_ram ON images (min_ram, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_updated ON images (updated_at, created_at, id) WHERE visibility = 'public';
CREATE INDEX images_public_id ON images (id) WHERE visibility = 'public';
"#;

/// v4: what several nodes share. Named leases (each node's heartbeat, the one
/// garbage collector), background jobs any node may claim, and the signatures
/// seen recently (replay protection shared by every node).
const SQLITE_V4: &str = r#"
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    image_id         TEXT,
    owner            TEXT,
    user_id          TEXT,
    request_id       TEXT,
    state            TEXT NOT NULL,
    input            TEXT NOT NULL,
    message          TEXT NOT NULL,
    result           TEXT,
    attempts         INTEGER NOT NULL,
    claimed_by       TEXT,
    taken_from       TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    expires_at       INTEGER
);
CREATE INDEX jobs_by_image ON jobs (image_id, created_at);
CREATE INDEX jobs_open ON jobs (created_at, id) WHERE state IN ('pending', 'processing');
CREATE INDEX jobs_finished ON jobs (expires_at) WHERE state IN ('success', 'failure');

CREATE TABLE replay_nonces (
    scope      TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, nonce)
) WITHOUT ROWID;
CREATE INDEX replay_nonces_expiry ON replay_nonces (scope, expires_at);
"#;

const POSTGRES_V4: &str = r#"
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id               TEXT COLLATE "C" PRIMARY KEY,
    kind             TEXT NOT NULL,
    image_id         TEXT COLLATE "C",
    owner            TEXT,
    user_id          TEXT,
    request_id       TEXT,
    state            TEXT NOT NULL,
    input            TEXT NOT NULL,
    message          TEXT NOT NULL,
    result           TEXT,
    attempts         BIGINT NOT NULL,
    claimed_by       TEXT,
    taken_from       TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    expires_at       BIGINT
);
CREATE INDEX jobs_by_image ON jobs (image_id, created_at);
CREATE INDEX jobs_open ON jobs (created_at, id) WHERE state IN ('pending', 'processing');
CREATE INDEX jobs_finished ON jobs (expires_at) WHERE state IN ('success', 'failure');

CREATE TABLE replay_nonces (
    scope      TEXT COLLATE "C" NOT NULL,
    nonce      TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, nonce)
);
CREATE INDEX replay_nonces_expiry ON replay_nonces (scope, expires_at);
"#;

/// v3: blob leases. A claim is taken before bytes are published under a content
/// address, a deletion lease before the garbage collector deletes one; each
/// refuses the other, so re-committing identical bytes can never race a deletion.
const SQLITE_V3: &str = r#"
CREATE TABLE blob_leases (
    blob_key TEXT PRIMARY KEY NOT NULL,
    kind     TEXT NOT NULL,
    at       INTEGER NOT NULL
) WITHOUT ROWID;
"#;

const POSTGRES_V3: &str = r#"
CREATE TABLE blob_leases (
    blob_key TEXT COLLATE "C" PRIMARY KEY,
    kind     TEXT NOT NULL,
    at       BIGINT NOT NULL
);
"#;

/// v2: imagery no longer moves images to `killed` (it happened outside the status
/// machine when a Yandex import failed). A failed import is `queued` with the
/// reason in the reserved property `imagery:import_error`, which each dialect
/// renders its own way (Glance `queued`, Yandex `ERROR`, ARM `Failed`).
const SQLITE_V2: &str = r#"
INSERT OR REPLACE INTO image_properties (image_id, name, value)
    SELECT id, 'imagery:import_error', 'The import failed.' FROM images WHERE status = 'killed';
UPDATE images
    SET status = 'queued',
        properties = json_set(properties, '$."imagery:import_error"', 'The import failed.'),
        version = version + 1
    WHERE status = 'killed';
"#;

const POSTGRES_V2: &str = r#"
INSERT INTO image_properties (image_id, name, value)
    SELECT id, 'imagery:import_error', 'The import failed.' FROM images WHERE status = 'killed'
    ON CONFLICT (image_id, name) DO UPDATE SET value = EXCLUDED.value;
UPDATE images
    SET status = 'queued',
        properties = (properties::jsonb || jsonb_build_object('imagery:import_error', 'The import failed.'))::text,
        version = version + 1
    WHERE status = 'killed';
"#;

/// A database migrated by a newer imagery may hold a schema this build does not
/// know; it still runs (migrations only add), but says so.
pub(crate) fn warn_if_newer(backend: &str, stored_max: i64, known: &[Migration]) {
    let latest = known.last().map_or(0, |m| m.0);
    if stored_max > latest {
        tracing::warn!(backend, stored_max, latest, "catalog schema is newer than this build knows");
    }
}

const SQLITE_V1: &str = r#"
CREATE TABLE images (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT,
    status           TEXT NOT NULL,
    visibility       TEXT NOT NULL,
    protected        INTEGER NOT NULL,
    os_hidden        INTEGER NOT NULL,
    owner            TEXT,
    min_disk         INTEGER NOT NULL,
    min_ram          INTEGER NOT NULL,
    container_format TEXT,
    disk_format      TEXT,
    size             INTEGER,
    virtual_size     INTEGER,
    checksum         TEXT,
    os_hash_algo     TEXT,
    os_hash_value    TEXT,
    blob_key         TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    tags             TEXT NOT NULL,
    properties       TEXT NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX images_created ON images (created_at, id);
CREATE INDEX images_updated ON images (updated_at, id);
CREATE INDEX images_name ON images (name, created_at, id);
CREATE INDEX images_owner ON images (owner, created_at, id);
CREATE INDEX images_blob ON images (blob_key) WHERE blob_key IS NOT NULL;

CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (image_id, tag)
) WITHOUT ROWID;
CREATE INDEX image_tags_tag ON image_tags (tag, image_id);

CREATE TABLE image_properties (
    image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (image_id, name)
) WITHOUT ROWID;
CREATE INDEX image_properties_name ON image_properties (name, value);

CREATE TABLE image_members (
    image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, member_id)
) WITHOUT ROWID;
CREATE INDEX image_members_member ON image_members (member_id, status);

CREATE TABLE alt_keys (
    namespace TEXT NOT NULL,
    alt_key   TEXT NOT NULL,
    target    TEXT NOT NULL,
    PRIMARY KEY (namespace, alt_key)
) WITHOUT ROWID;
CREATE INDEX alt_keys_target ON alt_keys (namespace, target);

CREATE TABLE operations (
    dialect         TEXT NOT NULL,
    id              TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    target          TEXT,
    description     TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL,
    done            INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    idempotency_key TEXT,
    PRIMARY KEY (dialect, id)
);
CREATE INDEX operations_target ON operations (dialect, target, created_at, id);
CREATE UNIQUE INDEX operations_idempotency ON operations (dialect, project_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE domains (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled     INTEGER NOT NULL
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    domain_id          TEXT NOT NULL,
    password_hash      TEXT,
    enabled            INTEGER NOT NULL,
    default_project_id TEXT,
    created_at         INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE roles (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE role_assignments (
    user_id    TEXT NOT NULL,
    project_id TEXT NOT NULL,
    role_id    TEXT NOT NULL,
    PRIMARY KEY (user_id, project_id, role_id)
) WITHOUT ROWID;
CREATE INDEX role_assignments_project ON role_assignments (project_id);
CREATE INDEX role_assignments_role ON role_assignments (role_id);

CREATE TABLE access_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    secret      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    project_id  TEXT,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    public_key  TEXT
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE app_credentials (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    description  TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    roles        TEXT NOT NULL,
    expires_at   INTEGER,
    unrestricted INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    material   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX signing_keys_kind ON signing_keys (kind, created_at);

CREATE TABLE revocations (
    audit_id   TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revocations_expiry ON revocations (expires_at);
"#;

const POSTGRES_V1: &str = r#"
CREATE TABLE images (
    id               TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT COLLATE "C",
    status           TEXT COLLATE "C" NOT NULL,
    visibility       TEXT COLLATE "C" NOT NULL,
    protected        BOOLEAN NOT NULL,
    os_hidden        BOOLEAN NOT NULL,
    owner            TEXT COLLATE "C",
    min_disk         BIGINT NOT NULL,
    min_ram          BIGINT NOT NULL,
    container_format TEXT COLLATE "C",
    disk_format      TEXT COLLATE "C",
    size             BIGINT,
    virtual_size     BIGINT,
    checksum         TEXT COLLATE "C",
    os_hash_algo     TEXT COLLATE "C",
    os_hash_value    TEXT COLLATE "C",
    blob_key         TEXT COLLATE "C",
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT,
    tags             TEXT NOT NULL,
    properties       TEXT NOT NULL,
    version          BIGINT NOT NULL
);
CREATE INDEX images_created ON images (created_at, id);
CREATE INDEX images_updated ON images (updated_at, id);
CREATE INDEX images_name ON images (name ASC NULLS FIRST, created_at, id);
CREATE INDEX images_owner ON images (owner, created_at, id);
CREATE INDEX images_blob ON images (blob_key) WHERE blob_key IS NOT NULL;

CREATE TABLE image_tags (
    image_id TEXT COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (image_id, tag)
);
CREATE INDEX image_tags_tag ON image_tags (tag, image_id);

CREATE TABLE image_properties (
    image_id TEXT COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    name     TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (image_id, name)
);
CREATE INDEX image_properties_name ON image_properties (name, value);

CREATE TABLE image_members (
    image_id   TEXT COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    member_id  TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member_id)
);
CREATE INDEX image_members_member ON image_members (member_id, status);

CREATE TABLE alt_keys (
    namespace TEXT COLLATE "C" NOT NULL,
    alt_key   TEXT COLLATE "C" NOT NULL,
    target    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace, alt_key)
);
CREATE INDEX alt_keys_target ON alt_keys (namespace, target);

CREATE TABLE operations (
    dialect         TEXT COLLATE "C" NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    target          TEXT COLLATE "C",
    description     TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    modified_at     BIGINT NOT NULL,
    done            BOOLEAN NOT NULL,
    payload         TEXT NOT NULL,
    idempotency_key TEXT COLLATE "C",
    PRIMARY KEY (dialect, id)
);
CREATE INDEX operations_target ON operations (dialect, target, created_at, id);
CREATE UNIQUE INDEX operations_idempotency ON operations (dialect, project_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE domains (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL
);

CREATE TABLE projects (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    domain_id   TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    name               TEXT COLLATE "C" NOT NULL,
    domain_id          TEXT COLLATE "C" NOT NULL,
    password_hash      TEXT,
    enabled            BOOLEAN NOT NULL,
    default_project_id TEXT COLLATE "C",
    created_at         BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE roles (
    id   TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE role_assignments (
    user_id    TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    role_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, project_id, role_id)
);
CREATE INDEX role_assignments_project ON role_assignments (project_id);
CREATE INDEX role_assignments_role ON role_assignments (role_id);

CREATE TABLE access_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    secret      TEXT NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C",
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    public_key  TEXT
);
CREATE INDEX access_keys_user ON access_keys (user_id);

CREATE TABLE app_credentials (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    project_id   TEXT COLLATE "C" NOT NULL,
    description  TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    roles        TEXT NOT NULL,
    expires_at   BIGINT,
    unrestricted BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE signing_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT COLLATE "C" NOT NULL,
    material   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_kind ON signing_keys (kind, created_at);

CREATE TABLE revocations (
    audit_id   TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revocations_expiry ON revocations (expires_at);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_ascend_and_backends_agree() {
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[0].0 < w[1].0));
        }
        let versions = |l: &[Migration]| l.iter().map(|m| m.0).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
