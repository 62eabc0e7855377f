//! The garbage collector against a re-commit of the same bytes (issue 13): the
//! collector has decided to delete a blob nobody referenced, and before it does,
//! an upload publishes identical bytes (the same content address) and activates
//! an image. The image must keep its bytes. The collector's decision is taken
//! inside the catalog together with the uploads' claims (`begin_blob_deletion` /
//! `claim_blob`); with the old check-then-delete this test loses the bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use imagery_core::ports::{BlobEntry, BlobStore, BlobWriter, ByteStream};
use imagery_core::time::Timestamp;
use imagery_core::{Caller, ImageStatus};
use imagery_service::{ImageService, NewImage, ServiceConfig};
use tokio::sync::Notify;

/// A blob store whose `delete` waits until the test lets it go on.
struct PausedDeletes {
    inner: Arc<dyn BlobStore>,
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

#[async_trait]
impl BlobStore for PausedDeletes {
    async fn begin_write(&self) -> std::io::Result<Box<dyn BlobWriter>> {
        self.inner.begin_write().await
    }
    async fn read(&self, key: &str, range: Option<Range<u64>>) -> std::io::Result<ByteStream> {
        self.inner.read(key, range).await
    }
    async fn delete(&self, key: &str) -> std::io::Result<()> {
        self.reached.notify_one();
        self.release.notified().await;
        self.inner.delete(key).await
    }
    async fn list_blobs(&self) -> std::io::Result<Vec<BlobEntry>> {
        self.inner.list_blobs().await
    }
    async fn sweep_temporary(&self, older_than: Timestamp) -> std::io::Result<usize> {
        self.inner.sweep_temporary(older_than).await
    }
}

fn body(bytes: &[u8]) -> ByteStream {
    let bytes = Bytes::copy_from_slice(bytes);
    Box::pin(futures::stream::once(async move { Ok(bytes) }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recommitted_blob_survives_a_collection_under_way() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = imagery_catalog::open("sqlite::memory:").await.unwrap();
    let store = imagery_store::open(&dir.path().display().to_string()).await.unwrap();
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let blobs: Arc<dyn BlobStore> = Arc::new(PausedDeletes { inner: store, reached: reached.clone(), release: release.clone() });
    let (service, system) = ImageService::with_system_caller(catalog, blobs, ServiceConfig::default());
    let caller = Caller::new(Some("u".into()), Some("p".into()), ["member".to_string(), "reader".to_string()]);
    let raw = || NewImage { container_format: Some("bare".into()), disk_format: Some("raw".into()), ..NewImage::default() };
    let data = vec![42u8; 100_000];

    // Bytes uploaded, then their image deleted: the blob is garbage.
    let first = service.create_image(&caller, raw()).await.unwrap();
    service.upload(&caller, first.id, body(&data), None).await.unwrap();
    service.delete_image(&caller, first.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // The collector decides to delete it and is held just before the deletion.
    let collector = {
        let service = service.clone();
        tokio::spawn(async move { service.collect_garbage(&system, chrono::Duration::zero()).await })
    };
    tokio::time::timeout(Duration::from_secs(10), reached.notified()).await.expect("the collector reaches the deletion");

    // Meanwhile the same bytes are uploaded again for a new image.
    let second = service.create_image(&caller, raw()).await.unwrap();
    let upload = {
        let (service, caller, data) = (service.clone(), caller.clone(), data.clone());
        tokio::spawn(async move { service.upload(&caller, second.id, body(&data), None).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.notify_one();
    let (removed, _) = collector.await.unwrap().unwrap();
    assert_eq!(removed, 1, "the garbage was collected");
    let uploaded = upload.await.unwrap().unwrap();
    assert_eq!(uploaded.status, ImageStatus::Active);

    // The active image still has every byte.
    let download = service.download(&caller, second.id, None).await.unwrap();
    let mut got = Vec::new();
    let mut stream = download.body.expect("the image has data");
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.expect("the blob is readable"));
    }
    assert_eq!(got, data);
}
