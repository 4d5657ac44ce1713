//! Serving one accepted connection: HTTP/1.1 or cleartext HTTP/2 (h2c, by its preface) on
//! the same port, with a graceful stop, and the limits that keep a hostile peer from holding
//! more than a bounded share of the server.
//!
//! The binary owns the sockets and decides when to stop; this function owns the protocol.
//! When `stop` resolves, the connection stops taking new requests (HTTP/1.1 closes after
//! the current response, HTTP/2 sends GOAWAY) and the future completes once the requests
//! already in flight have been answered.
//!
//! What a peer can hold, per connection ([`ConnectionLimits`]): its request headers must
//! arrive within the header timeout (HTTP/1.1; hyper's timer); an HTTP/2 connection carries at
//! most [`H2_MAX_STREAMS`] requests at once and is pinged, so a dead peer is noticed; and a
//! connection with no request in flight and no traffic for the idle timeout is closed, whatever
//! its protocol. Bodies are bounded by the gateway (deadline, size, a global byte budget) and
//! the number of connections by the listener.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::gateway::{Gateway, ResponseBody};
use super::operator::Operator;

/// Requests one HTTP/2 connection may have in flight (hyper's default is 200).
pub const H2_MAX_STREAMS: u32 = 32;

/// How often an HTTP/2 peer is pinged, and how long its answer may take.
const H2_PING_EVERY: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// What one connection may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// `server.header_timeout`.
    pub header_timeout: Duration,
    /// `server.idle_timeout`.
    pub idle_timeout: Duration,
}

/// What a connection answers with.
#[derive(Clone)]
pub enum App {
    /// The sealed API.
    Api(Arc<Gateway>),
    /// `/healthz`, `/readyz`, `/metrics`.
    Operator(Arc<Operator>),
}

impl App {
    async fn answer(self, request: Request<Incoming>) -> Response<ResponseBody> {
        match self {
            App::Api(gateway) => gateway.handle(request).await,
            App::Operator(operator) => operator.handle(&request),
        }
    }
}

/// Serves `stream` until the peer closes it, it stays idle past the limit, or `stop` comes
/// and the in-flight requests complete.
pub async fn serve_connection(
    stream: TcpStream,
    app: App,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let peer = stream.peer_addr().ok();
    let activity = Arc::new(Activity::new());
    let counting = Arc::clone(&activity);
    let service = service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let in_flight = InFlight::begin(&counting);
        async move {
            let response = app.answer(request).await;
            drop(in_flight);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .keep_alive_interval(H2_PING_EVERY)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let io = Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    };
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::pin!(stop);
    let idle = idle_for(&activity, limits.idle_timeout);
    tokio::pin!(idle);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = &mut stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
        () = &mut idle => {
            tracing::debug!(?peer, "closing an idle connection (server.idle_timeout)");
            Ok(())
        }
    };
    if let Err(error) = result {
        // Peers that hang up mid-request are normal traffic, not errors of the server.
        tracing::debug!(?peer, %error, "connection ended with an error");
    }
}

/// Resolves once the connection has had no request in flight and no traffic for `limit`.
async fn idle_for(activity: &Activity, limit: Duration) {
    loop {
        let quiet = activity.quiet_for();
        if activity.in_flight() == 0 && quiet >= limit {
            return;
        }
        // Look again when the limit could first be reached.
        tokio::time::sleep(limit.saturating_sub(quiet).max(Duration::from_millis(100))).await;
    }
}

/// When the connection last moved bytes, and how many of its requests are in flight.
struct Activity {
    started: Instant,
    /// Milliseconds after `started`.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Counts a request in flight until dropped (answered, or cancelled with its connection).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The socket, noting every read and write in the connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
