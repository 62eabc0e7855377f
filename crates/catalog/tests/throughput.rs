//! Throughput checks for the SQLite catalog, ignored by default (they seed a large
//! catalog). Run with:
//!
//! ```text
//! cargo test -p imagery-catalog --release --test throughput -- --ignored --nocapture
//! ```
//!
//! `IMAGERY_BENCH_IMAGES` sets the catalog size (default 100,000). Prints
//! `get_image` calls per second at 64 concurrent callers and the latency of a first
//! and a 90 %-deep `list_images` page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use imagery_catalog::{open, Catalog};
use imagery_core::image::{Image, ImageStatus, Visibility};
use imagery_core::member::MemberStatus;
use imagery_core::query::{ListQuery, ListScope};
use imagery_core::time::from_micros;
use uuid::Uuid;

fn image(n: usize) -> Image {
    let mut img = Image::new(Uuid::new_v4(), Some(format!("project-{}", n % 50)), from_micros(1_700_000_000_000_000 + n as i64 * 1000));
    img.name = Some(format!("image-{n}"));
    img.status = ImageStatus::Active;
    img.visibility = match n % 10 {
        0 => Visibility::Public,
        _ => Visibility::Private,
    };
    img.disk_format = Some("qcow2".into());
    img.container_format = Some("bare".into());
    img.size = Some(n as i64 * 4096);
    img.tags.insert("bench".into());
    img.properties.insert("os_distro".into(), "ubuntu".into());
    img
}

async fn seed(catalog: &Arc<dyn Catalog>, count: usize) -> Vec<Uuid> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(count);
    let mut batch = Vec::new();
    for n in 0..count {
        let img = image(n);
        ids.push(img.id);
        let c = Arc::clone(catalog);
        batch.push(tokio::spawn(async move { c.insert_image(&img).await }));
        if batch.len() == 256 {
            for t in batch.drain(..) {
                t.await.expect("join").expect("insert");
            }
        }
    }
    for t in batch {
        t.await.expect("join").expect("insert");
    }
    let secs = started.elapsed().as_secs_f64();
    println!("seeded {count} images in {secs:.1} s ({:.0} inserts/s)", count as f64 / secs);
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds a large catalog; run explicitly"]
async fn sqlite_get_image_and_deep_pages() {
    let count: usize = std::env::var("IMAGERY_BENCH_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let catalog = open(&url).await.expect("open");
    let ids = Arc::new(seed(&catalog, count).await);

    let duration = Duration::from_secs(3);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..64usize {
        let (c, ids) = (Arc::clone(&catalog), Arc::clone(&ids));
        workers.push(tokio::spawn(async move {
            let mut calls = 0usize;
            let mut i = w * 7919;
            while started.elapsed() < duration {
                i = (i + 104_729) % ids.len();
                let got = c.get_image(ids[i]).await.expect("get");
                assert!(got.is_some());
                calls += 1;
            }
            calls
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.expect("join");
    }
    let secs = started.elapsed().as_secs_f64();
    println!("get_image: {total} calls in {secs:.2} s = {:.0} calls/s (64 concurrent)", total as f64 / secs);

    let scope = ListScope {
        is_admin: false,
        project_id: Some("project-7".into()),
        visibility: None,
        include_community: false,
        member_status: Some(MemberStatus::Accepted),
        os_hidden: None,
    };
    let mut first = ListQuery::new(scope, 25);
    let page = |q: ListQuery| {
        let c = Arc::clone(&catalog);
        async move {
            let started = Instant::now();
            let rounds = 200;
            let mut len = 0;
            for _ in 0..rounds {
                len = c.list_images(&q).await.expect("list").len();
            }
            (started.elapsed() / rounds, len)
        }
    };
    let (t_first, n_first) = page(first.clone()).await;
    // The default order is newest first, so an early image is a marker ~90 % deep.
    first.marker = Some(ids[count / 10]);
    let (t_deep, n_deep) = page(first.clone()).await;
    println!("list limit=25: first page {t_first:?} ({n_first} rows), 90%-deep page {t_deep:?} ({n_deep} rows)");
}
