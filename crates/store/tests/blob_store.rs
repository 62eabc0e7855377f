//! The `BlobStore` contract on the local filesystem (a temporary directory) and in
//! memory: write, commit, read, ranges, delete, list, sweep, crash leftovers.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use imagery_core::ports::BlobStore;
use imagery_core::time::now;
use imagery_store::{open, ObjectBlobStore, UploadHasher};

async fn backends() -> Vec<(&'static str, Box<dyn BlobStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = ObjectBlobStore::local(dir.path().join("store")).await.expect("local store");
    vec![("local", Box::new(local), Some(dir)), ("memory", Box::new(ObjectBlobStore::in_memory()), None)]
}

/// Deterministic test content.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8).collect()
}

/// Write `data` in `chunk`-sized pieces, hashing it on the way, and commit it under
/// its content address.
async fn store_bytes(store: &dyn BlobStore, data: &[u8], chunk: usize) -> String {
    let mut writer = store.begin_write().await.expect("begin");
    let mut hasher = UploadHasher::new().expect("hasher");
    for piece in data.chunks(chunk) {
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

async fn read_all(store: &dyn BlobStore, key: &str, range: Option<std::ops::Range<u64>>) -> io::Result<Vec<u8>> {
    let chunks: Vec<Bytes> = store.read(key, range).await?.try_collect().await?;
    Ok(chunks.concat())
}

async fn staging_count(store: &dyn BlobStore) -> usize {
    // Everything in staging is younger than a minute from now.
    store.sweep_temporary(now() - chrono::Duration::days(3650)).await.expect("sweep nothing")
}

#[tokio::test]
async fn write_commit_read_ranges_list_delete() {
    for (name, store, _dir) in backends().await {
        let store = store.as_ref();
        let data = content(3 * 1024 * 1024 + 17, 1);
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
        assert_eq!(store.list_blobs().await.unwrap().len(), 2, "{name}");
        assert_eq!(staging_count(store).await, 0, "{name}: commit leaves nothing in staging");
    }
}

#[tokio::test]
async fn same_content_twice_is_one_blob() {
    for (name, store, _dir) in backends().await {
        let store = store.as_ref();
        let data = content(100_000, 7);
        let first = store_bytes(store, &data, 4096).await;
        let second = store_bytes(store, &data, 65_537).await;
        assert_eq!(first, second);
        assert_eq!(store.list_blobs().await.unwrap().len(), 1, "{name}");
        assert_eq!(read_all(store, &first, None).await.unwrap(), data, "{name}");
    }
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    for (name, store, _dir) in backends().await {
        let store = store.as_ref();
        for key in ["../../etc/passwd", "a/b", "", ".x"] {
            assert_eq!(store.read(key, None).await.err().map(|e| e.kind()), Some(io::ErrorKind::InvalidInput));
            assert!(store.delete(key).await.is_err(), "{name}");
            let mut writer = store.begin_write().await.unwrap();
            writer.write(Bytes::from_static(b"x")).await.unwrap();
            assert!(writer.commit(key).await.is_err(), "{name} {key:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(store.list_blobs().await.unwrap().is_empty(), "{name}");
        staging_count(store).await;
        let future = now() + chrono::Duration::minutes(1);
        store.sweep_temporary(future).await.unwrap();
        assert_eq!(store.sweep_temporary(future).await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn uncommitted_writes_leave_nothing_behind() {
    for (name, store, _dir) in backends().await {
        let store = store.as_ref();
        let mut aborted = store.begin_write().await.unwrap();
        aborted.write(Bytes::from(content(200_000, 3))).await.unwrap();
        aborted.abort().await;

        let mut dropped = store.begin_write().await.unwrap();
        assert!(dropped.temp_key().starts_with("staging/"), "{name}");
        dropped.write(Bytes::from(content(200_000, 4))).await.unwrap();
        drop(dropped);

        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(store.list_blobs().await.unwrap().is_empty(), "{name}");
        let future = now() + chrono::Duration::minutes(1);
        assert!(store.sweep_temporary(future).await.unwrap() <= 1, "{name}");
        assert_eq!(store.sweep_temporary(future).await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn crash_leftovers_are_swept_when_old_enough() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = ObjectBlobStore::local(&root).await.unwrap();
    // What a process killed mid-upload two hours ago left: a partial temporary object.
    let leftover = root.join("staging").join("6f1c1bba-6d8e-4a4e-9a86-0a4f1bdb1f3c");
    std::fs::write(&leftover, b"partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&leftover).unwrap().set_modified(two_hours_ago).unwrap();
    let mut in_progress = store.begin_write().await.unwrap();
    in_progress.write(Bytes::from_static(b"still uploading")).await.unwrap();

    assert_eq!(store.sweep_temporary(now() - chrono::Duration::hours(3)).await.unwrap(), 0);
    assert_eq!(store.sweep_temporary(now() - chrono::Duration::hours(1)).await.unwrap(), 1);
    assert!(!leftover.exists());
    assert!(store.list_blobs().await.unwrap().is_empty());

    let key = "ab".repeat(64);
    in_progress.write(Bytes::from_static(b" more")).await.unwrap();
    in_progress.commit(&key).await.unwrap();
    assert_eq!(read_all(&store, &key, None).await.unwrap(), b"still uploading more");
    assert!(root.join("blobs").join("ab").join(&key).is_file());
    assert_eq!(std::fs::read_dir(root.join("staging")).unwrap().count(), 0);
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
    for bad in ["ftp://x/y", "file://relative/dir", ""] {
        assert!(open(bad).await.is_err(), "{bad}");
    }
    #[cfg(not(feature = "s3"))]
    {
        let err = open("s3://bucket/prefix").await.err().expect("no S3 in this build");
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("lacks S3 support"));
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
