//! What the VM screens draw: VM rows (a snapshot, then batched changes), the actions and consoles
//! a namespace allows, a console's gateway ticket, a native viewer's listener, a screenshot.
//! Mirrors of `vmdeck_console`'s types with TypeScript bindings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_console::access::Access;
use vmdeck_console::inventory::{RowChange, Update, VmRow};
use vmdeck_console::{ConsoleKind, PowerAction, Ticket};

/// A power action (`force_stop` and `force_restart` have no grace period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "PowerActionView.ts")]
pub enum PowerActionView {
    Start,
    Stop,
    ForceStop,
    Restart,
    ForceRestart,
    Pause,
    Unpause,
    Migrate,
    SoftReboot,
}

impl From<PowerAction> for PowerActionView {
    fn from(action: PowerAction) -> Self {
        match action {
            PowerAction::Start => Self::Start,
            PowerAction::Stop => Self::Stop,
            PowerAction::ForceStop => Self::ForceStop,
            PowerAction::Restart => Self::Restart,
            PowerAction::ForceRestart => Self::ForceRestart,
            PowerAction::Pause => Self::Pause,
            PowerAction::Unpause => Self::Unpause,
            PowerAction::Migrate => Self::Migrate,
            PowerAction::SoftReboot => Self::SoftReboot,
        }
    }
}

impl From<PowerActionView> for PowerAction {
    fn from(action: PowerActionView) -> Self {
        match action {
            PowerActionView::Start => Self::Start,
            PowerActionView::Stop => Self::Stop,
            PowerActionView::ForceStop => Self::ForceStop,
            PowerActionView::Restart => Self::Restart,
            PowerActionView::ForceRestart => Self::ForceRestart,
            PowerActionView::Pause => Self::Pause,
            PowerActionView::Unpause => Self::Unpause,
            PowerActionView::Migrate => Self::Migrate,
            PowerActionView::SoftReboot => Self::SoftReboot,
        }
    }
}

/// Which console: VNC (noVNC) or serial (xterm.js).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "ConsoleKindView.ts")]
pub enum ConsoleKindView {
    Vnc,
    Serial,
}

impl From<ConsoleKindView> for ConsoleKind {
    fn from(kind: ConsoleKindView) -> Self {
        match kind {
            ConsoleKindView::Vnc => Self::Vnc,
            ConsoleKindView::Serial => Self::Serial,
        }
    }
}

/// One row of the VM list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmRowView.ts")]
pub struct VmRowView {
    pub namespace: String,
    pub name: String,
    /// KubeVirt's printable status (Running, Stopped, Paused, ...).
    pub status: String,
    pub node: Option<String>,
    pub ips: Vec<String>,
    /// When the VM was created (RFC 3339); the age is now minus this.
    pub created: Option<String>,
    /// Virtual CPUs from the spec.
    pub cpus: Option<u32>,
    /// Guest memory from the spec, as written (`2Gi`).
    pub memory: Option<String>,
    /// The guest agent's OS name, when it reports one.
    pub guest_os: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Power actions that apply to the VM's state now (whether the user may use them:
    /// `vm_access`).
    pub actions: Vec<PowerActionView>,
    /// VNC and serial consoles can be opened (the VMI runs).
    pub consoles: bool,
    /// Only a VMI exists: VM actions do not apply.
    pub standalone_vmi: bool,
}

impl From<VmRow> for VmRowView {
    fn from(row: VmRow) -> Self {
        Self {
            namespace: row.namespace,
            name: row.name,
            status: row.status,
            node: row.node,
            ips: row.ips,
            created: row.created,
            cpus: row.cpus.map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
            memory: row.memory,
            guest_os: row.guest_os,
            labels: row.labels,
            actions: row.actions.into_iter().map(Into::into).collect(),
            consoles: row.consoles,
            standalone_vmi: row.standalone_vmi,
        }
    }
}

/// One row's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
#[ts(export_to = "VmChangeView.ts")]
pub enum VmChangeView {
    Added { row: VmRowView },
    Changed { row: VmRowView },
    Removed { namespace: String, name: String },
}

impl From<RowChange> for VmChangeView {
    fn from(change: RowChange) -> Self {
        match change {
            RowChange::Added(row) => Self::Added { row: row.into() },
            RowChange::Changed(row) => Self::Changed { row: row.into() },
            RowChange::Removed(key) => Self::Removed {
                namespace: key.namespace,
                name: key.name,
            },
        }
    }
}

/// What `watch_vms` sends: every row first (sorted by namespace and name), then what changed,
/// at most one batch per 100 ms (each row at most once in a batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "VmUpdateEvent.ts")]
pub enum VmUpdateEvent {
    Snapshot { rows: Vec<VmRowView> },
    Changes { changes: Vec<VmChangeView> },
}

impl From<Update> for VmUpdateEvent {
    fn from(update: Update) -> Self {
        match update {
            Update::Snapshot(rows) => Self::Snapshot {
                rows: rows.into_iter().map(Into::into).collect(),
            },
            Update::Changes(changes) => Self::Changes {
                changes: changes.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// What the user may do in a namespace (SelfSubjectAccessReviews), so the UI can hide or
/// disable what would fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmAccessView.ts")]
pub struct VmAccessView {
    pub namespace: String,
    /// The power actions allowed.
    pub actions: Vec<PowerActionView>,
    pub vnc: bool,
    pub serial: bool,
}

impl From<Access> for VmAccessView {
    fn from(access: Access) -> Self {
        Self {
            actions: PowerAction::ALL
                .into_iter()
                .filter(|a| access.may(*a))
                .map(Into::into)
                .collect(),
            namespace: access.namespace,
            vnc: access.vnc,
            serial: access.serial,
        }
    }
}

/// How the webview connects to an opened console: `new WebSocket(url, ["binary", protocol])`
/// (noVNC: `wsProtocols`). The token is single use and expires unused after `expires_in_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ConsoleTicketView.ts")]
pub struct ConsoleTicketView {
    /// `ws://127.0.0.1:PORT/console`: no token in it.
    pub url: String,
    /// The subprotocol carrying the token (`vmdeck-console.<token>`).
    pub protocol: String,
    pub expires_in_ms: u32,
}

impl From<Ticket> for ConsoleTicketView {
    fn from(ticket: Ticket) -> Self {
        Self {
            url: ticket.url,
            protocol: ticket.protocol,
            expires_in_ms: u32::try_from(ticket.expires_in_ms).unwrap_or(u32::MAX),
        }
    }
}

/// A native viewer's loopback listener for one VM (one viewer connection at a time; each
/// dials the VM afresh, so the viewer can reconnect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ViewerView.ts")]
pub struct ViewerView {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    /// `127.0.0.1:PORT`, for a viewer started by hand.
    pub address: String,
    pub port: u16,
    /// The viewer launched at it (`remote-viewer`), when one was asked for and found.
    pub launched: Option<String>,
}

/// The installed native VNC viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "InstalledViewerView.ts")]
pub struct InstalledViewerView {
    /// The program's name (`remote-viewer`, `vncviewer`, `remmina`).
    pub name: String,
    pub path: String,
}

/// A VM's screen as a PNG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ScreenshotView.ts")]
pub struct ScreenshotView {
    /// The PNG, base64 (an `<img src="data:image/png;base64,...">`).
    pub png_base64: String,
    pub bytes: u32,
}

/// Where a screenshot was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SavedScreenshotView.ts")]
pub struct SavedScreenshotView {
    pub path: String,
    pub bytes: u32,
}
