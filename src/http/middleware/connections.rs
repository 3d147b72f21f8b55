//! Cuts kept-alive connections that hold a request head open (slowloris).
//!
//! actix-web times the head of a connection's *first* request only
//! (`client_request_timeout`). Once a connection has been answered, a client
//! that dribbles the next request's head a byte at a time keeps its socket for
//! as long as it likes: the keep-alive timer stops at its first byte and
//! nothing times the rest. So every connection is registered here when it
//! opens; a middleware marks it busy while a request runs (until its response
//! body has been sent or dropped); and a reaper thread shuts down any
//! connection that has gone without a running request for longer than the
//! keep-alive time plus the head timeout. By then actix would have closed an
//! idle connection and answered a complete head, so the client is holding a
//! head half-sent. Requests themselves are never cut here: bodies have their
//! own timeouts (`http::extract`).

use std::any::Any;
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

/// The connections of one server.
#[derive(Clone)]
pub struct Reaper {
    open: Arc<Mutex<Vec<Weak<Watch>>>>,
}

/// One connection: a handle on its socket (to shut it down), the requests
/// running on it, and when the last one finished.
struct Watch {
    socket: TcpStream,
    running: AtomicU32,
    /// Milliseconds after `epoch`.
    idle_since: AtomicU64,
    epoch: Instant,
}

impl Watch {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.running.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(Duration::from_millis(self.now().saturating_sub(self.idle_since.load(Ordering::Acquire))))
    }
}

/// What `on_connect` leaves in the connection's data for the middleware.
#[derive(Clone)]
struct Watched(Arc<Watch>);

/// A request running on a watched connection; the connection is idle again
/// when the last one is dropped.
struct Running(Arc<Watch>);

impl Running {
    fn start(watch: Arc<Watch>) -> Running {
        watch.running.fetch_add(1, Ordering::AcqRel);
        Running(watch)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::Release);
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Reaper {
    /// Starts the reaper thread, which ends when the server (every clone of
    /// this reaper) is gone. `limit` is the keep-alive time plus the head
    /// timeout.
    pub fn start(limit: Duration) -> std::io::Result<Reaper> {
        let reaper = Reaper { open: Arc::default() };
        let open = Arc::downgrade(&reaper.open);
        std::thread::Builder::new().name("connection-reaper".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(open) = open.upgrade() else { return };
            let mut open = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            open.retain(|watch| {
                let Some(watch) = watch.upgrade() else { return false };
                if watch.idle_for().is_some_and(|idle| idle > limit) {
                    // The dispatcher reads EOF, closes and drops its data,
                    // and with it this connection's watch.
                    let _ = watch.socket.shutdown(Shutdown::Both);
                }
                true
            });
        })?;
        Ok(reaper)
    }

    /// For `HttpServer::on_connect`: registers a new TCP connection.
    pub fn register(&self, connection: &dyn Any, data: &mut Extensions) {
        #[cfg(unix)]
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            use std::os::fd::AsFd;
            let Ok(fd) = tcp.as_fd().try_clone_to_owned() else { return };
            let epoch = Instant::now();
            let watch = Arc::new(Watch {
                socket: TcpStream::from(fd),
                running: AtomicU32::new(0),
                idle_since: AtomicU64::new(0),
                epoch,
            });
            self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Arc::downgrade(&watch));
            data.insert(Watched(watch));
        }
        #[cfg(not(unix))]
        let _ = (connection, data);
    }
}

/// Middleware: marks the connection busy from the request's head to the end
/// of its response body.
pub async fn mark_running(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<Tracked>, actix_web::Error> {
    let running = req.request().conn_data::<Watched>().map(|watched| Running::start(watched.0.clone()));
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| Tracked { body: body.boxed(), _running: running }))
}

/// A response body that keeps its request counted as running until it has
/// been sent (or dropped).
pub struct Tracked {
    body: BoxBody,
    _running: Option<Running>,
}

impl MessageBody for Tracked {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
