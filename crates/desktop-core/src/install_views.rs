//! What the install screens draw from a preflight and a plan: the installer's reports mirrored as
//! serde types with TypeScript bindings (checks, verdicts, automatic fixes, per-pack counts,
//! objects with their diffs, Secret data already masked by the engine, and field conflicts).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_installer::preflight::{AutoFix, FixAction};
use vmdeck_installer::{
    Action, Check, Conflict, ObjectKey, PackCounts, Plan, PlannedObject, PreflightReport,
    ProfileChange, Verdict,
};

/// Counts as the UI reads them (never more than `u32::MAX`).
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How a preflight check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "VerdictView.ts")]
pub enum VerdictView {
    Pass,
    /// Worth knowing; the install may go ahead.
    Warn,
    /// The install is refused until it is fixed.
    Fail,
}

impl From<Verdict> for VerdictView {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass => Self::Pass,
            Verdict::Warn => Self::Warn,
            Verdict::Fail => Self::Fail,
        }
    }
}

/// One change an automatic fix makes to the draft profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
#[ts(export_to = "ProfileChangeView.ts")]
pub enum ProfileChangeView {
    /// Sets `path` (dotted) in the pack's values.
    SetValue {
        pack: String,
        path: String,
        #[ts(type = "unknown")]
        value: serde_json::Value,
    },
    SetVersion {
        pack: String,
        version: String,
    },
    RemovePack {
        pack: String,
    },
}

impl From<ProfileChange> for ProfileChangeView {
    fn from(change: ProfileChange) -> Self {
        match change {
            ProfileChange::SetValue { pack, path, value } => Self::SetValue { pack, path, value },
            ProfileChange::SetVersion { pack, version } => Self::SetVersion { pack, version },
            ProfileChange::RemovePack { pack } => Self::RemovePack { pack },
        }
    }
}

impl From<ProfileChangeView> for ProfileChange {
    fn from(change: ProfileChangeView) -> Self {
        match change {
            ProfileChangeView::SetValue { pack, path, value } => {
                Self::SetValue { pack, path, value }
            }
            ProfileChangeView::SetVersion { pack, version } => Self::SetVersion { pack, version },
            ProfileChangeView::RemovePack { pack } => Self::RemovePack { pack },
        }
    }
}

/// What an automatic fix does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "FixActionView.ts")]
pub enum FixActionView {
    /// Changes to the draft: send them to `apply_profile_changes`, then preflight again.
    Profile { changes: Vec<ProfileChangeView> },
    /// The pack is left out of this install (the cluster already has what it provides).
    SkipPack { pack: String },
    /// Taking over an existing installation (not implemented yet: the install refuses).
    Adopt { pack: String },
}

/// A fix VMDeck can make itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "AutoFixView.ts")]
pub struct AutoFixView {
    /// Stable: `use_emulation`, `skip_pack`, `adopt`, `change_version`.
    pub id: String,
    pub summary: String,
    pub cost: Option<String>,
    /// Taken unless the user says otherwise.
    pub default: bool,
    pub action: FixActionView,
}

impl From<AutoFix> for AutoFixView {
    fn from(fix: AutoFix) -> Self {
        Self {
            id: fix.id,
            summary: fix.summary,
            cost: fix.cost,
            default: fix.default,
            action: match fix.action {
                FixAction::Profile { changes } => FixActionView::Profile {
                    changes: changes.into_iter().map(Into::into).collect(),
                },
                FixAction::SkipPack { pack } => FixActionView::SkipPack { pack },
                FixAction::Adopt { pack } => FixActionView::Adopt { pack },
            },
        }
    }
}

/// One preflight check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "PreflightCheckView.ts")]
pub struct PreflightCheckView {
    /// Stable id (`kvm`, `default_storage_class`, ...).
    pub id: String,
    /// The pack the check is about, when it is about one.
    pub pack: Option<String>,
    pub verdict: VerdictView,
    /// What the check saw on the cluster.
    pub saw: String,
    /// How to fix it, in people's words.
    pub fix: Option<String>,
    pub auto_fix: Option<AutoFixView>,
}

impl From<Check> for PreflightCheckView {
    fn from(check: Check) -> Self {
        Self {
            id: check.id.as_str().to_string(),
            pack: check.pack,
            verdict: check.verdict.into(),
            saw: check.saw,
            fix: check.fix,
            auto_fix: check.auto_fix.map(Into::into),
        }
    }
}

/// A preflight of a draft profile on a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "PreflightView.ts")]
pub struct PreflightView {
    /// The server's `gitVersion`.
    pub kubernetes_version: String,
    /// The worst verdict.
    pub verdict: VerdictView,
    /// Whether a failure blocks the install.
    pub blocks: bool,
    /// Packs left out unless the user says otherwise (default `skip_pack` fixes).
    pub skipped_packs: Vec<String>,
    pub checks: Vec<PreflightCheckView>,
}

impl From<PreflightReport> for PreflightView {
    fn from(report: PreflightReport) -> Self {
        Self {
            kubernetes_version: report.kubernetes_version.clone(),
            verdict: report.verdict().into(),
            blocks: report.blocks(),
            skipped_packs: report.skipped_packs(),
            checks: report.checks.into_iter().map(Into::into).collect(),
        }
    }
}

/// An object's identity in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ObjectRefView.ts")]
pub struct ObjectRefView {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// `Kind namespace/name`, for people.
    pub label: String,
}

impl From<ObjectKey> for ObjectRefView {
    fn from(key: ObjectKey) -> Self {
        Self {
            label: key.to_string(),
            api_version: key.api_version,
            kind: key.kind,
            namespace: key.namespace,
            name: key.name,
        }
    }
}

/// What applying does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "PlanActionView.ts")]
pub enum PlanActionView {
    Create,
    Update,
    Unchanged,
    /// In the inventory, no longer rendered: deleted after the apply.
    Prune,
}

impl From<Action> for PlanActionView {
    fn from(action: Action) -> Self {
        match action {
            Action::Create => Self::Create,
            Action::Update => Self::Update,
            Action::Unchanged => Self::Unchanged,
            Action::Prune => Self::Prune,
        }
    }
}

/// Fields another field manager owns that the apply would take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ConflictView.ts")]
pub struct ConflictView {
    pub manager: String,
    pub fields: Vec<String>,
}

impl From<Conflict> for ConflictView {
    fn from(conflict: Conflict) -> Self {
        Self {
            manager: conflict.manager,
            fields: conflict.fields,
        }
    }
}

/// One object of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "PlannedObjectView.ts")]
pub struct PlannedObjectView {
    pub object: ObjectRefView,
    pub pack: String,
    pub action: PlanActionView,
    /// Unified diff of the live object against the result (Secret data masked; empty when unchanged).
    pub diff: String,
    pub conflicts: Vec<ConflictView>,
}

impl From<PlannedObject> for PlannedObjectView {
    fn from(object: PlannedObject) -> Self {
        Self {
            object: object.object.into(),
            pack: object.pack,
            action: object.action.into(),
            diff: object.diff,
            conflicts: object.conflicts.into_iter().map(Into::into).collect(),
        }
    }
}

/// Counts of one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackCountsView.ts")]
pub struct PackCountsView {
    pub pack: String,
    pub create: u32,
    pub update: u32,
    pub unchanged: u32,
    pub prune: u32,
}

impl From<PackCounts> for PackCountsView {
    fn from(counts: PackCounts) -> Self {
        Self {
            pack: counts.pack,
            create: count(counts.create),
            update: count(counts.update),
            unchanged: count(counts.unchanged),
            prune: count(counts.prune),
        }
    }
}

/// What an install of a draft (or a gate change) would change on a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "PlanView.ts")]
pub struct PlanView {
    /// Install order (dependencies first), packs only pruned last.
    pub packs: Vec<PackCountsView>,
    /// Apply order, then the prunes.
    pub objects: Vec<PlannedObjectView>,
    /// Whether something VMDeck installed earlier is there (an upgrade).
    pub upgrade: bool,
    /// Whether applying changes anything.
    pub changes: bool,
    /// Whether another field manager owns fields the apply changes (install needs `force_conflicts`).
    pub has_conflicts: bool,
}

impl From<Plan> for PlanView {
    fn from(plan: Plan) -> Self {
        let (changes, has_conflicts) = (plan.changes(), plan.conflicts().next().is_some());
        Self {
            changes,
            has_conflicts,
            upgrade: plan.upgrade,
            packs: plan.packs.into_iter().map(Into::into).collect(),
            objects: plan.objects.into_iter().map(Into::into).collect(),
        }
    }
}
