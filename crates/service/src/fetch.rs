//! Fetching import sources: the one outbound HTTP client, which Glance
//! `web-download` and Yandex create-from-URI (both [`ImageService::fetch_blob`])
//! use.
//!
//! - **Where**: the URL and every redirect (at most [`MAX_REDIRECTS`]) must be on
//!   the operator's allow-list ([`crate::sources`]), and every address a connection
//!   goes to must be a public one ([`reach`]). Host names are resolved by
//!   [`GuardedResolver`], which hands the connector only the addresses that pass,
//!   so what is checked is what is connected to (no DNS rebinding between check
//!   and connect); hosts written as IP literals never reach a resolver and are
//!   checked before the request and before each redirect is followed. The
//!   operator opens private addresses with an allow-list entry naming the
//!   address itself, or for every allowed host with `web_download_allow_private`.
//!   System proxies are not used: a proxy would resolve the names itself.
//! - **How long**: a connect timeout, a stall timeout (no response head or no body
//!   byte for that long) and a deadline for the whole fetch, each failing with a
//!   [`FetchFailure`] that names the URL.
//! - **How much**: a declared `Content-Length` beyond the size cap or the
//!   project's quota fails before the body is read; bytes beyond it stop the
//!   write as they arrive (`write_blob`).
//! - **What**: `Accept-Encoding: identity`, nothing is decompressed, and a
//!   response with any other `Content-Encoding` is refused.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use imagery_core::ports::ByteStream;
use imagery_core::{DomainError, DomainResult, FetchFailure, ImageData, Problem};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use reqwest::Url;
use tokio::time::Instant;

use crate::config::ServiceConfig;
use crate::sources::ImportSources;
use crate::upload::{Admission, Budget, WriteLimits};
use crate::ImageService;

/// Redirects an import follows at most.
pub(crate) const MAX_REDIRECTS: usize = 3;

/// How far an import may reach an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// A public unicast address: always.
    Public,
    /// Loopback, private, shared (CGNAT), documentation, benchmarking, reserved
    /// and other special unicast addresses: with `web_download_allow_private`, or
    /// through an allow-list entry naming the address.
    Private,
    /// Link-local, where cloud metadata services live (169.254.169.254): only
    /// through an allow-list entry naming the address.
    LinkLocal,
    /// Unspecified, multicast and broadcast addresses: never.
    Never,
}

/// What kind of address `ip` is. IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible,
/// NAT64 and 6to4 addresses are judged by the IPv4 address they carry.
pub(crate) fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if a == 0 || ip.is_multicast() || ip.is_broadcast() {
        // 0.0.0.0/8 ("this network", 0.0.0.0 connects to the host itself), 224.0.0.0/4, 255.255.255.255.
        return Reach::Never;
    }
    if a == 169 && b == 254 {
        return Reach::LinkLocal;
    }
    let special = a == 10
        || a == 127
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT), 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation (TEST-NET-1)
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18.0.0/15
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || a >= 240; // reserved, 240.0.0.0/4
    if special {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return reach_v4(v4);
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Reach::Never;
    }
    if ip.is_loopback() {
        return Reach::Private;
    }
    let s = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if s[0] & 0xffc0 == 0xfe80 {
        return Reach::LinkLocal;
    }
    if s[..6] == [0; 6] {
        // IPv4-compatible (deprecated): never better than private.
        return match reach_v4(embedded(s[6], s[7])) {
            Reach::Public => Reach::Private,
            other => other,
        };
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (well-known prefix): the gateway connects to the IPv4 address.
        return reach_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address of the tunnel end.
        return reach_v4(embedded(s[1], s[2]));
    }
    let special = s[0] & 0xfe00 == 0xfc00 // unique local, fc00::/7
        || s[0] & 0xffc0 == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, 2001:db8::/32
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation, 3fff::/20
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, benchmarking…), 2001::/23
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only, 100::/64
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1); // local-use NAT64, 64:ff9b:1::/48
    if special {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// Which addresses imports may connect to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Egress {
    allow_private: bool,
    /// The allow-list's IP-literal hosts, canonical (IPv4-mapped as IPv4).
    literals: Vec<IpAddr>,
}

impl Egress {
    pub(crate) fn new(allow_private: bool, sources: &ImportSources) -> Self {
        Egress { allow_private, literals: sources.literal_addresses().into_iter().map(|ip| ip.to_canonical()).collect() }
    }

    /// May a connection go to `ip`, which an allowed host name resolved to?
    fn permits_resolved(&self, ip: IpAddr) -> bool {
        match reach(ip) {
            Reach::Public => true,
            Reach::Private => self.allow_private,
            Reach::LinkLocal | Reach::Never => false,
        }
    }

    /// May a connection go to `ip`, written as the host of an allowed URL?
    fn permits_literal(&self, ip: IpAddr) -> bool {
        self.permits_resolved(ip) || (reach(ip) != Reach::Never && self.literals.contains(&ip.to_canonical()))
    }

    /// Refuse `url` if its host is an IP literal imports may not reach. (Names
    /// are checked when they are resolved; the URL parser has already turned
    /// every spelling of an IPv4 address — `2130706433`, `0x7f.1` — into one.)
    fn check_literal(&self, url: &Url) -> Result<(), FetchFailure> {
        let host = url.host_str().unwrap_or_default();
        let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() else {
            return Ok(());
        };
        if self.permits_literal(ip) {
            Ok(())
        } else {
            tracing::warn!(%url, %ip, "refusing an import source at a special address");
            Err(FetchFailure::SpecialAddress)
        }
    }
}

/// A refusal carried through reqwest's errors (the resolver, the redirect
/// policy) and through the body stream's I/O errors, found again by type.
#[derive(Debug)]
struct Refusal(FetchFailure);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refusal {}

/// A failure of the source while its body streams, carried as the body's I/O
/// error so that `write_blob` reports it as it is (see [`source_failure`]).
#[derive(Debug)]
pub(crate) struct SourceFailed(DomainError);

impl std::fmt::Display for SourceFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceFailed {}

/// The source's failure an I/O error of a fetched body carries, if it is one.
pub(crate) fn source_failure(err: &std::io::Error) -> Option<DomainError> {
    err.get_ref()?.downcast_ref::<SourceFailed>().map(|f| f.0.clone())
}

/// The first [`Refusal`] in an error's chain of sources.
fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<FetchFailure> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(Refusal(failure)) = e.downcast_ref::<Refusal>() {
            return Some(failure.clone());
        }
        next = e.source();
    }
    None
}

/// Resolves with tokio (the system resolver) and keeps only the addresses the
/// [`Egress`] permits; a name with none left fails.
struct GuardedResolver {
    egress: Arc<Egress>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = Arc::clone(&self.egress);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.iter().copied().filter(|a| egress.permits_resolved(a.ip())).collect();
            if permitted.is_empty() && !found.is_empty() {
                tracing::warn!(%host, addresses = ?found, "refusing an import source that resolves only to special addresses");
                return Err(Box::new(Refusal(FetchFailure::SpecialAddress)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// `0` seconds: no limit.
fn limit(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// The outbound client with its guards.
pub(crate) struct Fetcher {
    /// `None` when it could not be built (no TLS backend): imports fail.
    client: Option<reqwest::Client>,
    egress: Arc<Egress>,
    connect_secs: u64,
    stall_secs: u64,
    deadline_secs: u64,
}

impl Fetcher {
    pub(crate) fn new(config: &ServiceConfig, sources: &ImportSources) -> Self {
        let egress = Arc::new(Egress::new(config.web_download_allow_private, sources));
        let (allowed, guard) = (sources.clone(), Arc::clone(&egress));
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds every URL requested so far, the first one included.
            let failure = if attempt.previous().len() > MAX_REDIRECTS {
                Some(FetchFailure::TooManyRedirects { max: MAX_REDIRECTS })
            } else if let Err(failure) = guard.check_literal(attempt.url()) {
                Some(failure)
            } else if !allowed.allows_url(attempt.url()) {
                tracing::warn!(url = %attempt.url(), "refusing an import redirect outside the allow-list");
                Some(FetchFailure::RedirectNotAllowed)
            } else {
                None
            };
            match failure {
                Some(failure) => attempt.error(Refusal(failure)),
                None => attempt.follow(),
            }
        });
        let mut builder = reqwest::Client::builder()
            .redirect(redirects)
            .dns_resolver(Arc::new(GuardedResolver { egress: Arc::clone(&egress) }))
            .no_proxy()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .referer(false);
        if let Some(connect) = limit(config.web_download_connect_timeout_secs) {
            builder = builder.connect_timeout(connect);
        }
        let client = builder.build().map_err(|err| tracing::error!(%err, "could not build the import client; imports will fail")).ok();
        Fetcher {
            client,
            egress,
            connect_secs: config.web_download_connect_timeout_secs,
            stall_secs: config.web_download_stall_timeout_secs,
            deadline_secs: config.web_download_timeout_secs,
        }
    }
}

/// How a guarded wait ended.
enum Waited<T> {
    Done(T),
    Stalled,
    Late,
}

/// Wait for `work` at most `stall`, and not past `deadline`.
async fn guarded<F: Future>(work: F, stall: Option<Duration>, deadline: Option<Instant>) -> Waited<F::Output> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let (wait, late) = match (stall, left) {
        (_, Some(left)) if left.is_zero() => return Waited::Late,
        (None, None) => return Waited::Done(work.await),
        (Some(stall), None) => (stall, false),
        (None, Some(left)) => (left, true),
        (Some(stall), Some(left)) if left <= stall => (left, true),
        (Some(stall), Some(_)) => (stall, false),
    };
    match tokio::time::timeout(wait, work).await {
        Ok(done) => Waited::Done(done),
        Err(_) if late => Waited::Late,
        Err(_) => Waited::Stalled,
    }
}

/// The body of a fetched source, under the stall timeout and the deadline; its
/// errors carry the [`SourceFailed`] to report.
struct GuardedBody {
    inner: BoxStream<'static, reqwest::Result<Bytes>>,
    uri: Arc<str>,
    stall: Option<Duration>,
    deadline: Option<Instant>,
    stall_secs: u64,
    deadline_secs: u64,
    finished: bool,
}

impl GuardedBody {
    fn failed(&mut self, failure: FetchFailure) -> std::io::Error {
        self.finished = true;
        std::io::Error::other(SourceFailed(fetch_failed(&self.uri, failure)))
    }

    async fn next_chunk(&mut self) -> Option<std::io::Result<Bytes>> {
        if self.finished {
            return None;
        }
        match guarded(self.inner.next(), self.stall, self.deadline).await {
            Waited::Done(None) => None,
            Waited::Done(Some(Ok(chunk))) => Some(Ok(chunk)),
            Waited::Done(Some(Err(err))) => {
                tracing::warn!(uri = %self.uri, %err, "import source broke off");
                Some(Err(self.failed(FetchFailure::Interrupted)))
            }
            Waited::Stalled => {
                let secs = self.stall_secs;
                tracing::warn!(uri = %self.uri, secs, "import source stalled");
                Some(Err(self.failed(FetchFailure::Stalled { secs })))
            }
            Waited::Late => {
                let secs = self.deadline_secs;
                tracing::warn!(uri = %self.uri, secs, "import fetch ran out of time");
                Some(Err(self.failed(FetchFailure::Deadline { secs })))
            }
        }
    }
}

fn fetch_failed(uri: &str, failure: FetchFailure) -> DomainError {
    DomainError::BadRequest(Problem::Fetch { uri: uri.to_string(), failure })
}

/// A header value fit to repeat in a message: printable ASCII, short.
fn shown(value: &[u8]) -> String {
    value.iter().take(40).map(|&b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '?' }).collect()
}

impl ImageService {
    /// Open an import source: `uri` must be on the allow-list, and it, every
    /// redirect and every address connected to pass the guards of this module.
    /// Returns the body (stall- and deadline-guarded, never decompressed) and
    /// the length the source declared.
    pub async fn open_source(&self, uri: &str) -> DomainResult<(ByteStream, Option<u64>)> {
        let fetcher = &self.fetcher;
        let url = match Url::parse(uri) {
            Ok(url) if self.sources.allows_url(&url) => url,
            _ => return Err(DomainError::BadRequest(Problem::SourceNotAllowed { uri: uri.to_string() })),
        };
        fetcher.egress.check_literal(&url).map_err(|failure| fetch_failed(uri, failure))?;
        let stall = limit(fetcher.stall_secs);
        let deadline = limit(fetcher.deadline_secs).map(|total| Instant::now() + total);
        let Some(client) = &fetcher.client else {
            return Err(DomainError::Unavailable("Imports from URLs are unavailable on this server.".into()));
        };
        let request = client.get(url).header(ACCEPT_ENCODING, "identity").send();
        let response = match guarded(request, stall, deadline).await {
            Waited::Done(Ok(response)) => response,
            Waited::Done(Err(err)) => {
                let failure = refusal_in(&err).unwrap_or_else(|| {
                    tracing::warn!(%uri, %err, "could not fetch an import source");
                    if err.is_timeout() {
                        FetchFailure::ConnectTimeout { secs: fetcher.connect_secs }
                    } else {
                        FetchFailure::Unreachable
                    }
                });
                return Err(fetch_failed(uri, failure));
            }
            Waited::Stalled => return Err(fetch_failed(uri, FetchFailure::Stalled { secs: fetcher.stall_secs })),
            Waited::Late => return Err(fetch_failed(uri, FetchFailure::Deadline { secs: fetcher.deadline_secs })),
        };
        if !response.status().is_success() {
            return Err(fetch_failed(uri, FetchFailure::Status { code: response.status().as_u16() }));
        }
        if let Some(encoding) = response.headers().get(CONTENT_ENCODING) {
            let identity = encoding.to_str().is_ok_and(|e| e.trim().is_empty() || e.trim().eq_ignore_ascii_case("identity"));
            if !identity {
                return Err(fetch_failed(uri, FetchFailure::Encoded { encoding: shown(encoding.as_bytes()) }));
            }
        }
        let declared = response.content_length();
        let body = GuardedBody {
            inner: response.bytes_stream().boxed(),
            uri: Arc::from(uri),
            stall,
            deadline,
            stall_secs: fetcher.stall_secs,
            deadline_secs: fetcher.deadline_secs,
            finished: false,
        };
        let stream = futures::stream::unfold(body, |mut body| async move { body.next_chunk().await.map(|item| (item, body)) });
        Ok((stream.boxed(), declared))
    }

    /// Fetch `uri` into a new blob for an image of `owner`, admitted as
    /// `admission` says: the size cap and the project's quota apply to the
    /// declared length before the body is read, and to the bytes as they arrive.
    pub(crate) async fn fetch_blob(&self, uri: &str, owner: Option<&str>, admission: Admission<'_>) -> DomainResult<ImageData> {
        let limits = self.write_limits(owner, Budget::Stored, None).await?;
        let (body, declared) = self.open_source(uri).await?;
        if declared.is_some_and(|declared| declared > limits.max_bytes) {
            tracing::warn!(%uri, ?declared, max = limits.max_bytes, "refusing an import source larger than allowed");
            return Err(DomainError::OverLimit(limits.over_limit));
        }
        self.write_blob(body, WriteLimits { expected_size: declared, ..limits }, admission).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_addresses_are_classified() {
        for public in ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "192.0.1.1"]
        {
            assert_eq!(reach(ip(public)), Reach::Public, "{public}");
        }
        for private in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
        ] {
            assert_eq!(reach(ip(private)), Reach::Private, "{private}");
        }
        for link_local in ["169.254.169.254", "169.254.0.1"] {
            assert_eq!(reach(ip(link_local)), Reach::LinkLocal, "{link_local}");
        }
        for never in ["0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255"] {
            assert_eq!(reach(ip(never)), Reach::Never, "{never}");
        }
    }

    #[test]
    fn ipv6_addresses_are_classified() {
        for public in ["2606:4700:4700::1111", "2a00:1450:4001:80e::200e", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"] {
            assert_eq!(reach(ip(public)), Reach::Public, "{public}");
        }
        for private in ["::1", "fc00::1", "fd12:3456::1", "fec0::1", "2001:db8::1", "2001::1", "100::1", "64:ff9b:1::1", "3fff::1"] {
            assert_eq!(reach(ip(private)), Reach::Private, "{private}");
        }
        for link_local in ["fe80::1", "febf::1"] {
            assert_eq!(reach(ip(link_local)), Reach::LinkLocal, "{link_local}");
        }
        for never in ["::", "ff02::1", "ff05::2"] {
            assert_eq!(reach(ip(never)), Reach::Never, "{never}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        // IPv4-mapped.
        assert_eq!(reach(ip("::ffff:127.0.0.1")), Reach::Private);
        assert_eq!(reach(ip("::ffff:10.1.2.3")), Reach::Private);
        assert_eq!(reach(ip("::ffff:169.254.169.254")), Reach::LinkLocal);
        assert_eq!(reach(ip("::ffff:0.0.0.0")), Reach::Never);
        assert_eq!(reach(ip("::ffff:8.8.8.8")), Reach::Public);
        // IPv4-compatible (deprecated): private at best.
        assert_eq!(reach(ip("::127.0.0.1")), Reach::Private);
        assert_eq!(reach(ip("::169.254.169.254")), Reach::LinkLocal);
        assert_eq!(reach(ip("::8.8.8.8")), Reach::Private);
        // NAT64 and 6to4 reach the IPv4 address they carry.
        assert_eq!(reach(ip("64:ff9b::7f00:1")), Reach::Private);
        assert_eq!(reach(ip("64:ff9b::a9fe:a9fe")), Reach::LinkLocal);
        assert_eq!(reach(ip("2002:a9fe:a9fe::1")), Reach::LinkLocal);
        assert_eq!(reach(ip("2002:c0a8:0101::1")), Reach::Private);
    }

    fn egress(allow_private: bool, entries: &[&str]) -> Egress {
        Egress::new(allow_private, &ImportSources::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
    }

    #[test]
    fn the_operator_opens_private_addresses_by_literal_or_switch() {
        let closed = egress(false, &["http://127.0.0.1:8080/images/", "http://[fd00::5]/"]);
        assert!(closed.permits_literal(ip("127.0.0.1")));
        assert!(closed.permits_literal(ip("::ffff:127.0.0.1")), "the same address, mapped");
        assert!(closed.permits_literal(ip("fd00::5")));
        assert!(!closed.permits_literal(ip("127.0.0.2")));
        assert!(!closed.permits_literal(ip("169.254.169.254")));
        assert!(closed.permits_literal(ip("8.8.8.8")));
        // A literal entry does not open its address to names resolving to it.
        assert!(!closed.permits_resolved(ip("127.0.0.1")));
        assert!(closed.permits_resolved(ip("8.8.8.8")));

        let open = egress(true, &["https://mirror.example/"]);
        assert!(open.permits_resolved(ip("127.0.0.1")));
        assert!(open.permits_resolved(ip("10.0.0.1")));
        assert!(open.permits_resolved(ip("fd00::1")));
        assert!(!open.permits_resolved(ip("169.254.169.254")), "metadata needs a literal entry");
        assert!(!open.permits_resolved(ip("fe80::1")));
        assert!(!open.permits_resolved(ip("0.0.0.0")));
        assert!(!open.permits_literal(ip("224.0.0.1")));

        let metadata = egress(false, &["http://169.254.169.254/latest/"]);
        assert!(metadata.permits_literal(ip("169.254.169.254")));
        let never = egress(true, &["http://0.0.0.0/"]);
        assert!(!never.permits_literal(ip("0.0.0.0")), "never is never");
    }

    #[test]
    fn literal_hosts_are_checked_in_every_spelling() {
        let closed = egress(false, &[]);
        for url in [
            "http://127.0.0.1/x",
            "http://2130706433/x",
            "http://0x7f.1/x",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:a9fe:a9fe]/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(closed.check_literal(&parsed), Err(FetchFailure::SpecialAddress), "{url}");
        }
        assert_eq!(closed.check_literal(&Url::parse("http://mirror.example/x").unwrap()), Ok(()), "names are checked when resolved");
        assert_eq!(closed.check_literal(&Url::parse("http://8.8.8.8/x").unwrap()), Ok(()));
    }
}
