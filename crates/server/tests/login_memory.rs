//! The real `imagery` binary under a flood of wrong-password logins: argon2
//! (19 MiB per hash) runs under one semaphore with a bounded queue and a
//! deadline, so memory stays capped whatever arrives. The failed-login budget is
//! turned off here so that every attempt reaches the hasher.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_eight_concurrent_wrong_password_logins_stay_under_200_mib() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_imagery"))
        .args(["serve", "--bind", "127.0.0.1", "--public-host", "127.0.0.1", "--login-failures-per-minute", "0"])
        .args(["--identity-port", &port.to_string()])
        .args(["--image-port", "0", "--compute-port", "0", "--huawei-port", "0", "--huawei-tls-port", "0"])
        .args(["--azure-port", "0", "--yandex-port", "0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start imagery");
    let server = Server(child);
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/v3")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "imagery did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle = status_kib(pid, "VmRSS:");

    let mut statuses = std::collections::BTreeMap::new();
    for _round in 0..3 {
        let attempts = (0..48).map(|i| {
            let client = client.clone();
            let url = format!("{base}/v3/auth/tokens");
            tokio::spawn(async move {
                let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"name": "Default"}, "password": format!("wrong-{i}")}}}}});
                client.post(url).json(&body).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
            })
        });
        for attempt in attempts.collect::<Vec<_>>() {
            *statuses.entry(attempt.await.unwrap_or(0)).or_insert(0) += 1;
        }
    }
    let peak = status_kib(pid, "VmHWM:");
    let now = status_kib(pid, "VmRSS:");
    println!("idle RSS {} MiB, peak {} MiB, after {} MiB; answers {statuses:?}", idle / 1024, peak / 1024, now / 1024);
    assert!(statuses.keys().all(|s| *s == 401 || *s == 503), "{statuses:?}");
    assert!(statuses.get(&401).is_some_and(|n| *n >= 2), "no login was verified at all: {statuses:?}");
    assert!(peak < 200 * 1024, "peak RSS {} MiB", peak / 1024);
}
