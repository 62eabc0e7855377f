//! The TLS listeners (Azure, Yandex) with the certificate generated on first start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[tokio::test]
async fn tls_listeners_answer_with_the_generated_certificate() {
    let s = start(false).await;
    let running = s.running.as_ref().expect("running");
    let cert = running.tls_cert.clone().expect("TLS listeners are on");
    let pem = std::fs::read(&cert).expect("certificate written");
    let client =
        reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem")).build().expect("client");
    let azure = running.azure_addr.expect("azure listener");
    let r = client
        .get(format!("https://localhost:{}/default/v2.0/.well-known/openid-configuration", azure.port()))
        .send()
        .await
        .expect("https");
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(doc["token_endpoint"].as_str().unwrap().starts_with("https://"));
    let r = client
        .get(format!("https://127.0.0.1:{}/subscriptions/x/providers/Microsoft.Compute/images?api-version=2026-04-01", azure.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let yandex = running.yandex_addr.expect("yandex listener");
    let r = client.get(format!("https://localhost:{}/compute/v1/images?folderId=x", yandex.port())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Huawei over TLS: unsigned requests are refused in Huawei's envelope.
    let huawei = running.huawei_tls_addr.expect("huawei TLS listener");
    let r = client.get(format!("https://localhost:{}/v2/cloudimages", huawei.port())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("x-request-id").is_some());
    // The key never becomes readable by others.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = cert.with_file_name("key.pem");
        assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o077, 0);
    }
    // Plain HTTP on a TLS port does not work.
    assert!(reqwest::get(format!("http://127.0.0.1:{}/", azure.port())).await.is_err());
    s.stop().await;
}
