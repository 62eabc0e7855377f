//! The `BlobStore` conformance suite: the same contract checked on the local
//! filesystem (a temporary directory), in memory, and on a real S3 server (Garage,
//! started by `scripts/garage-test-server.sh`, reached through `IMAGERY_TEST_S3_*`):
//! write, commit, read, ranges, abort, list, delete, sweeps, identical commits,
//! large multipart uploads and copies, and the start-up probe's errors.
//!
//! Without `IMAGERY_TEST_S3_URL` the S3 backend is skipped with a loud message,
//! except under CI (`CI=true`), where it is a failure: the suite must not pass
//! quietly without its S3 half.
//!
//! The 6 GiB commit (a multipart copy at the real 5 GiB threshold) runs only with
//! `IMAGERY_TEST_S3_HUGE=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use imagery_core::ports::{BlobStore, BlobWriter};
use imagery_core::time::now;
use imagery_store::parts::CopyPlan;
use imagery_store::{open, open_s3, ObjectBlobStore, S3Settings, UploadHasher};
use sha2::{Digest, Sha512};

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Backends

struct Backend {
    name: &'static str,
    store: ObjectBlobStore,
    _dir: Option<tempfile::TempDir>,
}

/// Garage's address and credentials, from `scripts/garage-test-server.sh`.
struct S3Env {
    url: String,
    bucket: String,
    region: String,
    key_id: String,
    secret: String,
}

fn s3_env() -> Option<S3Env> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(url) = var("IMAGERY_TEST_S3_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI=true but IMAGERY_TEST_S3_URL is not set: the S3 conformance suite must run in CI (start Garage with scripts/garage-test-server.sh)");
        }
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            // Straight to stderr: the test harness swallows eprintln! of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPING the S3 (Garage) half of the blob-store suite: IMAGERY_TEST_S3_URL is not set. Run scripts/test.sh, or export the output of `scripts/garage-test-server.sh start DIR`. ***\n"
            );
        });
        return None;
    };
    let required = |name: &str| var(name).unwrap_or_else(|| panic!("IMAGERY_TEST_S3_URL is set but {name} is not"));
    Some(S3Env {
        url,
        bucket: required("IMAGERY_TEST_S3_BUCKET"),
        region: var("IMAGERY_TEST_S3_REGION").unwrap_or_else(|| "garage".into()),
        key_id: required("IMAGERY_TEST_S3_ACCESS_KEY_ID"),
        secret: required("IMAGERY_TEST_S3_SECRET_ACCESS_KEY"),
    })
}

impl S3Env {
    fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.url.clone()),
            region: Some(self.region.clone()),
            access_key_id: Some(self.key_id.clone()),
            secret_access_key: Some(self.secret.clone()),
            ..S3Settings::default()
        }
    }

    /// A store under a prefix of its own, so tests running at once never see each
    /// other's objects (or sweep each other's uploads).
    fn store_url(&self) -> String {
        format!("s3://{}/test-{}", self.bucket, uuid::Uuid::new_v4())
    }

    async fn open(&self) -> ObjectBlobStore {
        let url = self.store_url();
        open_s3(&url, &self.settings()).await.unwrap_or_else(|e| panic!("cannot open Garage at {url}: {e}"))
    }
}

async fn local() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ObjectBlobStore::local(dir.path().join("store")).await.expect("local store");
    Backend { name: "local", store, _dir: Some(dir) }
}

/// Every backend: local, memory, and Garage when configured.
async fn backends() -> Vec<Backend> {
    let mut all = vec![local().await, Backend { name: "memory", store: ObjectBlobStore::in_memory(), _dir: None }];
    if let Some(s3) = s3_env() {
        all.push(Backend { name: "s3", store: s3.open().await, _dir: None });
    }
    all
}

/// The backends that hold large objects without holding them in memory.
async fn durable_backends() -> Vec<Backend> {
    backends().await.into_iter().filter(|b| b.name != "memory").collect()
}

// ---------------------------------------------------------------------------
// Helpers

/// Deterministic test content.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8).collect()
}

/// Write `data` in `chunk`-sized pieces, hashing it on the way, and commit it under
/// its content address.
async fn store_bytes(store: &dyn BlobStore, data: &[u8], chunk: usize) -> String {
    let writer = store.begin_write().await.expect("begin");
    write_and_commit(writer, data, chunk).await
}

async fn write_and_commit(mut writer: Box<dyn BlobWriter>, data: &[u8], chunk: usize) -> String {
    let mut hasher = UploadHasher::new().expect("hasher");
    for piece in data.chunks(chunk.max(1)) {
        let piece = Bytes::copy_from_slice(piece);
        hasher.update(&piece).await.expect("hash");
        writer.write(piece).await.expect("write");
    }
    let digests = hasher.finish().await.expect("digests");
    assert_eq!(digests.size, data.len() as u64);
    let key = digests.content_key().to_string();
    writer.commit(&key).await.expect("commit");
    key
}

async fn read_all(store: &dyn BlobStore, key: &str, range: Option<Range<u64>>) -> io::Result<Vec<u8>> {
    let chunks: Vec<Bytes> = store.read(key, range).await?.try_collect().await?;
    Ok(chunks.concat())
}

/// Sweeps nothing (the cutoff is long past) and says how much it removed: 0.
async fn staging_count(store: &dyn BlobStore) -> usize {
    store.sweep_temporary(now() - chrono::Duration::days(3650)).await.expect("sweep nothing")
}

/// Streams `len` bytes of generated content into `writer` in 1 MiB chunks (never
/// holding the whole), returning their SHA-512 in hex.
async fn write_generated(writer: &mut Box<dyn BlobWriter>, len: u64, seed: u8) -> String {
    let block = Bytes::from(content(MIB, seed));
    let mut digest = Sha512::new();
    let mut left = len;
    let mut i: u64 = 0;
    while left > 0 {
        let take = left.min(MIB as u64) as usize;
        // Vary each chunk so that no two MiB are identical (a store that
        // deduplicates blocks must still keep every byte in order).
        let mut chunk = block.slice(..take).to_vec();
        chunk[..8].copy_from_slice(&i.to_le_bytes());
        digest.update(&chunk);
        writer.write(Bytes::from(chunk)).await.expect("write");
        left -= take as u64;
        i += 1;
    }
    hex::encode(digest.finalize())
}

/// SHA-512 and length of what the store returns for `key`, streamed.
async fn digest_of(store: &dyn BlobStore, key: &str, range: Option<Range<u64>>) -> (String, u64) {
    let mut stream = store.read(key, range).await.expect("read");
    let mut digest = Sha512::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("read chunk");
        len += chunk.len() as u64;
        digest.update(&chunk);
    }
    (hex::encode(digest.finalize()), len)
}

// ---------------------------------------------------------------------------
// The contract, on every backend

#[tokio::test]
async fn write_commit_read_ranges_list_delete() {
    for Backend { name, store, .. } in backends().await {
        let store = &store as &dyn BlobStore;
        let data = content(3 * MIB + 17, 1);
        let key = store_bytes(store, &data, 64 * 1024 + 3).await;
        assert_eq!(read_all(store, &key, None).await.unwrap(), data, "{name}");
        for range in [0..1, 5..70_000, 262_143..262_145, 1_000_000..3_145_745, 3_145_744..3_145_745] {
            let expected = &data[range.start as usize..range.end as usize];
            assert_eq!(read_all(store, &key, Some(range.clone())).await.unwrap(), expected, "{name} {range:?}");
        }
        // Past the end: clamped; starting past the end: refused; empty: empty.
        let tail = read_all(store, &key, Some(3_145_700..9_999_999)).await.unwrap();
        assert_eq!(tail, &data[3_145_700..], "{name}");
        assert!(read_all(store, &key, Some(4_000_000..4_000_001)).await.is_err(), "{name}");
        assert!(read_all(store, &key, Some(10..10)).await.unwrap().is_empty(), "{name}");

        let small = store_bytes(store, b"hello", 2).await;
        let empty = store_bytes(store, b"", 1).await;
        assert!(read_all(store, &empty, None).await.unwrap().is_empty(), "{name}");

        let mut listed = store.list_blobs().await.unwrap();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        let mut expected = vec![(key.clone(), data.len() as u64), (small.clone(), 5), (empty.clone(), 0)];
        expected.sort();
        let got: Vec<(String, u64)> = listed.iter().map(|b| (b.key.clone(), b.size)).collect();
        assert_eq!(got, expected, "{name}");
        assert!(listed.iter().all(|b| b.last_modified <= now() + chrono::Duration::seconds(5)));

        store.delete(&small).await.unwrap();
        store.delete(&small).await.expect("deleting a missing blob is fine");
        let err = read_all(store, &small, None).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{name}");
        assert_eq!(store.read(&"ab".repeat(64), None).await.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound), "{name}");
        assert_eq!(store.list_blobs().await.unwrap().len(), 2, "{name}");
        assert_eq!(staging_count(store).await, 0, "{name}: commit leaves nothing in staging");
        let future = now() + chrono::Duration::minutes(1);
        assert_eq!(store.sweep_temporary(future).await.unwrap(), 0, "{name}: no temporary object and no open upload is left");
    }
}

#[tokio::test]
async fn same_content_twice_is_one_blob() {
    for Backend { name, store, .. } in backends().await {
        let store = &store as &dyn BlobStore;
        let data = content(100_000, 7);
        let first = store_bytes(store, &data, 4096).await;
        let second = store_bytes(store, &data, 65_537).await;
        assert_eq!(first, second);
        assert_eq!(store.list_blobs().await.unwrap().len(), 1, "{name}");
        assert_eq!(read_all(store, &first, None).await.unwrap(), data, "{name}");
    }
}

#[tokio::test]
async fn identical_commits_at_once_are_one_readable_blob() {
    for Backend { name, store, .. } in backends().await {
        let store = &store as &dyn BlobStore;
        let data = content(9 * MIB + 5, 11);
        let (a, b) = tokio::join!(store_bytes(store, &data, 1 << 16), store_bytes(store, &data, 3 * MIB));
        assert_eq!(a, b);
        assert_eq!(store.list_blobs().await.unwrap().len(), 1, "{name}");
        assert_eq!(read_all(store, &a, None).await.unwrap(), data, "{name}");
        // Deleted, then committed again: back, whole.
        store.delete(&a).await.unwrap();
        assert_eq!(store_bytes(store, &data, MIB).await, a);
        assert_eq!(read_all(store, &a, None).await.unwrap(), data, "{name}");
        assert_eq!(staging_count(store).await, 0, "{name}");
    }
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    for Backend { name, store, .. } in backends().await {
        let store = &store as &dyn BlobStore;
        for key in ["../../etc/passwd", "a/b", "", ".x"] {
            assert_eq!(store.read(key, None).await.err().map(|e| e.kind()), Some(io::ErrorKind::InvalidInput));
            assert!(store.delete(key).await.is_err(), "{name}");
            let mut writer = store.begin_write().await.unwrap();
            writer.write(Bytes::from_static(b"x")).await.unwrap();
            assert!(writer.commit(key).await.is_err(), "{name} {key:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(store.list_blobs().await.unwrap().is_empty(), "{name}");
        staging_count(store).await;
        let future = now() + chrono::Duration::minutes(1);
        store.sweep_temporary(future).await.unwrap();
        assert_eq!(store.sweep_temporary(future).await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn uncommitted_writes_leave_nothing_behind() {
    for Backend { name, store, .. } in backends().await {
        let store = &store as &dyn BlobStore;
        let mut aborted = store.begin_write().await.unwrap();
        aborted.write(Bytes::from(content(200_000, 3))).await.unwrap();
        aborted.abort().await;

        // Several parts already sent when the write is aborted.
        let mut aborted_late = store.begin_write().await.unwrap();
        aborted_late.write(Bytes::from(content(20 * MIB, 5))).await.unwrap();
        aborted_late.abort().await;

        let mut dropped = store.begin_write().await.unwrap();
        assert!(dropped.temp_key().starts_with("staging/"), "{name}");
        dropped.write(Bytes::from(content(200_000, 4))).await.unwrap();
        drop(dropped);

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.list_blobs().await.unwrap().is_empty(), "{name}");
        let future = now() + chrono::Duration::minutes(1);
        assert!(store.sweep_temporary(future).await.unwrap() <= 1, "{name}");
        assert_eq!(store.sweep_temporary(future).await.unwrap(), 0, "{name}");
    }
}

/// What a process killed mid-upload leaves (a partial temporary object or an open
/// multipart upload) is swept once older than the cutoff, never before; a write
/// still in progress is not disturbed by a sweep with an older cutoff.
#[tokio::test]
async fn crash_leftovers_are_swept_when_old_enough() {
    for Backend { name, store, _dir } in backends().await {
        let store = &store as &dyn BlobStore;
        match &_dir {
            // The local writer's worker thread would wait forever for a forgotten
            // writer: put its leftover in place directly.
            Some(dir) => std::fs::write(dir.path().join("store/staging/6f1c1bba-6d8e-4a4e-9a86-0a4f1bdb1f3c"), b"partial").unwrap(),
            None => {
                let mut crashed = store.begin_write().await.unwrap();
                crashed.write(Bytes::from(content(9 * MIB, 8))).await.unwrap();
                // A crash: neither commit nor abort nor drop ever runs.
                std::mem::forget(crashed);
            }
        }
        let mut in_progress = store.begin_write().await.unwrap();
        in_progress.write(Bytes::from_static(b"still uploading")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        let an_hour_ago = now() - chrono::Duration::hours(1);
        assert_eq!(store.sweep_temporary(an_hour_ago).await.unwrap(), 0, "{name}: young leftovers stay");
        let key = "ab".repeat(64);
        in_progress.write(Bytes::from_static(b" more")).await.unwrap();
        in_progress.commit(&key).await.unwrap();
        assert_eq!(read_all(store, &key, None).await.unwrap(), b"still uploading more", "{name}");

        let swept = store.sweep_temporary(now() + chrono::Duration::minutes(1)).await.unwrap();
        // Local: the partial file. S3: the open multipart upload. Memory: nothing
        // outlives an in-memory multipart upload.
        let expected = if name == "memory" { 0 } else { 1 };
        assert_eq!(swept, expected, "{name}");
        assert_eq!(store.sweep_temporary(now() + chrono::Duration::minutes(1)).await.unwrap(), 0, "{name}");
        assert_eq!(read_all(store, &key, None).await.unwrap(), b"still uploading more", "{name}: blobs are never swept");
    }
}

#[tokio::test]
async fn local_leftovers_are_dated_by_their_last_write() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = ObjectBlobStore::local(&root).await.unwrap();
    // What a process killed mid-upload two hours ago left: a partial temporary object.
    let leftover = root.join("staging").join("6f1c1bba-6d8e-4a4e-9a86-0a4f1bdb1f3c");
    std::fs::write(&leftover, b"partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&leftover).unwrap().set_modified(two_hours_ago).unwrap();
    assert_eq!(store.sweep_temporary(now() - chrono::Duration::hours(3)).await.unwrap(), 0);
    assert_eq!(store.sweep_temporary(now() - chrono::Duration::hours(1)).await.unwrap(), 1);
    assert!(!leftover.exists());
    assert_eq!(std::fs::read_dir(root.join("staging")).unwrap().count(), 0);
}

/// A few hundred MiB through every durable backend, with the size declared (one
/// part size) and without (chunked: growing parts): byte-exact, ranges across part
/// boundaries, nothing left in staging.
#[tokio::test]
async fn large_writes_commit_whole() {
    const LEN: u64 = 300 * MIB as u64 + 12_345;
    for Backend { name, store, .. } in durable_backends().await {
        for (seed, declared) in [(21u8, Some(LEN)), (22, None)] {
            let mut writer = store.begin_write_sized(declared).await.unwrap();
            let sha = write_generated(&mut writer, LEN, seed).await;
            writer.commit(&sha).await.unwrap_or_else(|e| panic!("{name}: commit: {e}"));
            assert_eq!(digest_of(&store, &sha, None).await, (sha.clone(), LEN), "{name} declared={declared:?}");
            // 8 MiB parts: a range across the first part boundary, and the tail.
            let boundary = 8 * MIB as u64;
            let (_, len) = digest_of(&store, &sha, Some(boundary - 10..boundary + 10)).await;
            assert_eq!(len, 20, "{name}");
            let mut expected_tail = Sha512::new();
            let mut last = content(MIB, seed)[..(LEN % MIB as u64) as usize].to_vec();
            last[..8].copy_from_slice(&(LEN / MIB as u64).to_le_bytes());
            expected_tail.update(&last);
            let tail_start = LEN - LEN % MIB as u64;
            assert_eq!(digest_of(&store, &sha, Some(tail_start..LEN)).await.0, hex::encode(expected_tail.finalize()), "{name}");
        }
        assert_eq!(store.list_blobs().await.unwrap().len(), 2, "{name}");
        assert_eq!(store.sweep_temporary(now() + chrono::Duration::minutes(1)).await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn open_understands_store_urls() {
    let dir = tempfile::tempdir().unwrap();
    let by_url = format!("file://{}", dir.path().join("a").display());
    let by_path = dir.path().join("b").display().to_string();
    for url in [by_url.as_str(), by_path.as_str(), "memory://"] {
        let store = open(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let key = store_bytes(store.as_ref(), b"abc", 1).await;
        assert_eq!(read_all(store.as_ref(), &key, None).await.unwrap(), b"abc");
    }
    assert!(dir.path().join("a/blobs").is_dir() && dir.path().join("b/staging").is_dir());
    for bad in ["ftp://x/y", "file://relative/dir", "", "s3://", "s3://bucket?colour=blue"] {
        assert!(open(bad).await.is_err(), "{bad}");
    }
}

/// Image bytes are private: owner-only directories and files, from creation on.
#[cfg(unix)]
#[tokio::test]
async fn local_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = ObjectBlobStore::local(&root).await.expect("local store");
    let writer = {
        let mut writer = store.begin_write().await.expect("begin");
        writer.write(Bytes::from_static(b"partial")).await.expect("write");
        writer
    };
    let staged = root.join(writer.temp_key());
    assert_eq!(mode(&staged), 0o600, "temporary upload file");
    writer.abort().await;
    let key = store_bytes(&store, &content(1000, 9), 100).await;
    let blob = root.join("blobs").join(&key[..2]).join(&key);
    assert_eq!(mode(&blob), 0o600, "blob file");
    for d in [root.clone(), root.join("staging"), root.join("blobs"), root.join("blobs").join(&key[..2])] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
}

// ---------------------------------------------------------------------------
// S3 only

/// The multipart copy that commits objects above 5 GiB, exercised on small objects
/// with a lowered threshold: several copy ranges, byte-exact, nothing left open.
#[tokio::test]
async fn s3_multipart_copy_commits_byte_exact() {
    let Some(s3) = s3_env() else { return };
    let store = s3.open().await.with_copy_plan(CopyPlan { single_copy_max: MIB as u64, min_copy_part: 1 });
    let data = content(13 * MIB + 7, 31);
    let key = store_bytes(&store, &data, 256 * 1024).await;
    assert_eq!(read_all(&store, &key, None).await.unwrap(), data);
    let range = 5 * MIB as u64 - 3..10 * MIB as u64 + 3;
    assert_eq!(read_all(&store, &key, Some(range.clone())).await.unwrap(), &data[range.start as usize..range.end as usize]);
    // Below the threshold: a plain CopyObject, same result.
    let small = store_bytes(&store, &data[..1000], 100).await;
    assert_eq!(read_all(&store, &small, None).await.unwrap(), &data[..1000]);
    assert_eq!(store.list_blobs().await.unwrap().len(), 2);
    assert_eq!(store.sweep_temporary(now() + chrono::Duration::minutes(1)).await.unwrap(), 0, "no open upload left");
}

/// The start-up probe: wrong credentials, a missing bucket and an unreachable
/// endpoint are each one clear line.
#[tokio::test]
async fn s3_open_reports_misconfiguration_in_one_line() {
    // No S3 server needed: nothing listens on port 1.
    let unreachable = S3Settings {
        endpoint: Some("http://127.0.0.1:1".into()),
        region: Some("garage".into()),
        access_key_id: Some("GKnothing".into()),
        secret_access_key: Some("nothing".into()),
        ..S3Settings::default()
    };
    let started = std::time::Instant::now();
    let err = open_s3("s3://imagery-test/x", &unreachable).await.expect_err("unreachable endpoint");
    let text = err.to_string();
    assert!(text.contains("cannot reach") && text.contains("127.0.0.1:1") && !text.contains('\n'), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20), "failed fast: {:?}", started.elapsed());

    let Some(s3) = s3_env() else { return };
    let wrong_secret = S3Settings { secret_access_key: Some("0".repeat(64)), ..s3.settings() };
    let err = open_s3(&s3.store_url(), &wrong_secret).await.expect_err("wrong secret");
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("credentials were rejected") && !err.to_string().contains('\n'), "{err}");

    let unknown_key = S3Settings { access_key_id: Some("GK0123456789abcdef01234567".into()), ..s3.settings() };
    let err = open_s3(&s3.store_url(), &unknown_key).await.expect_err("unknown key");
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");

    let err = open_s3("s3://no-such-bucket-imagery/x", &s3.settings()).await.expect_err("missing bucket");
    assert!(matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied), "{err}");
    assert!(err.to_string().contains("no-such-bucket-imagery") && !err.to_string().contains('\n'), "{err}");
}

/// Settings from the URL's query (endpoint, region, addressing) and from the
/// environment's usual AWS variables reach the same bucket.
#[tokio::test]
async fn s3_settings_from_url_and_file() {
    let Some(s3) = s3_env() else { return };
    let url = format!("{}?endpoint={}&region={}&addressing=path", s3.store_url(), s3.url, s3.region);
    let file_only_credentials =
        S3Settings { access_key_id: Some(s3.key_id.clone()), secret_access_key: Some(s3.secret.clone()), ..S3Settings::default() };
    let store = open_s3(&url, &file_only_credentials).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let key = store_bytes(&store, b"configured by URL", 4).await;
    assert_eq!(read_all(&store, &key, None).await.unwrap(), b"configured by URL");
}

/// Virtual-host addressing (`http://bucket.s3.localhost:port`): Garage answers it
/// when the name resolves to 127.0.0.1, which needs an /etc/hosts entry on most
/// machines; without one this test says so and checks nothing.
#[tokio::test]
async fn s3_virtual_host_addressing() {
    let Some(s3) = s3_env() else { return };
    let host = format!("{}.s3.localhost", s3.bucket);
    let resolves = tokio::net::lookup_host((host.as_str(), 80)).await.map(|mut a| a.any(|a| a.ip().is_loopback())).unwrap_or(false);
    if !resolves {
        eprintln!("*** s3_virtual_host_addressing: {host} does not resolve to 127.0.0.1; not checked (add it to /etc/hosts to run it) ***");
        return;
    }
    let endpoint = s3.url.replace("127.0.0.1", "s3.localhost");
    let settings = S3Settings { endpoint: Some(endpoint), addressing: Some(imagery_store::S3Addressing::VirtualHost), ..s3.settings() };
    let store = open_s3(&s3.store_url(), &settings).await.unwrap_or_else(|e| panic!("virtual-host: {e}"));
    let data = content(10 * MIB, 41);
    let key = store_bytes(&store, &data, MIB).await;
    assert_eq!(read_all(&store, &key, Some(3..MIB as u64 * 9)).await.unwrap(), &data[3..9 * MIB]);
}

/// 6 GiB committed to Garage through the real threshold (a multipart copy of 1 GiB
/// ranges), then read back whole. Manual: `IMAGERY_TEST_S3_HUGE=1 cargo test -p
/// imagery-store --release --test blob_store s3_six_gib -- --nocapture`.
#[tokio::test]
async fn s3_six_gib_commit() {
    if std::env::var("IMAGERY_TEST_S3_HUGE").map_or(true, |v| v != "1") {
        eprintln!("s3_six_gib_commit: set IMAGERY_TEST_S3_HUGE=1 to run it");
        return;
    }
    let Some(s3) = s3_env() else { return };
    const LEN: u64 = 6 << 30;
    let store = s3.open().await;
    let started = std::time::Instant::now();
    let mut writer = store.begin_write_sized(Some(LEN)).await.unwrap();
    let sha = write_generated(&mut writer, LEN, 51).await;
    writer.commit(&sha).await.expect("commit 6 GiB");
    let written = started.elapsed();
    let (read_sha, len) = digest_of(&store, &sha, None).await;
    assert_eq!((read_sha, len), (sha.clone(), LEN));
    let listed = store.list_blobs().await.unwrap();
    assert_eq!(listed.iter().map(|b| b.size).collect::<Vec<_>>(), vec![LEN]);
    assert_eq!(store.sweep_temporary(now() + chrono::Duration::minutes(1)).await.unwrap(), 0);
    eprintln!("s3_six_gib_commit: wrote and committed 6 GiB in {written:?}, read back in {:?}", started.elapsed() - written);
    store.delete(&sha).await.unwrap();
}
