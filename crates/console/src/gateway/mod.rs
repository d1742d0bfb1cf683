//! The console gateway: a websocket server on 127.0.0.1 (a random port; there is no way to ask
//! for another address) bridging the app's noVNC / xterm.js to a VMI's console. A session is
//! opened by [`Gateway::open`], which dials the upstream first (so `session_in_use` and other
//! refusals come back as typed errors, which a browser could never read) and returns a
//! single-use token; the webview then connects with that token as a subprotocol. Host, Origin
//! and token are checked before the upgrade.

pub mod checks;
pub mod tokens;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use crate::lifecycle::{CloseReason, VmiFacts, VmiWatch};
use crate::pump::{Ended, PumpConfig, Side, client_close, forward};
use crate::upstream::{
    ConsoleKind, ConsoleTarget, DialError, KUBEVIRT_PROTOCOL, UpstreamSocket, dial,
};
use checks::{Refusal, check_host, check_origin, check_websocket, offered_protocols};
use tokens::{TOKEN_PROTOCOL_PREFIX, Tickets, token_from_protocols};

/// The only path served.
pub const PATH: &str = "/console";
/// Subprotocols the gateway picks (in this order) when the client offers them besides its token.
const PICKED_PROTOCOLS: &[&str] = &["binary", KUBEVIRT_PROTOCOL];

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Exact Origins allowed to connect (Tauri's origin per platform, the dev server's).
    pub allowed_origins: Vec<String>,
    /// An unused token expires after this long (60 s unless set otherwise).
    pub token_ttl: Duration,
    pub pump: PumpConfig,
}

impl GatewayConfig {
    pub fn new(allowed_origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            allowed_origins: allowed_origins.into_iter().map(Into::into).collect(),
            token_ttl: Duration::from_secs(60),
            pump: PumpConfig::default(),
        }
    }

    fn websocket(&self) -> WebSocketConfig {
        let max = self.pump.max_message;
        WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max))
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(128 * 1024)
            .max_write_buffer_size(max + 256 * 1024)
    }
}

/// Bytes read from a socket at a time (tungstenite's default is 128 KiB). Each read first
/// zero-fills this much of the read buffer, while the upstream's TLS hands over one record
/// (at most 16 KiB) per read and the webview sends keys and update requests: 32 KiB costs no
/// extra reads, zero-fills a quarter as much per read, and is allocated up front per socket
/// (two per console) instead of 128 KiB. A frame larger than this is still read whole.
const READ_BUFFER: usize = 32 * 1024;

/// What the webview needs to connect: the URL and the subprotocol carrying its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub url: String,
    /// Offer this subprotocol (noVNC: `wsProtocols: ["binary", protocol]`).
    pub protocol: String,
    pub expires_in_ms: u64,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[source] std::io::Error),
}

/// Why a console could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Dial(#[from] DialError),
    #[error(transparent)]
    Token(#[from] tokens::TokenError),
}

impl OpenError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Dial(e) => e.code(),
            Self::Token(_) => "token",
        }
    }
}

struct Pending {
    target: ConsoleTarget,
    upstream: UpstreamSocket,
    /// To dial again (serial, after a restart or migration).
    client: kube::Client,
    /// The VMI, watched from before the dial: why the console ends.
    vmi: VmiWatch,
    /// The VMI when dialled (`None`: it cannot be watched; close reasons are then the defaults).
    start: Option<VmiFacts>,
}

/// A bridging session's handle: a stop request carries the reason and an acknowledgement the
/// session sends once the client has been told.
struct Live {
    id: u64,
    stop: oneshot::Sender<(CloseFrame, oneshot::Sender<()>)>,
}

type SessionKey = (String, String, ConsoleKind);

fn session_key(target: &ConsoleTarget) -> SessionKey {
    (target.namespace.clone(), target.name.clone(), target.kind)
}

/// The close code a taken-over session gets (application range).
pub const TAKEN_OVER_CODE: u16 = 4001; // CloseReason::TakenOver
/// ... and its reason.
pub const TAKEN_OVER: &str = "taken over by another session";

struct Shared {
    config: GatewayConfig,
    /// The allowed Origins: the config's, plus those added while running.
    origins: RwLock<Vec<String>>,
    port: u16,
    tickets: Tickets<Pending>,
    live: AtomicUsize,
    sessions: Mutex<HashMap<SessionKey, Live>>,
    next_id: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Close this gateway's live session of `target` (if any), telling its client why; returns
    /// once the client was told or the session was gone.
    async fn take_over(&self, target: &ConsoleTarget) {
        let live = self.sessions.lock().remove(&session_key(target));
        if let Some(live) = live {
            let (ack, acked) = oneshot::channel();
            let frame = CloseFrame {
                code: CloseCode::Library(TAKEN_OVER_CODE),
                reason: TAKEN_OVER.into(),
            };
            if live.stop.send((frame, ack)).is_ok() {
                let _ = acked.await;
            }
        }
    }
}

/// A running gateway; dropping it stops it and ends its sessions.
pub struct Gateway {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Gateway {
    /// Listen on 127.0.0.1, a random port.
    pub async fn start(config: GatewayConfig) -> Result<Self, GatewayError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(GatewayError::Listen)?;
        let port = listener.local_addr().map_err(GatewayError::Listen)?.port();
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            tickets: Tickets::new(config.token_ttl),
            origins: RwLock::new(config.allowed_origins.clone()),
            config,
            port,
            live: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            shutdown,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            shared,
            stop,
            accept,
        })
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// `ws://127.0.0.1:PORT/console`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}{PATH}", self.shared.port)
    }

    /// Allow more Origins from now on (a dev server that started after the gateway); the ones
    /// allowed already stay.
    pub fn allow_origins(&self, origins: impl IntoIterator<Item = impl Into<String>>) {
        let mut allowed = self.shared.origins.write();
        for origin in origins {
            let origin = origin.into();
            if !allowed
                .iter()
                .any(|known| known.eq_ignore_ascii_case(&origin))
            {
                allowed.push(origin);
            }
        }
    }

    /// The Origins allowed now.
    pub fn allowed_origins(&self) -> Vec<String> {
        self.shared.origins.read().clone()
    }

    /// Sessions bridging now.
    pub fn live_sessions(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Tokens issued and not yet used or expired.
    pub fn outstanding_tokens(&self) -> usize {
        self.shared.tickets.outstanding()
    }

    /// Dial `target`'s console through `client` (build it with
    /// [`crate::upstream::client_without_retry`]) and issue a token for it.
    pub async fn open(
        &self,
        client: &kube::Client,
        target: ConsoleTarget,
    ) -> Result<Ticket, OpenError> {
        // KubeVirt keeps one session per VMI and stream: a serial dial, or a VNC takeover, closes
        // the one before it, so our own client of it is told why first.
        if target.kind == ConsoleKind::Serial || target.takeover {
            self.shared.take_over(&target).await;
        }
        // The VMI is listed while the console is dialled: neither waits for the other.
        let mut vmi = VmiWatch::start(client.clone(), &target.namespace, &target.name);
        let (start, upstream) = tokio::join!(
            vmi.first(VMI_LIST_WAIT),
            dial(client, &target, self.shared.config.websocket())
        );
        let upstream = upstream?;
        let token = self.shared.tickets.issue(Pending {
            target,
            upstream,
            client: client.clone(),
            vmi,
            start,
        })?;
        let ttl = self.shared.tickets.ttl();
        let shared = Arc::downgrade(&self.shared);
        let expiring = token.clone();
        // The unused token's time: when it is up, the upstream it holds is closed.
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            if let Some(shared) = shared.upgrade()
                && shared.tickets.expire(&expiring)
            {
                tracing::debug!("an unused console token expired");
            }
        });
        Ok(Ticket {
            url: self.url(),
            protocol: format!("{TOKEN_PROTOCOL_PREFIX}{token}"),
            expires_in_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.accept.abort();
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: do not spin.
                tracing::warn!("console gateway accept: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !peer.ip().is_loopback() {
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, request)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!("console gateway connection: {error}");
            }
        });
    }
}

fn refuse(refusal: &Refusal) -> Response<Full<Bytes>> {
    let body =
        serde_json::json!({"code": refusal.status().as_u16(), "message": refusal.to_string()});
    Response::builder()
        .status(refusal.status())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a status, a header and a body make a response")
}

/// Check a request and, when it passes, answer 101 and start the session.
fn handle(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    match admit(shared, &request) {
        Ok((pending, picked, accept)) => {
            let mut response = Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(header::CONNECTION, "Upgrade")
                .header(header::UPGRADE, "websocket")
                .header(header::SEC_WEBSOCKET_ACCEPT, accept);
            if let Some(picked) = picked {
                response = response.header(header::SEC_WEBSOCKET_PROTOCOL, picked);
            }
            tokio::spawn(session(shared.clone(), request, pending));
            response
                .body(Full::new(Bytes::new()))
                .expect("101 with headers is a response")
        }
        Err(refusal) => {
            tracing::info!(
                status = refusal.status().as_u16(),
                "console connection refused: {refusal}"
            );
            refuse(&refusal)
        }
    }
}

type Admitted = (Pending, Option<String>, String);

fn admit(shared: &Shared, request: &Request<Incoming>) -> Result<Admitted, Refusal> {
    let headers = request.headers();
    check_host(headers, shared.port)?;
    check_origin(headers, &shared.origins.read())?;
    if request.uri().path() != PATH {
        return Err(Refusal::NotFound);
    }
    check_websocket(request.method(), headers)?;
    let offered = offered_protocols(headers);
    let token = token_from_protocols(&offered)?;
    let pending = shared.tickets.redeem(token)?;
    let picked = PICKED_PROTOCOLS
        .iter()
        .find(|p| offered.contains(p))
        .map(|p| p.to_string())
        .or_else(|| Some(format!("{TOKEN_PROTOCOL_PREFIX}{token}")));
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()))
        .ok_or(Refusal::NotWebsocket)?;
    Ok((pending, picked, key))
}

/// How long the first list of the VMI may take before a session runs without knowing it.
const VMI_LIST_WAIT: Duration = Duration::from_secs(5);
/// After the upstream closed on its own, how long a VMI change may take to arrive and name why.
const EXPLAIN_GRACE: Duration = Duration::from_secs(2);

/// What the client of a serial console reads while its VM comes back.
fn notice(text: &str) -> Message {
    Message::Binary(format!("\r\n[vmdeck: {text}]\r\n").into_bytes().into())
}

async fn session(shared: Arc<Shared>, request: Request<Incoming>, pending: Pending) {
    let upgraded = match hyper::upgrade::on(request).await {
        Ok(upgraded) => upgraded,
        Err(error) => {
            tracing::debug!("console upgrade failed: {error}");
            return;
        }
    };
    let client = WebSocketStream::from_raw_socket(
        TokioIo::new(upgraded),
        Role::Server,
        Some(shared.config.websocket()),
    )
    .await;
    shared.live.fetch_add(1, Ordering::SeqCst);
    let Pending {
        target,
        upstream,
        client: kube_client,
        mut vmi,
        mut start,
    } = pending;
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let (stop, stopped) = oneshot::channel::<(CloseFrame, oneshot::Sender<()>)>();
    let key = session_key(&target);
    // A session this gateway still holds for the same console is replaced (its upstream is gone).
    shared
        .sessions
        .lock()
        .insert(key.clone(), Live { id, stop });
    let mut shutdown = shared.shutdown.clone();
    // A takeover (with the acknowledgement its requester waits for) or the gateway stopping.
    let told = async {
        tokio::select! {
            request = stopped => match request {
                Ok((frame, acknowledge)) => (frame, Some(acknowledge)),
                Err(_) => std::future::pending().await,
            },
            () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => (CloseFrame {
                code: CloseCode::Away,
                reason: "the console gateway stopped".into(),
            }, None),
        }
    };
    let mut told = std::pin::pin!(told);
    let mut ack = None;
    let (mut client_tx, mut client_rx) = client.split();
    let mut upstream = Some(upstream);
    let ended = loop {
        let Some(socket) = upstream.take() else {
            break None;
        };
        let (mut upstream_tx, mut upstream_rx) = socket.split();
        let stop = async {
            tokio::select! {
                (frame, acknowledge) = &mut told => {
                    ack = acknowledge;
                    frame
                }
                reason = async {
                    match &start {
                        Some(start) => vmi.ended(start).await,
                        None => std::future::pending().await,
                    }
                } => reason.frame(),
            }
        };
        let ended = forward(
            &mut client_rx,
            &mut client_tx,
            &mut upstream_rx,
            &mut upstream_tx,
            shared.config.pump,
            stop,
        )
        .await;
        let reason = match (&ended, &start) {
            (Ended::Stopped(frame), _) => CloseReason::of_frame(frame),
            (ended, Some(start)) if ended.side() == Some(Side::Upstream) => {
                Some(vmi.explain(start, EXPLAIN_GRACE).await)
            }
            _ => None,
        };
        let comes_back = matches!(
            reason,
            Some(CloseReason::VmRestarted | CloseReason::VmMigrated)
        );
        let redial = match (reason, &start) {
            (Some(reason), Some(old)) if comes_back && target.kind == ConsoleKind::Serial => {
                Some((reason, old.clone()))
            }
            _ => None,
        };
        let Some((reason, old)) = redial else {
            let frame = reason
                .map(CloseReason::frame)
                .or_else(|| client_close(&ended));
            if let Some(frame) = frame {
                let _ = client_tx.send(Message::Close(Some(frame))).await;
            }
            break Some(ended);
        };
        // Serial comes back by itself: wait for the VMI to run again, then dial anew.
        tracing::info!(namespace = %target.namespace, vmi = %target.name, "serial console: {}; re-dialling when it runs again", reason.reason());
        let _ = client_tx
            .send(notice(&format!(
                "{}; reconnecting when it runs again",
                reason.reason()
            )))
            .await;
        let back = async {
            let next = vmi.running_again(&old).await?;
            match dial(&kube_client, &target, shared.config.websocket()).await {
                Ok(socket) => Ok((next, socket)),
                Err(error) => {
                    tracing::info!("serial console re-dial: {error}");
                    Err(CloseReason::VmStopped)
                }
            }
        };
        // Meanwhile the client may leave, or the console be taken over.
        let drained = async {
            while let Some(Ok(message)) = client_rx.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        tokio::select! {
            back = back => match back {
                Ok((next, socket)) => {
                    let _ = client_tx.send(notice("reconnected")).await;
                    start = Some(next);
                    upstream = Some(socket);
                }
                Err(reason) => {
                    let _ = client_tx.send(Message::Close(Some(reason.frame()))).await;
                    break Some(ended);
                }
            },
            () = drained => break Some(Ended::ClientGone),
            (frame, acknowledge) = &mut told => {
                ack = acknowledge;
                let _ = client_tx.send(Message::Close(Some(frame.clone()))).await;
                break Some(Ended::Stopped(frame));
            }
        }
    };
    if let Some(ack) = ack {
        let _ = ack.send(());
    }
    {
        let mut sessions = shared.sessions.lock();
        if sessions.get(&key).is_some_and(|live| live.id == id) {
            sessions.remove(&key);
        }
    }
    shared.live.fetch_sub(1, Ordering::SeqCst);
    match ended {
        Some(ended @ (Ended::ClientClosed(_) | Ended::ClientGone)) => {
            tracing::info!(namespace = %target.namespace, vmi = %target.name, kind = ?target.kind, "console closed: {ended}");
        }
        Some(ended) => {
            tracing::info!(namespace = %target.namespace, vmi = %target.name, kind = ?target.kind, "console ended: {ended}");
        }
        None => {}
    }
}
