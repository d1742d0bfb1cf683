//! What the VM dashboard screens send and draw: the create form's choices, a VM draft (the same
//! JSON as `vmdeck_console::dashboard::VmDraft`), field errors with their fix, the review's YAML,
//! disk import events, snapshots, restores, clones, deletes and edits. TypeScript mirrors of the
//! console engine's types, converted through their shared serde shape.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The create form's choices on a cluster (`namespace`: also its namespaced instancetypes and
/// preferences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmFormChoicesInput.ts")]
pub struct VmFormChoicesInput {
    pub cluster: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// An instancetype or preference offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmTypeChoiceView.ts")]
pub struct VmTypeChoiceView {
    pub name: String,
    pub cluster_wide: bool,
    /// Instancetypes: their vCPUs and guest memory.
    pub cpus: Option<u32>,
    pub memory: Option<String>,
}

/// A golden image (a CDI DataSource) offered as a boot source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GoldenImageView.ts")]
pub struct GoldenImageView {
    pub namespace: String,
    pub name: String,
    /// Its source is imported (DataSource Ready).
    pub ready: bool,
}

/// A StorageClass offered for the root disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "StorageClassChoiceView.ts")]
pub struct StorageClassChoiceView {
    pub name: String,
    pub default: bool,
}

/// Everything the create form offers; a kind the cluster does not serve (or the user may not
/// list) is an empty list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmFormChoicesView.ts")]
pub struct VmFormChoicesView {
    pub namespaces: Vec<String>,
    pub instancetypes: Vec<VmTypeChoiceView>,
    pub preferences: Vec<VmTypeChoiceView>,
    pub golden_images: Vec<GoldenImageView>,
    pub storage_classes: Vec<StorageClassChoiceView>,
    /// Multus NetworkAttachmentDefinitions as `namespace/name`.
    pub networks: Vec<String>,
}

/// An instancetype or preference by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmTypeRef.ts")]
pub struct VmTypeRef {
    pub name: String,
    pub cluster_wide: bool,
}

/// Where the root disk comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "BootSourceView.ts")]
pub enum BootSourceView {
    DataSource { namespace: String, name: String },
    ContainerDisk { image: String },
    Url { url: String },
    Pvc { namespace: String, name: String },
}

/// The VM's networks: the pod network and Multus networks (`name` or `namespace/name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmNetworksView.ts")]
pub struct VmNetworksView {
    pub pod: bool,
    pub multus: Vec<String>,
}

/// A cloud-init user with an SSH key and/or a password (kept in a Secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "CloudInitView.ts")]
pub struct CloudInitView {
    pub user: String,
    pub ssh_key: Option<String>,
    pub password: Option<String>,
}

/// The create form as filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmDraftView.ts")]
pub struct VmDraftView {
    pub namespace: String,
    pub name: String,
    pub instancetype: Option<VmTypeRef>,
    pub preference: Option<VmTypeRef>,
    pub boot_source: Option<BootSourceView>,
    /// A Kubernetes quantity (`30Gi`).
    pub disk_size: String,
    /// `null`: the cluster's default StorageClass.
    pub storage_class: Option<String>,
    pub networks: VmNetworksView,
    pub cloud_init: Option<CloudInitView>,
    pub start: bool,
}

/// A draft for a saved cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmDraftInput.ts")]
pub struct VmDraftInput {
    pub cluster: String,
    pub draft: VmDraftView,
}

/// A problem at one field of the draft, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "DraftFieldErrorView.ts")]
pub struct DraftFieldErrorView {
    /// `name`, `disk_size`, `boot_source`, `boot_source.name`, `networks.multus[1]`, ...
    pub field: String,
    pub message: String,
    pub fix: String,
}

/// The draft checked (form, then cluster): every field error at once; none means it can be
/// created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmDraftCheckView.ts")]
pub struct VmDraftCheckView {
    pub errors: Vec<DraftFieldErrorView>,
}

/// The review step: the field errors, or the exact objects as YAML (the Secret's values hidden).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmReviewView.ts")]
pub struct VmReviewView {
    pub errors: Vec<DraftFieldErrorView>,
    pub yaml: Option<String>,
}

/// A created VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "CreatedVmView.ts")]
pub struct CreatedVmView {
    pub namespace: String,
    pub name: String,
    pub secret: Option<String>,
    pub disks: Vec<String>,
}

/// Create's answer: the field errors (nothing created), or what was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmCreateView.ts")]
pub struct VmCreateView {
    pub errors: Vec<DraftFieldErrorView>,
    pub created: Option<CreatedVmView>,
}

/// One step of a VM's disk import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "event", rename_all = "snake_case")]
#[ts(export_to = "DiskEventView.ts")]
pub enum DiskEventView {
    /// CDI's phase of a disk and percent done when known.
    Progress {
        disk: String,
        phase: String,
        percent: Option<f64>,
    },
    /// A disk cannot be made; why, in plain words.
    Failed { disk: String, reason: String },
    /// Every disk is ready: the VM can boot.
    Ready,
}

/// Whether a VM can be snapshotted, else what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SnapshotCapabilityView.ts")]
pub struct SnapshotCapabilityView {
    pub available: bool,
    pub reason: Option<String>,
}

/// A VM snapshot as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SnapshotRowView.ts")]
pub struct SnapshotRowView {
    pub name: String,
    pub vm: String,
    pub phase: String,
    pub ready: bool,
    /// The disks' restore size together (`30Gi`), when known.
    pub size: Option<String>,
    pub created: Option<String>,
    pub error: Option<String>,
}

/// A snapshot of a VM (to take, delete or restore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SnapshotInput.ts")]
pub struct SnapshotInput {
    pub cluster: String,
    pub namespace: String,
    pub vm: String,
    pub snapshot: String,
}

/// A step of a restore (the VM is stopped first when it runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "step", rename_all = "snake_case")]
#[ts(export_to = "RestoreStepView.ts")]
pub enum RestoreStepView {
    Stopping { vm: String },
    Stopped { vm: String },
    Restoring { restore: String },
    Restored { restore: String },
}

/// A finished restore: whether the VM had to be stopped first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "RestoreDoneView.ts")]
pub struct RestoreDoneView {
    pub stopped: bool,
}

/// Clone the VM `namespace/name` as `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "CloneVmInput.ts")]
pub struct CloneVmInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub target: String,
}

/// How a clone was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "CloneMethodView.ts")]
pub enum CloneMethodView {
    VirtualMachineClone,
    FromSnapshot,
}

/// A finished clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "CloneDoneView.ts")]
pub struct CloneDoneView {
    pub target: String,
    pub method: CloneMethodView,
}

/// Delete a VM once `typed` is its name; `keep_disks` keeps its PVCs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "DeleteVmInput.ts")]
pub struct DeleteVmInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub typed: String,
    pub keep_disks: bool,
}

/// What a delete removed and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "DeletedVmView.ts")]
pub struct DeletedVmView {
    pub vm: String,
    pub disks_deleted: Vec<String>,
    pub disks_kept: Vec<String>,
}

/// CPU, memory and run strategy changes (`null`: unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "EditVmInput.ts")]
pub struct EditVmInput {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    /// Another instancetype (a VM that takes CPU and memory from one).
    pub instancetype: Option<VmTypeRef>,
    pub run_strategy: Option<String>,
}

/// An edit made: a running VM needs a restart for CPU and memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "EditedVmView.ts")]
pub struct EditedVmView {
    pub vm: String,
    pub restart_needed: bool,
    /// KubeVirt's RestartRequired condition message, when it already says so.
    pub restart_condition: Option<String>,
}

/// A VM's settings the VM page shows and edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "VmSettingsView.ts")]
pub struct VmSettingsView {
    pub namespace: String,
    pub name: String,
    pub running: bool,
    pub run_strategy: Option<String>,
    /// From the VM's own spec (`null` when an instancetype sets them).
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    pub instancetype: Option<VmTypeRef>,
    pub preference: Option<String>,
    /// The PVCs of its disks.
    pub disks: Vec<String>,
    /// KubeVirt's RestartRequired condition message, when set.
    pub restart_required: Option<String>,
}
