//! Serving HTTP (and HTTPS) on one or more listeners, with the limits a daemon on an open network
//! needs: a header-read timeout, an idle keep-alive timeout, a TLS handshake timeout, a cap on
//! open connections and (on the telemetry path) on requests in flight. Hitting a limit is logged,
//! at most once per [`LOG_EVERY`] per kind.
//!
//! Each connection has a watchdog instead of per-read deadlines: a connection with no request
//! in flight is closed once it has spent `header_timeout` on a request head (counted from the
//! accept, or from the first byte after the previous response) or `idle_timeout` without a byte.
//! Silent, trickling and idle clients all end up there; a slow handler never does.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::web_config::WebState;

/// Connection limits and timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time allowed for a request's head (line and headers), from the accept or the first byte.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Time allowed for the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Open connections at most (further clients wait in the kernel's accept queue).
    pub max_connections: usize,
    /// Scrapes of the telemetry path in flight at most (0: no limit); more get 503.
    pub max_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_requests: 40,
        }
    }
}

pub use crate::loglimit::{log_limited, LogLimit, LOG_EVERY};

pub static CONNECTION_LIMIT: LogLimit = LogLimit::new();
pub static REQUEST_LIMIT: LogLimit = LogLimit::new();
pub static TIMED_OUT: LogLimit = LogLimit::new();
pub static CLIENT_CERT: LogLimit = LogLimit::new();
pub static ACCEPT: LogLimit = LogLimit::new();

/// Raises the soft limit on open files to the hard limit, as the Go runtime does at start-up,
/// and returns the new (soft, hard) limits.
#[cfg(unix)]
pub fn raise_fd_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(io::Error::last_os_error());
            }
            limit = raised;
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
}

/// The sockets systemd passed (socket activation: `LISTEN_FDS` descriptors from 3, for the process
/// named by `LISTEN_PID`). Call it first thing, before anything else opens descriptors.
#[cfg(unix)]
pub fn systemd_listeners() -> io::Result<Vec<std::net::TcpListener>> {
    use std::os::fd::FromRawFd;
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    let (Some(pid), Some(count)) = (var("LISTEN_PID"), var("LISTEN_FDS")) else {
        return Err(io::Error::other(
            "--web.systemd-socket: no sockets passed (LISTEN_PID and LISTEN_FDS are not set; start through a .socket unit)",
        ));
    };
    if pid != std::process::id() {
        return Err(io::Error::other(format!(
            "--web.systemd-socket: the sockets were passed to process {pid}, not this one"
        )));
    }
    if count == 0 || count > 64 {
        return Err(io::Error::other(format!(
            "--web.systemd-socket: LISTEN_FDS={count}"
        )));
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    (3..3 + count as i32)
        .map(|fd| {
            // Check before taking ownership: closing a descriptor that is not ours would be worse
            // than refusing to start.
            // SAFETY: fstat only writes the struct passed by pointer.
            let is_socket = unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
            };
            if !is_socket {
                return Err(io::Error::other(format!(
                    "--web.systemd-socket: descriptor {fd} is not a socket"
                )));
            }
            // SAFETY: systemd hands these descriptors to this process, which owns them from here.
            let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            listener.local_addr()?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        })
        .collect()
}

/// Middleware for the telemetry path: at most `max_requests` in flight, then 503.
pub async fn max_requests(
    State(slots): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match slots.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            log_limited(
                &REQUEST_LIMIT,
                "--web.max-requests reached: answering 503 to a scrape",
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many scrapes in flight (--web.max-requests)\n",
            )
                .into_response()
        }
    }
}

/// Serves `app` on every listener until `shutdown`, then lets requests in flight finish (bounded).
pub async fn serve(
    listeners: Vec<TcpListener>,
    app: Router,
    web: Option<Arc<WebState>>,
    limits: Limits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tracker = TaskTracker::new();
    let limits = Arc::new(limits);
    for listener in listeners {
        let (app, web, limits, shutdown, connections, tracker2) = (
            app.clone(),
            web.clone(),
            limits.clone(),
            shutdown.clone(),
            connections.clone(),
            tracker.clone(),
        );
        tracker.spawn(async move {
            loop {
                let permit = match connections.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        log_limited(
                            &CONNECTION_LIMIT,
                            &format!(
                                "connection limit reached ({} open; --web.max-connections): new clients wait",
                                limits.max_connections
                            ),
                        );
                        tokio::select! {
                            p = connections.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                            _ = shutdown.cancelled() => break,
                        }
                    }
                };
                let (stream, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: wait instead of spinning.
                            log_limited(&ACCEPT, &format!("accepting a connection: {e}"));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    _ = shutdown.cancelled() => break,
                };
                let _ = stream.set_nodelay(true);
                let (app, web, limits, shutdown) =
                    (app.clone(), web.clone(), limits.clone(), shutdown.clone());
                tracker2.spawn(async move {
                    connection(stream, peer, app, web, &limits, shutdown).await;
                    drop(permit);
                });
            }
        });
    }
    tracker.close();
    shutdown.cancelled().await;
    // Requests in flight get a moment to finish; connections are closed after it.
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    Ok(())
}

/// The first byte of a TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    web: Option<Arc<WebState>>,
    limits: &Limits,
    shutdown: CancellationToken,
) {
    let accepted = Instant::now();
    // The certificate and settings of the web config in force when the client connected.
    let Some(tls) = web.and_then(|w| w.current().tls.clone()) else {
        return http(stream, accepted, app, limits, shutdown).await;
    };
    let mut stream = stream;
    let mut first = [0u8; 1];
    match tokio::time::timeout(limits.tls_handshake_timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] != TLS_HANDSHAKE => {
            // Plain HTTP to the TLS port: answer in plain text, as Go's server does.
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                stream.write_all(
                    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
                ),
            )
            .await;
            let _ = stream.shutdown().await;
            return;
        }
        Ok(Ok(1)) => {}
        Ok(_) => return,
        Err(_) => {
            log_limited(
                &TIMED_OUT,
                &format!("closing a connection from {peer}: no TLS handshake within the timeout"),
            );
            return;
        }
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    match tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => http(tls, accepted, app, limits, shutdown).await,
        Ok(Err(e)) => log_handshake_error(peer, &e),
        Err(_) => log_limited(
            &TIMED_OUT,
            &format!("closing a connection from {peer}: TLS handshake timed out"),
        ),
    }
}

/// Client certificate problems are worth an operator's attention (a misconfigured scraper);
/// other handshake failures (scanners, old clients) stay at debug level.
fn log_handshake_error(peer: SocketAddr, e: &io::Error) {
    use tokio_rustls::rustls::Error as E;
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>());
    match tls {
        Some(E::InvalidCertificate(reason)) => log_limited(
            &CLIENT_CERT,
            &format!("TLS handshake with {peer} failed: client certificate refused: {reason}"),
        ),
        Some(E::NoCertificatesPresented) => log_limited(
            &CLIENT_CERT,
            &format!("TLS handshake with {peer} failed: no client certificate presented"),
        ),
        _ => tracing::debug!(%peer, "TLS handshake failed: {e}"),
    }
}

/// Per-connection bookkeeping for the watchdog.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    in_flight: usize,
    /// When the current request head began (the accept, or the first byte after a response).
    head_started: Option<Instant>,
    /// When the last response was handed over.
    idle_since: Instant,
}

impl Activity {
    fn read(&self) {
        let mut s = self.state.lock().expect("activity");
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
        }
    }

    fn begin(&self) {
        let mut s = self.state.lock().expect("activity");
        s.in_flight += 1;
        s.head_started = None;
    }

    fn end(&self) {
        let mut s = self.state.lock().expect("activity");
        s.in_flight = s.in_flight.saturating_sub(1);
        s.idle_since = Instant::now();
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &Limits) -> Option<&'static str> {
        let s = self.state.lock().expect("activity");
        if s.in_flight > 0 {
            return None;
        }
        match s.head_started {
            Some(t) if t.elapsed() >= limits.header_timeout => {
                Some("no complete request head within the header timeout")
            }
            None if s.idle_since.elapsed() >= limits.idle_timeout => {
                Some("idle keep-alive timeout")
            }
            _ => None,
        }
    }
}

/// IO that tells the watchdog when bytes arrive.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Marks a request in flight until dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

async fn http<T>(
    io: T,
    accepted: Instant,
    app: Router,
    limits: &Limits,
    shutdown: CancellationToken,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        state: Mutex::new(ActivityState {
            in_flight: 0,
            head_started: Some(accepted),
            idle_since: accepted,
        }),
    });
    let io = Watched {
        inner: io,
        activity: activity.clone(),
    };
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            activity.begin();
            let in_flight = InFlight(activity.clone());
            let app = app.clone();
            async move {
                let response =
                    tower::ServiceExt::oneshot(app, request.map(axum::body::Body::new)).await;
                drop(in_flight);
                response
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(tick) => {
                if let Some(why) = activity.expired(limits) {
                    log_limited(&TIMED_OUT, &format!("closing a connection: {why}"));
                    return;
                }
            }
            _ = shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_spares_requests_in_flight_and_closes_idle_heads() {
        let limits = Limits {
            header_timeout: Duration::from_millis(20),
            idle_timeout: Duration::from_millis(40),
            ..Limits::default()
        };
        let start = Instant::now();
        let a = Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                head_started: Some(start),
                idle_since: start,
            }),
        };
        std::thread::sleep(Duration::from_millis(25));
        assert!(a.expired(&limits).unwrap().contains("header"));
        a.begin();
        std::thread::sleep(Duration::from_millis(45));
        assert_eq!(a.expired(&limits), None, "a slow handler is never cut off");
        a.end();
        assert_eq!(a.expired(&limits), None, "just answered");
        std::thread::sleep(Duration::from_millis(45));
        assert!(a.expired(&limits).unwrap().contains("idle"));
    }
}
