//! Store URLs: `file:///abs/dir` or a plain path (local filesystem), `memory://`
//! (in-memory, for tests) and `s3://bucket/prefix` (an S3-compatible bucket).
//!
//! S3 settings come, each overriding the one before, from the usual `AWS_*`
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`, …, and
//! the container, web-identity and instance credentials of object_store), then
//! [`S3Settings`] (the server's configuration file), then the URL's query:
//! `s3://bucket/prefix?endpoint=http://127.0.0.1:3900&region=garage&addressing=path`.
//! Secrets are never taken from the URL (it is logged).
//!
//! Opening an S3 store probes the bucket, so a missing bucket, wrong credentials or
//! an unreachable endpoint is one clear error at start.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use imagery_core::ports::BlobStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use serde::{Deserialize, Serialize};

use crate::s3::{error_chain, S3Bucket};
use crate::store::ObjectBlobStore;

/// How requests name the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum S3Addressing {
    /// `https://endpoint/bucket/key`: what most S3-compatible servers (Garage, MinIO,
    /// Ceph) expect; the default when an endpoint is set.
    Path,
    /// `https://bucket.endpoint/key`: AWS's preferred form; the default without an
    /// endpoint (AWS itself).
    VirtualHost,
}

/// S3 settings from the configuration file; every one optional (see the module doc
/// for the order of precedence).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// `https://host[:port]` of an S3-compatible service; default AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub addressing: Option<S3Addressing>,
    pub access_key_id: Option<String>,
    #[serde(skip_serializing)]
    pub secret_access_key: Option<String>,
    #[serde(skip_serializing)]
    pub session_token: Option<String>,
    /// Sign each part's SHA-256 (default: `UNSIGNED-PAYLOAD`, as over TLS the
    /// transport already protects the bytes and the hash would cost a core).
    pub sign_payload: Option<bool>,
}

/// Never shows the secret key or the session token.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let S3Settings { endpoint, region, addressing, access_key_id, secret_access_key, session_token, sign_payload } = self;
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Settings")
            .field("endpoint", endpoint)
            .field("region", region)
            .field("addressing", addressing)
            .field("access_key_id", access_key_id)
            .field("secret_access_key", &hidden(secret_access_key))
            .field("session_token", &hidden(session_token))
            .field("sign_payload", sign_payload)
            .finish()
    }
}

/// The blob store a URL designates (S3 settings from the environment and the URL).
pub async fn open(url: &str) -> io::Result<Arc<dyn BlobStore>> {
    open_with(url, &S3Settings::default()).await
}

/// The blob store a URL designates, with S3 settings from the configuration file.
pub async fn open_with(url: &str, settings: &S3Settings) -> io::Result<Arc<dyn BlobStore>> {
    if url.starts_with("memory://") {
        return Ok(Arc::new(ObjectBlobStore::in_memory()));
    }
    if url.starts_with("s3://") {
        return Ok(Arc::new(open_s3(url, settings).await?));
    }
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("blob store URL {url:?}: {why}"));
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

/// An S3 bucket, probed. Settings from the URL's query win over `settings`.
pub async fn open_s3(url: &str, settings: &S3Settings) -> io::Result<ObjectBlobStore> {
    let target = S3Target::parse(url, settings)?;
    target.open().await
}

/// Everything needed to reach one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
struct S3Target {
    bucket: String,
    /// Key prefix without surrounding slashes; empty for none.
    prefix: String,
    settings: S3Settings,
}

/// Requests (other than downloads) that take longer than this fail: a part of up to
/// a few hundred MiB over a slow link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl S3Target {
    fn parse(url: &str, settings: &S3Settings) -> io::Result<Self> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, format!("blob store URL {url:?}: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| invalid("expected s3://bucket/prefix".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if !is_valid_bucket(bucket) {
            return Err(invalid(format!("{bucket:?} is not a bucket name (3-63 lowercase letters, digits, '.', '-')")));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
            || prefix.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") && !prefix.is_empty()
        {
            return Err(invalid(format!("key prefix {prefix:?}: use letters, digits, '-', '_', '.' and single slashes")));
        }
        let mut settings = settings.clone();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).ok_or_else(|| invalid(format!("bad percent-encoding in {name}")))?;
            match name {
                "endpoint" => settings.endpoint = Some(value),
                "region" => settings.region = Some(value),
                "addressing" => {
                    settings.addressing = Some(match value.as_str() {
                        "path" => S3Addressing::Path,
                        "virtual-host" => S3Addressing::VirtualHost,
                        _ => return Err(invalid(format!("addressing={value}: expected path or virtual-host"))),
                    })
                }
                "sign_payload" => {
                    settings.sign_payload = Some(match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid(format!("sign_payload={value}: expected true or false"))),
                    })
                }
                "access_key_id" | "secret_access_key" | "session_token" => {
                    return Err(invalid(format!("{name} does not belong in a URL: use AWS_* variables or the [s3] settings")))
                }
                _ => return Err(invalid(format!("unknown option {name:?} (endpoint, region, addressing, sign_payload)"))),
            }
        }
        if let Some(endpoint) = &settings.endpoint {
            let parsed = reqwest::Url::parse(endpoint).map_err(|e| invalid(format!("endpoint {endpoint:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(invalid(format!("endpoint {endpoint:?}: expected http(s)://host[:port]")));
            }
        }
        Ok(S3Target { bucket: bucket.to_string(), prefix: prefix.to_string(), settings })
    }

    /// The builder: environment first, then the settings.
    fn builder(&self, options: ClientOptions) -> io::Result<AmazonS3Builder> {
        let s = &self.settings;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&self.bucket).with_client_options(options).with_retry(RetryConfig {
            max_retries: 5,
            retry_timeout: Duration::from_secs(120),
            ..RetryConfig::default()
        });
        if let Some(endpoint) = &self.endpoint()? {
            builder = builder.with_endpoint(endpoint);
            // An endpoint written as http:// is the operator's explicit choice.
            builder = builder.with_allow_http(endpoint.starts_with("http://"));
        }
        builder = builder.with_virtual_hosted_style_request(self.addressing() == S3Addressing::VirtualHost);
        if let Some(region) = &s.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &s.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &s.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = &s.session_token {
            builder = builder.with_token(token);
        }
        Ok(builder.with_unsigned_payload(!s.sign_payload.unwrap_or(false)))
    }

    fn configured_endpoint(&self) -> Option<String> {
        self.settings
            .endpoint
            .clone()
            .or_else(|| AmazonS3Builder::from_env().get_config_value(&AmazonS3ConfigKey::Endpoint))
            .map(|e| e.trim_end_matches('/').to_string())
    }

    fn addressing(&self) -> S3Addressing {
        match self.settings.addressing {
            Some(addressing) => addressing,
            None => {
                let env_virtual = AmazonS3Builder::from_env()
                    .get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                if self.configured_endpoint().is_some() && !env_virtual {
                    S3Addressing::Path
                } else {
                    S3Addressing::VirtualHost
                }
            }
        }
    }

    /// The endpoint object_store is given: for virtual-host addressing with a custom
    /// endpoint it must already name the bucket (`https://bucket.host`).
    fn endpoint(&self) -> io::Result<Option<String>> {
        let Some(endpoint) = self.configured_endpoint() else { return Ok(None) };
        if self.addressing() == S3Addressing::Path {
            return Ok(Some(endpoint));
        }
        let mut url = reqwest::Url::parse(&endpoint)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("S3 endpoint {endpoint:?}: {e}")))?;
        let host = url.host_str().unwrap_or_default().to_string();
        if host.starts_with(&format!("{}.", self.bucket)) {
            return Ok(Some(endpoint));
        }
        url.set_host(Some(&format!("{}.{host}", self.bucket)))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("S3 endpoint {endpoint:?}: {e}")))?;
        Ok(Some(url.as_str().trim_end_matches('/').to_string()))
    }

    /// Where requests for the bucket go, as object_store computes it.
    fn bucket_endpoint(&self, region: &str) -> io::Result<String> {
        Ok(match (self.endpoint()?, self.addressing()) {
            (Some(endpoint), S3Addressing::VirtualHost) => endpoint,
            (Some(endpoint), S3Addressing::Path) => format!("{endpoint}/{}", self.bucket),
            (None, S3Addressing::VirtualHost) => format!("https://{}.s3.{region}.amazonaws.com", self.bucket),
            (None, S3Addressing::Path) => format!("https://s3.{region}.amazonaws.com/{}", self.bucket),
        })
    }

    async fn open(&self) -> io::Result<ObjectBlobStore> {
        let describe = |e: object_store::Error| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("S3 bucket {:?}: {}", self.bucket, error_chain(&e)))
        };
        let options = || ClientOptions::new().with_connect_timeout(CONNECT_TIMEOUT).with_pool_idle_timeout(Duration::from_secs(50));
        let builder = self.builder(options().with_timeout(REQUEST_TIMEOUT))?;
        let region = builder.get_config_value(&AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".to_string());
        let writes = builder.build().map_err(describe)?;
        let reads = self.builder(options().with_timeout_disabled())?.build().map_err(describe)?;

        let mut http = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT);
        if self.configured_endpoint().is_some_and(|e| e.starts_with("http://")) {
            http = http.https_only(false);
        }
        let http = http.build().map_err(|e| io::Error::other(format!("cannot build the S3 HTTP client: {}", error_chain(&e))))?;
        let bucket = Arc::new(S3Bucket::new(
            http,
            self.bucket.clone(),
            self.bucket_endpoint(&region)?,
            region,
            self.prefix.clone(),
            writes.credentials().clone(),
        ));
        bucket.probe().await?;

        let (writes, reads): (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>) = if self.prefix.is_empty() {
            (Arc::new(writes), Arc::new(reads))
        } else {
            (Arc::new(PrefixStore::new(writes, self.prefix.as_str())), Arc::new(PrefixStore::new(reads, self.prefix.as_str())))
        };
        Ok(ObjectBlobStore::s3(writes, reads, bucket))
    }
}

/// S3's bucket naming rules, loosely: what is safe in a host name and a path.
fn is_valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && name.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> io::Result<S3Target> {
        S3Target::parse(url, &S3Settings::default())
    }

    #[test]
    fn urls_name_bucket_prefix_and_options() {
        let t = target("s3://images/prod/v1/?endpoint=http%3A%2F%2F127.0.0.1%3A3900&region=garage&addressing=path").unwrap();
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("images", "prod/v1"));
        assert_eq!(t.settings.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(t.bucket_endpoint("garage").unwrap(), "http://127.0.0.1:3900/images");

        let t = target("s3://images?endpoint=https://s3.example.com:9000/&addressing=virtual-host").unwrap();
        assert_eq!(t.prefix, "");
        assert_eq!(t.endpoint().unwrap().as_deref(), Some("https://images.s3.example.com:9000"));
        assert_eq!(t.bucket_endpoint("x").unwrap(), "https://images.s3.example.com:9000");

        // The URL's query wins over the configuration file.
        let file = S3Settings { region: Some("eu-west-3".into()), endpoint: Some("https://a.example".into()), ..S3Settings::default() };
        let t = S3Target::parse("s3://images?region=us-east-2", &file).unwrap();
        assert_eq!(t.settings.region.as_deref(), Some("us-east-2"));
        assert_eq!(t.settings.endpoint.as_deref(), Some("https://a.example"));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (url, why) in [
            ("s3://", "not a bucket name"),
            ("s3://UPPER/x", "not a bucket name"),
            ("s3://b/x", "not a bucket name"),
            ("s3://bucket/a//b", "key prefix"),
            ("s3://bucket/a/../b", "key prefix"),
            ("s3://bucket/a b", "key prefix"),
            ("s3://bucket?addressing=sideways", "expected path or virtual-host"),
            ("s3://bucket?secret_access_key=x", "does not belong in a URL"),
            ("s3://bucket?colour=blue", "unknown option"),
            ("s3://bucket?endpoint=ftp://x", "expected http(s)"),
            ("s3://bucket?endpoint=%zz", "percent-encoding"),
        ] {
            let err = target(url).expect_err(url);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{url}");
            assert!(err.to_string().contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn settings_debug_hides_secrets() {
        let settings = S3Settings {
            access_key_id: Some("GK1".into()),
            secret_access_key: Some("s3cr3t".into()),
            session_token: Some("t0k3n".into()),
            ..S3Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("GK1") && !shown.contains("s3cr3t") && !shown.contains("t0k3n"), "{shown}");
    }
}
