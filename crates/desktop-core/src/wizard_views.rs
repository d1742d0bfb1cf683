//! What the install wizard shows: pack cards and presets, the resolved selection with reasons, gate tables,
//! value forms, profile issues (path, line, pack, field) and the results of saving and loading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ui_error::UiError;
use crate::value_form::FormField;
use crate::views::StoreMode;
use crate::wizard_requests::{GateSetting, ProfileDraft};

/// Everything the wizard's Packs and Values steps need, from the embedded catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "WizardCatalogView.ts")]
pub struct WizardCatalogView {
    pub packs: Vec<PackCardView>,
    pub presets: Vec<PresetView>,
}

/// One pack as a card: what it does, its versions, what it needs and conflicts with, its values form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackCardView.ts")]
pub struct PackCardView {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub category: String,
    /// Newest first, as the pack lists them.
    pub versions: Vec<String>,
    pub default_version: String,
    pub dependencies: Vec<String>,
    pub conflicts: Vec<PackConflictView>,
    /// `KubeVirt` or `CDI` when the pack has feature gates.
    pub gate_component: Option<String>,
    /// The pack's `values.yaml`.
    #[ts(type = "Record<string, unknown>")]
    pub default_values: serde_json::Value,
    /// The values form, generated from the pack's JSON Schema.
    pub form: Vec<FormField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackConflictView.ts")]
pub struct PackConflictView {
    pub pack: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PresetView.ts")]
pub struct PresetView {
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// The packs the preset picks (dependencies come from resolution).
    pub packs: Vec<String>,
}

/// The selection after dependency resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SelectionView.ts")]
pub struct SelectionView {
    /// Dependencies before dependents; empty when there are problems.
    pub packs: Vec<SelectedPackView>,
    /// The preset that picks exactly the picked packs, if one does.
    pub preset: Option<String>,
    /// Conflicts, cycles and unknown packs, each with its code.
    pub problems: Vec<UiError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SelectedPackView.ts")]
pub struct SelectedPackView {
    pub name: String,
    pub display_name: String,
    /// Picked by the user or the preset (else added as a dependency).
    pub chosen: bool,
    /// The packs that need this one.
    pub required_by: Vec<String>,
    /// "chosen" or "needed by VM Dashboard".
    pub reason: String,
}

/// A gate's maturity in the chosen version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "MaturityView.ts")]
pub enum MaturityView {
    Alpha,
    Beta,
    Ga,
    Deprecated,
    Discontinued,
}

/// How a gate's setting can be changed in the chosen version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "GateControl.ts")]
pub enum GateControl {
    /// Default, on or off.
    Choosable,
    /// GA: always on, never written to the CR.
    AlwaysOn,
    /// Discontinued: cannot be turned on.
    Unavailable,
}

/// One feature gate of the table, with its state under the profile's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GateRowView.ts")]
pub struct GateRowView {
    pub name: String,
    pub maturity: MaturityView,
    /// State when the profile does not mention the gate.
    pub on_by_default: bool,
    pub control: GateControl,
    /// The profile's choice (`null`: the default).
    pub choice: Option<GateSetting>,
    /// Whether the gate ends up on with that choice.
    pub on: bool,
    /// What the choice writes to the CR (empty for the default).
    pub choice_effect: String,
    pub description: String,
    pub risk: Option<String>,
    pub requires_packs: Vec<String>,
    /// What the maturity means in this version.
    pub note: String,
}

/// The gate table of one pack at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GateTableView.ts")]
pub struct GateTableView {
    pub pack: String,
    pub component: String,
    pub version: String,
    /// The choices in effect: the profile defaults for a new pack, the choosable ones after a version change,
    /// else those asked with. The wizard keeps these.
    pub choices: BTreeMap<String, GateSetting>,
    pub rows: Vec<GateRowView>,
}

/// One problem with a profile, placed for the UI: at a pack's value field or gate when it is about one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ProfileIssueView.ts")]
pub struct ProfileIssueView {
    /// Path in the profile file, e.g. `packs[4].values.server.address`.
    pub path: String,
    /// 1-based line in the profile file, when there is a file.
    pub line: Option<u32>,
    pub code: String,
    pub message: String,
    /// The pack the issue is about.
    pub pack: Option<String>,
    /// The value field inside that pack, e.g. `server.address`.
    pub field: Option<String>,
    /// The feature gate, for gate issues.
    pub gate: Option<String>,
}

/// The draft checked against the catalog, and the profile file it would be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "DraftCheckView.ts")]
pub struct DraftCheckView {
    pub issues: Vec<ProfileIssueView>,
    /// The profile file's text (empty when the draft holds a secret).
    pub yaml: String,
}

/// A profile file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "SavedProfileView.ts")]
pub struct SavedProfileView {
    /// Full path of the file.
    pub location: String,
    pub file_name: String,
    /// What still needs fixing before installing (with lines in the saved file).
    pub issues: Vec<ProfileIssueView>,
}

/// A profile file read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "LoadedProfileView.ts")]
pub struct LoadedProfileView {
    pub location: String,
    pub file_name: String,
    /// `null` when the file is not a profile at all (see `issues`).
    pub draft: Option<ProfileDraft>,
    /// The packs to show as picked (the preset's, or those nothing else depends on).
    pub chosen: Vec<String>,
    /// Problems with their path and line in the file.
    pub issues: Vec<ProfileIssueView>,
}

/// A profile file in the app's profiles folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "ProfileFileView.ts")]
pub struct ProfileFileView {
    pub name: String,
    pub location: String,
}

/// Whether a pack's secret is in the secret store (its value never leaves the core).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PackSecretView.ts")]
pub struct PackSecretView {
    pub pack: String,
    pub key: String,
    pub stored: bool,
    pub store: StoreMode,
}
