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
    /// Config files our templates render into objects, checked at render time against the
    /// program's own format.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_checks: Vec<ConfigCheck>,
}

/// One installable version and the upstream files it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackVersion {
    pub version: String,
    /// The Kubernetes minors this version supports (checked by the installer's preflight); `None`
    /// when the pack does not say (user packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesRange>,
    #[serde(default)]
    pub sources: Vec<UpstreamSource>,
}

/// Supported Kubernetes minors, both ends included: `{min: "1.33", max: "1.35"}`. Without `max`,
/// every minor from `min` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawRange")]
pub struct KubernetesRange {
    pub min: KubernetesMinor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<KubernetesMinor>,
}

/// A range as written, checked (`min` not above `max`) into a [`KubernetesRange`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRange {
    min: KubernetesMinor,
    #[serde(default)]
    max: Option<KubernetesMinor>,
}

impl TryFrom<RawRange> for KubernetesRange {
    type Error = String;

    fn try_from(raw: RawRange) -> Result<Self, String> {
        match raw.max {
            Some(max) if max < raw.min => {
                Err(format!("kubernetes: min {} is above max {max}", raw.min))
            }
            max => Ok(KubernetesRange { min: raw.min, max }),
        }
    }
}

/// A Kubernetes `major.minor` (`1.34`), ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesMinor {
    pub major: u32,
    pub minor: u32,
}

/// Where a version is on a [`KubernetesRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFit {
    Older,
    Within,
    Newer,
}

impl KubernetesRange {
    pub fn fit(&self, version: KubernetesMinor) -> RangeFit {
        if version < self.min {
            RangeFit::Older
        } else if self.max.is_some_and(|max| version > max) {
            RangeFit::Newer
        } else {
            RangeFit::Within
        }
    }
}

impl std::fmt::Display for KubernetesRange {
    /// `1.33-1.35`, or `1.25 or newer`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "{max}"),
            Some(max) => write!(f, "{}-{max}", self.min),
            None => write!(f, "{} or newer", self.min),
        }
    }
}

impl KubernetesMinor {
    /// `1.34`, or a server's `gitVersion` (`v1.34.1`, `v1.31.4-eks-2d5f260`, `v1.30.2+k3s1`).
    pub fn parse(text: &str) -> Option<KubernetesMinor> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?;
        // `34`, or `34` of `34+` (EKS reports minor "34+") or of `34-rc.0`.
        let digits: String = minor.chars().take_while(char::is_ascii_digit).collect();
        let minor = digits.parse().ok()?;
        Some(KubernetesMinor { major, minor })
    }
}

impl std::fmt::Display for KubernetesMinor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for KubernetesMinor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubernetesMinor {
    /// Strictly `MAJOR.MINOR` as a string (`"1.34"`; not `1.34`, `v1.34` or `1.34.1`).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let strict = text.split('.').count() == 2
            && text
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        match KubernetesMinor::parse(&text) {
            Some(minor) if strict => Ok(minor),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a Kubernetes minor like \"1.34\""
            ))),
        }
    }
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
    /// A default CNI (a known CNI's DaemonSet, or one writing `/etc/cni/net.d`) runs on every node.
    DefaultCni,
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

/// A config file inside a rendered object (a ConfigMap's `data` key) that must parse in `format`
/// and use only the keys listed in `known_keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigCheck {
    /// The rendered object holding the file (`kind` and `metadata.name`).
    pub object: PatchTarget,
    /// The key under the object's `data`.
    pub key: String,
    pub format: ConfigFormat,
    /// A file beside `pack.yaml` listing every key the program accepts, one dotted path a line
    /// (`[]` marks an array of tables: `proxies[].localPort`); `#` starts a comment.
    pub known_keys: String,
    /// Where the key list comes from, for error messages (`frp v0.70.1 conf/frpc_full_example.toml`).
    pub reference: String,
}

/// The syntax of a checked config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigFormat {
    Toml,
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
    /// The versions the pack offers, as listed (newest first).
    pub fn version_names(&self) -> Vec<String> {
        self.versions.iter().map(|v| v.version.clone()).collect()
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(text: &str) -> KubernetesMinor {
        KubernetesMinor::parse(text).unwrap()
    }

    #[test]
    fn server_versions_parse_to_their_minor() {
        assert_eq!(
            minor("v1.34.1"),
            KubernetesMinor {
                major: 1,
                minor: 34
            }
        );
        assert_eq!(minor("v1.31.4-eks-2d5f260").minor, 31);
        assert_eq!(minor("v1.30.2+k3s1").minor, 30);
        assert_eq!(minor("1.28+").minor, 28);
        assert_eq!(KubernetesMinor::parse("latest"), None);
        assert_eq!(KubernetesMinor::parse("v1"), None);
        assert!(minor("1.9") < minor("1.10"));
    }

    #[test]
    fn ranges_include_both_ends_and_may_be_open() {
        let range: KubernetesRange =
            serde_yaml_ng::from_str("{min: \"1.33\", max: \"1.35\"}").unwrap();
        assert_eq!(range.to_string(), "1.33-1.35");
        assert_eq!(range.fit(minor("v1.32.9")), RangeFit::Older);
        assert_eq!(range.fit(minor("v1.33.0")), RangeFit::Within);
        assert_eq!(range.fit(minor("v1.35.2")), RangeFit::Within);
        assert_eq!(range.fit(minor("v1.36.0")), RangeFit::Newer);
        let open: KubernetesRange = serde_yaml_ng::from_str("min: \"1.25\"").unwrap();
        assert_eq!(open.fit(minor("v1.99.0")), RangeFit::Within);
        assert_eq!(open.to_string(), "1.25 or newer");
    }

    #[test]
    fn ranges_are_strict() {
        // An unquoted minor is read as written (1.30 stays 1.30, not 1.3).
        let unquoted: KubernetesRange = serde_yaml_ng::from_str("{min: 1.30}").unwrap();
        assert_eq!(unquoted.min.minor, 30);
        for bad in [
            "{min: 1}",
            "{min: \"v1.33\"}",
            "{min: \"1.33.1\"}",
            "{min: \"1.33\", maximum: \"1.35\"}",
            "{max: \"1.35\"}",
            "{min: \"1.35\", max: \"1.33\"}",
        ] {
            assert!(
                serde_yaml_ng::from_str::<KubernetesRange>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_embedded_pack_version_names_its_kubernetes_range() {
        let catalog = crate::Catalog::embedded().unwrap();
        for pack in catalog.packs() {
            for version in &pack.manifest.versions {
                assert!(
                    version.kubernetes.is_some(),
                    "{} {} has no kubernetes range",
                    pack.manifest.name,
                    version.version
                );
            }
        }
        let kubevirt = catalog.get("kubevirt").unwrap();
        let range = kubevirt
            .manifest
            .version("1.9.0")
            .unwrap()
            .kubernetes
            .unwrap();
        assert_eq!(range.to_string(), "1.34-1.36");
    }
}
