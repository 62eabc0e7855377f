//! The outbound fetch of imports (Glance web-download; Yandex create-from-URI
//! calls the same `import`): special addresses are refused after resolution and
//! after every redirect unless the operator opens them, stalled and endless
//! sources fail on time naming their URL, a declared length beyond the quota fails
//! before the body is read, and bytes are taken unencoded only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use imagery_core::{Caller, DomainError, FetchFailure, Image, ImageStatus, Problem};
use imagery_service::{ImageService, ImportMethod, NewImage, Quota, ServiceConfig, IMPORT_ERROR};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn caller() -> Caller {
    Caller::new(Some("alice".into()), Some("alpha".into()), ["member".to_string(), "reader".to_string()])
}

/// Raw disk bytes any importer accepts.
fn disk_bytes() -> Vec<u8> {
    (0..64 * 1024u32).map(|i| (i % 251) as u8).collect()
}

async fn service(config: ServiceConfig) -> Arc<ImageService> {
    let catalog = imagery_catalog::open("sqlite::memory:").await.expect("catalog");
    let blobs = imagery_store::open("memory://").await.expect("blobs");
    ImageService::new(catalog, blobs, config)
}

fn allowing(entries: &[String]) -> ServiceConfig {
    ServiceConfig { web_download_allow: entries.to_vec(), ..ServiceConfig::default() }
}

/// Import `uri` into a new raw image; the image once the import has finished
/// (or the test gives up after `patience`), and how long it took.
async fn import(service: &Arc<ImageService>, uri: &str, patience: Duration) -> (Image, Duration) {
    let caller = caller();
    let new = NewImage { container_format: Some("bare".into()), disk_format: Some("raw".into()), ..NewImage::default() };
    let image = service.create_image(&caller, new).await.expect("create");
    let started = Instant::now();
    service.import(&caller, image.id, ImportMethod::WebDownload { uri: uri.to_string() }).await.expect("import starts");
    loop {
        let image = service.show_image(&caller, image.id).await.expect("show");
        if image.status != ImageStatus::Importing {
            return (image, started.elapsed());
        }
        assert!(started.elapsed() < patience, "the import of {uri} was still running after {patience:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn import_error(image: &Image) -> String {
    assert_eq!(image.status, ImageStatus::Queued, "the import should have failed");
    image.reserved(IMPORT_ERROR).unwrap_or_default().to_string()
}

/// The failure `open_source` reports for `uri`.
async fn open_failure(service: &ImageService, uri: &str) -> FetchFailure {
    match service.open_source(uri).await {
        Err(DomainError::BadRequest(Problem::Fetch { uri: said, failure })) => {
            assert_eq!(said, uri);
            failure
        }
        Err(other) => panic!("{uri}: expected a fetch failure, got {other:?}"),
        Ok(_) => panic!("{uri}: expected a fetch failure, the source opened"),
    }
}

type Script = Arc<dyn Fn(TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1: for each connection it reads the request
/// head (kept, lowercased, in the returned list) and hands the connection to
/// `script`. Returns the origin.
async fn raw_server(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (script, seen) = (Arc::clone(&script), Arc::clone(&seen));
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                seen.lock().unwrap().push(String::from_utf8_lossy(&head).to_ascii_lowercase());
                script(stream).await;
            });
        }
    });
    (origin, heads)
}

/// Answers `head` (status line and headers, without the blank line), then
/// `body`, then keeps the connection open without sending more.
fn answer_then_hold(head: String, body: Vec<u8>) -> Script {
    Arc::new(move |mut stream| {
        let (head, body) = (head.clone(), body.clone());
        async move {
            let _ = stream.write_all(format!("{head}\r\n\r\n").as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        .boxed()
    })
}

fn redirect_to(location: String) -> Script {
    Arc::new(move |mut stream| {
        let location = location.clone();
        async move {
            let head = format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        .boxed()
    })
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_private_addresses_are_allowed() {
    let origin = imagery_test_support::byte_server::serve(vec![("disk.raw".into(), disk_bytes())]).await;
    let port = origin.rsplit(':').next().unwrap().to_string();
    let by_name = format!("http://localhost:{port}/disk.raw");
    let by_literal = format!("{origin}/disk.raw");
    let entries = [format!("http://localhost:{port}/"), format!("{origin}/")];

    // Off (the default): the allow-listed name resolves to 127.0.0.1 and is refused…
    let closed = service(allowing(&entries)).await;
    assert_eq!(open_failure(&closed, &by_name).await, FetchFailure::SpecialAddress);
    let (image, _) = import(&closed, &by_name, Duration::from_secs(20)).await;
    let error = import_error(&image);
    assert!(error.contains(&by_name) && error.contains("not a public one"), "{error}");
    // …while the entry naming the loopback address itself opens exactly it.
    let (image, _) = import(&closed, &by_literal, Duration::from_secs(20)).await;
    assert_eq!(image.status, ImageStatus::Active, "{:?}", image.reserved(IMPORT_ERROR));

    // On: every allow-listed host may be private.
    let open = service(ServiceConfig { web_download_allow_private: true, ..allowing(&entries) }).await;
    let (image, _) = import(&open, &by_name, Duration::from_secs(20)).await;
    assert_eq!(image.status, ImageStatus::Active, "{:?}", image.reserved(IMPORT_ERROR));
    assert_eq!(image.size, Some(disk_bytes().len() as i64));
}

#[tokio::test]
async fn the_unspecified_address_is_refused_even_when_allow_listed() {
    // Connecting to 0.0.0.0 reaches the host itself (here: the byte server on 127.0.0.1).
    let origin = imagery_test_support::byte_server::serve(vec![("disk.raw".into(), disk_bytes())]).await;
    let port = origin.rsplit(':').next().unwrap().to_string();
    let uri = format!("http://0.0.0.0:{port}/disk.raw");
    let config = ServiceConfig { web_download_allow_private: true, ..allowing(&[format!("http://0.0.0.0:{port}/")]) };
    let service = service(config).await;
    assert_eq!(open_failure(&service, &uri).await, FetchFailure::SpecialAddress);
    let (image, _) = import(&service, &uri, Duration::from_secs(20)).await;
    let error = import_error(&image);
    assert!(error.contains(&uri) && error.contains("not a public one"), "{error}");
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let (origin, heads) = raw_server(redirect_to("http://169.254.169.254/latest/meta-data/".into())).await;
    let uri = format!("{origin}/disk.raw");
    for allow_private in [false, true] {
        // Whether or not private addresses are allowed: link-local is reached
        // only through an allow-list entry that is the address itself.
        let config = ServiceConfig {
            web_download_allow_private: allow_private,
            web_download_allow: vec![format!("{origin}/"), "http://metadata.invalid/".into()],
            ..ServiceConfig::default()
        };
        let service = service(config).await;
        assert_eq!(open_failure(&service, &uri).await, FetchFailure::SpecialAddress, "allow_private = {allow_private}");
        let (image, _) = import(&service, &uri, Duration::from_secs(20)).await;
        let error = import_error(&image);
        assert!(error.contains(&uri) && error.contains("not a public one"), "{error}");
    }
    assert!(!heads.lock().unwrap().is_empty(), "the redirecting source was asked");
}

#[tokio::test]
async fn a_redirect_to_an_allow_listed_name_is_resolved_and_refused() {
    let target = imagery_test_support::byte_server::serve(vec![("disk.raw".into(), disk_bytes())]).await;
    let port = target.rsplit(':').next().unwrap().to_string();
    let (origin, _) = raw_server(redirect_to(format!("http://localhost:{port}/disk.raw"))).await;
    let uri = format!("{origin}/disk.raw");
    let entries = [format!("{origin}/"), format!("http://localhost:{port}/")];
    let closed = service(allowing(&entries)).await;
    assert_eq!(open_failure(&closed, &uri).await, FetchFailure::SpecialAddress);
    let open = service(ServiceConfig { web_download_allow_private: true, ..allowing(&entries) }).await;
    let (image, _) = import(&open, &uri, Duration::from_secs(20)).await;
    assert_eq!(image.status, ImageStatus::Active, "{:?}", image.reserved(IMPORT_ERROR));
    // A redirect outside the allow-list is refused as such.
    let elsewhere = service(allowing(&[format!("{origin}/")])).await;
    assert_eq!(open_failure(&elsewhere, &uri).await, FetchFailure::RedirectNotAllowed);
}

#[tokio::test]
async fn a_stalled_body_fails_within_the_stall_timeout() {
    let (origin, _) = raw_server(answer_then_hold("HTTP/1.1 200 OK\r\nContent-Length: 1000000".into(), vec![7u8; 1000])).await;
    let uri = format!("{origin}/disk.raw");
    let config = ServiceConfig { web_download_stall_timeout_secs: 1, ..allowing(&[format!("{origin}/")]) };
    let service = service(config).await;
    let (image, took) = import(&service, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains(&uri) && error.contains("no data arrived for 1 s"), "{error}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_source_that_never_answers_fails_within_the_stall_timeout() {
    let (origin, _) = raw_server(Arc::new(|stream| {
        async move {
            let _held = stream;
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        .boxed()
    }))
    .await;
    let uri = format!("{origin}/disk.raw");
    let service = service(ServiceConfig { web_download_stall_timeout_secs: 1, ..allowing(&[format!("{origin}/")]) }).await;
    let started = Instant::now();
    assert_eq!(open_failure(&service, &uri).await, FetchFailure::Stalled { secs: 1 });
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_trickling_source_fails_at_the_deadline() {
    let trickle: Script = Arc::new(|mut stream| {
        async move {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n").await;
            for _ in 0..1000 {
                if stream.write_all(&[1u8; 16]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        .boxed()
    });
    let (origin, _) = raw_server(trickle).await;
    let uri = format!("{origin}/disk.raw");
    let config = ServiceConfig { web_download_stall_timeout_secs: 5, web_download_timeout_secs: 1, ..allowing(&[format!("{origin}/")]) };
    let service = service(config).await;
    let (image, took) = import(&service, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains(&uri) && error.contains("did not finish within 1 s"), "{error}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[tokio::test]
async fn a_declared_length_over_the_quota_fails_before_the_body_is_read() {
    // The source declares 100 MiB and then sends nothing: only refusing on the
    // declared length ends this before the (default, 60 s) stall timeout.
    let (origin, _) = raw_server(answer_then_hold(format!("HTTP/1.1 200 OK\r\nContent-Length: {}", 100 << 20), Vec::new())).await;
    let uri = format!("{origin}/disk.raw");
    let quota = Quota { image_size_total: Some(1 << 20), ..Quota::default() };
    let service = service(ServiceConfig { default_quota: quota, ..allowing(&[format!("{origin}/")]) }).await;
    let (image, took) = import(&service, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains("exceeds the quota"), "{error}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // The size cap, likewise.
    let capped = self::service(ServiceConfig { image_size_cap: 1 << 20, ..allowing(&[format!("{origin}/")]) }).await;
    let (image, took) = import(&capped, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains("size cap"), "{error}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn an_undeclared_length_over_the_quota_stops_as_the_bytes_arrive() {
    // Chunked, no length: 4 MiB against a 1 MiB quota, then the connection stays open.
    let mut body = Vec::new();
    for _ in 0..64 {
        body.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        body.extend_from_slice(&[0u8; 64 * 1024]);
        body.extend_from_slice(b"\r\n");
    }
    let (origin, _) = raw_server(answer_then_hold("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked".into(), body)).await;
    let uri = format!("{origin}/disk.raw");
    let quota = Quota { image_size_total: Some(1 << 20), ..Quota::default() };
    let service = service(ServiceConfig { default_quota: quota, ..allowing(&[format!("{origin}/")]) }).await;
    let (image, took) = import(&service, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains("exceeds the quota"), "{error}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(image.size.is_none() && image.blob_key.is_none());
}

#[tokio::test]
async fn encoded_bodies_are_refused_and_identity_is_asked_for() {
    let mut gzip = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    gzip.extend_from_slice(&disk_bytes());
    let head = format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}", gzip.len());
    let (origin, heads) = raw_server(answer_then_hold(head, gzip)).await;
    let uri = format!("{origin}/disk.raw.gz");
    let service = service(allowing(&[format!("{origin}/")])).await;
    let (image, _) = import(&service, &uri, Duration::from_secs(15)).await;
    let error = import_error(&image);
    assert!(error.contains(&uri) && error.contains("Content-Encoding 'gzip'"), "{error}");
    let heads = heads.lock().unwrap();
    assert!(heads.iter().all(|h| h.contains("\r\naccept-encoding: identity\r\n")), "{heads:?}");
}
