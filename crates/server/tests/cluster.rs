//! Several imagery nodes on one PostgreSQL catalog and one blob store, as an
//! operator runs them behind a balancer (issue 13). Needs the PostgreSQL test
//! server (`IMAGERY_TEST_POSTGRES_URL`; a failure under CI when unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::json;

/// Every node sharing a catalog needs the same key-encryption key.
const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn node(db: &str, blobs: &std::path::Path, dir: tempfile::TempDir, trust_headers: bool) -> TestServer {
    let (db, blobs) = (db.to_string(), blobs.display().to_string());
    start_in(dir, trust_headers, move |c| {
        c.database_url = Some(db);
        c.blob_url = Some(blobs);
        c.kek = Some(KEK.into());
        c.service.node_lease_secs = 2;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_is_seen_by_another_within_a_second() {
    let Some(db) = imagery_test_support::postgres::fresh_schema_url().await else { return };
    let blobs = tempfile::tempdir().unwrap();
    let a = node(&db, blobs.path(), tempfile::tempdir().unwrap(), false).await;
    let b = node(&db, blobs.path(), tempfile::tempdir().unwrap(), false).await;
    assert_ne!(a.running.as_ref().unwrap().node_id, b.running.as_ref().unwrap().node_id, "each node has its own id");

    let r = password_login(&a, "admin", &admin_password(&a), "admin").await;
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let on_b = || b.client.get(format!("{}/v2/images", b.image)).header("X-Auth-Token", &token).send();
    assert_eq!(on_b().await.unwrap().status(), 200, "node B accepts node A's token");

    let r = a
        .client
        .delete(format!("{}/v3/auth/tokens", a.identity))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let revoked = Instant::now();
    loop {
        let status = on_b().await.unwrap().status();
        if status == 401 {
            break;
        }
        assert!(revoked.elapsed() < Duration::from_secs(1), "node B still accepts a token revoked on node A after 1 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!("node B refused the revoked token {} ms after the revocation on node A", revoked.elapsed().as_millis());
    a.stop().await;
    b.stop().await;
}

/// The first finding: restarting node B while node A receives an upload
/// returned A's image to `queued` and A's client got 410.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_a_node_leaves_another_nodes_upload_alone() {
    let Some(db) = imagery_test_support::postgres::fresh_schema_url().await else { return };
    let blobs = tempfile::tempdir().unwrap();
    let a = node(&db, blobs.path(), tempfile::tempdir().unwrap(), true).await;
    let b = node(&db, blobs.path(), tempfile::tempdir().unwrap(), true).await;
    let id = a.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await["id"].as_str().unwrap().to_string();

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let upload = a
        .req(ALICE, Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
        .send();
    let upload = tokio::spawn(upload);
    tx.send(Ok(vec![1u8; 1 << 20])).await.unwrap();
    while a.get(ALICE, &format!("/v2/images/{id}")).await.1["status"] != "saving" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Node B restarts (same data dir, so the same node id) while A's upload goes on.
    let b_dir = b.stop().await;
    let b = node(&db, blobs.path(), b_dir, true).await;
    assert_eq!(b.get(ALICE, &format!("/v2/images/{id}")).await.1["status"], "saving");

    tx.send(Ok(vec![2u8; 1 << 20])).await.unwrap();
    drop(tx);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap_or_default());
    let (_, image) = b.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!((image["status"].as_str(), image["size"].as_u64()), (Some("active"), Some(2 << 20)));
    a.stop().await;
    b.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
