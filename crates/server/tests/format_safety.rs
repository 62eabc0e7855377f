//! The format-safety regression matrix through the Glance API over a real socket:
//! every byte path (octet-stream and chunked upload, stage, stage + glance-direct
//! import, web-download) × every container format × the hostile samples made by
//! qemu-img → refused in Glance's words (415 at once, or a failed import), image
//! back to `queued`, no active image; the same matrix with a clean qcow2 → active.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use imagery_test_support::samples::{self, Sample, CONTAINER_FORMATS};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Upload,
    ChunkedUpload,
    StageAndImport,
    WebDownload,
}

const PATHS: [Path; 4] = [Path::Upload, Path::ChunkedUpload, Path::StageAndImport, Path::WebDownload];

/// How bringing bytes in ended: at once with a status code, or after an import.
#[derive(Debug)]
enum Outcome {
    Refused { status: u16, message: String },
    ImportFailed,
    Active,
}

async fn put_bytes(s: &TestServer, id: &str, what: &str, bytes: Vec<u8>, chunked: bool) -> reqwest::Response {
    let request = s.req(ALICE, Method::PUT, &format!("/v2/images/{id}/{what}")).header("Content-Type", "application/octet-stream");
    let request = if chunked {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(4093).map(|c| Ok(c.to_vec())).collect();
        request.body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
    } else {
        request.body(bytes)
    };
    request.send().await.expect("send")
}

async fn image(s: &TestServer, id: &str) -> Value {
    s.get(ALICE, &format!("/v2/images/{id}")).await.1
}

async fn wait_for_import(s: &TestServer, id: &str) -> Value {
    for _ in 0..400 {
        let img = image(s, id).await;
        if img["status"] != "importing" && img["status"] != "uploading" {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("import of {id} did not finish");
}

async fn import(s: &TestServer, id: &str, method: Value) {
    let (status, body) = s.json(ALICE, Method::POST, &format!("/v2/images/{id}/import"), json!({ "method": method })).await;
    assert_eq!(status, 202, "import: {body}");
}

async fn bring_in(s: &TestServer, origin: &str, path: Path, container: &str, sample: &Sample, index: usize) -> (Outcome, Value) {
    let created = s.create(ALICE, json!({"container_format": container, "disk_format": sample.disk_format})).await;
    let id = created["id"].as_str().expect("id").to_string();
    let refused = |status: u16, body: String| {
        let message = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["message"].as_str().map(str::to_string)).unwrap_or(body);
        Outcome::Refused { status, message }
    };
    let outcome = match path {
        Path::Upload | Path::ChunkedUpload => {
            let r = put_bytes(s, &id, "file", sample.bytes.clone(), path == Path::ChunkedUpload).await;
            match r.status().as_u16() {
                204 => Outcome::Active,
                status => refused(status, r.text().await.unwrap_or_default()),
            }
        }
        Path::StageAndImport => {
            let r = put_bytes(s, &id, "stage", sample.bytes.clone(), false).await;
            match r.status().as_u16() {
                204 => {
                    import(s, &id, json!({"name": "glance-direct"})).await;
                    match wait_for_import(s, &id).await["status"].as_str() {
                        Some("active") => Outcome::Active,
                        _ => Outcome::ImportFailed,
                    }
                }
                status => refused(status, r.text().await.unwrap_or_default()),
            }
        }
        Path::WebDownload => {
            import(s, &id, json!({"name": "web-download", "uri": format!("{origin}/sample-{index}")})).await;
            match wait_for_import(s, &id).await["status"].as_str() {
                Some("active") => Outcome::Active,
                _ => Outcome::ImportFailed,
            }
        }
    };
    (outcome, image(s, &id).await)
}

async fn server_for(samples: &[Sample]) -> (TestServer, String) {
    let files = samples.iter().enumerate().map(|(i, s)| (format!("sample-{i}"), s.bytes.clone())).collect();
    let origin = imagery_test_support::byte_server::serve(files).await;
    let allow = format!("{origin}/");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = start_in(dir, true, move |c| c.service.web_download_allow = vec![allow]).await;
    (s, origin)
}

#[tokio::test]
async fn glance_refuses_unsafe_images_on_every_path_in_every_container() {
    let hostile = samples::unsafe_samples();
    let (s, origin) = server_for(&hostile).await;
    for path in PATHS {
        for container in CONTAINER_FORMATS {
            for (index, sample) in hostile.iter().enumerate() {
                let case = format!("{path:?} / {container} / {}", sample.name);
                let (outcome, img) = bring_in(&s, &origin, path, container, sample, index).await;
                match outcome {
                    Outcome::Refused { status: 415, message } => {
                        assert!(message.contains("Image failed safety checks"), "{case}: {message}")
                    }
                    Outcome::ImportFailed => {
                        assert_eq!(path, Path::WebDownload, "{case}: staging refuses unsafe bytes at once");
                        assert_eq!(img["os_glance_failed_import"], "local", "{case}");
                    }
                    other => panic!("{case}: expected a refusal, got {other:?}"),
                }
                assert_eq!(img["status"], "queued", "{case}");
                assert_eq!(img["size"], Value::Null, "{case}");
                assert_eq!(img["checksum"], Value::Null, "{case}");
            }
        }
    }
    let (status, listed) = s.get(ALICE, "/v2/images?status=active").await;
    assert_eq!(status, 200);
    assert_eq!(listed["images"], json!([]), "no active image holds unsafe bytes");
    s.stop().await;
}

#[tokio::test]
async fn glance_accepts_a_clean_qcow2_on_every_path_in_every_container() {
    let clean = samples::clean_qcow2();
    let (s, origin) = server_for(std::slice::from_ref(&clean)).await;
    for path in PATHS {
        for container in CONTAINER_FORMATS {
            let case = format!("{path:?} / {container}");
            let (outcome, img) = bring_in(&s, &origin, path, container, &clean, 0).await;
            assert!(matches!(outcome, Outcome::Active), "{case}: {outcome:?}");
            assert_eq!(img["status"], "active", "{case}");
            assert_eq!(img["size"], clean.bytes.len(), "{case}");
            let expected_virtual_size = if container == "bare" { json!(1 << 20) } else { Value::Null };
            assert_eq!(img["virtual_size"], expected_virtual_size, "{case}");
        }
    }
    s.stop().await;
}
