//! The native viewer hand-off: a TCP listener on a loopback address (a random port unless told
//! otherwise; anything but loopback is refused) that a VNC viewer (remote-viewer, TigerVNC,
//! Remmina) connects to. One connection at a time: a new one replaces the one before (a viewer
//! reconnecting while its old connection lingers); each dials the VMI's `vnc` subresource
//! afresh, so a viewer can reconnect (`virtctl vnc` serves one connection and exits). The first
//! dial respects another live VNC session (`session_in_use`); later ones take over the session
//! this proxy's earlier connection left. The listener lives until the [`VncProxy`] is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::iobridge::{IoBridgeError, IoEnded, bridge_io};
use crate::upstream::{ConsoleKind, ConsoleTarget, DialError, dial};

/// Events kept for the user before the oldest are dropped.
const EVENTS: usize = 64;

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("{0} is not a loopback address: a VNC proxy listens on 127.0.0.1 or ::1 only")]
    NotLoopback(SocketAddr),
    #[error("the VNC proxy is for VNC consoles, not {0:?}")]
    NotVnc(ConsoleKind),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// What happened to a viewer's connection.
#[derive(Debug)]
pub enum ProxyEvent {
    /// A viewer connected and the VMI's console was dialled.
    Connected { peer: SocketAddr },
    /// A viewer connected but the console could not be opened; the connection was closed.
    Refused { peer: SocketAddr, error: DialError },
    /// A new viewer connection replaced this one.
    Replaced { peer: SocketAddr },
    /// A viewer's session ended.
    Closed { peer: SocketAddr, why: String },
}

/// A running proxy; dropping it closes the listener and the connection it serves.
pub struct VncProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
    events: mpsc::Receiver<ProxyEvent>,
}

impl VncProxy {
    /// Listen on `listen` (loopback only; port 0 picks one) for viewers of `target`'s VNC.
    pub async fn start(
        client: kube::Client,
        target: ConsoleTarget,
        listen: SocketAddr,
    ) -> Result<Self, ViewerError> {
        if !listen.ip().is_loopback() {
            return Err(ViewerError::NotLoopback(listen));
        }
        if target.kind != ConsoleKind::Vnc {
            return Err(ViewerError::NotVnc(target.kind));
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ViewerError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ViewerError::Listen {
                addr: listen,
                source,
            })?;
        let (tx, events) = mpsc::channel(EVENTS);
        let task = tokio::spawn(accept_loop(listener, client, target, tx));
        Ok(Self { addr, task, events })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next event; `None` once the proxy stopped.
    pub async fn next_event(&mut self) -> Option<ProxyEvent> {
        self.events.recv().await
    }
}

impl Drop for VncProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tell(events: &mpsc::Sender<ProxyEvent>, event: ProxyEvent) {
    // A user not reading events must not stop the proxy.
    let _ = events.try_send(event);
}

async fn accept_loop(
    listener: TcpListener,
    client: kube::Client,
    target: ConsoleTarget,
    events: mpsc::Sender<ProxyEvent>,
) {
    let mut current: Option<(SocketAddr, AbortOnDrop)> = None;
    let mut dialled_before = false;
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("VNC proxy accept: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        if let Some((old_peer, mut session)) = current.take()
            && !session.0.is_finished()
        {
            session.0.abort();
            let _ = (&mut session.0).await;
            tell(&events, ProxyEvent::Replaced { peer: old_peer });
        }
        let target = ConsoleTarget {
            takeover: dialled_before,
            ..target.clone()
        };
        dialled_before = true;
        let (client, events) = (client.clone(), events.clone());
        let task = tokio::spawn(async move { serve(tcp, peer, &client, &target, &events).await });
        current = Some((peer, AbortOnDrop(task)));
    }
}

/// A session task, aborted when the accept loop (the proxy) goes.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    client: &kube::Client,
    target: &ConsoleTarget,
    events: &mpsc::Sender<ProxyEvent>,
) {
    let _ = tcp.set_nodelay(true);
    let upstream = match dial(client, target, WebSocketConfig::default()).await {
        Ok(upstream) => upstream,
        Err(error) => {
            tell(events, ProxyEvent::Refused { peer, error });
            return;
        }
    };
    tell(events, ProxyEvent::Connected { peer });
    let (reader, writer) = tcp.into_split();
    let why = match bridge_io(upstream, reader, writer, None).await {
        Ok(IoEnded::InputClosed) | Ok(IoEnded::Escaped) => "the viewer disconnected".to_string(),
        Err(IoBridgeError::Input(e) | IoBridgeError::Output(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            "the viewer disconnected".to_string()
        }
        Ok(IoEnded::UpstreamClosed(Some(frame))) if !frame.reason.is_empty() => {
            format!("the cluster closed the console: {}", frame.reason)
        }
        Ok(IoEnded::UpstreamClosed(_)) => "the cluster closed the console".to_string(),
        Ok(IoEnded::UpstreamGone) => "the console's connection ended".to_string(),
        Err(error) => error.to_string(),
    };
    tell(events, ProxyEvent::Closed { peer, why });
}

/// An installed VNC viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub program: PathBuf,
    pub kind: ViewerKind,
}

/// The viewers we know how to point at a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerKind {
    /// virt-viewer's `remote-viewer vnc://HOST:PORT`.
    RemoteViewer,
    /// TigerVNC / TightVNC `vncviewer HOST::PORT`.
    VncViewer,
    /// `remmina -c vnc://HOST:PORT`.
    Remmina,
}

impl ViewerKind {
    pub const ALL: [ViewerKind; 3] = [Self::RemoteViewer, Self::VncViewer, Self::Remmina];

    pub fn program(self) -> &'static str {
        match self {
            Self::RemoteViewer => "remote-viewer",
            Self::VncViewer => "vncviewer",
            Self::Remmina => "remmina",
        }
    }
}

impl Viewer {
    /// The arguments that point the viewer at `addr`.
    pub fn args(&self, addr: SocketAddr) -> Vec<String> {
        let host = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        match self.kind {
            ViewerKind::RemoteViewer => vec![format!("vnc://{host}:{}", addr.port())],
            ViewerKind::VncViewer => vec![format!("{host}::{}", addr.port())],
            ViewerKind::Remmina => vec!["-c".into(), format!("vnc://{host}:{}", addr.port())],
        }
    }
}

/// The first known viewer on `path` (a `PATH`-style list), in [`ViewerKind::ALL`] order.
pub fn find_viewer_in(path: &std::ffi::OsStr) -> Option<Viewer> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path).collect();
    ViewerKind::ALL.iter().find_map(|kind| {
        dirs.iter()
            .map(|dir| dir.join(kind.program()))
            .find(|candidate| is_executable(candidate))
            .map(|program| Viewer {
                program,
                kind: *kind,
            })
    })
}

/// The first known viewer on `$PATH`.
pub fn find_viewer() -> Option<Viewer> {
    find_viewer_in(&std::env::var_os("PATH")?)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_are_found_in_order_and_pointed_at_the_port() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vmdeck-viewers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["vncviewer", "remmina"] {
            let file = dir.join(name);
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let viewer = find_viewer_in(dir.as_os_str()).unwrap();
        assert_eq!(
            viewer.kind,
            ViewerKind::VncViewer,
            "remote-viewer is absent"
        );
        let addr: SocketAddr = "127.0.0.1:5901".parse().unwrap();
        assert_eq!(viewer.args(addr), ["127.0.0.1::5901"]);
        let remote = Viewer {
            program: "remote-viewer".into(),
            kind: ViewerKind::RemoteViewer,
        };
        assert_eq!(remote.args("[::1]:7".parse().unwrap()), ["vnc://[::1]:7"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(find_viewer_in(dir.as_os_str()).is_none());
    }
}
