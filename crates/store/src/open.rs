//! Store URLs: `file:///abs/dir` or a plain path (local filesystem), `memory://`
//! (in-memory, for tests) and `s3://bucket/prefix` (S3-compatible, configured from
//! the usual `AWS_*` environment variables; only in builds with the `s3` feature).

use std::io;
use std::sync::Arc;

use imagery_core::ports::BlobStore;

use crate::store::ObjectBlobStore;

/// The blob store a URL designates.
pub async fn open(url: &str) -> io::Result<Arc<dyn BlobStore>> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("blob store URL {url:?}: {why}"));
    if url.starts_with("memory://") {
        return Ok(Arc::new(ObjectBlobStore::in_memory()));
    }
    if url.starts_with("s3://") {
        return Ok(Arc::new(s3(url)?));
    }
    let dir = match url.strip_prefix("file://") {
        Some(path) if path.starts_with('/') => path,
        Some(path) => match path.strip_prefix("localhost") {
            Some(path) if path.starts_with('/') => path,
            _ => return Err(invalid("expected file:///absolute/path")),
        },
        None if url.contains("://") => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("blob store URL {url:?}: unsupported scheme (use file://, s3:// or memory://)"),
            ))
        }
        None => url,
    };
    if dir.is_empty() {
        return Err(invalid("empty path"));
    }
    Ok(Arc::new(ObjectBlobStore::local(dir).await?))
}

#[cfg(feature = "s3")]
fn s3(url: &str) -> io::Result<ObjectBlobStore> {
    use object_store::aws::AmazonS3Builder;
    use object_store::prefix::PrefixStore;
    use object_store::ObjectStore;

    let rest = url.trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("blob store URL {url:?}: no bucket")));
    }
    let s3 = AmazonS3Builder::from_env().with_url(format!("s3://{bucket}")).build().map_err(crate::error::to_io)?;
    let prefix = prefix.trim_matches('/');
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() { Arc::new(s3) } else { Arc::new(PrefixStore::new(s3, prefix)) };
    Ok(ObjectBlobStore::remote(store))
}

#[cfg(not(feature = "s3"))]
fn s3(url: &str) -> io::Result<ObjectBlobStore> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("blob store URL {url:?}: this build lacks S3 support (build imagery-store with the `s3` feature)"),
    ))
}
