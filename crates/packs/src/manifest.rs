//! The `pack.yaml` format: what a pack is, where its upstream documents come from and how it is installed.

use serde::{Deserialize, Serialize};

/// One pack as described by its `pack.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackManifest {
    /// Machine name, equal to the folder name (`kubevirt`).
    pub name: String,
    /// Name shown to people (`KubeVirt`).
    pub display_name: String,
    pub description: String,
    /// Grouping for the catalog view (`virtualization`, `storage`, `networking`, `access`).
    pub category: String,
    /// The version a new profile gets.
    pub default_version: String,
    /// File name of the feature gate catalog beside `pack.yaml`, when the pack has gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<String>,
    pub versions: Vec<PackVersion>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    #[serde(default)]
    pub preflight: Vec<PreflightRule>,
    #[serde(default)]
    pub templates: Vec<TemplateSpec>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub readiness: Vec<ReadinessRule>,
    #[serde(default)]
    pub uninstall: Vec<UninstallStep>,
}

/// One installable version and the upstream files it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackVersion {
    pub version: String,
    #[serde(default)]
    pub sources: Vec<UpstreamSource>,
}

/// An upstream multi-document YAML file, applied as published (apart from named patches).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamSource {
    /// Name unique within the pack version (used by patches and uninstall steps).
    pub name: String,
    /// The official download URL.
    pub url: String,
    /// Hex sha256 of the file. `None` means trust-on-first-use (pinned later in the lock file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Path inside a mirror laid out as `<component>/<version>/<file>`.
    pub mirror: String,
    /// minijinja expression over `values` and `pack`; the source is used only when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Names of patches (from the pack's `patches`) applied to this source's documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<String>,
}

/// A pack that cannot be installed together with this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conflict {
    pub pack: String,
    pub reason: String,
}

/// A check the installer runs against the cluster before installing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreflightRule {
    pub id: String,
    pub severity: PreflightSeverity,
    pub check: PreflightCheck,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PreflightSeverity {
    /// Installing would clash with something already there: refuse unless the user resolves it.
    Conflict,
    /// The cluster lacks something the pack needs.
    Requirement,
    /// Worth telling, not blocking.
    Warning,
}

/// What a preflight rule looks at. Evaluated by the installer (this crate does no I/O).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum PreflightCheck {
    /// No workload of these kinds runs an image containing `image_contains`.
    #[serde(rename_all = "camelCase")]
    WorkloadAbsent {
        kinds: Vec<String>,
        image_contains: String,
        #[serde(default)]
        ignore_managed_by_vmdeck: bool,
    },
    /// The CustomResourceDefinition does not exist yet.
    #[serde(rename_all = "camelCase")]
    CrdAbsent {
        name: String,
        #[serde(default)]
        ignore_managed_by_vmdeck: bool,
    },
    /// At least one node is Ready (which needs a working default CNI).
    NodesReady,
    /// A default StorageClass (virt default or cluster default) exists.
    DefaultStorageClass,
    /// Cannot be checked automatically; shown to the user.
    Manual,
}

/// A minijinja template file rendering one or more of our own objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateSpec {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// A named, explicit change to an upstream document, applied at render time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Patch {
    pub name: String,
    pub reason: String,
    pub target: PatchTarget,
    #[serde(flatten)]
    pub operation: PatchOperation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchTarget {
    pub kind: String,
    pub name: String,
}

/// The change a patch makes. Strings are minijinja expressions over `values` and `pack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PatchOperation {
    /// Every container and init container whose image equals `from` gets `to`.
    ReplaceImage { from: String, to: String },
    /// Set resource requests/limits of one container.
    SetResources {
        container: String,
        #[serde(default)]
        requests: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        limits: std::collections::BTreeMap<String, String>,
    },
}

/// A condition the installer waits for after applying the pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadinessRule {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// A status condition type that must be True (`Available`, `Established`), or `RolledOut` for workloads.
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// An object addressed by kind and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

/// One step of uninstalling, run in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, untagged)]
pub enum UninstallStep {
    /// Delete one object; with `wait_until_gone` wait for it to disappear (finalizers) before going on.
    Delete {
        delete: ObjectRef,
        #[serde(default, rename = "waitUntilGone")]
        wait_until_gone: bool,
    },
    /// Delete the objects rendered from an upstream source, in reverse order.
    DeleteSource {
        #[serde(rename = "deleteSource")]
        delete_source: String,
    },
    /// Delete the objects rendered from the pack's templates, in reverse order.
    DeleteTemplates {
        #[serde(rename = "deleteTemplates")]
        delete_templates: bool,
    },
}

impl PackManifest {
    /// The entry for `version` (`1.8.4` or upstream's tag `v1.8.4`), if the pack offers it.
    pub fn version(&self, version: &str) -> Option<&PackVersion> {
        self.versions
            .iter()
            .find(|v| crate::version_name::same(&v.version, version))
    }

    /// `version` as the pack spells it (`v1.8.4` -> `1.8.4`), or as given when the pack does not offer it.
    pub fn spelling<'a>(&'a self, version: &'a str) -> &'a str {
        self.version(version)
            .map_or(version, |v| v.version.as_str())
    }

    pub fn patch(&self, name: &str) -> Option<&Patch> {
        self.patches.iter().find(|p| p.name == name)
    }
}
