//! What the install screens draw while an install, uninstall or gate change runs (the engine's
//! progress mirrored for TypeScript, ending with `done` or `failed`), what they show when it ends,
//! a cluster's installed status and the journal's unfinished runs.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_installer::delete::Leftover;
use vmdeck_installer::upgrade_path::offered_versions;
use vmdeck_installer::{LiveGates, PackHealth, Progress, RunRecord, RunState};

use crate::install_views::{ObjectRefView, count};
use crate::ui_error::UiError;
use crate::wizard_requests::ProfileDraft;

/// One step of an install or uninstall; the last event is `done` or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "event")]
#[ts(export_to = "InstallEvent.ts")]
pub enum InstallEvent {
    /// The inventory is in the cluster; what follows can always be uninstalled.
    InventoryWritten {
        objects: u32,
    },
    PhaseStarted {
        pack: String,
        phase: String,
        objects: u32,
    },
    Applied {
        pack: String,
        object: ObjectRefView,
    },
    Retrying {
        pack: String,
        object: ObjectRefView,
        attempt: u32,
        reason: String,
    },
    /// Live status while waiting ("virt-handler 2/3 ready").
    Waiting {
        pack: String,
        what: String,
        status: String,
    },
    PackReady {
        pack: String,
    },
    Deleting {
        object: ObjectRefView,
    },
    Deleted {
        object: ObjectRefView,
    },
    Done {
        applied: u32,
        deleted: u32,
    },
    /// The run stopped; the error says why (the same as the call's error).
    Failed {
        error: UiError,
    },
}

impl From<Progress> for InstallEvent {
    fn from(progress: Progress) -> Self {
        match progress {
            Progress::InventoryWritten { objects } => Self::InventoryWritten {
                objects: count(objects),
            },
            Progress::PhaseStarted {
                pack,
                phase,
                objects,
            } => Self::PhaseStarted {
                pack,
                phase,
                objects: count(objects),
            },
            Progress::Applied { pack, object } => Self::Applied {
                pack,
                object: object.into(),
            },
            Progress::Retrying {
                pack,
                object,
                attempt,
                reason,
            } => Self::Retrying {
                pack,
                object: object.into(),
                attempt,
                reason,
            },
            Progress::Waiting { pack, what, status } => Self::Waiting { pack, what, status },
            Progress::PackReady { pack } => Self::PackReady { pack },
            Progress::Deleting { object } => Self::Deleting {
                object: object.into(),
            },
            Progress::Deleted { object } => Self::Deleted {
                object: object.into(),
            },
            Progress::Done { applied, deleted } => Self::Done {
                applied: count(applied),
                deleted: count(deleted),
            },
        }
    }
}

/// What an install (or a gate change, or a resume) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "InstallDoneView.ts")]
pub struct InstallDoneView {
    pub inventory_id: String,
    pub packs: Vec<String>,
    pub applied: u32,
    pub pruned: u32,
}

/// An object still there after its delete (finalizers), and how to remove it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "LeftoverView.ts")]
pub struct LeftoverView {
    pub object: ObjectRefView,
    pub finalizers: Vec<String>,
    /// A kubectl command that removes it (dropping its finalizers).
    pub remove_with: String,
}

impl From<Leftover> for LeftoverView {
    fn from(leftover: Leftover) -> Self {
        Self {
            object: leftover.object.into(),
            finalizers: leftover.finalizers,
            remove_with: leftover.remove_with,
        }
    }
}

/// What an uninstall removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "UninstallDoneView.ts")]
pub struct UninstallDoneView {
    pub packs: Vec<String>,
    pub deleted: u32,
    /// Objects that outlived their delete; while any is left the inventory stays, so
    /// uninstalling again (or with `force_finalizers`) finishes the job.
    pub leftovers: Vec<LeftoverView>,
}

/// The feature gates one installed custom resource has in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "LiveGatesView.ts")]
pub struct LiveGatesView {
    pub pack: String,
    pub object: ObjectRefView,
    pub enabled: Vec<String>,
    /// Another field manager owning the gate list: VMDeck then refuses to change it.
    pub owned_by: Option<String>,
}

impl From<LiveGates> for LiveGatesView {
    fn from(gates: LiveGates) -> Self {
        Self {
            pack: gates.pack,
            object: gates.object.into(),
            enabled: gates.enabled,
            owned_by: gates.owned_by,
        }
    }
}

/// One installed pack: version, objects, health and live gates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "InstalledPackView.ts")]
pub struct InstalledPackView {
    pub name: String,
    pub version: String,
    /// Objects the inventory lists for the pack.
    pub objects: u32,
    pub healthy: bool,
    /// What is not right, one line per object.
    pub reasons: Vec<String>,
    pub gates: Option<LiveGatesView>,
    /// The versions it may change to, newest first: for KubeVirt and CDI only the newer
    /// releases up to the next minor (their operators upgrade one minor at a time).
    pub upgrades: Vec<String>,
}

/// What VMDeck installed on a cluster, as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "InstalledStatusView.ts")]
pub struct InstalledStatusView {
    pub cluster: String,
    /// Whether an inventory is there at all.
    pub installed: bool,
    pub inventory_id: Option<String>,
    /// The installed profile (YAML, no secrets).
    pub profile: Option<String>,
    /// The installed profile as the wizard's draft (its gate choices start the gate editor).
    pub draft: Option<ProfileDraft>,
    pub packs: Vec<InstalledPackView>,
    /// Whether every pack is healthy (`false` when nothing is installed).
    pub healthy: bool,
    /// Users' VirtualMachines and DataVolumes (golden images excepted): they block an uninstall
    /// unless it removes them.
    pub user_data: Vec<ObjectRefView>,
}

impl InstalledStatusView {
    pub fn not_installed(cluster: String) -> Self {
        Self {
            cluster,
            installed: false,
            inventory_id: None,
            profile: None,
            draft: None,
            packs: Vec::new(),
            healthy: false,
            user_data: Vec::new(),
        }
    }

    pub fn of(
        cluster: String,
        inventory: &vmdeck_installer::Inventory,
        health: Vec<PackHealth>,
        gates: Vec<LiveGates>,
        catalog: &vmdeck_packs::Catalog,
    ) -> Self {
        let upgrades = |name: &str| {
            let installed = inventory.packs.iter().find(|p| p.name == name);
            let versions = catalog.get(name).map(|pack| pack.manifest.version_names());
            match (installed, versions) {
                (Some(installed), Some(versions)) => offered_versions(installed, &versions),
                _ => Vec::new(),
            }
        };
        let packs: Vec<InstalledPackView> = health
            .into_iter()
            .map(|h| InstalledPackView {
                upgrades: upgrades(&h.pack),
                objects: count(
                    inventory
                        .objects
                        .iter()
                        .filter(|o| o.pack == h.pack)
                        .count(),
                ),
                gates: gates
                    .iter()
                    .find(|g| g.pack == h.pack)
                    .cloned()
                    .map(Into::into),
                name: h.pack,
                version: h.version,
                healthy: h.healthy,
                reasons: h.reasons,
            })
            .collect();
        Self {
            cluster,
            installed: true,
            inventory_id: Some(inventory.id.clone()),
            profile: Some(inventory.profile.clone()),
            draft: None,
            healthy: packs.iter().all(|p| p.healthy),
            packs,
            user_data: Vec::new(),
        }
    }
}

/// An install run the journal saw start and not end well: the banner offers Resume or Discard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "UnfinishedRunView.ts")]
pub struct UnfinishedRunView {
    /// The saved cluster's name.
    pub cluster: String,
    /// The profile's `metadata.name`, when it can be read.
    pub profile_name: Option<String>,
    /// Seconds since the Unix epoch.
    #[ts(type = "number")]
    pub started: u64,
    /// `null` when the run was cut short (a crash, a closed window); else why it failed.
    pub failed: Option<UiError>,
    pub inventory_written: bool,
    pub packs_ready: Vec<String>,
}

impl From<RunRecord> for UnfinishedRunView {
    fn from(record: RunRecord) -> Self {
        Self {
            profile_name: vmdeck_packs::Profile::from_yaml(&record.profile)
                .ok()
                .map(|p| p.metadata.name),
            cluster: record.cluster,
            started: record.started,
            failed: match record.state {
                RunState::Running => None,
                RunState::Failed { code, message } => Some(UiError::new(&code, message)),
            },
            inventory_written: record.inventory_written,
            packs_ready: record.packs_ready,
        }
    }
}
