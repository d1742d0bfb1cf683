//! Dialling a VMI's `vnc` or `console` subresource with the cluster's kube client: the websocket
//! upgrade is built here (kube's `Client::connect` forces its own subprotocols), offering
//! `plain.kubevirt.io`; a refusal is read once and typed, never retried.

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
/// The settings [`dial`] takes (tungstenite's), re-exported for callers without tungstenite.
pub use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::kinds::subresource_path;

/// KubeVirt's only console subprotocol.
pub const KUBEVIRT_PROTOCOL: &str = "plain.kubevirt.io";
/// The largest error body read from a refused upgrade.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The upstream websocket.
pub type UpstreamSocket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Which console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleKind {
    Vnc,
    Serial,
}

/// The console of one VMI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleTarget {
    pub namespace: String,
    pub name: String,
    pub kind: ConsoleKind,
    /// VNC only: close another live session (`preserveSession=false`) instead of being refused.
    #[serde(default)]
    pub takeover: bool,
}

impl ConsoleTarget {
    pub fn vnc(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            kind: ConsoleKind::Vnc,
            takeover: false,
        }
    }

    pub fn serial(namespace: &str, name: &str) -> Self {
        Self {
            kind: ConsoleKind::Serial,
            ..Self::vnc(namespace, name)
        }
    }

    /// The subresource path, with `preserveSession` for VNC.
    pub fn path(&self) -> String {
        match self.kind {
            ConsoleKind::Vnc => format!(
                "{}?preserveSession={}",
                subresource_path(
                    "virtualmachineinstances",
                    &self.namespace,
                    &self.name,
                    "vnc"
                ),
                !self.takeover
            ),
            ConsoleKind::Serial => subresource_path(
                "virtualmachineinstances",
                &self.namespace,
                &self.name,
                "console",
            ),
        }
    }
}

/// Why a console could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("another VNC session is open on {name}; take it over to connect")]
    SessionInUse { name: String },
    #[error("{name} is not running: {message}")]
    NotRunning { name: String, message: String },
    #[error("{name} not found")]
    NotFound { name: String },
    #[error("not allowed: {message}")]
    NotAllowed { message: String },
    #[error("the console was refused (HTTP {code}): {message}")]
    Refused { code: u16, message: String },
    #[error("the server did not complete the websocket upgrade: {why}")]
    Handshake { why: String },
    #[error("the cluster could not be reached: {why}")]
    Transport { why: String },
}

impl DialError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::SessionInUse { .. } => "session_in_use",
            Self::NotRunning { .. } => "not_running",
            Self::NotFound { .. } => "not_found",
            Self::NotAllowed { .. } => "not_allowed",
            Self::Refused { .. } => "console_refused",
            Self::Handshake { .. } => "console_handshake",
            Self::Transport { .. } => "unreachable",
        }
    }

    fn from_refusal(name: &str, code: u16, message: String) -> Self {
        let name = name.to_string();
        if message.contains("Active VNC connection") {
            // virt-handler's 503, which virt-api may wrap as a 500.
            return Self::SessionInUse { name };
        }
        match code {
            400 if message.contains("Running") || message.contains("not running") => {
                Self::NotRunning { name, message }
            }
            401 | 403 => Self::NotAllowed { message },
            404 => Self::NotFound { name },
            _ => Self::Refused { code, message },
        }
    }
}

/// A kube client for consoles: kube's default retry layer would re-send a refused upgrade
/// (503 "Active VNC connection") with backoff; consoles must see the first answer.
pub fn client_without_retry(mut config: kube::Config) -> Result<kube::Client, DialError> {
    config.default_retry = false;
    kube::Client::try_from(config).map_err(|e| DialError::Transport { why: e.to_string() })
}

/// Open the console websocket of `target` (binary frames of raw RFB or serial bytes).
pub async fn dial(
    client: &kube::Client,
    target: &ConsoleTarget,
    config: WebSocketConfig,
) -> Result<UpstreamSocket, DialError> {
    let key = generate_key();
    let request = http::Request::get(target.path())
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::SEC_WEBSOCKET_VERSION, "13")
        .header(http::header::SEC_WEBSOCKET_KEY, &key)
        .header(http::header::SEC_WEBSOCKET_PROTOCOL, KUBEVIRT_PROTOCOL)
        .body(kube::client::Body::empty())
        .map_err(|e| DialError::Transport { why: e.to_string() })?;
    let mut response = client
        .send(request)
        .await
        .map_err(|e| DialError::Transport { why: e.to_string() })?;
    let status = response.status();
    if status != http::StatusCode::SWITCHING_PROTOCOLS {
        let body = http_body_util::Limited::new(response.into_body(), MAX_ERROR_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        return Err(DialError::from_refusal(
            &target.name,
            status.as_u16(),
            message,
        ));
    }
    // Owned values: nothing borrowed from the response is held across the upgrade's await, so
    // the dial is `Send` (spawned per viewer connection).
    let (accept, protocol) = {
        let header = |name: http::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (
            header(http::header::SEC_WEBSOCKET_ACCEPT),
            header(http::header::SEC_WEBSOCKET_PROTOCOL),
        )
    };
    if accept != Some(derive_accept_key(key.as_bytes())) {
        return Err(DialError::Handshake {
            why: "Sec-WebSocket-Accept does not match the key".into(),
        });
    }
    if protocol.as_deref() != Some(KUBEVIRT_PROTOCOL) {
        return Err(DialError::Handshake {
            why: format!("the server did not pick {KUBEVIRT_PROTOCOL}"),
        });
    }
    let upgraded = hyper::upgrade::on(&mut response)
        .await
        .map_err(|e| DialError::Handshake { why: e.to_string() })?;
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, Some(config)).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnc_preserves_the_session_unless_taking_over() {
        let mut target = ConsoleTarget::vnc("dev", "web-01");
        assert!(
            target
                .path()
                .ends_with("/virtualmachineinstances/web-01/vnc?preserveSession=true")
        );
        target.takeover = true;
        assert!(target.path().ends_with("/vnc?preserveSession=false"));
        assert!(
            ConsoleTarget::serial("dev", "db")
                .path()
                .ends_with("/virtualmachineinstances/db/console")
        );
    }

    #[test]
    fn refusals_are_typed() {
        let busy =
            DialError::from_refusal("w", 503, "Active VNC connection. Request denied.".into());
        assert_eq!(busy.code(), "session_in_use");
        let wrapped =
            DialError::from_refusal("w", 500, "Active VNC connection. Request denied.".into());
        assert_eq!(wrapped.code(), "session_in_use");
        let booting = DialError::from_refusal(
            "w",
            400,
            "Unable to connect to VirtualMachineInstance because phase is Scheduling instead of Running".into(),
        );
        assert_eq!(booting.code(), "not_running");
        assert_eq!(
            DialError::from_refusal("w", 404, String::new()).code(),
            "not_found"
        );
        assert_eq!(
            DialError::from_refusal("w", 403, "no".into()).code(),
            "not_allowed"
        );
    }
}
