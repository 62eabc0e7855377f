//! The listeners' timeouts and limits and the front door's refusals, over real
//! loopback sockets: slowloris, thousands of idle connections, stalled uploads,
//! oversized declarations, and each dialect's 429/413/414/431 envelope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{start_in, ALICE};
use imagery_http_common::limits::Limits;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Read whatever the server sends until it closes (or `limit` passes).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

#[tokio::test]
async fn a_slowloris_client_is_disconnected_within_the_header_timeout() {
    let server = start_in(tempfile::tempdir().expect("dir"), true, |c| c.limits.header_timeout_secs = 2).await;
    let mut stream = TcpStream::connect(addr_of(&server.image)).await.expect("connect");
    let started = Instant::now();
    stream.write_all(b"GET /v2/ima").await.expect("write");
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "still open after 10 s");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(5), "closed after {took:?}");

    // A silent connection gets the same treatment.
    let mut silent = TcpStream::connect(addr_of(&server.image)).await.expect("connect");
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(closed && started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    server.stop().await;
}

fn raise_nofile(want: u64) -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max.min(want.max(limit.rlim_cur));
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        limit.rlim_cur
    }
}

#[tokio::test]
async fn thousands_of_idle_connections_do_not_stop_a_new_client() {
    let available = raise_nofile(16_384);
    // Both ends of every connection live in this process.
    let idle = 2_000.min((available.saturating_sub(200) / 2) as usize);
    assert!(idle >= 400, "open-file limit too low for the test: {available}");
    let server = start_in(tempfile::tempdir().expect("dir"), true, |_| {}).await;
    let addr = addr_of(&server.image);
    let mut held = Vec::with_capacity(idle);
    for i in 0..idle {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        if i % 2 == 0 {
            // Half of them start a request and stop, half say nothing.
            let _ = stream.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n").await;
        }
        held.push(stream);
    }
    let started = Instant::now();
    let response = server.req(ALICE, Method::GET, "/healthcheck").send().await.expect("served");
    assert_eq!(response.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let (status, _) = server.get(ALICE, "/v2/images").await;
    assert_eq!(status, 200);
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_upload_fails_and_the_image_returns_to_queued() {
    let server = start_in(tempfile::tempdir().expect("dir"), true, |c| c.limits.body_timeout_secs = 2).await;
    let image = server.create(ALICE, json!({"name": "stall", "disk_format": "raw", "container_format": "bare"})).await;
    let id = image["id"].as_str().expect("id").to_string();
    let mut stream = TcpStream::connect(addr_of(&server.image)).await.expect("connect");
    let head = format!(
        "PUT /v2/images/{id}/file HTTP/1.1\r\nHost: x\r\nX-Identity-Status: Confirmed\r\nX-Project-Id: {}\r\nX-Roles: member\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n",
        ALICE.project
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&vec![0u8; 64 * 1024]).await.expect("some bytes");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, status) = server.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(status["status"], "saving", "{status}");
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "the stalled upload's connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    let mut status = Value::Null;
    for _ in 0..50 {
        status = server.get(ALICE, &format!("/v2/images/{id}")).await.1;
        if status["status"] == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "queued", "{status}");
    // And the image can still be uploaded.
    assert_eq!(server.upload(ALICE, &id, vec![1u8; 4096]).await, 204);
    server.stop().await;
}

#[tokio::test]
async fn a_declared_length_over_the_size_cap_is_refused_before_the_body() {
    let server = start_in(tempfile::tempdir().expect("dir"), true, |c| c.service.image_size_cap = 1 << 20).await;
    let image = server.create(ALICE, json!({"name": "big", "disk_format": "raw", "container_format": "bare"})).await;
    let id = image["id"].as_str().expect("id").to_string();
    let mut stream = TcpStream::connect(addr_of(&server.image)).await.expect("connect");
    let head = format!(
        "PUT /v2/images/{id}/file HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nX-Identity-Status: Confirmed\r\nX-Project-Id: {}\r\nX-Roles: member\r\nContent-Type: application/octet-stream\r\nContent-Length: 10737418240\r\n\r\n",
        ALICE.project
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("413 Request Entity Too Large") || text.contains("Payload Too Large"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let (_, status) = server.get(ALICE, &format!("/v2/images/{id}")).await;
    assert_eq!(status["status"], "queued");
    server.stop().await;
}

fn tls_client(running: &imagery_server::Running) -> reqwest::Client {
    let pem = std::fs::read(running.tls_cert.as_ref().expect("cert")).expect("read cert");
    reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem")).build().expect("client")
}

async fn body_of(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// One address over its budget: every API answers 429 in its own envelope,
/// with `Retry-After`.
#[tokio::test]
async fn a_rate_limited_caller_gets_each_dialects_envelope() {
    let server = start_in(tempfile::tempdir().expect("dir"), false, |c| {
        c.limits = Limits { per_address_rate: 1, ..Limits::default() };
    })
    .await;
    let running = server.running.as_ref().expect("running");
    let tls = tls_client(running);
    let azure = format!("https://localhost:{}", running.azure_addr.expect("azure").port());
    let yandex = format!("https://localhost:{}", running.yandex_addr.expect("yandex").port());
    let huawei = format!("http://{}", running.huawei_addr.expect("huawei"));
    // Spend the burst.
    for _ in 0..3 {
        let _ = server.client.get(format!("{}/versions", server.image)).send().await;
    }
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("glance", server.client.get(format!("{}/v2/images", server.image)).header("Accept", "application/json")),
        ("keystone", server.client.get(format!("{}/v3/projects", server.identity))),
        ("nova", server.client.get(format!("{}/v2.1/images", server.compute))),
        (
            "huawei",
            server
                .client
                .get(format!("{huawei}/v2/cloudimages"))
                .header("Authorization", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=00"),
        ),
        ("azure", tls.get(format!("{azure}/subscriptions/s/providers/Microsoft.Compute/images?api-version=2024-03-01")).bearer_auth("t")),
        (
            "azure-token",
            tls.post(format!("{azure}/tenant/oauth2/v2.0/token")).form(&[("client_id", "c"), ("grant_type", "client_credentials")]),
        ),
        ("yandex", tls.get(format!("{yandex}/compute/v1/images?folderId=f"))),
        (
            "yandex-grpc",
            tls.post(format!("{yandex}/yandex.cloud.compute.v1.ImageService/List"))
                .header("content-type", "application/grpc")
                .body(vec![0u8; 5]),
        ),
    ];
    for (name, request) in cases {
        let (status, headers, body) = body_of(request.send().await.expect("send")).await;
        let retry = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        assert!(retry.is_some_and(|s| s >= 1), "{name}: no Retry-After: {headers:?}");
        match name {
            "glance" => {
                assert_eq!(status, 429);
                assert_eq!(body["code"], "429 Too Many Requests", "{body}");
            }
            "keystone" => {
                assert_eq!(status, 429);
                assert_eq!(body["error"]["code"], 429, "{body}");
                assert_eq!(body["error"]["title"], "Too Many Requests", "{body}");
            }
            "nova" => {
                assert_eq!(status, 429);
                assert_eq!(body["overLimit"]["code"], 429, "{body}");
                assert!(body["overLimit"]["retryAfter"].is_string(), "{body}");
            }
            "huawei" => {
                assert_eq!(status, 429);
                assert_eq!(body["error_code"], "APIGW.0308", "{body}");
                assert!(body["request_id"].is_string(), "{body}");
            }
            "azure" => {
                assert_eq!(status, 429);
                assert_eq!(body["error"]["code"], "TooManyRequests", "{body}");
            }
            "azure-token" => {
                assert_eq!(status, 429);
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            }
            "yandex" => {
                assert_eq!(status, 429);
                assert_eq!(body["code"], 8, "{body}");
            }
            "yandex-grpc" => {
                assert_eq!(status, 200);
                assert_eq!(headers.get("grpc-status").and_then(|v| v.to_str().ok()), Some("8"), "{headers:?}");
            }
            _ => unreachable!(),
        }
    }
    server.stop().await;
}

/// Oversized requests are answered in the API's format, not dropped: a 500 KB
/// token-endpoint form (413), a 1 MB header (431) and a 20 KB URI (414) on the
/// TLS ports.
#[tokio::test]
async fn oversized_requests_get_answers_in_each_format() {
    let server = start_in(tempfile::tempdir().expect("dir"), false, |_| {}).await;
    let running = server.running.as_ref().expect("running");
    let tls = tls_client(running);
    let azure = format!("https://localhost:{}", running.azure_addr.expect("azure").port());
    let yandex = format!("https://localhost:{}", running.yandex_addr.expect("yandex").port());

    let form = format!("grant_type=client_credentials&client_id=c&client_secret={}", "x".repeat(500_000));
    let response = tls
        .post(format!("{azure}/tenant/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let (status, _, body) = body_of(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "invalid_request", "{body}");

    let response = tls
        .get(format!("{yandex}/compute/v1/images?folderId=f"))
        .header("x-padding", "a".repeat(1_000_000))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let (status, _, body) = body_of(response).await;
    assert_eq!(status, 431);
    assert_eq!(body["code"], 3, "{body}");

    let response = tls.get(format!("{yandex}/compute/v1/images?folderId={}", "f".repeat(20_000))).send().await.expect("answer");
    let (status, _, body) = body_of(response).await;
    assert_eq!(status, 414);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("URI")), "{body}");
    assert_eq!(body["code"], 3, "{body}");

    let response = server
        .client
        .get(format!("{}/v2/images?name={}", server.image, "n".repeat(20_000)))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("answer");
    let (status, _, body) = body_of(response).await;
    assert_eq!(status, 414);
    assert_eq!(body["code"], "414 URI Too Long", "{body}");
    server.stop().await;
}

/// Failed logins are budgeted per (user, address): the eleventh wrong password
/// from one address is 429, while the same user from another address still gets
/// to try (and so cannot be locked out by an attacker elsewhere).
#[tokio::test]
async fn failed_logins_are_limited_per_user_and_address() {
    let server = start_in(tempfile::tempdir().expect("dir"), false, |c| c.limits.login_failures_per_minute = 3).await;
    let login = |client: &reqwest::Client| {
        client.post(format!("{}/v3/auth/tokens", server.identity)).json(&json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "wrong"}}}}}))
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(login(&server.client).send().await.expect("send").status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    let response = login(&server.client).send().await.expect("send");
    assert!(response.headers().contains_key("retry-after"));
    let (_, _, body) = body_of(response).await;
    assert_eq!(body["error"]["code"], 429, "{body}");

    let elsewhere = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().ok()).build().expect("client");
    let status = login(&elsewhere).send().await.expect("send from 127.0.0.2").status().as_u16();
    assert_eq!(status, 401, "the user is locked out from every address");
    server.stop().await;
}

/// At most `max_uploads` uploads run at once; one more is 503 with Retry-After.
#[tokio::test]
async fn uploads_beyond_the_cap_are_refused_with_503() {
    let server = start_in(tempfile::tempdir().expect("dir"), true, |c| c.limits.max_uploads = 1).await;
    let a = server.create(ALICE, json!({"name": "a", "disk_format": "raw", "container_format": "bare"})).await;
    let b = server.create(ALICE, json!({"name": "b", "disk_format": "raw", "container_format": "bare"})).await;
    let mut stream = TcpStream::connect(addr_of(&server.image)).await.expect("connect");
    let head = format!(
        "PUT /v2/images/{}/file HTTP/1.1\r\nHost: x\r\nX-Identity-Status: Confirmed\r\nX-Project-Id: {}\r\nX-Roles: member\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n",
        a["id"].as_str().expect("id"),
        ALICE.project
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[0u8; 1000]).await.expect("bytes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = server
        .req(ALICE, Method::PUT, &format!("/v2/images/{}/file", b["id"].as_str().expect("id")))
        .header("Content-Type", "application/octet-stream")
        .body(vec![0u8; 1000])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    stream.write_all(&[0u8; 99_000]).await.expect("rest");
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 204"), "{}", String::from_utf8_lossy(&answer));
    server.stop().await;
}
