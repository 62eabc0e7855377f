//! Every listener's accept loop, plain or TLS, HTTP/1.1 and HTTP/2 (gRPC) by
//! ALPN or preface: a cap on open connections, a TLS handshake timeout, the
//! request-head timeout (HTTP/1), an idle timeout for connections with no request
//! in progress, a send timeout for clients that stop reading, HTTP/2 stream,
//! header-list and rapid-reset limits, and a lingering close so a refusal sent
//! before the request was read (413, 431) reaches the client instead of a reset.
//!
//! No connection holds a thread while it waits: every wait here is a timer on
//! the async runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use imagery_http_common::limits::{seconds, Limits, PeerAddr};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// hyper's read buffer while it parses a request head (and HTTP/2's header-list
/// limit): large enough that every head up to a megabyte reaches the front door,
/// which answers 431/414 in the dialect's own format; larger ones get hyper's
/// bare 431. It only grows as bytes arrive.
const HEAD_BUFFER: usize = (1 << 20) + (64 << 10);

/// How long, and how much, a closing connection keeps reading what the client
/// still sends, so that the answer it was given is not destroyed by a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 4 << 20;

/// Serve `router` on `listener` (over TLS when `tls` is given) until `shutdown`
/// turns true; then stop accepting and let open connections finish their
/// requests in flight for up to `limits.shutdown_grace_secs`, and close those
/// still open at that deadline (their requests are cancelled: an upload cut off
/// leaves its image for recovery, which returns it to `queued`).
pub fn spawn(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: &Limits,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let settings = Arc::new(Settings::from(limits));
    let slots = (limits.max_connections > 0).then(|| Arc::new(Semaphore::new(limits.max_connections)));
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            while connections.try_join_next().is_some() {}
            let slot = match &slots {
                Some(slots) => tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => Some(slot),
                        Err(_) => break,
                    },
                    _ = stopped(&mut shutdown) => break,
                },
                None => None,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped(&mut shutdown) => break,
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection { settings: settings.clone(), router: router.clone(), peer, shutdown: shutdown.clone() };
            connections.spawn(connection.serve(Lingering::new(stream, slot), tls.clone()));
        }
        drop(listener);
        if !connections.is_empty() {
            tracing::info!(connections = connections.len(), grace_secs = ?settings.shutdown_grace.map(|g| g.as_secs()), "stopped accepting; draining open connections");
        }
        while connections.join_next().await.is_some() {}
    })
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

struct Settings {
    header_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    send_timeout: Option<Duration>,
    handshake_timeout: Option<Duration>,
    /// How long requests in flight may run on after shutdown begins.
    shutdown_grace: Option<Duration>,
    builder: Builder<TokioExecutor>,
}

impl From<&Limits> for Settings {
    fn from(limits: &Limits) -> Self {
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(seconds(limits.header_timeout_secs))
            .max_buf_size(HEAD_BUFFER)
            .max_headers(512);
        let mut http2 = builder.http2();
        http2
            .timer(TokioTimer::new())
            .max_header_list_size(HEAD_BUFFER as u32)
            .max_pending_accept_reset_streams(Some(limits.h2_max_pending_reset_streams.max(1)))
            .max_local_error_reset_streams(Some(limits.h2_max_local_error_reset_streams.max(1)));
        if limits.h2_max_concurrent_streams > 0 {
            http2.max_concurrent_streams(limits.h2_max_concurrent_streams);
        }
        Settings {
            header_timeout: seconds(limits.header_timeout_secs),
            idle_timeout: seconds(limits.idle_timeout_secs),
            send_timeout: seconds(limits.send_timeout_secs),
            handshake_timeout: seconds(limits.tls_handshake_timeout_secs),
            shutdown_grace: seconds(limits.shutdown_grace_secs),
            builder,
        }
    }
}

struct Connection {
    settings: Arc<Settings>,
    router: Router,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(self, stream: Lingering, tls: Option<TlsAcceptor>) {
        let (mut shutdown, grace, peer) = (self.shutdown.clone(), self.settings.shutdown_grace, self.peer);
        let serving = self.serve_tls(stream, tls);
        tokio::pin!(serving);
        let Some(grace) = grace else {
            return serving.await;
        };
        tokio::select! {
            () = serving.as_mut() => return,
            _ = stopped(&mut shutdown) => {}
        }
        // Shutdown began: the connection finishes its requests in flight (see
        // `serve_io`), or is dropped with them at the deadline.
        if tokio::time::timeout(grace, serving).await.is_err() {
            tracing::warn!(%peer, grace_secs = grace.as_secs(), "closed a connection still busy at the end of the shutdown grace period");
        }
    }

    async fn serve_tls(self, stream: Lingering, tls: Option<TlsAcceptor>) {
        match tls {
            None => self.serve_io(stream).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                let accepted = match self.settings.handshake_timeout {
                    Some(limit) => match tokio::time::timeout(limit, handshake).await {
                        Ok(accepted) => accepted,
                        Err(_) => {
                            tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                            return;
                        }
                    },
                    None => handshake.await,
                };
                match accepted {
                    Ok(tls) => self.serve_io(tls).await,
                    Err(err) => tracing::debug!(%err, peer = %self.peer, "TLS handshake failed"),
                }
            }
        }
    }

    async fn serve_io<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(mut self, io: S) {
        let activity = Arc::new(Activity::default());
        let io = Watched::new(io, activity.clone(), &self.settings);
        let (router, peer) = (self.router.clone(), self.peer);
        let service = tower::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            let active = Active::enter(&activity);
            let router = router.clone();
            async move {
                let response = router.oneshot(request.map(Body::new)).await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| Body::new(Tracked { inner: body, _active: active })))
            }
        });
        let connection = self.settings.builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            _ = stopped(&mut self.shutdown) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(err) = result {
            tracing::debug!(%err, %peer, "connection ended with an error");
        }
    }
}

/// How many requests of a connection are in progress (until their response
/// body is sent): the idle timeout only runs when there are none.
#[derive(Default)]
struct Activity {
    requests: AtomicUsize,
}

struct Active(Arc<Activity>);

impl Active {
    fn enter(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::AcqRel);
        Active(activity.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress until sent.
struct Tracked {
    inner: Body,
    _active: Active,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's byte stream with its clocks: before the first byte the
/// header timeout, between requests the idle timeout, and while a write cannot
/// proceed the send timeout. Expiry is an I/O error, which ends the connection.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    header_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    send_timeout: Option<Duration>,
    seen_bytes: bool,
    read_clock: Option<Pin<Box<Sleep>>>,
    write_clock: Option<Pin<Box<Sleep>>>,
}

impl<S> Watched<S> {
    fn new(inner: S, activity: Arc<Activity>, settings: &Settings) -> Self {
        Watched {
            inner,
            activity,
            header_timeout: settings.header_timeout,
            idle_timeout: settings.idle_timeout,
            send_timeout: settings.send_timeout,
            seen_bytes: false,
            read_clock: None,
            write_clock: None,
        }
    }

    fn write_waited(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let limit = self.send_timeout?;
        let clock = self.write_clock.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        clock.as_mut().poll(cx).is_ready().then(|| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))
    }

    fn written<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.write_clock = None;
                Poll::Ready(result)
            }
            Poll::Pending => match self.write_waited(cx) {
                Some(err) => Poll::Ready(Err(err)),
                None => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.seen_bytes = true;
                }
                this.read_clock = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                if this.activity.requests.load(Ordering::Acquire) > 0 {
                    // A request is in progress: its body has its own progress timeout.
                    this.read_clock = None;
                    return Poll::Pending;
                }
                let limit = if this.seen_bytes { this.idle_timeout } else { this.header_timeout };
                let Some(limit) = limit else {
                    return Poll::Pending;
                };
                let clock = this.read_clock.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match clock.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle"))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(cx, poll)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.written(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.written(cx, poll)
    }
}

/// A TCP stream that, when dropped, keeps reading (and discarding) what the
/// client still sends for a short while before closing, so that a response
/// written before the request was fully read is not lost to a reset. It also
/// holds the listener's connection slot until then.
struct Lingering {
    stream: Option<TcpStream>,
    slot: Option<OwnedSemaphorePermit>,
}

impl Lingering {
    fn new(stream: TcpStream, slot: Option<OwnedSemaphorePermit>) -> Self {
        Lingering { stream: Some(stream), slot }
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let (Some(mut stream), Ok(runtime)) = (self.stream.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let slot = self.slot.take();
        runtime.spawn(async move {
            let _slot = slot;
            let _ = stream.shutdown().await;
            let mut sink = tokio::io::sink();
            let _ = tokio::time::timeout(LINGER_TIME, tokio::io::copy(&mut (&mut stream).take(LINGER_BYTES), &mut sink)).await;
        });
    }
}

impl AsyncRead for Lingering {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => Pin::new(stream).poll_read(cx, buf),
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(stream) => Pin::new(stream).poll_write(cx, buf),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => Pin::new(stream).poll_flush(cx),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => Pin::new(stream).poll_shutdown(cx),
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}

/// Raise the soft open-file limit to the hard one, so that the connection caps
/// (not the default 1,024 descriptors) decide how many clients are served.
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::debug!("could not raise the open-file limit");
            }
        }
    }
}
