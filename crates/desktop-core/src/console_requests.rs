//! What the VM screens send: which VMs to list or watch, a power action, a console to open (VNC
//! or serial, with takeover), a native viewer to start or stop, a screenshot to take or save.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::console_views::{ConsoleKindView, PowerActionView};

/// The VMs of a saved cluster: one namespace, or all (`null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmScope.ts")]
pub struct VmScope {
    pub cluster: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One VM (or VMI) of a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmRef.ts")]
pub struct VmRef {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
}

/// One namespace of a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "NamespaceRef.ts")]
pub struct NamespaceRef {
    pub cluster: String,
    pub namespace: String,
}

/// A power action on one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PowerActionInput.ts")]
pub struct PowerActionInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub action: PowerActionView,
}

/// A console to open through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "OpenConsoleInput.ts")]
pub struct OpenConsoleInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub kind: ConsoleKindView,
    /// VNC only: close the VM's other VNC session (after a `session_in_use` answer and the
    /// user's consent) instead of being refused.
    #[serde(default)]
    pub takeover: bool,
}

/// A loopback listener for a native VNC viewer of one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "StartViewerInput.ts")]
pub struct StartViewerInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    /// Launch the installed viewer (remote-viewer, vncviewer, remmina) at the listener.
    #[serde(default)]
    pub launch: bool,
}

/// Where to write a VM's screenshot (a native save dialog's path: the desktop app only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SaveScreenshotInput.ts")]
pub struct SaveScreenshotInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl crate::calls::NamesLocalPath for SaveScreenshotInput {
    fn names_local_path(&self) -> bool {
        true
    }
}
