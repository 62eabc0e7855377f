//! The front door every HTTP and gRPC request passes before its dialect sees it:
//! request-line and header size limits (414/431), a declared body larger than the
//! service could ever accept (413, before a byte of it is read), token-bucket rate
//! limits per source address and per caller (429), a per-(login subject, address)
//! budget for failed logins (429), a global in-flight limit and a cap on
//! concurrent uploads (503), and a body-progress timeout (an upload whose client
//! stops sending fails instead of holding its image and a thread).
//!
//! The rules live here once; each dialect only says how it words a refusal
//! ([`Refusals`]). Budgets are per node and in memory ([`LocalBudgets`]): a
//! cluster-wide budget kept in the catalog is future work, and would implement
//! [`Budgets`] with the catalog as the shared state and memory as its cache.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every front-door and listener limit, with defaults meant for production. A
/// value of 0 turns that limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Seconds a client has to send a complete request head (HTTP/1), counted
    /// from the moment the connection is ready for it; also how long a new
    /// connection may stay silent, and HTTP/1 keep-alive idleness.
    pub header_timeout_secs: u64,
    /// Seconds a connection with no request in progress may stay idle (HTTP/2).
    pub idle_timeout_secs: u64,
    /// Seconds a TLS handshake may take.
    pub tls_handshake_timeout_secs: u64,
    /// Seconds a request body may go without a byte before the request fails
    /// (an upload then fails and its image returns to `queued`).
    pub body_timeout_secs: u64,
    /// Seconds a response may wait for the client to take bytes before the
    /// connection is closed.
    pub send_timeout_secs: u64,
    /// Open connections per listener; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Requests in progress on the whole node; beyond, 503.
    pub max_in_flight: usize,
    /// Image uploads in progress on the whole node; beyond, 503.
    pub max_uploads: usize,
    /// Requests per second from one source address (bucket of twice as many).
    pub per_address_rate: u32,
    /// Reading requests (GET, HEAD) per second by one caller (credential).
    pub per_caller_read_rate: u32,
    /// Writing requests per second by one caller.
    pub per_caller_write_rate: u32,
    /// Failed logins per minute for one (user, address) pair (also the burst);
    /// one address gets five times this across all users.
    pub login_failures_per_minute: u32,
    /// Largest request line (path and query), bytes; beyond, 414.
    pub max_uri_bytes: usize,
    /// Largest header section, bytes; beyond, 431.
    pub max_header_bytes: usize,
    /// HTTP/2 (and gRPC) streams per connection.
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2 streams a client may reset before the server has answered, per
    /// connection, before it is dropped (rapid-reset protection).
    pub h2_max_pending_reset_streams: usize,
    /// HTTP/2 streams the server may reset for a client's protocol errors before
    /// the connection is dropped.
    pub h2_max_local_error_reset_streams: usize,
    /// Password hashes (argon2, 19 MiB each) computed at once; 0: one per core.
    pub max_concurrent_logins: usize,
    /// Logins that may wait for a hash; beyond, 503 at once.
    pub login_queue: usize,
    /// Seconds a login waits for a hash before 503.
    pub login_queue_timeout_secs: u64,
    /// Seconds requests in flight may take to finish after a stop (SIGTERM): the
    /// listeners stop accepting at once, and connections still busy at the
    /// deadline are closed (an upload cut off returns its image to `queued`).
    /// 0 waits for every request however long it takes.
    pub shutdown_grace_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout_secs: 15,
            idle_timeout_secs: 60,
            tls_handshake_timeout_secs: 10,
            body_timeout_secs: 60,
            send_timeout_secs: 60,
            max_connections: 10_000,
            max_in_flight: 1024,
            max_uploads: 16,
            per_address_rate: 1000,
            per_caller_read_rate: 500,
            per_caller_write_rate: 100,
            login_failures_per_minute: 10,
            max_uri_bytes: 16 * 1024,
            max_header_bytes: 64 * 1024,
            h2_max_concurrent_streams: 128,
            h2_max_pending_reset_streams: 20,
            h2_max_local_error_reset_streams: 256,
            max_concurrent_logins: 0,
            login_queue: 64,
            login_queue_timeout_secs: 5,
            shutdown_grace_secs: 25,
        }
    }
}

impl Limits {
    /// Every limit off (benchmarks and debugging only): no timeouts, caps or budgets.
    /// The password-hash semaphore stays, sized one per core, with a long queue.
    pub fn off() -> Self {
        Limits {
            header_timeout_secs: 0,
            idle_timeout_secs: 0,
            tls_handshake_timeout_secs: 0,
            body_timeout_secs: 0,
            send_timeout_secs: 0,
            max_connections: 0,
            max_in_flight: 0,
            max_uploads: 0,
            per_address_rate: 0,
            per_caller_read_rate: 0,
            per_caller_write_rate: 0,
            login_failures_per_minute: 0,
            max_uri_bytes: 0,
            max_header_bytes: 0,
            login_queue: 1 << 20,
            login_queue_timeout_secs: 3600,
            ..Limits::default()
        }
    }
}

/// `Some(d)` for a non-zero number of seconds.
pub fn seconds(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Largest login request body buffered to learn whom it names; larger is 413.
pub const MAX_LOGIN_BODY: usize = 64 * 1024;

/// Seconds a client is asked to wait after a 503 that a dependency (catalog,
/// blob store, identity) caused.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;

/// Every 503 carries `Retry-After`: give a 503 without one
/// [`UNAVAILABLE_RETRY_AFTER`] seconds. Dialects call it on their error
/// responses; the front door on every response it passes.
pub fn retry_after_on_503(response: &mut Response) {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key(http::header::RETRY_AFTER) {
        response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER));
    }
}

/// Why the front door answers instead of the dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 429: this address, caller or login subject is over its budget.
    RateLimited { retry_after: u64 },
    /// 503: the node is at its in-flight or upload limit, or cannot hash now.
    Overloaded { retry_after: u64 },
    /// 413: the declared body is larger than `limit` bytes.
    TooLarge { limit: u64 },
    /// 414: the request target is longer than `limit` bytes.
    UriTooLong { limit: usize },
    /// 431: the header section is larger than `limit` bytes.
    HeadersTooLarge { limit: usize },
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Refusal::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }

    /// Seconds to wait before trying again, for 429 and 503.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::RateLimited { retry_after } | Refusal::Overloaded { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// A plain-English message, for dialects without their own wording.
    pub fn message(&self) -> String {
        match self {
            Refusal::RateLimited { retry_after } => {
                format!("Too many requests; the request rate limit is exceeded. Retry after {retry_after} seconds.")
            }
            Refusal::Overloaded { retry_after } => {
                format!("The server is busy with other requests. Retry after {retry_after} seconds.")
            }
            Refusal::TooLarge { limit } => format!("The request body is larger than the limit of {limit} bytes."),
            Refusal::UriTooLong { limit } => format!("The request URI is longer than the limit of {limit} bytes."),
            Refusal::HeadersTooLarge { limit } => format!("The request headers are larger than the limit of {limit} bytes."),
        }
    }
}

/// What is left of a caller's budgets, for dialects that report it (Azure's
/// `x-ms-ratelimit-remaining-subscription-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Remaining {
    pub reads: Option<u64>,
    pub writes: Option<u64>,
}

/// How one dialect words a refusal: its error envelope and status line. The
/// front door adds `Retry-After` itself.
pub trait Refusals: Send + Sync + 'static {
    fn render(&self, refusal: &Refusal, request: &Parts) -> Response;

    /// Report the caller's remaining budgets on a response (default: not at all).
    fn annotate(&self, _request: &Parts, _response: &mut Response, _remaining: Remaining) {}
}

/// Which requests are logins, and whom they name. Logins are limited per
/// (subject, address) on their failures, so an attacker elsewhere cannot lock a
/// user out and cannot guess passwords quickly from one address.
pub trait Logins: Send + Sync + 'static {
    /// Is this request an authentication attempt whose body names the subject?
    fn is_login(&self, request: &Parts) -> bool;
    /// Whom the attempt names (a user, client or key id), from the head and the
    /// (bounded) body; `None` when it names no one recognisable.
    fn subject(&self, request: &Parts, body: &[u8]) -> Option<String>;
    /// The subject of a request that is signed rather than a login (AK/SK):
    /// failed signatures count like failed logins.
    fn signer(&self, _request: &Parts) -> Option<String> {
        None
    }
}

/// Token buckets by key. A node-local implementation is [`LocalBudgets`]; a
/// catalog-backed one can replace it for cluster-wide budgets.
pub trait Budgets: Send + Sync + 'static {
    /// Take one token from `key`'s bucket (rate per second, burst): `Ok(left)`,
    /// or `Err(seconds until one is available)`.
    fn take(&self, key: &str, rate: f64, burst: f64) -> Result<u64, u64>;
    /// Give back a token taken by `take` (a login that succeeded).
    fn refund(&self, key: &str, burst: f64);
    /// Tokens left in `key`'s bucket without taking one.
    fn peek(&self, key: &str, rate: f64, burst: f64) -> u64;
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// In-memory token buckets, sharded; at most `max_keys` buckets are kept (full
/// ones are forgotten first, as they carry no information).
pub struct LocalBudgets {
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
    hasher: RandomState,
    max_keys_per_shard: usize,
}

impl LocalBudgets {
    pub fn new(max_keys: usize) -> Self {
        let shards = (0..16).map(|_| Mutex::new(HashMap::new())).collect();
        LocalBudgets { shards, hasher: RandomState::new(), max_keys_per_shard: (max_keys / 16).max(16) }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Bucket>> {
        let index = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[index]
    }

    fn with_bucket<T>(&self, key: &str, rate: f64, burst: f64, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let now = Instant::now();
        let mut map = self.shard(key).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= self.max_keys_per_shard && !map.contains_key(key) {
            map.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst);
            if map.len() >= self.max_keys_per_shard {
                // Still full of active buckets: forget them rather than grow without bound.
                tracing::warn!(buckets = map.len(), "rate-limit table full; resetting one shard");
                map.clear();
            }
        }
        let bucket = map.entry(key.to_string()).or_insert(Bucket { tokens: burst, updated: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate).min(burst);
        bucket.updated = now;
        f(bucket)
    }
}

impl Budgets for LocalBudgets {
    fn take(&self, key: &str, rate: f64, burst: f64) -> Result<u64, u64> {
        self.with_bucket(key, rate, burst, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(bucket.tokens as u64)
            } else {
                let wait = (1.0 - bucket.tokens) / rate.max(f64::MIN_POSITIVE);
                Err((wait.ceil() as u64).max(1))
            }
        })
    }

    fn refund(&self, key: &str, burst: f64) {
        let mut map = self.shard(key).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = map.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(burst);
        }
    }

    fn peek(&self, key: &str, rate: f64, burst: f64) -> u64 {
        self.with_bucket(key, rate, burst, |bucket| bucket.tokens as u64)
    }
}

/// The source address of a request, put in its extensions by the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Shared by every listener of a node: the global limits and budgets.
pub struct Gate {
    limits: Limits,
    budgets: Arc<dyn Budgets>,
    in_flight: Option<Arc<Semaphore>>,
    uploads: Option<Arc<Semaphore>>,
    /// Largest body the service could accept (its image size cap).
    max_body: u64,
    refused: AtomicU64,
}

impl Gate {
    pub fn new(limits: Limits, max_body: u64) -> Arc<Gate> {
        Self::with_budgets(limits, max_body, Arc::new(LocalBudgets::new(1 << 20)))
    }

    pub fn with_budgets(limits: Limits, max_body: u64, budgets: Arc<dyn Budgets>) -> Arc<Gate> {
        let semaphore = |n: usize| (n > 0).then(|| Arc::new(Semaphore::new(n)));
        Arc::new(Gate {
            in_flight: semaphore(limits.max_in_flight),
            uploads: semaphore(limits.max_uploads),
            limits,
            budgets,
            max_body,
            refused: AtomicU64::new(0),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many requests the front door has refused since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// One listener's front door: the node's [`Gate`] and how its dialect speaks.
#[derive(Clone)]
pub struct FrontDoor {
    gate: Arc<Gate>,
    refusals: Arc<dyn Refusals>,
    logins: Option<Arc<dyn Logins>>,
}

impl FrontDoor {
    pub fn new(gate: Arc<Gate>, refusals: Arc<dyn Refusals>, logins: Option<Arc<dyn Logins>>) -> Self {
        FrontDoor { gate, refusals, logins }
    }

    fn refuse(&self, refusal: Refusal, parts: &Parts) -> Response {
        self.gate.refused.fetch_add(1, Ordering::Relaxed);
        tracing::info!(status = refusal.status().as_u16(), "refused at the front door");
        // The dialect sets the status too: gRPC says everything with HTTP 200.
        let mut response = self.refusals.render(&refusal, parts);
        if let Some(secs) = refusal.retry_after() {
            response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if refusal.status() == StatusCode::PAYLOAD_TOO_LARGE || refusal.status() == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
            // The body (or the rest of the head) is not read: do not reuse the connection.
            response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Size of the header section as sent (`name: value\r\n` per field).
fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A request that streams image bytes in: a byte-stream body, or one larger than
/// any metadata document.
fn is_upload(parts: &Parts) -> bool {
    if is_read(&parts.method) {
        return false;
    }
    let octets = crate::body::content_type(&parts.headers).is_some_and(|t| t == "application/octet-stream");
    let large = declared_length(&parts.headers).is_some_and(|n| n > crate::body::MAX_DOCUMENT as u64);
    (octets && crate::body::has_body(&parts.headers)) || large
}

/// The credential a request presents, as a budget key (never the secret itself).
fn caller_key(headers: &HeaderMap, hasher: &RandomState) -> Option<String> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    if let Some(auth) = value("authorization") {
        if let Some(access) = auth.split([' ', ',']).find_map(|p| p.strip_prefix("Access=")) {
            return Some(format!("ak:{access}"));
        }
        return Some(format!("cred:{:x}", hasher.hash_one(auth)));
    }
    value("x-auth-token").or_else(|| value("x-storage-token")).map(|token| format!("cred:{:x}", hasher.hash_one(token)))
}

fn address_key(peer: Option<IpAddr>) -> String {
    match peer {
        Some(ip) => format!("addr:{ip}"),
        None => "addr:unknown".into(),
    }
}

/// Middleware: `axum::middleware::from_fn_with_state(door, imagery_http_common::limits::guard)`.
pub async fn guard(State(door): State<FrontDoor>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limits = &door.gate.limits;
    let budgets = &door.gate.budgets;
    let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip());

    if limits.max_uri_bytes > 0 && parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len()) > limits.max_uri_bytes {
        return door.refuse(Refusal::UriTooLong { limit: limits.max_uri_bytes }, &parts);
    }
    if limits.max_header_bytes > 0 && header_bytes(&parts.headers) > limits.max_header_bytes {
        return door.refuse(Refusal::HeadersTooLarge { limit: limits.max_header_bytes }, &parts);
    }

    if limits.per_address_rate > 0 {
        let rate = f64::from(limits.per_address_rate);
        if let Err(retry_after) = budgets.take(&address_key(peer), rate, rate * 2.0) {
            return door.refuse(Refusal::RateLimited { retry_after }, &parts);
        }
    }
    let caller = caller_key(&parts.headers, credential_hasher());
    let read = is_read(&parts.method);
    let caller_rates = |read: bool| {
        let rate = f64::from(if read { limits.per_caller_read_rate } else { limits.per_caller_write_rate });
        (rate > 0.0).then_some((rate, rate * 2.0))
    };
    let budget_key = |caller: &str, read: bool| format!("{caller}:{}", if read { "r" } else { "w" });
    if let (Some(caller), Some((rate, burst))) = (&caller, caller_rates(read)) {
        if let Err(retry_after) = budgets.take(&budget_key(caller, read), rate, burst) {
            return door.refuse(Refusal::RateLimited { retry_after }, &parts);
        }
    }

    if door.gate.max_body > 0 && declared_length(&parts.headers).is_some_and(|n| n > door.gate.max_body) {
        return door.refuse(Refusal::TooLarge { limit: door.gate.max_body }, &parts);
    }

    let body_timeout = seconds(limits.body_timeout_secs);
    // Only HTTP/1 has a connection to keep or close per request.
    let has_body = parts.version <= http::Version::HTTP_11
        && (declared_length(&parts.headers).is_some_and(|n| n > 0) || parts.headers.contains_key(http::header::TRANSFER_ENCODING));
    let body_read = Arc::new(AtomicBool::new(false));
    let mut body = Body::new(ProgressBody::tracked(body, body_timeout, body_read.clone()));

    // Failed logins are budgeted per (subject, address) and per address. A login
    // takes its token before the attempt (so concurrent guesses cannot overrun the
    // budget) and gets it back when it succeeds; a signed request only needs a
    // token to be left, and spends one when its signature is refused.
    let mut login_keys: Vec<(String, f64, f64)> = Vec::new();
    let mut signed = false;
    if let (Some(logins), true) = (&door.logins, limits.login_failures_per_minute > 0) {
        let subject = if logins.is_login(&parts) {
            if declared_length(&parts.headers).is_some_and(|n| n > MAX_LOGIN_BODY as u64) {
                return door.refuse(Refusal::TooLarge { limit: MAX_LOGIN_BODY as u64 }, &parts);
            }
            let bytes = match crate::body::read_limited(body, MAX_LOGIN_BODY).await {
                Ok(bytes) => bytes,
                Err(crate::body::BodyError::TooLarge) => return door.refuse(Refusal::TooLarge { limit: MAX_LOGIN_BODY as u64 }, &parts),
                // The client went away or stalled; the dialect sees an empty body.
                Err(crate::body::BodyError::Unreadable) => Bytes::new(),
            };
            let subject = logins.subject(&parts, &bytes).unwrap_or_else(|| "-".into());
            body_read.store(true, Ordering::Relaxed);
            body = Body::from(bytes);
            Some(subject)
        } else {
            signed = true;
            logins.signer(&parts)
        };
        if let Some(subject) = subject {
            let per_minute = f64::from(limits.login_failures_per_minute);
            let address = address_key(peer);
            login_keys = vec![
                (format!("login:{subject}@{address}"), per_minute / 60.0, per_minute),
                (format!("login:*@{address}"), per_minute * 5.0 / 60.0, per_minute * 5.0),
            ];
            for (i, (key, rate, burst)) in login_keys.iter().enumerate() {
                let verdict = if signed {
                    if budgets.peek(key, *rate, *burst) >= 1 {
                        Ok(0)
                    } else {
                        budgets.take(key, *rate, *burst)
                    }
                } else {
                    budgets.take(key, *rate, *burst)
                };
                if let Err(retry_after) = verdict {
                    if !signed {
                        refund_logins(budgets.as_ref(), &login_keys[..i]);
                    }
                    return door.refuse(Refusal::RateLimited { retry_after }, &parts);
                }
            }
        }
    }

    let _in_flight = match &door.gate.in_flight {
        Some(semaphore) => match semaphore.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return door.refuse(Refusal::Overloaded { retry_after: 1 }, &parts),
        },
        None => None,
    };
    let _upload: Option<OwnedSemaphorePermit> = match (&door.gate.uploads, is_upload(&parts)) {
        (Some(semaphore), true) => match semaphore.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return door.refuse(Refusal::Overloaded { retry_after: 5 }, &parts),
        },
        _ => None,
    };

    let head = clone_head(&parts);
    let mut response = next.run(Request::from_parts(parts, body)).await;

    let succeeded = response.status().is_success() || response.status().is_redirection();
    if signed {
        if matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            for (key, rate, burst) in &login_keys {
                let _ = budgets.take(key, *rate, *burst);
            }
        }
    } else if succeeded {
        refund_logins(budgets.as_ref(), &login_keys);
    }
    if response.status() == StatusCode::TOO_MANY_REQUESTS && !response.headers().contains_key(http::header::RETRY_AFTER) {
        response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    retry_after_on_503(&mut response);
    if has_body && !body_read.load(Ordering::Relaxed) {
        // Answered before the body was read (an error found first): the rest of
        // the body is discarded and the connection closed, so tell the client not
        // to reuse it rather than let its next request meet a closed socket.
        response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(caller) = &caller {
        let remaining = |read: bool| caller_rates(read).map(|(rate, burst)| budgets.peek(&budget_key(caller, read), rate, burst));
        door.refusals.annotate(&head, &mut response, Remaining { reads: remaining(true), writes: remaining(false) });
    }
    response
}

fn refund_logins(budgets: &dyn Budgets, keys: &[(String, f64, f64)]) {
    for (key, _, burst) in keys {
        budgets.refund(key, *burst);
    }
}

/// Keys credential hashes: random per process, so a budget key says nothing
/// about the credential outside it.
fn credential_hasher() -> &'static RandomState {
    static HASHER: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

/// Method, URI, version and headers of a request (its extensions are not needed
/// to word a refusal or annotate a response).
fn clone_head(parts: &Parts) -> Parts {
    let mut builder = http::Request::builder().method(parts.method.clone()).uri(parts.uri.clone()).version(parts.version);
    if let Some(headers) = builder.headers_mut() {
        headers.clone_from(&parts.headers);
    }
    let (mut head, ()) = builder.body(()).unwrap_or_default().into_parts();
    if let Some(id) = parts.extensions.get::<crate::RequestId>() {
        head.extensions.insert(id.clone());
    }
    head
}

/// A request body that fails when no bytes arrive for `timeout` while the
/// handler is waiting for them.
pub struct ProgressBody {
    inner: Body,
    timeout: Option<Duration>,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set once the body has been read to its end.
    finished: Arc<AtomicBool>,
}

impl ProgressBody {
    pub fn new(inner: Body, timeout: Option<Duration>) -> Self {
        Self::tracked(inner, timeout, Arc::new(AtomicBool::new(false)))
    }

    /// A body that also says, through `finished`, whether it was read to its end.
    pub fn tracked(inner: Body, timeout: Option<Duration>, finished: Arc<AtomicBool>) -> Self {
        ProgressBody { inner, timeout, stall: None, finished }
    }
}

/// The error a stalled body ends with.
#[derive(Debug)]
pub struct BodyStalled(pub Duration);

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no request body bytes for {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyStalled {}

impl HttpBody for ProgressBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall = None;
                if frame.is_none() || this.inner.is_end_stream() {
                    this.finished.store(true, Ordering::Relaxed);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let Some(timeout) = this.timeout else {
                    return Poll::Pending;
                };
                let stall = this.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::info!(secs = timeout.as_secs(), "request body stalled");
                        Poll::Ready(Some(Err(Box::new(BodyStalled(timeout)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_and_refuse() {
        let budgets = LocalBudgets::new(1000);
        assert_eq!(budgets.take("k", 1.0, 2.0), Ok(1));
        assert_eq!(budgets.take("k", 1.0, 2.0), Ok(0));
        assert_eq!(budgets.take("k", 1.0, 2.0), Err(1));
        budgets.refund("k", 2.0);
        assert_eq!(budgets.take("k", 1.0, 2.0), Ok(0));
        assert_eq!(budgets.take("other", 0.1, 1.0), Ok(0));
        assert_eq!(budgets.take("other", 0.1, 1.0), Err(10));
    }

    #[test]
    fn the_table_stays_bounded() {
        let budgets = LocalBudgets::new(256);
        for i in 0..10_000 {
            let _ = budgets.take(&format!("key{i}"), 1.0, 2.0);
        }
        let total: usize = budgets.shards.iter().map(|s| s.lock().map(|m| m.len()).unwrap_or(0)).sum();
        assert!(total <= 256, "{total}");
    }

    #[test]
    fn every_503_says_when_to_retry() {
        let mut unavailable = Response::new(Body::empty());
        *unavailable.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        retry_after_on_503(&mut unavailable);
        assert_eq!(unavailable.headers().get(http::header::RETRY_AFTER), Some(&HeaderValue::from(UNAVAILABLE_RETRY_AFTER)));
        unavailable.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        retry_after_on_503(&mut unavailable);
        assert_eq!(unavailable.headers().get(http::header::RETRY_AFTER), Some(&HeaderValue::from_static("5")), "kept");
        let mut fine = Response::new(Body::empty());
        retry_after_on_503(&mut fine);
        assert!(!fine.headers().contains_key(http::header::RETRY_AFTER));
    }

    #[test]
    fn credentials_become_keys_without_their_secret() {
        let hasher = RandomState::new();
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", HeaderValue::from_static("gAAAA-secret"));
        let key = caller_key(&headers, &hasher).unwrap_or_default();
        assert!(key.starts_with("cred:") && !key.contains("secret"), "{key}");
        headers.insert("authorization", HeaderValue::from_static("SDK-HMAC-SHA256 Access=AKID1, SignedHeaders=host, Signature=abc"));
        assert_eq!(caller_key(&headers, &hasher).as_deref(), Some("ak:AKID1"));
    }
}
