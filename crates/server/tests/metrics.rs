//! The admin listener: Prometheus text at /metrics that moves with real traffic,
//! liveness and readiness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// The value of the series whose line starts with `prefix` (name and labels), or 0.
fn value(text: &str, prefix: &str) -> f64 {
    text.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

async fn scrape(s: &TestServer, admin: &str) -> String {
    let r = s.client.get(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    r.text().await.unwrap()
}

#[tokio::test]
async fn metrics_move_with_traffic_and_readiness_answers() {
    let s = start(true).await;
    let admin = format!("http://{}", s.running.as_ref().unwrap().admin_addr.unwrap());
    let before = scrape(&s, &admin).await;

    let image = s.create(ALICE, json!({"disk_format": "raw", "container_format": "bare"})).await;
    let id = image["id"].as_str().unwrap().to_string();
    assert_eq!(s.upload(ALICE, &id, vec![7u8; 100_000]).await, 204);
    let r = s.req(ALICE, Method::GET, &format!("/v2/images/{id}/file")).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().len(), 100_000);
    assert_eq!(s.get(ALICE, "/v2/images/00000000-0000-0000-0000-000000000000").await.0, 404);
    let after = scrape(&s, &admin).await;

    let created = r#"imagery_http_requests_total{dialect="glance",route="/v2/images",status="201"}"#;
    assert!(value(&after, created) >= value(&before, created) + 1.0, "{after}");
    let uploaded = r#"imagery_http_requests_total{dialect="glance",route="/v2/images/{id}/file",status="204"}"#;
    assert!(value(&after, uploaded) >= value(&before, uploaded) + 1.0);
    // A 404 is not counted under its path (ids from clients must not make series).
    assert!(!after.contains("00000000-0000-0000-0000-000000000000"));
    assert!(value(&after, r#"imagery_http_requests_total{dialect="glance",route="-",status="404"}"#) >= 1.0);
    assert!(value(&after, "imagery_bytes_uploaded_total") >= value(&before, "imagery_bytes_uploaded_total") + 100_000.0);
    assert!(value(&after, "imagery_bytes_downloaded_total") >= value(&before, "imagery_bytes_downloaded_total") + 100_000.0);
    assert!(after.contains("imagery_http_request_duration_seconds_bucket"), "latency histogram");
    assert!(after.contains(r#"imagery_transfers_in_flight{direction="upload"} 0"#), "{after}");

    assert_eq!(s.client.get(format!("{admin}/healthcheck")).send().await.unwrap().status(), 200);
    let ready = s.client.get(format!("{admin}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // The admin port serves nothing else; the API ports do not serve /metrics.
    assert_eq!(s.client.get(format!("{admin}/v2/images")).send().await.unwrap().status(), 404);
    assert_ne!(s.client.get(format!("{}/metrics", s.image)).send().await.unwrap().status(), 200);
    s.stop().await;
}
