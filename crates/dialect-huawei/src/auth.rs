//! Who is calling: an `SDK-HMAC-SHA256` signature checked against the access
//! key's secret (freshness of `X-Sdk-Date`, body hash, replays, `X-Project-Id`),
//! or an `X-Auth-Token` checked by the server's token validator. Failures are
//! API-gateway 401s; their reason goes to the log, the client gets APIG's words.
//!
//! The body is hashed unless the client signed `X-Sdk-Content-Sha256:
//! UNSIGNED-PAYLOAD`: JSON bodies are buffered (at most 1 MiB) and hashed, image
//! data sent unsigned streams through untouched, and image data with a declared
//! hash streams through a check that fails the upload at its end on a mismatch.

use std::io;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::OriginalUri;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use imagery_core::Caller;
use imagery_http_common::body::{read_limited, BodyError, MAX_DOCUMENT};
use imagery_http_common::AuthFailure;
use imagery_identity::IdentityError;
use sha2::{Digest, Sha256};

use crate::api_server::Shared;
use crate::error::{HuaweiError, HuaweiResult};
use crate::router::Endpoint;
use crate::signature::{self, Authorization, RequestToVerify, CONTENT_SHA256_HEADER, DATE_FORMAT, DATE_HEADER, UNSIGNED_PAYLOAD};
use imagery_core::cluster::Seen;

const SIGNATURE_FAIL: &str = "verify aksk signature fail";

fn refuse(access: &str, reason: &str, detail: &str) -> HuaweiError {
    tracing::warn!(method = "aksk", access_key_id = %access, %reason, "authentication failed");
    metrics::counter!("imagery_auth_failures_total", "method" => "aksk").increment(1);
    HuaweiError::unauthenticated(detail)
}

fn unavailable(err: &IdentityError) -> HuaweiError {
    tracing::error!(error = %err, "identity backend failure during authentication");
    HuaweiError::ims(StatusCode::SERVICE_UNAVAILABLE, "The identity service is temporarily unavailable.")
}

/// All values of a header, joined as one.
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Authenticate a request to `endpoint`; returns the caller and the body to hand on.
pub async fn authenticate(shared: &Shared, parts: &Parts, body: Body, endpoint: &Endpoint) -> HuaweiResult<(Caller, Body)> {
    let authorization = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(value) = authorization.filter(|a| a.trim_start().starts_with(signature::ALGORITHM)) {
        return signed(shared, parts, body, endpoint, value).await;
    }
    match shared.state.auth.keystone_caller(&parts.headers) {
        Ok(caller) => Ok((caller, body)),
        Err(AuthFailure::Missing) if authorization.is_some() => {
            tracing::warn!(method = "token", "authentication failed: unsupported Authorization scheme");
            Err(HuaweiError::unauthenticated("unsupported authorization algorithm"))
        }
        Err(AuthFailure::Missing) => Err(HuaweiError::unauthenticated("x-auth-token not found")),
        Err(AuthFailure::Invalid(why)) => {
            tracing::warn!(method = "token", reason = %why, "authentication failed");
            Err(HuaweiError::unauthenticated("decrypt token fail"))
        }
    }
}

async fn signed(shared: &Shared, parts: &Parts, body: Body, endpoint: &Endpoint, value: &str) -> HuaweiResult<(Caller, Body)> {
    let state = &shared.state;
    let Some(auth) = Authorization::parse(value) else {
        return Err(refuse("-", "malformed Authorization header", SIGNATURE_FAIL));
    };
    let access = auth.access.as_str();
    if !auth.signed_headers.iter().any(|h| h == DATE_HEADER) {
        return Err(refuse(access, "x-sdk-date is not signed", SIGNATURE_FAIL));
    }
    let Some(date_raw) = header_value(&parts.headers, DATE_HEADER) else {
        return Err(refuse(access, "no x-sdk-date header", SIGNATURE_FAIL));
    };
    let Ok(date) = chrono::NaiveDateTime::parse_from_str(date_raw.trim(), DATE_FORMAT).map(|d| d.and_utc()) else {
        return Err(refuse(access, "unreadable x-sdk-date", SIGNATURE_FAIL));
    };
    let now = chrono::Utc::now();
    let validity = chrono::Duration::from_std(state.signature_validity).unwrap_or(chrono::Duration::minutes(15));
    if (now - date).abs() > validity {
        return Err(refuse(access, "x-sdk-date outside the validity window", "signature expired"));
    }
    let key = match state.identity.access_key(access).await {
        Ok(Some(key)) => key,
        Ok(None) => return Err(refuse(access, "no such access key", SIGNATURE_FAIL)),
        Err(e) => return Err(unavailable(&e)),
    };
    let mut signed_headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let value = match header_value(&parts.headers, name) {
            Some(v) => v,
            // HTTP/2 carries the host in the `:authority` pseudo-header.
            None if name == "host" => match parts.uri.authority() {
                Some(authority) => authority.to_string(),
                None => return Err(refuse(access, "signed header host is missing", SIGNATURE_FAIL)),
            },
            None => return Err(refuse(access, &format!("signed header {name} is missing"), SIGNATURE_FAIL)),
        };
        signed_headers.push((name.clone(), value));
    }
    let (body_hash, body) = body_for_signature(&parts.headers, body, endpoint.streams_body(), access).await?;
    // Behind a router that nests this one, the client signed the full path.
    let uri = parts.extensions.get::<OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
    let canonical = signature::canonical_request(&RequestToVerify {
        method: parts.method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query(),
        signed_headers: &signed_headers,
        body_hash: &body_hash,
    });
    let expected = signature::signature(&key.secret, &signature::string_to_sign(date_raw.trim(), &canonical));
    if !signature::same_signature(&expected, &auth.signature) {
        // Header values may hold credentials (X-Security-Token): log their names only.
        let names = auth.signed_headers.join(";");
        tracing::debug!(path = %uri.path(), query = uri.query().unwrap_or(""), signed = %names, %body_hash, "rejected signature");
        return Err(refuse(access, "signature mismatch", SIGNATURE_FAIL));
    }
    // The SDK signs at one-second resolution, so identical reads within a second
    // share a signature; refusing them would break ordinary polling.
    if state.reject_replayed_reads || !endpoint.is_read(&parts.method) {
        // Shared by every node through the catalog: a request captured on its way
        // to one node cannot be replayed to another.
        let seen = state.identity.remember_signature(access, &auth.signature, date + validity, state.replay_budget_per_key).await;
        match seen.map_err(|e| unavailable(&e))? {
            Seen::Fresh => {}
            Seen::Replayed => {
                return Err(refuse(access, "replayed signature", "the request has already been received (replayed signature)"))
            }
            Seen::OverBudget => {
                tracing::warn!(
                    access,
                    "an access key has as many live signatures as its replay budget; refusing its signed requests until some expire"
                );
                return Err(HuaweiError::throttled(
                    "The throttling threshold has been reached: too many signed requests in the validity window.",
                ));
            }
        }
    }
    let principal = match state.identity.access_key_principal(&key).await {
        Ok(p) => p,
        Err(IdentityError::Unauthenticated { reason }) => return Err(refuse(access, &reason, SIGNATURE_FAIL)),
        Err(e) => return Err(unavailable(&e)),
    };
    if let Some(project) = header_value(&parts.headers, "x-project-id").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        if principal.project_id() != Some(project.as_str()) {
            return Err(refuse(
                access,
                "x-project-id is not the access key's project",
                "the X-Project-Id header does not match the access key's project",
            ));
        }
    }
    Ok((principal.caller(), body))
}

fn is_hex_sha256(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn body_for_signature(headers: &HeaderMap, body: Body, streams: bool, access: &str) -> HuaweiResult<(String, Body)> {
    let declared = header_value(headers, CONTENT_SHA256_HEADER).map(|v| v.trim().to_string());
    match declared {
        Some(v) if v == UNSIGNED_PAYLOAD => Ok((v, body)),
        Some(v) if is_hex_sha256(&v) => {
            let digest = v.to_ascii_lowercase();
            if streams {
                return Ok((v, checked_stream(body, digest)));
            }
            let bytes = read(body).await?;
            if signature::hex_sha256(&bytes) != digest {
                return Err(refuse(access, "body does not match x-sdk-content-sha256", SIGNATURE_FAIL));
            }
            Ok((v, Body::from(bytes)))
        }
        Some(_) => Err(refuse(access, "x-sdk-content-sha256 is neither a SHA-256 nor UNSIGNED-PAYLOAD", SIGNATURE_FAIL)),
        None => {
            let bytes = read(body).await?;
            Ok((signature::hex_sha256(&bytes), Body::from(bytes)))
        }
    }
}

async fn read(body: Body) -> HuaweiResult<Bytes> {
    read_limited(body, MAX_DOCUMENT).await.map_err(|e| match e {
        BodyError::TooLarge => HuaweiError::ims(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than 1 MiB: sign image data with 'X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD' to stream it.",
        ),
        BodyError::Unreadable => HuaweiError::bad_request("The request body could not be read."),
    })
}

/// The body as a stream whose end is an error unless its SHA-256 is `digest`.
fn checked_stream(body: Body, digest: String) -> Body {
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let feed = hasher.clone();
    let data = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(io::Error::other)?;
        feed.lock().unwrap_or_else(|p| p.into_inner()).update(&chunk);
        Ok::<Bytes, io::Error>(chunk)
    });
    let verdict = futures::stream::once(async move {
        let actual = hex::encode(hasher.lock().unwrap_or_else(|p| p.into_inner()).clone().finalize());
        (actual != digest).then(|| Err(io::Error::other("the image data does not match X-Sdk-Content-Sha256")))
    })
    .filter_map(futures::future::ready);
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>> = Box::pin(data.chain(verdict));
    Body::from_stream(stream)
}
