//! What the UI sends: where a kubeconfig comes from, which contexts to import and under which names.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where to read a kubeconfig from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "KubeconfigSource.ts")]
pub enum KubeconfigSource {
    /// Pasted (or read in the browser from a chosen file).
    Text { text: String },
    /// A file on this machine (the desktop app's native file dialog).
    Path { path: String },
    /// `$KUBECONFIG` or `~/.kube/config`.
    Discovered,
}

/// One context to import and the name to save it under (default: the context's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ContextChoice.ts")]
pub struct ContextChoice {
    pub context: String,
    pub name: Option<String>,
}

/// Import the chosen contexts of a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ImportInput.ts")]
pub struct ImportInput {
    pub source: KubeconfigSource,
    /// Empty means the kubeconfig's current context.
    pub choices: Vec<ContextChoice>,
    /// Replace every cluster that already has one of the chosen names.
    pub overwrite: bool,
    /// Names whose existing clusters may be replaced (each one the user confirmed after a
    /// `name_exists` answer); any other taken name is still refused.
    #[serde(default)]
    pub replace: Vec<String>,
}

/// Names one saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ClusterRef.ts")]
pub struct ClusterRef {
    pub name: String,
}

/// Rename a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "RenameInput.ts")]
pub struct RenameInput {
    pub from: String,
    pub to: String,
}

/// Names several saved clusters (for example the ones to check at start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ClusterNames.ts")]
pub struct ClusterNames {
    pub names: Vec<String>,
}

impl crate::calls::NamesLocalPath for KubeconfigSource {
    fn names_local_path(&self) -> bool {
        matches!(self, Self::Path { .. })
    }
}

impl crate::calls::NamesLocalPath for ImportInput {
    fn names_local_path(&self) -> bool {
        self.source.names_local_path()
    }
}
