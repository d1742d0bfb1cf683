//! The install wizard over the embedded pack catalog: pack cards and presets, dependency resolution with the
//! reason each pack is added, and the feature gate table of a pack at a version (with what on/off writes).

use std::collections::BTreeMap;

use vmdeck_packs::{
    Catalog, GateChoice, GateError, Maturity, PackGraph, ResolveError, SelectionReason, resolve,
};

use crate::ui_error::UiError;
use crate::value_form::form_fields;
use crate::wizard_requests::{GateSetting, GateTableQuery, PackSelection};
use crate::wizard_views::{
    GateControl, GateRowView, GateTableView, MaturityView, PackCardView, PackConflictView,
    PresetView, SelectedPackView, SelectionView, WizardCatalogView,
};

/// The catalog the wizard works on.
pub struct Wizard {
    catalog: Catalog,
}

impl Wizard {
    /// The packs built into this binary.
    pub fn embedded() -> Result<Self, UiError> {
        Catalog::embedded()
            .map(Self::over)
            .map_err(|err| UiError::new(err.code(), err.to_string()))
    }

    pub fn over(catalog: Catalog) -> Self {
        Self { catalog }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn display_name<'a>(&'a self, pack: &'a str) -> &'a str {
        self.catalog
            .get(pack)
            .map_or(pack, |p| p.manifest.display_name.as_str())
    }

    /// Pack cards (by category, then name) with their values forms, and the presets.
    pub fn catalog_view(&self) -> WizardCatalogView {
        let packs = self
            .catalog
            .summaries()
            .into_iter()
            .filter_map(|summary| {
                let pack = self.catalog.get(&summary.name)?;
                Some(PackCardView {
                    conflicts: pack
                        .manifest
                        .conflicts
                        .iter()
                        .map(|c| PackConflictView {
                            pack: c.pack.clone(),
                            reason: c.reason.clone(),
                        })
                        .collect(),
                    gate_component: pack.gates.as_ref().map(|g| g.component.clone()),
                    default_values: pack.default_values.clone(),
                    form: form_fields(&pack.values_schema),
                    name: summary.name,
                    display_name: summary.display_name,
                    description: summary.description,
                    category: summary.category,
                    versions: summary.versions,
                    default_version: summary.default_version,
                    dependencies: summary.dependencies,
                })
            })
            .collect();
        let presets = self
            .catalog
            .presets()
            .iter()
            .map(|p| PresetView {
                name: p.name.clone(),
                display_name: p.display_name.clone(),
                description: p.description.clone(),
                packs: p.packs.clone(),
            })
            .collect();
        WizardCatalogView { packs, presets }
    }

    /// The picked packs plus their dependencies, each with why it is in; conflicts and unknown packs as problems.
    pub fn resolve(&self, selection: &PackSelection) -> SelectionView {
        let preset = self
            .catalog
            .preset_picking(&selection.packs)
            .map(|p| p.name.clone());
        match resolve(&PackGraph::from_catalog(&self.catalog), &selection.packs) {
            Ok(resolved) => SelectionView {
                packs: resolved
                    .into_iter()
                    .map(|r| {
                        let (chosen, required_by) = match r.reason {
                            SelectionReason::Selected => (true, Vec::new()),
                            SelectionReason::RequiredBy { packs } => (false, packs),
                        };
                        let reason = if chosen {
                            "chosen".to_string()
                        } else {
                            let names: Vec<&str> =
                                required_by.iter().map(|p| self.display_name(p)).collect();
                            format!("needed by {}", names.join(", "))
                        };
                        SelectedPackView {
                            display_name: self.display_name(&r.name).to_string(),
                            name: r.name,
                            chosen,
                            required_by,
                            reason,
                        }
                    })
                    .collect(),
                problems: Vec::new(),
                preset,
            },
            Err(errors) => SelectionView {
                packs: Vec::new(),
                problems: errors.iter().map(resolve_problem).collect(),
                preset,
            },
        }
    }

    /// The feature gates of `pack` at `version`, by maturity then name, with the choices in effect: a new
    /// pack's profile defaults, after a version change those still choosable, else the choices asked with;
    /// each row says whether the gate ends up on and what its choice writes to the CR.
    pub fn gate_table(&self, query: &GateTableQuery) -> Result<GateTableView, UiError> {
        let pack = self.catalog.get(&query.pack).ok_or_else(|| {
            UiError::new(
                "pack_unknown",
                format!("unknown pack `{}`; choose one from the catalog", query.pack),
            )
        })?;
        let gates = pack.gates.as_ref().ok_or_else(|| {
            UiError::new(
                "gates_unsupported",
                format!("pack `{}` has no feature gates", query.pack),
            )
        })?;
        let version = query.version.as_str();
        let rows = gates.table(version).map_err(gate_error)?;
        let choices = match &query.choices {
            None => gates.profile_defaults(version).map_err(gate_error)?,
            Some(asked) => {
                let asked = asked
                    .iter()
                    .map(|(name, setting)| (name.clone(), GateChoice::from(*setting)))
                    .collect();
                if query.version_changed {
                    gates.carry_over(version, &asked).map_err(gate_error)?
                } else {
                    asked
                }
            }
        };
        let effect = |name: &str, choice: GateChoice| {
            let one = BTreeMap::from([(name.to_string(), choice)]);
            match gates.render(version, &one) {
                Ok(out) if out.enabled.iter().any(|g| g == name) => {
                    "listed in featureGates".to_string()
                }
                Ok(out) if out.disabled.iter().any(|g| g == name) => {
                    "listed in disabledFeatureGates".to_string()
                }
                Ok(_) if choice == GateChoice::On => "on by default: nothing to write".to_string(),
                Ok(_) => "left out of the CR (off)".to_string(),
                Err(errors) => errors
                    .first()
                    .map_or_else(String::new, |e| format!("not allowed: {e}")),
            }
        };
        Ok(GateTableView {
            pack: query.pack.clone(),
            component: gates.component.clone(),
            version: query.version.clone(),
            rows: rows
                .into_iter()
                .map(|row| {
                    let choice = choices.get(&row.name).copied();
                    GateRowView {
                        on: row.is_on(choice),
                        choice_effect: choice.map_or_else(String::new, |c| effect(&row.name, c)),
                        choice: choice.map(GateSetting::from),
                        control: match row.maturity {
                            Maturity::Ga => GateControl::AlwaysOn,
                            Maturity::Discontinued => GateControl::Unavailable,
                            _ => GateControl::Choosable,
                        },
                        maturity: maturity_view(row.maturity),
                        name: row.name,
                        on_by_default: row.on_by_default,
                        description: row.description,
                        risk: row.risk,
                        requires_packs: row.requires_packs,
                        note: row.note,
                    }
                })
                .collect(),
            choices: choices
                .into_iter()
                .map(|(name, choice)| (name, GateSetting::from(choice)))
                .collect(),
        })
    }
}

fn resolve_problem(error: &ResolveError) -> UiError {
    UiError::new(error.code(), error.to_string())
}

fn gate_error(error: GateError) -> UiError {
    let mut ui = UiError::new(error.code(), error.to_string());
    ui.field = match error {
        GateError::UnsupportedVersion { .. } => Some("version".to_string()),
        other => other.gate().map(str::to_string),
    };
    ui
}

fn maturity_view(maturity: Maturity) -> MaturityView {
    match maturity {
        Maturity::Alpha => MaturityView::Alpha,
        Maturity::Beta => MaturityView::Beta,
        Maturity::Ga => MaturityView::Ga,
        Maturity::Deprecated => MaturityView::Deprecated,
        Maturity::Discontinued => MaturityView::Discontinued,
    }
}
