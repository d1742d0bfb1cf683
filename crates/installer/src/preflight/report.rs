//! What a preflight reports: one check per concern, each with a verdict, what it saw, how to fix
//! it and, where one exists, an automatic fix; serialisable (snake_case) for the UI.

use serde::{Deserialize, Serialize};
use vmdeck_packs::Rendered;

use super::change::ProfileChange;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// Worth knowing; the install may go ahead.
    Warn,
    /// The install must not go ahead until it is fixed.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// The stable id of a check (what the UI and scripts branch on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// The cluster's Kubernetes minor is within each chosen pack version's supported range.
    KubernetesVersion,
    /// The caller may create, patch, get, list, watch and delete what the install applies.
    Permissions,
    /// Schedulable nodes offer hardware virtualization (`/dev/kvm`).
    Kvm,
    /// A default StorageClass for CDI's DataVolumes.
    DefaultStorageClass,
    /// A snapshot controller or snapshot CRDs someone else installed.
    ExistingSnapshotController,
    /// A VolumeSnapshotClass for the CSI driver of the StorageClass VM disks use.
    SnapshotClass,
    /// A running default CNI under Multus.
    DefaultCni,
    /// KubeVirt installed by someone else.
    ExistingKubevirt,
    /// CDI installed by someone else.
    ExistingCdi,
    /// The Spectro Proxy's frp server resolves and accepts TCP from this machine.
    ProxyReachable,
    /// The API server's certificate names the proxy host (`cluster-<id>.<server>`).
    ProxyCertificate,
    /// The proxy answers TLS for this cluster's proxy host.
    ProxyRoute,
    /// The frpc agent in the cluster is available and its ConfigMap names the pack's frp server.
    ProxyAgent,
}

impl CheckId {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::KubernetesVersion => "kubernetes_version",
            CheckId::Permissions => "permissions",
            CheckId::Kvm => "kvm",
            CheckId::DefaultStorageClass => "default_storage_class",
            CheckId::ExistingSnapshotController => "existing_snapshot_controller",
            CheckId::SnapshotClass => "snapshot_class",
            CheckId::DefaultCni => "default_cni",
            CheckId::ExistingKubevirt => "existing_kubevirt",
            CheckId::ExistingCdi => "existing_cdi",
            CheckId::ProxyReachable => "proxy_reachable",
            CheckId::ProxyCertificate => "proxy_certificate",
            CheckId::ProxyRoute => "proxy_route",
            CheckId::ProxyAgent => "proxy_agent",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub id: CheckId,
    /// The pack the check is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    pub verdict: Verdict,
    /// What the check saw on the cluster.
    pub saw: String,
    /// How to fix it (people's words); `None` when there is nothing to fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_fix: Option<AutoFix>,
}

/// A fix VMDeck can make itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoFix {
    /// Stable: `use_emulation`, `skip_pack`, `adopt`, `change_version`.
    pub id: String,
    /// What it does, in a line.
    pub summary: String,
    /// What it costs, when it costs something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Taken unless the user says otherwise.
    pub default: bool,
    pub action: FixAction,
}

/// What an automatic fix changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FixAction {
    /// Changes to the profile: apply them to a draft ([`ProfileChange::apply`]) and render again.
    Profile { changes: Vec<ProfileChange> },
    /// Leave the pack's objects out of this install: the cluster already has what it provides and
    /// VMDeck never overwrites it ([`without_packs`]).
    SkipPack { pack: String },
    /// Take the existing installation into the inventory without changing it (not implemented
    /// yet: the install refuses instead).
    Adopt { pack: String },
}

/// Every check of one preflight run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightReport {
    /// The server's `gitVersion` (`v1.34.1`).
    pub kubernetes_version: String,
    pub checks: Vec<Check>,
}

impl PreflightReport {
    /// Whether any check failed: nothing may be applied then.
    pub fn blocks(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Fail)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Fail)
    }

    /// The worst verdict (`Pass` for no checks).
    pub fn verdict(&self) -> Verdict {
        self.checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }

    /// The checks with `id` (several for per-pack checks).
    pub fn checks_with(&self, id: CheckId) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.id == id)
    }

    /// The first check with `id`.
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks_with(id).next()
    }

    /// The packs the install leaves out unless the user says otherwise (default `skip_pack` fixes).
    pub fn skipped_packs(&self) -> Vec<String> {
        let mut packs: Vec<String> = self
            .checks
            .iter()
            .filter_map(|c| c.auto_fix.as_ref())
            .filter(|fix| fix.default)
            .filter_map(|fix| match &fix.action {
                FixAction::SkipPack { pack } => Some(pack.clone()),
                _ => None,
            })
            .collect();
        packs.dedup();
        packs
    }
}

/// `rendered` without the objects and packs of `packs` (what a `skip_pack` fix installs).
pub fn without_packs(rendered: &Rendered, packs: &[String]) -> Rendered {
    let kept = |pack: &String| !packs.contains(pack);
    Rendered {
        packs: rendered
            .packs
            .iter()
            .filter(|p| kept(&p.name))
            .cloned()
            .collect(),
        objects: rendered
            .objects
            .iter()
            .filter(|o| kept(&o.pack))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: CheckId, verdict: Verdict, auto_fix: Option<AutoFix>) -> Check {
        Check {
            id,
            pack: None,
            verdict,
            saw: "seen".into(),
            fix: None,
            auto_fix,
        }
    }

    #[test]
    fn a_failure_blocks_and_default_skips_are_listed() {
        let skip = AutoFix {
            id: "skip_pack".into(),
            summary: "skip".into(),
            cost: None,
            default: true,
            action: FixAction::SkipPack {
                pack: "volume-snapshot-controller".into(),
            },
        };
        let mut report = PreflightReport {
            kubernetes_version: "v1.34.1".into(),
            checks: vec![
                check(CheckId::Kvm, Verdict::Pass, None),
                check(
                    CheckId::ExistingSnapshotController,
                    Verdict::Warn,
                    Some(skip),
                ),
            ],
        };
        assert!(!report.blocks());
        assert_eq!(report.verdict(), Verdict::Warn);
        assert_eq!(report.skipped_packs(), ["volume-snapshot-controller"]);
        report
            .checks
            .push(check(CheckId::DefaultCni, Verdict::Fail, None));
        assert!(report.blocks());
        assert_eq!(report.failures().count(), 1);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][1]["id"], "existing_snapshot_controller");
        assert_eq!(json["checks"][1]["auto_fix"]["action"]["kind"], "skip_pack");
        assert_eq!(json["checks"][2]["verdict"], "fail");
        let back: PreflightReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }
}
