//! Fills a catalog with N synthetic images, fast, for the listing benchmarks
//! (`bench/listing.sh`). Not part of imagery: a bench tool.
//!
//!   cargo run --release -p imagery-catalog --example seed_catalog -- URL N OWNER_PROJECT
//!
//! `URL` is `sqlite://FILE` or `postgres://…`; the catalog is opened (migrated) by
//! imagery-catalog first, then the image tables are bulk-loaded directly: their
//! secondary indexes are dropped, rows go in through big transactions (SQLite) or
//! `COPY` (PostgreSQL), and the indexes are rebuilt. PostgreSQL is `ANALYZE`d
//! afterwards (what autovacuum would do after such a load); SQLite is not (the
//! server never runs `ANALYZE` on its own, so the benchmark must not either).
//!
//! The distribution (deterministic, seeded): ~N/500 projects with skewed sizes,
//! `OWNER_PROJECT` owning exactly 1,000 images (0 when N < 10,000) and member of
//! 300 shared images of others; visibility 90 % private, 7.5 % shared, 2 %
//! community, 0.5 % public, a few owner-less; statuses mostly active with queued,
//! deactivated, deleted and pending_delete; 2 % hidden, 5 % protected; names
//! mostly unique snapshots and builds plus a few common names; half the images have
//! 1–3 tags (skewed: `prod` is common, `rare-*` rare); each has 2–4 properties
//! (`os_distro`, `architecture`, `image_type`/`instance_uuid` for snapshots,
//! `hw_disk_bus`, `imagery:family`); sizes log-uniform 10 MiB–200 GiB; created
//! over three years.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

use futures::SinkExt;
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const OWNER_IMAGES: usize = 1_000;
const OWNER_MEMBERSHIPS: usize = 300;
const BATCH: usize = 50_000;
const NOW_MICROS: i64 = 1_796_000_000_000_000; // 2026-11-30
const YEAR_MICROS: i64 = 365 * 24 * 3600 * 1_000_000;

const DISTROS: &[&str] = &["ubuntu", "debian", "centos", "rocky", "fedora", "windows", "opensuse", "alpine", "cirros", "freebsd"];
const COMMON_NAMES: &[&str] = &[
    "cirros-0.6.2",
    "ubuntu-22.04",
    "ubuntu-24.04",
    "debian-12",
    "windows-2022",
    "rocky-9",
    "fedora-40",
    "alpine-3.20",
    "centos-stream-9",
    "freebsd-14",
];
const TAGS_COMMON: &[&str] = &["prod", "backup", "golden", "team-a", "team-b", "ci", "nightly", "gpu"];
const FAMILIES: usize = 50;

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A uniform float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
    fn hex(&mut self, chars: usize) -> String {
        let mut s = String::with_capacity(chars + 16);
        while s.len() < chars {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(chars);
        s
    }
    /// Picks index i of `weights` with probability weight_i / sum.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

struct ImageRow {
    id: String,
    name: Option<String>,
    status: &'static str,
    visibility: &'static str,
    protected: bool,
    os_hidden: bool,
    owner: Option<String>,
    min_disk: i64,
    min_ram: i64,
    container_format: Option<&'static str>,
    disk_format: Option<&'static str>,
    size: Option<i64>,
    virtual_size: Option<i64>,
    checksum: Option<String>,
    os_hash_value: Option<String>,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
    tags: Vec<String>,
    properties: BTreeMap<String, String>,
}

impl ImageRow {
    fn tags_json(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into())
    }
    fn properties_json(&self) -> String {
        serde_json::to_string(&self.properties).unwrap_or_else(|_| "{}".into())
    }
}

struct Member {
    image_id: String,
    member_id: String,
    status: &'static str,
    at: i64,
}

struct Generator {
    rng: Rng,
    projects: Vec<String>,
    /// Cumulative weights over `projects` (skewed sizes).
    cumulative: Vec<f64>,
    owner: String,
    owner_slots: Vec<bool>,
}

impl Generator {
    fn new(n: usize, owner: &str) -> Self {
        let mut rng = Rng(0x1A6E_5EED);
        let count = (n / 500).max(10);
        let projects: Vec<String> = (0..count).map(|_| rng.hex(32)).collect();
        // Zipf-like project sizes: weight 1/(rank+10).
        let mut cumulative = Vec::with_capacity(count);
        let mut acc = 0.0;
        for rank in 0..count {
            acc += 1.0 / (rank as f64 + 10.0);
            cumulative.push(acc);
        }
        // Which image indexes the benchmark owner gets: spread evenly over time.
        let owned = if n >= 10_000 { OWNER_IMAGES } else { 0 };
        let mut owner_slots = vec![false; n];
        if let Some(step) = n.checked_div(owned) {
            for k in 0..owned {
                owner_slots[k * step + (k * 7919) % step] = true;
            }
        }
        Generator { rng, projects, cumulative, owner: owner.to_string(), owner_slots }
    }

    fn project(&mut self) -> String {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = self.rng.unit() * total;
        let i = self.cumulative.partition_point(|c| *c < x).min(self.projects.len() - 1);
        self.projects[i].clone()
    }

    fn image(&mut self, i: usize, n: usize) -> ImageRow {
        let r = &mut self.rng;
        let id = r.uuid().hyphenated().to_string();
        // Created over three years, in index order with jitter (catalogs grow over time).
        let created_at = NOW_MICROS - 3 * YEAR_MICROS + (3 * YEAR_MICROS / n as i64) * i as i64 + r.below(1_000_000) as i64;
        let updated_at = (created_at + (r.unit().powi(3) * YEAR_MICROS as f64) as i64).min(NOW_MICROS);
        let status = ["active", "queued", "deactivated", "deleted", "pending_delete"][r.weighted(&[92.0, 3.5, 1.5, 2.5, 0.5])];
        let visibility = ["private", "shared", "community", "public"][r.weighted(&[90.0, 7.5, 2.0, 0.5])];
        let snapshot = r.chance(0.6);
        let distro = DISTROS[r.weighted(&[30.0, 15.0, 10.0, 8.0, 6.0, 12.0, 3.0, 8.0, 5.0, 3.0])];
        let name = if r.chance(0.01) {
            None
        } else if r.chance(0.05) {
            Some(COMMON_NAMES[r.below(COMMON_NAMES.len() as u64) as usize].to_string())
        } else if snapshot {
            Some(format!("snap-{distro}-{}", r.hex(10)))
        } else {
            Some(format!("{distro}-{}.{}-build-{}", 1 + r.below(30), r.below(10), r.below(100_000)))
        };
        let queued = status == "queued";
        let size = if queued { None } else { Some((10.0 * 1048576.0 * (20480.0f64).powf(r.unit())) as i64) };
        let mut tags = Vec::new();
        if r.chance(0.5) {
            for _ in 0..1 + r.below(3) {
                let tag = if r.chance(0.002) {
                    format!("rare-{}", r.below(10))
                } else if r.chance(0.4) {
                    format!("app-{}", r.below(200))
                } else {
                    TAGS_COMMON[r.weighted(&[40.0, 15.0, 10.0, 8.0, 8.0, 7.0, 7.0, 5.0])].to_string()
                };
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            tags.sort();
        }
        let mut properties = BTreeMap::new();
        properties.insert("os_distro".to_string(), distro.to_string());
        properties.insert("architecture".to_string(), if r.chance(0.85) { "x86_64" } else { "aarch64" }.to_string());
        if snapshot {
            properties.insert("image_type".to_string(), "snapshot".to_string());
            properties.insert("instance_uuid".to_string(), r.uuid().hyphenated().to_string());
        }
        if r.chance(0.3) {
            properties.insert("hw_disk_bus".to_string(), if r.chance(0.8) { "virtio" } else { "scsi" }.to_string());
        }
        if r.chance(0.05) {
            properties.insert("imagery:family".to_string(), format!("family-{}", r.below(FAMILIES as u64)));
        }
        let owner_less = r.chance(0.0002);
        let row = ImageRow {
            id,
            name,
            status,
            visibility,
            protected: r.chance(0.05),
            os_hidden: r.chance(0.02),
            owner: None,
            min_disk: [0, 1, 5, 10, 20, 40, 80][r.weighted(&[60.0, 5.0, 10.0, 10.0, 8.0, 5.0, 2.0])],
            min_ram: [0, 128, 512, 1024, 2048, 4096][r.weighted(&[60.0, 5.0, 10.0, 12.0, 8.0, 5.0])],
            container_format: if queued { None } else { Some(["bare", "ovf", "docker"][r.weighted(&[95.0, 3.0, 2.0])]) },
            disk_format: if queued { None } else { Some(["qcow2", "raw", "vmdk", "iso", "vhd"][r.weighted(&[55.0, 30.0, 5.0, 5.0, 5.0])]) },
            size,
            virtual_size: size.map(|s| s * (1 + r.below(4) as i64)),
            checksum: size.map(|_| r.hex(32)),
            os_hash_value: size.map(|_| r.hex(128)),
            created_at,
            updated_at,
            deleted_at: (status == "deleted").then_some(updated_at),
            tags,
            properties,
        };
        let owner = if self.owner_slots[i] {
            Some(self.owner.clone())
        } else if owner_less {
            None
        } else {
            Some(self.project())
        };
        ImageRow { owner, ..row }
    }

    /// Members of a shared image: other projects, sometimes the benchmark owner.
    fn members(&mut self, image: &ImageRow, owner_left: &mut usize) -> Vec<Member> {
        let mut out = Vec::new();
        if image.visibility != "shared" {
            return out;
        }
        let at = image.created_at + 1_000_000;
        if *owner_left > 0 && image.owner.as_deref() != Some(self.owner.as_str()) && self.rng.chance(0.01) {
            *owner_left -= 1;
            let status = ["accepted", "pending", "rejected"][self.rng.weighted(&[66.0, 27.0, 7.0])];
            out.push(Member { image_id: image.id.clone(), member_id: self.owner.clone(), status, at });
        }
        for _ in 0..self.rng.below(3) {
            let member_id = self.project();
            if image.owner.as_deref() == Some(member_id.as_str()) || out.iter().any(|m| m.member_id == member_id) {
                continue;
            }
            let status = ["accepted", "pending", "rejected"][self.rng.weighted(&[80.0, 15.0, 5.0])];
            out.push(Member { image_id: image.id.clone(), member_id, status, at });
        }
        out
    }
}

const CHILD_TABLES: &[&str] = &["images", "image_tags", "image_properties", "image_members"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(n), Some(owner)) = (args.get(1), args.get(2), args.get(3)) else {
        return Err("usage: seed_catalog URL N OWNER_PROJECT".into());
    };
    let n: usize = n.parse()?;
    let started = Instant::now();
    // Migrate through the catalog itself, then close it.
    drop(imagery_catalog::open(url).await?);
    let gen = Generator::new(n, owner);
    if let Some(path) = url.strip_prefix("sqlite://") {
        seed_sqlite(path, n, gen)?;
    } else {
        seed_postgres(url, n, gen).await?;
    }
    eprintln!("seeded {n} images in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn has_image_created_at(conn: &rusqlite::Connection) -> Result<bool> {
    let count: i64 =
        conn.query_row("SELECT COUNT(*) FROM pragma_table_info('image_tags') WHERE name = 'image_created_at'", [], |r| r.get(0))?;
    Ok(count > 0)
}

fn seed_sqlite(path: &str, n: usize, mut gen: Generator) -> Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -524288; PRAGMA foreign_keys = OFF;")?;
    let denormalized = has_image_created_at(&conn)?;
    let mut indexes: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN \
             ('images', 'image_tags', 'image_properties', 'image_members')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            indexes.push(row?);
        }
    }
    for (name, _) in &indexes {
        conn.execute_batch(&format!("DROP INDEX {name}"))?;
    }
    let t0 = Instant::now();
    let mut owner_left = OWNER_MEMBERSHIPS;
    let mut i = 0;
    while i < n {
        let tx = conn.transaction()?;
        {
            let mut img = tx.prepare_cached(
                "INSERT INTO images (id, name, status, visibility, protected, os_hidden, owner, min_disk, min_ram, \
                 container_format, disk_format, size, virtual_size, checksum, os_hash_algo, os_hash_value, blob_key, \
                 created_at, updated_at, deleted_at, tags, properties, version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, 1)",
            )?;
            let mut tag = if denormalized {
                tx.prepare_cached("INSERT INTO image_tags (image_id, tag, image_created_at) VALUES (?1, ?2, ?3)")?
            } else {
                tx.prepare_cached("INSERT INTO image_tags (image_id, tag) VALUES (?1, ?2)")?
            };
            let mut prop = if denormalized {
                tx.prepare_cached("INSERT INTO image_properties (image_id, name, value, image_created_at) VALUES (?1, ?2, ?3, ?4)")?
            } else {
                tx.prepare_cached("INSERT INTO image_properties (image_id, name, value) VALUES (?1, ?2, ?3)")?
            };
            let mut member = tx.prepare_cached(
                "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?;
            let end = (i + BATCH).min(n);
            while i < end {
                let row = gen.image(i, n);
                let algo = row.os_hash_value.as_ref().map(|_| "sha512");
                let blob = row.os_hash_value.as_ref().map(|h| format!("sha512/{h}"));
                img.execute(rusqlite::params![
                    row.id,
                    row.name,
                    row.status,
                    row.visibility,
                    row.protected,
                    row.os_hidden,
                    row.owner,
                    row.min_disk,
                    row.min_ram,
                    row.container_format,
                    row.disk_format,
                    row.size,
                    row.virtual_size,
                    row.checksum,
                    algo,
                    row.os_hash_value,
                    blob,
                    row.created_at,
                    row.updated_at,
                    row.deleted_at,
                    row.tags_json(),
                    row.properties_json(),
                ])?;
                for t in &row.tags {
                    if denormalized {
                        tag.execute(rusqlite::params![row.id, t, row.created_at])?;
                    } else {
                        tag.execute(rusqlite::params![row.id, t])?;
                    }
                }
                for (k, v) in &row.properties {
                    if denormalized {
                        prop.execute(rusqlite::params![row.id, k, v, row.created_at])?;
                    } else {
                        prop.execute(rusqlite::params![row.id, k, v])?;
                    }
                }
                for m in gen.members(&row, &mut owner_left) {
                    member.execute(rusqlite::params![m.image_id, m.member_id, m.status, m.at])?;
                }
                i += 1;
            }
        }
        tx.commit()?;
    }
    eprintln!("rows loaded in {:.1} s", t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    for (_, sql) in &indexes {
        conn.execute_batch(sql)?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    eprintln!("{} indexes rebuilt in {:.1} s", indexes.len(), t1.elapsed().as_secs_f64());
    Ok(())
}

/// One COPY text-format field (`\N` for NULL); generated values hold no tab,
/// newline or backslash, but escape anyway.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn line(out: &mut String, fields: &[Option<&str>]) {
    for (k, f) in fields.iter().enumerate() {
        if k > 0 {
            out.push('\t');
        }
        field(out, *f);
    }
    out.push('\n');
}

async fn copy(client: &tokio_postgres::Client, statement: &str, data: String) -> Result<()> {
    let sink = client.copy_in::<_, bytes::Bytes>(statement).await?;
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from(data)).await?;
    sink.finish().await?;
    Ok(())
}

async fn seed_postgres(url: &str, n: usize, mut gen: Generator) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("postgres connection: {e}");
        }
    });
    client.batch_execute("SET maintenance_work_mem = '512MB'; SET synchronous_commit = off").await?;
    let denormalized = !client
        .query("SELECT 1 FROM information_schema.columns WHERE table_name = 'image_tags' AND column_name = 'image_created_at'", &[])
        .await?
        .is_empty();
    let mut indexes: Vec<(String, String)> = Vec::new();
    for row in client
        .query(
            "SELECT i.indexname::text, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY($1) AND NOT EXISTS \
             (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            &[&CHILD_TABLES],
        )
        .await?
    {
        indexes.push((row.try_get(0)?, row.try_get(1)?));
    }
    for (name, _) in &indexes {
        client.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    // Foreign keys are checked per row by COPY; drop them for the load and re-add.
    let mut fks: Vec<(String, String, String)> = Vec::new();
    for row in client
        .query(
            "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE contype = 'f' AND conrelid::regclass::text = ANY($1)",
            &[&CHILD_TABLES],
        )
        .await?
    {
        fks.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
    }
    for (table, name, _) in &fks {
        client.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}")).await?;
    }
    let t0 = Instant::now();
    let mut owner_left = OWNER_MEMBERSHIPS;
    let mut i = 0;
    while i < n {
        let end = (i + BATCH).min(n);
        let (mut images, mut tags, mut props, mut members) = (String::new(), String::new(), String::new(), String::new());
        while i < end {
            let row = gen.image(i, n);
            let ints = [
                row.min_disk.to_string(),
                row.min_ram.to_string(),
                row.created_at.to_string(),
                row.updated_at.to_string(),
                row.size.map(|v| v.to_string()).unwrap_or_default(),
                row.virtual_size.map(|v| v.to_string()).unwrap_or_default(),
                row.deleted_at.map(|v| v.to_string()).unwrap_or_default(),
            ];
            let blob = row.os_hash_value.as_ref().map(|h| format!("sha512/{h}"));
            let (tags_json, props_json) = (row.tags_json(), row.properties_json());
            let created = ints[2].as_str();
            line(
                &mut images,
                &[
                    Some(&row.id),
                    row.name.as_deref(),
                    Some(row.status),
                    Some(row.visibility),
                    Some(if row.protected { "t" } else { "f" }),
                    Some(if row.os_hidden { "t" } else { "f" }),
                    row.owner.as_deref(),
                    Some(&ints[0]),
                    Some(&ints[1]),
                    row.container_format,
                    row.disk_format,
                    row.size.map(|_| ints[4].as_str()),
                    row.virtual_size.map(|_| ints[5].as_str()),
                    row.checksum.as_deref(),
                    row.os_hash_value.as_ref().map(|_| "sha512"),
                    row.os_hash_value.as_deref(),
                    blob.as_deref(),
                    Some(created),
                    Some(&ints[3]),
                    row.deleted_at.map(|_| ints[6].as_str()),
                    Some(&tags_json),
                    Some(&props_json),
                    Some("1"),
                ],
            );
            for t in &row.tags {
                if denormalized {
                    line(&mut tags, &[Some(&row.id), Some(t), Some(created)]);
                } else {
                    line(&mut tags, &[Some(&row.id), Some(t)]);
                }
            }
            for (k, v) in &row.properties {
                if denormalized {
                    line(&mut props, &[Some(&row.id), Some(k), Some(v), Some(created)]);
                } else {
                    line(&mut props, &[Some(&row.id), Some(k), Some(v)]);
                }
            }
            for m in gen.members(&row, &mut owner_left) {
                let at = m.at.to_string();
                line(&mut members, &[Some(&m.image_id), Some(&m.member_id), Some(m.status), Some(&at), Some(&at)]);
            }
            i += 1;
        }
        copy(
            &client,
            "COPY images (id, name, status, visibility, protected, os_hidden, owner, min_disk, min_ram, container_format, \
             disk_format, size, virtual_size, checksum, os_hash_algo, os_hash_value, blob_key, created_at, updated_at, \
             deleted_at, tags, properties, version) FROM STDIN",
            images,
        )
        .await?;
        let (tag_copy, prop_copy) = if denormalized {
            (
                "COPY image_tags (image_id, tag, image_created_at) FROM STDIN",
                "COPY image_properties (image_id, name, value, image_created_at) FROM STDIN",
            )
        } else {
            ("COPY image_tags (image_id, tag) FROM STDIN", "COPY image_properties (image_id, name, value) FROM STDIN")
        };
        copy(&client, tag_copy, tags).await?;
        copy(&client, prop_copy, props).await?;
        copy(&client, "COPY image_members (image_id, member_id, status, created_at, updated_at) FROM STDIN", members).await?;
    }
    eprintln!("rows loaded in {:.1} s", t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    for (_, sql) in &indexes {
        client.batch_execute(sql).await?;
    }
    for (table, name, def) in &fks {
        client.batch_execute(&format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}")).await?;
    }
    eprintln!("{} indexes and {} foreign keys rebuilt in {:.1} s", indexes.len(), fks.len(), t1.elapsed().as_secs_f64());
    let t2 = Instant::now();
    for table in CHILD_TABLES {
        client.batch_execute(&format!("VACUUM ANALYZE {table}")).await?;
    }
    eprintln!("vacuum analyze in {:.1} s", t2.elapsed().as_secs_f64());
    Ok(())
}
