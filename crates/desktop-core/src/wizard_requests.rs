//! What the install wizard sends: the pack selection, a gate table query, the draft profile, where a profile file
//! is saved or loaded, and pack secrets for the secret store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_packs::GateChoice;
use vmdeck_vault::Sensitive;

/// The packs the user (or a preset) picked; resolution adds their dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackSelection.ts")]
pub struct PackSelection {
    pub packs: Vec<String>,
}

/// The gate table of one pack at one version, with the profile's choices so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GateTableQuery.ts")]
pub struct GateTableQuery {
    pub pack: String,
    pub version: String,
    /// Gate -> choice so far; `null` for a pack new to the profile, which starts from the profile defaults.
    pub choices: Option<BTreeMap<String, GateSetting>>,
    /// The choices were made for another version: keep only those of gates still choosable in `version`.
    pub version_changed: bool,
}

/// A feature gate choice in a profile; a gate that is not mentioned keeps its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "GateSetting.ts")]
pub enum GateSetting {
    On,
    Off,
}

impl From<GateSetting> for GateChoice {
    fn from(setting: GateSetting) -> Self {
        match setting {
            GateSetting::On => GateChoice::On,
            GateSetting::Off => GateChoice::Off,
        }
    }
}

impl From<GateChoice> for GateSetting {
    fn from(choice: GateChoice) -> Self {
        match choice {
            GateChoice::On => GateSetting::On,
            GateChoice::Off => GateSetting::Off,
        }
    }
}

/// One pack of the draft profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "DraftPack.ts")]
pub struct DraftPack {
    pub name: String,
    pub version: String,
    /// The pack's values as shown in the form (defaults included, secrets never): only what differs from the
    /// pack's defaults is written to the profile file.
    #[ts(type = "Record<string, unknown>")]
    pub values: serde_json::Value,
    /// Gate -> choice.
    pub gates: BTreeMap<String, GateSetting>,
}

/// The profile the wizard is building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "ProfileDraft.ts")]
pub struct ProfileDraft {
    /// `metadata.name`.
    pub name: String,
    pub description: Option<String>,
    /// The preset the selection started from; `null` once the user changed the pack selection.
    pub preset: Option<String>,
    /// Every pack to install, dependencies included, dependencies first.
    pub packs: Vec<DraftPack>,
}

/// Where a profile file is (to be) saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export_to = "ProfileLocation.ts")]
pub enum ProfileLocation {
    /// An absolute path chosen in the desktop app's native save or open dialog.
    Path { path: String },
    /// A file name inside the app's own profiles folder (what the browser UI uses).
    Named { name: String },
}

/// Save the draft as a profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "SaveProfileInput.ts")]
pub struct SaveProfileInput {
    pub draft: ProfileDraft,
    pub location: ProfileLocation,
}

/// A secret value of a pack (a schema field marked `x-vmdeck-secret`), for the secret store only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackSecretInput.ts")]
pub struct PackSecretInput {
    /// The cluster the secret is for (`null`: not tied to a cluster).
    pub cluster: Option<String>,
    pub pack: String,
    /// Dotted path of the secret field inside the pack's values, e.g. `token`.
    pub key: String,
    #[ts(type = "string")]
    pub value: Sensitive<String>,
}

/// Which secrets of these packs are already stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackSecretQuery.ts")]
pub struct PackSecretQuery {
    pub cluster: Option<String>,
    pub packs: Vec<String>,
}

impl crate::calls::NamesLocalPath for ProfileLocation {
    fn names_local_path(&self) -> bool {
        matches!(self, Self::Path { .. })
    }
}

impl crate::calls::NamesLocalPath for SaveProfileInput {
    fn names_local_path(&self) -> bool {
        self.location.names_local_path()
    }
}
