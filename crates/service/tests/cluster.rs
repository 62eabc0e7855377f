//! Several nodes on one catalog and one blob store (issue 13): a node's in-flight
//! work is its own while its heartbeat lease lives, and is taken over by another
//! node only once that lease has expired; imports are jobs that survive the node
//! that claimed them; one garbage collector at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use imagery_core::cluster::{JobState, GC_LEASE};
use imagery_core::ports::{BlobStore, ByteStream, Catalog};
use imagery_core::time::now;
use imagery_core::{Caller, DomainError, ImageStatus};
use imagery_service::{ImageService, ImportMethod, NewImage, ServiceConfig, SystemCaller};

struct Cluster {
    catalog: Arc<dyn Catalog>,
    blobs: Arc<dyn BlobStore>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let catalog = imagery_catalog::open(&format!("sqlite://{}/catalog.db", dir.path().display())).await.unwrap();
        let blobs = imagery_store::open(&dir.path().join("blobs").display().to_string()).await.unwrap();
        Cluster { catalog, blobs, _dir: dir }
    }

    fn node(&self, id: &str, tune: impl FnOnce(&mut ServiceConfig)) -> (Arc<ImageService>, SystemCaller) {
        let mut config = ServiceConfig { node_lease_secs: 1, job_lease_secs: 1, ..ServiceConfig::default() };
        config.node_id = id.into();
        tune(&mut config);
        ImageService::with_system_caller(self.catalog.clone(), self.blobs.clone(), config)
    }
}

fn caller() -> Caller {
    Caller::new(Some("u".into()), Some("p".into()), ["member".to_string(), "reader".to_string()])
}

fn raw() -> NewImage {
    NewImage { container_format: Some("bare".into()), disk_format: Some("raw".into()), ..NewImage::default() }
}

/// A body that sends one chunk, then waits for `release` before ending.
fn held_body(release: tokio::sync::oneshot::Receiver<()>) -> ByteStream {
    let first = futures::stream::once(async { Ok(Bytes::from(vec![1u8; 4096])) });
    let rest = futures::stream::once(async move {
        let _ = release.await;
        Ok(Bytes::from(vec![2u8; 4096]))
    });
    Box::pin(futures::StreamExt::chain(first, rest))
}

async fn status_of(service: &ImageService, id: uuid::Uuid) -> ImageStatus {
    service.show_image(&caller(), id).await.unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_nodes_upload_is_left_alone_and_a_dead_nodes_is_taken_over() {
    let cluster = Cluster::new().await;
    let (a, a_system) = cluster.node("node-a", |_| {});
    let (b, b_system) = cluster.node("node-b", |_| {});
    a.join_cluster(&a_system, "a-1", None).await.unwrap();

    let image = a.create_image(&caller(), raw()).await.unwrap();
    let (release, held) = tokio::sync::oneshot::channel();
    let uploading = {
        let a = a.clone();
        tokio::spawn(async move { a.upload(&caller(), image.id, held_body(held), None).await })
    };
    while status_of(&a, image.id).await != ImageStatus::Saving {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Node B starts (and keeps looking) while A is alive and heartbeating: A's upload is A's.
    b.join_cluster(&b_system, "b-1", None).await.unwrap();
    assert_eq!(b.recover_interrupted(&b_system).await.unwrap(), 0);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(a.heartbeat(&a_system, "a-1").await.unwrap());
        assert_eq!(b.take_over_dead_nodes(&b_system).await.unwrap(), 0);
        assert_eq!(status_of(&b, image.id).await, ImageStatus::Saving);
    }

    // A stops heartbeating (it died): once its lease expires, B takes the upload back to queued.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(b.take_over_dead_nodes(&b_system).await.unwrap(), 1);
    assert_eq!(status_of(&b, image.id).await, ImageStatus::Queued);
    // Had A only been slow, its upload now finds the image taken back.
    release.send(()).unwrap();
    assert!(matches!(uploading.await.unwrap(), Err(DomainError::Gone(_))));
    // And the image takes a fresh upload.
    let (release, held) = tokio::sync::oneshot::channel();
    release.send(()).unwrap();
    assert_eq!(b.upload(&caller(), image.id, held_body(held), None).await.unwrap().status, ImageStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_id_in_use_by_a_live_process_is_refused_and_a_crashed_run_is_taken_over() {
    let cluster = Cluster::new().await;
    let (first, system) = cluster.node("web-1", |_| {});
    first.join_cluster(&system, "run-1", None).await.unwrap();
    let beating = {
        let (first, system) = (first.clone(), system.clone());
        tokio::spawn(async move {
            loop {
                first.heartbeat(&system, "run-1").await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let (second, second_system) = cluster.node("web-1", |_| {});
    let refused = second.join_cluster(&second_system, "run-2", None).await.unwrap_err();
    assert!(refused.to_string().contains("Another live imagery node uses the node id 'web-1'"), "{refused}");
    // The same data directory's next run knows its previous incarnation is dead: no wait.
    beating.abort();
    let started = std::time::Instant::now();
    second.join_cluster(&second_system, "run-2", Some("run-1")).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_claimed_by_a_node_that_died_is_finished_by_another() {
    let sample = imagery_test_support::samples::clean_qcow2();
    let origin = imagery_test_support::byte_server::serve(vec![("disk.qcow2".into(), sample.bytes.clone())]).await;
    let cluster = Cluster::new().await;
    let allow = |c: &mut ServiceConfig| c.web_download_allow = vec![format!("{origin}/")];
    // Node A accepts the import but runs no jobs (its workers are stopped) …
    let (a, _) = cluster.node("node-a", allow);
    a.stop_workers();
    let new = NewImage { container_format: Some("bare".into()), disk_format: Some("qcow2".into()), ..NewImage::default() };
    let image = a.create_image(&caller(), new).await.unwrap();
    a.import(&caller(), image.id, ImportMethod::WebDownload { uri: format!("{origin}/disk.qcow2") }).await.unwrap();
    // … a "ghost" node claims it and dies without a word.
    let t = now();
    let ghost = cluster.catalog.claim_job("ghost", t, t + chrono::Duration::milliseconds(500)).await.unwrap().unwrap();
    assert_eq!(ghost.image_id, Some(image.id));

    // Node B's workers take it over once the ghost's lease ran out, and finish it.
    let (b, b_system) = cluster.node("node-b", allow);
    b.start_workers(&b_system);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while status_of(&b, image.id).await != ImageStatus::Active {
        assert!(std::time::Instant::now() < deadline, "not taken over in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The job is settled just after the image turns active.
    let jobs = loop {
        let jobs = b.image_jobs(&caller(), image.id).await.unwrap();
        if jobs.iter().all(|j| j.state.is_final()) {
            break jobs;
        }
        assert!(std::time::Instant::now() < deadline, "job not settled in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        (job.state, job.attempts, job.claimed_by.as_deref(), job.taken_from.as_deref()),
        (JobState::Success, 2, Some("node-b"), Some("ghost"))
    );
    assert_eq!(job.result.as_ref().unwrap()["image_id"], image.id.to_string());
    assert_eq!(job.user_id.as_deref(), Some("u"));
    assert!(job.expires_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_interrupted_too_often_fails_cleanly() {
    let cluster = Cluster::new().await;
    let allow = |c: &mut ServiceConfig| {
        c.web_download_allow = vec!["http://127.0.0.1:9/".into()];
        c.job_max_attempts = 1;
    };
    let (a, _) = cluster.node("node-a", allow);
    a.stop_workers();
    let image = a.create_image(&caller(), raw()).await.unwrap();
    a.import(&caller(), image.id, ImportMethod::WebDownload { uri: "http://127.0.0.1:9/disk.raw".into() }).await.unwrap();
    let t = now();
    cluster.catalog.claim_job("ghost", t, t + chrono::Duration::milliseconds(200)).await.unwrap().unwrap();
    let (b, b_system) = cluster.node("node-b", allow);
    b.start_workers(&b_system);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let image = b.show_image(&caller(), image.id).await.unwrap();
        if image.status == ImageStatus::Queued {
            assert_eq!(image.properties.get("os_glance_failed_import").map(String::as_str), Some("local"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not failed in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job = loop {
        let job = b.image_jobs(&caller(), image.id).await.unwrap().remove(0);
        if job.state.is_final() {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "job not settled in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(job.state, JobState::Failure);
    assert!(job.message.contains("interrupted"), "{}", job.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_garbage_collector_at_a_time() {
    let cluster = Cluster::new().await;
    let (a, a_system) = cluster.node("node-a", |_| {});
    let (b, b_system) = cluster.node("node-b", |_| {});
    // Garbage: an uploaded image, deleted.
    let image = a.create_image(&caller(), raw()).await.unwrap();
    let (release, held) = tokio::sync::oneshot::channel();
    release.send(()).unwrap();
    a.upload(&caller(), image.id, held_body(held), None).await.unwrap();
    a.delete_image(&caller(), image.id).await.unwrap();
    // While node A holds the collector's lease, B does not collect.
    let t = now();
    assert!(cluster.catalog.acquire_lease(GC_LEASE, "node-a", t, t + chrono::Duration::minutes(1)).await.unwrap());
    assert_eq!(b.collect_garbage(&b_system, chrono::Duration::zero()).await.unwrap(), (0, 0));
    assert_eq!(cluster.blobs.list_blobs().await.unwrap().len(), 1);
    // A collects (it holds the lease) and releases it; then B may.
    assert_eq!(a.collect_garbage(&a_system, chrono::Duration::zero()).await.unwrap().0, 1);
    assert!(cluster.catalog.get_lease(GC_LEASE).await.unwrap().is_none());
    assert_eq!(b.collect_garbage(&b_system, chrono::Duration::zero()).await.unwrap(), (0, 0));
}

/// An upload whose end could not be recorded (its task vanished, or the catalog
/// was unreachable when it failed) leaves `saving` behind on a live node: that
/// node's own sweep returns it to `queued`, while its running uploads are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_own_lost_upload_is_recovered_by_its_sweep() {
    let cluster = Cluster::new().await;
    let (a, a_system) = cluster.node("node-a", |_| {});
    a.join_cluster(&a_system, "a-1", None).await.unwrap();
    let (running, lost) = (a.create_image(&caller(), raw()).await.unwrap(), a.create_image(&caller(), raw()).await.unwrap());
    let (_keep, held) = tokio::sync::oneshot::channel();
    let still_running = {
        let a = a.clone();
        tokio::spawn(async move { a.upload(&caller(), running.id, held_body(held), None).await })
    };
    let (_gone, held2) = tokio::sync::oneshot::channel();
    let vanishing = {
        let a = a.clone();
        tokio::spawn(async move { a.upload(&caller(), lost.id, held_body(held2), None).await })
    };
    while status_of(&a, running.id).await != ImageStatus::Saving || status_of(&a, lost.id).await != ImageStatus::Saving {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    vanishing.abort();
    let _ = vanishing.await;
    assert_eq!(a.take_over_dead_nodes(&a_system).await.unwrap(), 1);
    assert_eq!(status_of(&a, lost.id).await, ImageStatus::Queued);
    assert_eq!(status_of(&a, running.id).await, ImageStatus::Saving);
    still_running.abort();
}
