//! What the install screens send: a draft profile for a cluster (preflight, plan, install), fixes
//! to apply to a draft, an uninstall, a resume, and a live feature gate change.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::install_views::ProfileChangeView;
use crate::wizard_requests::{GateSetting, ProfileDraft};

/// A draft profile to check or plan on a saved cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "DraftOnCluster.ts")]
pub struct DraftOnCluster {
    pub cluster: String,
    pub draft: ProfileDraft,
}

/// Changes (an automatic fix's) to make to a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "ProfileChangesInput.ts")]
pub struct ProfileChangesInput {
    pub draft: ProfileDraft,
    pub changes: Vec<ProfileChangeView>,
}

/// Installs a draft onto a saved cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "InstallInput.ts")]
pub struct InstallInput {
    pub cluster: String,
    pub draft: ProfileDraft,
    /// Take over fields other field managers own (the plan lists them).
    #[serde(default)]
    pub force_conflicts: bool,
}

/// Installs the profile of the cluster's unfinished run again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ResumeInput.ts")]
pub struct ResumeInput {
    pub cluster: String,
    #[serde(default)]
    pub force_conflicts: bool,
}

/// Removes everything VMDeck installed on a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "UninstallInput.ts")]
pub struct UninstallInput {
    pub cluster: String,
    /// Delete VirtualMachines and DataVolumes first; without it the uninstall refuses (`vms_exist`) while any exist.
    #[serde(default)]
    pub remove_vms: bool,
    /// Remove the finalizers of objects that outlive their delete (explicit consent only).
    #[serde(default)]
    pub force_finalizers: bool,
}

/// One gate to change: `null` puts it back to its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GateChange.ts")]
pub struct GateChange {
    /// `NAME`, or `PACK/NAME` when two installed packs have the gate.
    pub gate: String,
    pub setting: Option<GateSetting>,
}

/// Feature gates to change on what VMDeck installed on a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GateChangeInput.ts")]
pub struct GateChangeInput {
    pub cluster: String,
    pub gates: Vec<GateChange>,
}
