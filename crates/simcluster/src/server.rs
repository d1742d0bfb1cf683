//! The network side: accept TCP connections (at most `Limits::max_connections` at a time,
//! backing off when accepting fails), complete TLS (noting a verified client certificate), serve
//! HTTP/1.1 and HTTP/2 on each, and at shutdown end every connection gracefully and wait for it,
//! for at most `Limits::shutdown_grace`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use hyper::body::{Body as _, Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, PeerCertificate};
use crate::cluster::Cluster;
use crate::pki;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first and the longest pause after a failed accept (e.g. EMFILE: out of file descriptors).
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What the server allows itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish before it cuts them off.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A growing pause between failed accepts, reset by a successful one.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    fn failed(&mut self) -> Duration {
        let delay = self.next.unwrap_or(ACCEPT_BACKOFF_FIRST);
        self.next = Some((delay * 2).min(ACCEPT_BACKOFF_MAX));
        delay
    }

    fn succeeded(&mut self) {
        self.next = None;
    }
}

/// Errors that concern one connection only (the client went away first): accept the next at once.
fn concerns_one_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

/// Resolves once `shutdown` is true (at once when it already is, or when the sender is gone).
async fn shutting_down(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serve until `shutdown` turns true, then finish every connection (within `limits.shutdown_grace`).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    cluster: Arc<Cluster>,
    shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let acceptor = TlsAcceptor::from(tls);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut backoff = Backoff::default();
    let stop = shutting_down(shutdown.clone());
    tokio::pin!(stop);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
            _ = &mut stop => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stop => break,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => {
                backoff.succeeded();
                tcp
            }
            Err(error) if concerns_one_connection(&error) => continue,
            Err(error) => {
                let delay = backoff.failed();
                tracing::warn!(%error, ?delay, "accepting a connection failed; pausing");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = &mut stop => break,
                }
            }
        };
        let _ = tcp.set_nodelay(true); // an optimisation only
        let acceptor = acceptor.clone();
        let cluster = cluster.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(acceptor, tcp, cluster, shutdown).await;
        });
    }
    drop(listener);
    let open = connections.len();
    let finished = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            open,
            left = connections.len(),
            grace = ?limits.shutdown_grace,
            "connections still open after the shutdown grace; closing them"
        );
        connections.shutdown().await;
    }
}

/// One connection: TLS, then HTTP until the client is done or shutdown has been gracefully completed.
async fn serve_connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    cluster: Arc<Cluster>,
    shutdown: watch::Receiver<bool>,
) {
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => handshake,
        _ = shutting_down(shutdown.clone()) => return,
    };
    let Ok(Ok(stream)) = handshake else {
        return;
    };
    let peer = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| pki::certificate_identity(cert.as_ref()));
    let peer = PeerCertificate(peer);
    let body_shutdown = shutdown.clone();
    let service = service_fn(move |mut request| {
        request.extensions_mut().insert(peer.clone());
        let response = api::handle(cluster.clone(), request);
        let shutdown = body_shutdown.clone();
        async move {
            let response = response.await?;
            Ok::<_, api::DropConnection>(response.map(|body| until_shutdown(body, shutdown)))
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutting_down(shutdown) => connection.as_mut().graceful_shutdown(),
    }
    // Polled to the end: the response in flight is finished, then the connection closes.
    let _ = connection.await;
}

/// A streamed body (a watch, a log follow) ends at shutdown, as a real API server's does, so a
/// graceful shutdown need not wait for it; a body of known length is always sent whole.
fn until_shutdown(body: Body, shutdown: watch::Receiver<bool>) -> Body {
    if body.size_hint().exact().is_some() {
        return body;
    }
    Body::new(UntilShutdown {
        inner: body,
        stop: Box::pin(shutting_down(shutdown)),
    })
}

struct UntilShutdown {
    inner: Body,
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl hyper::body::Body for UntilShutdown {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_grows_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..12).map(|_| backoff.failed()).collect();
        assert_eq!(delays[0], ACCEPT_BACKOFF_FIRST);
        assert_eq!(delays[1], ACCEPT_BACKOFF_FIRST * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(*delays.last().unwrap(), ACCEPT_BACKOFF_MAX);
        backoff.succeeded();
        assert_eq!(backoff.failed(), ACCEPT_BACKOFF_FIRST);
    }

    #[test]
    fn only_per_connection_errors_skip_the_pause() {
        let emfile = std::io::Error::from_raw_os_error(24);
        assert!(!concerns_one_connection(&emfile));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert!(concerns_one_connection(&reset));
    }
}
