//! The baseline for `bench/s3_upload.sh`: a plain S3 client (object_store's own
//! multipart upload, nothing of imagery's) putting a file into a bucket.
//!
//!   plain_s3_put FILE KEY   (IMAGERY_TEST_S3_* variables name the server)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (file, key) = (&args[1], &args[2]);
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set"));
    let store = AmazonS3Builder::new()
        .with_endpoint(var("IMAGERY_TEST_S3_URL"))
        .with_bucket_name(var("IMAGERY_TEST_S3_BUCKET"))
        .with_region(var("IMAGERY_TEST_S3_REGION"))
        .with_access_key_id(var("IMAGERY_TEST_S3_ACCESS_KEY_ID"))
        .with_secret_access_key(var("IMAGERY_TEST_S3_SECRET_ACCESS_KEY"))
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build()
        .expect("store");
    let started = std::time::Instant::now();
    let upload = store.put_multipart(&Path::from(key.as_str())).await.expect("begin");
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 16 << 20);
    let mut input = tokio::fs::File::open(file).await.expect("open");
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        writer.wait_for_capacity(8).await.expect("capacity");
        writer.write(&buf[..n]);
        total += n as u64;
    }
    writer.finish().await.expect("finish");
    let secs = started.elapsed().as_secs_f64();
    println!("{:.1} MiB/s ({total} bytes in {secs:.2} s)", total as f64 / (1 << 20) as f64 / secs);
    store.delete(&Path::from(key.as_str())).await.expect("delete");
}
