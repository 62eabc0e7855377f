//! The S3 calls object_store does not offer, made with its SigV4 signer over the same
//! reqwest client stack: the start-up probe of the bucket, the multipart copy that
//! commits objects above 5 GiB (UploadPartCopy), and the listing and aborting of
//! multipart uploads left behind by a crash.
//!
//! Responses are small XML documents; S3 may answer 200 and still carry an `<Error>`
//! (CompleteMultipartUpload, UploadPartCopy), so every body is checked for one.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use imagery_core::time::Timestamp;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::parts;

/// UploadPartCopy requests in flight during one multipart copy.
const COPIES_IN_FLIGHT: usize = 4;
/// How long the start-up probe waits for the bucket.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// One bucket (and key prefix) of an S3-compatible service.
#[derive(Debug)]
pub(crate) struct S3Bucket {
    http: reqwest::Client,
    bucket: String,
    /// `https://host/bucket` (path style) or `https://bucket.host`, no trailing slash.
    bucket_endpoint: String,
    region: String,
    /// Prepended to every location with a slash; empty for none.
    prefix: String,
    credentials: AwsCredentialProvider,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingUpload {
    /// The location inside the store (without the prefix).
    pub(crate) location: String,
    pub(crate) upload_id: String,
    pub(crate) initiated: Timestamp,
}

impl S3Bucket {
    pub(crate) fn new(
        http: reqwest::Client,
        bucket: String,
        bucket_endpoint: String,
        region: String,
        prefix: String,
        credentials: AwsCredentialProvider,
    ) -> Self {
        S3Bucket { http, bucket, bucket_endpoint: bucket_endpoint.trim_end_matches('/').to_string(), region, prefix, credentials }
    }

    /// What the bucket is called in messages: `bucket "name" at https://…`.
    pub(crate) fn describe(&self) -> String {
        format!("S3 bucket {:?} at {}", self.bucket, self.bucket_endpoint)
    }

    fn key(&self, location: &str) -> String {
        if self.prefix.is_empty() {
            location.to_string()
        } else {
            format!("{}/{location}", self.prefix)
        }
    }

    fn location_of<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
        }
    }

    /// Checks at start that the bucket exists and the credentials may list it, so a
    /// misconfiguration is one clear line rather than the first upload failing.
    pub(crate) async fn probe(&self) -> io::Result<()> {
        let prefix = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let query = [("list-type", "2"), ("max-keys", "1"), ("prefix", prefix.as_str())];
        let request =
            Request { method: Method::GET, key: None, query: &query, headers: &[], body: Bytes::new(), timeout: Some(PROBE_TIMEOUT) };
        let (status, body) = self.send(request).await.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.describe())))?;
        if status.is_success() {
            return Ok(());
        }
        let error = S3ErrorBody::parse(&body);
        let code = error.code.as_deref().unwrap_or("");
        let detail = error.summary(status);
        let (kind, why) = match (status, code) {
            (_, "NoSuchBucket") | (StatusCode::NOT_FOUND, _) => (io::ErrorKind::NotFound, "the bucket does not exist"),
            (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken" | "ExpiredToken" | "InvalidSecurity") => {
                (io::ErrorKind::PermissionDenied, "the credentials were rejected")
            }
            (StatusCode::FORBIDDEN, _) => (io::ErrorKind::PermissionDenied, "the credentials were rejected or may not list the bucket"),
            (StatusCode::MOVED_PERMANENTLY, _)
            | (_, "AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException") => {
                (io::ErrorKind::InvalidInput, "wrong region or endpoint for this bucket")
            }
            _ => (io::ErrorKind::Other, "the bucket cannot be listed"),
        };
        Err(io::Error::new(kind, format!("{}: {why} ({detail})", self.describe())))
    }

    /// Multipart uploads in progress under `location_prefix`.
    pub(crate) async fn pending_uploads(&self, location_prefix: &str) -> io::Result<Vec<PendingUpload>> {
        let key_prefix = self.key(location_prefix);
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker) = (String::new(), String::new());
        loop {
            let mut query = vec![("uploads", ""), ("prefix", key_prefix.as_str())];
            if !key_marker.is_empty() {
                query.push(("key-marker", key_marker.as_str()));
                query.push(("upload-id-marker", id_marker.as_str()));
            }
            let body = self.call(Method::GET, None, &query, &[], Bytes::new(), "list multipart uploads").await?;
            let page: ListMultipartUploadsResult = parse_xml(&body, "ListMultipartUploads")?;
            for upload in page.uploads {
                if let Some(location) = self.location_of(&upload.key) {
                    uploads.push(PendingUpload {
                        location: location.to_string(),
                        upload_id: upload.upload_id,
                        initiated: upload.initiated,
                    });
                }
            }
            match (page.is_truncated, page.next_key_marker, page.next_upload_id_marker) {
                (true, Some(key), Some(id)) if !key.is_empty() && (key != key_marker || id != id_marker) => {
                    key_marker = key;
                    id_marker = id;
                }
                _ => return Ok(uploads),
            }
        }
    }

    /// When the upload last received a part (its start if it has none).
    pub(crate) async fn last_activity(&self, upload: &PendingUpload) -> io::Result<Timestamp> {
        let key = self.key(&upload.location);
        let mut latest = upload.initiated;
        let mut marker = String::new();
        loop {
            let mut query = vec![("uploadId", upload.upload_id.as_str())];
            if !marker.is_empty() {
                query.push(("part-number-marker", marker.as_str()));
            }
            let body = match self.call(Method::GET, Some(&key), &query, &[], Bytes::new(), "list parts").await {
                Ok(body) => body,
                // Completed or aborted since it was listed: nothing left to date.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(latest),
                Err(e) => return Err(e),
            };
            let page: ListPartsResult = parse_xml(&body, "ListParts")?;
            for part in &page.parts {
                latest = latest.max(part.last_modified);
            }
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(next)) if !next.is_empty() && next != marker => marker = next,
                _ => return Ok(latest),
            }
        }
    }

    /// Abort a multipart upload; one already gone is not an error.
    pub(crate) async fn abort(&self, location: &str, upload_id: &str) -> io::Result<()> {
        let key = self.key(location);
        match self.call(Method::DELETE, Some(&key), &[("uploadId", upload_id)], &[], Bytes::new(), "abort multipart upload").await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Copy `size` bytes from `source` to `destination` (locations) with a multipart
    /// copy: CopyObject stops at 5 GiB. Aborted on failure.
    pub(crate) async fn multipart_copy(&self, source: &str, destination: &str, size: u64, part: u64) -> io::Result<()> {
        let key = self.key(destination);
        let body = self.call(Method::POST, Some(&key), &[("uploads", "")], &[], Bytes::new(), "start multipart copy").await?;
        let started: InitiateMultipartUploadResult = parse_xml(&body, "CreateMultipartUpload")?;
        let upload_id = started.upload_id;
        match self.copy_parts(source, &key, &upload_id, size, part).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Err(abort) = self.abort(destination, &upload_id).await {
                    tracing::warn!(%destination, error = %abort, "could not abort a failed multipart copy; the sweep will");
                }
                Err(e)
            }
        }
    }

    async fn copy_parts(&self, source: &str, key: &str, upload_id: &str, size: u64, part: u64) -> io::Result<()> {
        let copy_source = format!("/{}/{}", self.bucket, encode_key(&self.key(source)));
        let ranges: Vec<(u32, u64, u64)> =
            (0..size.div_ceil(part)).map(|i| (i as u32 + 1, i * part, ((i + 1) * part).min(size) - 1)).collect();
        if ranges.len() > parts::MAX_PARTS as usize {
            return Err(io::Error::other(format!("an object of {size} bytes is too large to copy")));
        }
        let etags: Vec<(u32, String)> = futures::stream::iter(ranges)
            .map(|(number, first, last)| {
                let copy_source = copy_source.clone();
                async move {
                    let number_text = number.to_string();
                    let range = format!("bytes={first}-{last}");
                    let headers = [("x-amz-copy-source", copy_source.as_str()), ("x-amz-copy-source-range", range.as_str())];
                    let query = [("partNumber", number_text.as_str()), ("uploadId", upload_id)];
                    let body = self.call(Method::PUT, Some(key), &query, &headers, Bytes::new(), "copy part").await?;
                    let copied: CopyPartResult = parse_xml(&body, "UploadPartCopy")?;
                    Ok::<_, io::Error>((number, copied.etag))
                }
            })
            .buffered(COPIES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut complete = String::from("<CompleteMultipartUpload>");
        for (number, etag) in &etags {
            complete.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
                quick_xml::escape::escape(etag.as_str())
            ));
        }
        complete.push_str("</CompleteMultipartUpload>");
        let body =
            self.call(Method::POST, Some(key), &[("uploadId", upload_id)], &[], Bytes::from(complete), "complete multipart copy").await?;
        let _: CompleteMultipartUploadResult = parse_xml(&body, "CompleteMultipartUpload")?;
        Ok(())
    }

    /// Send a signed request; a non-2xx status or an `<Error>` body is an error
    /// (`NotFound` for 404).
    async fn call(
        &self,
        method: Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
        what: &str,
    ) -> io::Result<Bytes> {
        let request = Request { method, key, query, headers, body, timeout: None };
        let (status, body) = self.send(request).await.map_err(|e| io::Error::new(e.kind(), format!("S3 {what}: {e}")))?;
        if status.is_success() && !is_error_document(&body) {
            return Ok(body);
        }
        let error = S3ErrorBody::parse(&body);
        let kind = match (status, error.code.as_deref()) {
            (StatusCode::NOT_FOUND, _) | (_, Some("NoSuchUpload" | "NoSuchKey")) => io::ErrorKind::NotFound,
            (StatusCode::FORBIDDEN, _) => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::Other,
        };
        Err(io::Error::new(kind, format!("S3 {what} on {}: {}", self.describe(), error.summary(status))))
    }

    async fn send(&self, request: Request<'_>) -> io::Result<(StatusCode, Bytes)> {
        let mut url = match request.key {
            Some(key) => format!("{}/{}", self.bucket_endpoint, encode_key(key)),
            None => format!("{}/", self.bucket_endpoint),
        };
        if !request.query.is_empty() {
            url.push('?');
            let pairs: Vec<String> = request
                .query
                .iter()
                .map(|(name, value)| if value.is_empty() { name.to_string() } else { format!("{name}={}", encode_query(value)) })
                .collect();
            url.push_str(&pairs.join("&"));
        }
        let mut builder = self.http.request(request.method, &url);
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        if !request.body.is_empty() {
            builder = builder.header("content-type", "application/xml");
        }
        let mut signed = builder
            .body(request.body)
            .build()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("invalid request to {url}: {}", error_chain(&e))))?;
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, format!("no S3 credentials: {e}")))?;
        if let Some(token) = &credential.token {
            // The signer would panic on a token that is not a valid header value.
            if reqwest::header::HeaderValue::from_str(token).is_err() {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "the S3 session token is not a valid header value"));
            }
        }
        AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut signed, None);
        let response = self.http.execute(signed).await.map_err(|e| {
            let kind = if e.is_timeout() { io::ErrorKind::TimedOut } else { io::ErrorKind::ConnectionRefused };
            io::Error::new(kind, format!("cannot reach {}: {}", self.bucket_endpoint, error_chain(&e)))
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| io::Error::other(format!("reading the answer of {}: {}", self.bucket_endpoint, error_chain(&e))))?;
        Ok((status, body))
    }
}

struct Request<'a> {
    method: Method,
    key: Option<&'a str>,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
    body: Bytes,
    timeout: Option<Duration>,
}

/// An error and its causes on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Percent-encodes a key for a URL path, keeping its slashes (S3's URI encoding).
fn encode_key(key: &str) -> String {
    key.split('/').map(encode_query).collect::<Vec<_>>().join("/")
}

/// Percent-encodes everything but S3's unreserved characters.
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_error_document(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let text = text.trim_start();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map(|(_, after)| after.trim_start()).unwrap_or(""),
        None => text,
    };
    text.starts_with("<Error>") || text.starts_with("<Error ")
}

fn parse_xml<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> io::Result<T> {
    let text = std::str::from_utf8(body).map_err(|_| io::Error::other(format!("S3 {what}: the answer is not UTF-8")))?;
    quick_xml::de::from_str(text).map_err(|e| io::Error::other(format!("S3 {what}: unexpected answer ({e})")))
}

/// `<Error><Code>…</Code><Message>…</Message></Error>`, as far as it can be read.
#[derive(Debug, Default, Deserialize)]
struct S3ErrorBody {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

impl S3ErrorBody {
    fn parse(body: &[u8]) -> Self {
        std::str::from_utf8(body).ok().and_then(|text| quick_xml::de::from_str(text).ok()).unwrap_or_default()
    }

    fn summary(&self, status: StatusCode) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("HTTP {}, {code}: {}", status.as_u16(), one_line(message)),
            (Some(code), None) => format!("HTTP {}, {code}", status.as_u16()),
            _ => format!("HTTP {}", status.as_u16()),
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Deserialize)]
struct ListMultipartUploadsResult {
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextKeyMarker", default)]
    next_key_marker: Option<String>,
    #[serde(rename = "NextUploadIdMarker", default)]
    next_upload_id_marker: Option<String>,
    #[serde(rename = "Upload", default)]
    uploads: Vec<UploadEntry>,
}

#[derive(Debug, Deserialize)]
struct UploadEntry {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "UploadId")]
    upload_id: String,
    #[serde(rename = "Initiated")]
    initiated: Timestamp,
}

#[derive(Debug, Deserialize)]
struct ListPartsResult {
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextPartNumberMarker", default)]
    next_part_number_marker: Option<String>,
    #[serde(rename = "Part", default)]
    parts: Vec<PartEntry>,
}

#[derive(Debug, Deserialize)]
struct PartEntry {
    #[serde(rename = "LastModified")]
    last_modified: Timestamp,
}

#[derive(Debug, Deserialize)]
struct InitiateMultipartUploadResult {
    #[serde(rename = "UploadId")]
    upload_id: String,
}

#[derive(Debug, Deserialize)]
struct CopyPartResult {
    #[serde(rename = "ETag")]
    etag: String,
}

#[derive(Debug, Deserialize)]
struct CompleteMultipartUploadResult {
    #[serde(rename = "Key", default)]
    _key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_queries_are_encoded_like_s3() {
        assert_eq!(encode_key("pre fix/staging/a+b"), "pre%20fix/staging/a%2Bb");
        assert_eq!(encode_query("a/b=c"), "a%2Fb%3Dc");
    }

    #[test]
    fn error_documents_are_recognised_and_summarised() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered\n an error</Message></Error>";
        assert!(is_error_document(body));
        assert_eq!(S3ErrorBody::parse(body).summary(StatusCode::OK), "HTTP 200, InternalError: We encountered an error");
        assert!(!is_error_document(b"<?xml version=\"1.0\"?><CopyPartResult><ETag>\"x\"</ETag></CopyPartResult>"));
        assert_eq!(S3ErrorBody::parse(b"not xml").summary(StatusCode::BAD_GATEWAY), "HTTP 502");
    }

    #[test]
    fn listings_parse() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>p/staging/2</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>
  <MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>p/staging/1</Key><UploadId>id1</UploadId><Initiated>2024-05-01T10:00:00.000Z</Initiated><StorageClass>STANDARD</StorageClass></Upload>
  <Upload><Key>p/staging/2</Key><UploadId>id2</UploadId><Initiated>2024-05-01T11:00:00Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let page: ListMultipartUploadsResult = parse_xml(body, "test").unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[1].upload_id, "id2");
        let empty: ListMultipartUploadsResult =
            parse_xml(b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>", "test").unwrap();
        assert!(empty.uploads.is_empty() && !empty.is_truncated);
        let parts: ListPartsResult = parse_xml(
            b"<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><LastModified>2024-05-01T10:00:01.000Z</LastModified><ETag>\"e\"</ETag><Size>5</Size></Part></ListPartsResult>",
            "test",
        )
        .unwrap();
        assert_eq!(parts.parts.len(), 1);
    }
}
