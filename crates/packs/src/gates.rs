//! Feature gate catalogs (data in `packs/<pack>/gates.yaml`), the per-version gate table and the rules that turn
//! a profile's gate choices into `featureGates` / `disabledFeatureGates`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How far a gate has come in one release line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Maturity {
    Alpha,
    Beta,
    Ga,
    Deprecated,
    Discontinued,
}

impl Maturity {
    pub fn as_str(self) -> &'static str {
        match self {
            Maturity::Alpha => "alpha",
            Maturity::Beta => "beta",
            Maturity::Ga => "ga",
            Maturity::Deprecated => "deprecated",
            Maturity::Discontinued => "discontinued",
        }
    }
}

/// A choice in a profile: turn the gate on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateChoice {
    On,
    Off,
}

impl std::str::FromStr for GateChoice {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "on" => Ok(GateChoice::On),
            "off" => Ok(GateChoice::Off),
            other => Err(format!("gate choice must be `on` or `off`, not `{other}`")),
        }
    }
}

/// The content of a `gates.yaml` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateCatalog {
    /// `KubeVirt` or `CDI`.
    pub component: String,
    pub rules: GateRules,
    pub versions: Vec<GateVersion>,
    /// Gates a new profile turns on, per release line.
    #[serde(default)]
    pub defaults: BTreeMap<String, Vec<String>>,
    pub gates: Vec<GateEntry>,
}

/// Version-dependent rules of the component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateRules {
    /// First release line in which Beta gates are on unless disabled (`1.9` for KubeVirt); `None` = never.
    pub beta_on_by_default_from: Option<String>,
    /// First release line with a `disabledFeatureGates` list; `None` = never.
    pub disabled_list_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateVersion {
    pub version: String,
    /// Release line (`1.8`) whose maturities apply.
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateEntry {
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// Packs that must be installed for the gate to work (Snapshot needs volume-snapshot-controller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_packs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Maturity per release line; a line that is missing means the gate does not exist there.
    pub maturity: BTreeMap<String, Maturity>,
}

/// One row of the gate table for a chosen version: what the UI and `vmdeckctl gates list` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateRow {
    pub name: String,
    pub maturity: Maturity,
    /// State when the profile does not mention the gate (GA = always on).
    pub on_by_default: bool,
    /// Whether a new profile turns it on (Palette's defaults that still mean something here).
    pub profile_default: bool,
    /// False for GA (always on) and discontinued gates.
    pub choosable: bool,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires_packs: Vec<String>,
    /// One line explaining what the maturity means in this version.
    pub note: String,
}

impl GateRow {
    /// Whether the gate ends up on with `choice` (`None`: the profile does not mention it): GA gates are
    /// always on and discontinued ones never, whatever is chosen.
    pub fn is_on(&self, choice: Option<GateChoice>) -> bool {
        match (self.maturity, choice) {
            (Maturity::Ga, _) => true,
            (Maturity::Discontinued, _) => false,
            (_, Some(GateChoice::On)) => true,
            (_, Some(GateChoice::Off)) => false,
            (_, None) => self.on_by_default,
        }
    }
}

/// The gate lists to write into the CR.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedGates {
    /// `featureGates`.
    pub enabled: Vec<String>,
    /// `disabledFeatureGates`.
    pub disabled: Vec<String>,
    pub warnings: Vec<String>,
    /// Gates that end up on, with the packs they need.
    pub required_packs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("{component} {version} is not in the gate catalog (known: {known})")]
    UnsupportedVersion {
        component: String,
        version: String,
        known: String,
    },
    #[error("{gate}: no such {component} feature gate in {version}{hint}")]
    UnknownGate {
        component: String,
        version: String,
        gate: String,
        hint: String,
    },
    #[error(
        "{gate}: discontinued in {component} {version}, it can no longer be chosen; remove it from the profile"
    )]
    Discontinued {
        component: String,
        version: String,
        gate: String,
    },
    #[error(
        "{gate}: GA in {component} {version} and always on; it cannot be turned off, remove it or set it to on"
    )]
    AlwaysOn {
        component: String,
        version: String,
        gate: String,
    },
    #[error(
        "{gate}: is on by default in {component} {version} and this version has no disabledFeatureGates list"
    )]
    CannotDisable {
        component: String,
        version: String,
        gate: String,
    },
}

impl GateError {
    pub fn code(&self) -> &'static str {
        match self {
            GateError::UnsupportedVersion { .. } => "gate_version_unsupported",
            GateError::UnknownGate { .. } => "gate_unknown",
            GateError::Discontinued { .. } => "gate_discontinued",
            GateError::AlwaysOn { .. } => "gate_always_on",
            GateError::CannotDisable { .. } => "gate_cannot_disable",
        }
    }
    /// The gate the error is about, when there is one.
    pub fn gate(&self) -> Option<&str> {
        match self {
            GateError::UnsupportedVersion { .. } => None,
            GateError::UnknownGate { gate, .. }
            | GateError::Discontinued { gate, .. }
            | GateError::AlwaysOn { gate, .. }
            | GateError::CannotDisable { gate, .. } => Some(gate),
        }
    }
}

/// `1.8.4` or `1.8` -> `(1, 8)`.
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn at_or_after(line: &str, from: Option<&str>) -> bool {
    match (major_minor(line), from.and_then(major_minor)) {
        (Some(line), Some(from)) => line >= from,
        _ => false,
    }
}

impl GateCatalog {
    pub fn from_yaml(text: &str) -> Result<Self, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(text)
    }

    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.versions.iter().map(|v| v.version.as_str())
    }

    fn line(&self, version: &str) -> Result<&str, GateError> {
        self.versions
            .iter()
            .find(|v| crate::version_name::same(&v.version, version))
            .map(|v| v.line.as_str())
            .ok_or_else(|| GateError::UnsupportedVersion {
                component: self.component.clone(),
                version: version.to_string(),
                known: self.versions().collect::<Vec<_>>().join(", "),
            })
    }

    fn beta_on_by_default(&self, line: &str) -> bool {
        at_or_after(line, self.rules.beta_on_by_default_from.as_deref())
    }

    fn has_disabled_list(&self, line: &str) -> bool {
        at_or_after(line, self.rules.disabled_list_from.as_deref())
    }

    /// State of a gate the profile does not mention.
    fn on_by_default(&self, line: &str, maturity: Maturity) -> bool {
        match maturity {
            Maturity::Ga => true,
            Maturity::Beta => self.beta_on_by_default(line),
            Maturity::Alpha | Maturity::Deprecated | Maturity::Discontinued => false,
        }
    }

    /// The gate table for one version, sorted by maturity then name.
    pub fn table(&self, version: &str) -> Result<Vec<GateRow>, GateError> {
        let line = self.line(version)?;
        let defaults = self.defaults.get(line).cloned().unwrap_or_default();
        let mut rows: Vec<GateRow> = self
            .gates
            .iter()
            .filter_map(|gate| {
                let maturity = *gate.maturity.get(line)?;
                let on_by_default = self.on_by_default(line, maturity);
                let note = match maturity {
                    Maturity::Alpha => "off unless enabled".to_string(),
                    Maturity::Beta if on_by_default => {
                        "on unless disabled (Beta is on by default from this version)".to_string()
                    }
                    Maturity::Beta => {
                        "off unless enabled (Beta is off by default before 1.9)".to_string()
                    }
                    Maturity::Ga => "always on (GA); never written to the CR".to_string(),
                    Maturity::Deprecated => match &gate.replaced_by {
                        Some(next) => format!("deprecated: off unless enabled, warns; use {next}"),
                        None => "deprecated: off unless enabled, warns".to_string(),
                    },
                    Maturity::Discontinued => "discontinued: cannot be chosen".to_string(),
                };
                Some(GateRow {
                    name: gate.name.clone(),
                    maturity,
                    on_by_default,
                    profile_default: defaults.contains(&gate.name),
                    choosable: !matches!(maturity, Maturity::Ga | Maturity::Discontinued),
                    description: gate.description.clone(),
                    risk: gate.risk.clone(),
                    requires_packs: gate.requires_packs.clone(),
                    note,
                })
            })
            .collect();
        rows.sort_by(|a, b| (a.maturity, &a.name).cmp(&(b.maturity, &b.name)));
        Ok(rows)
    }

    /// The gates a new profile for `version` turns on.
    pub fn profile_defaults(
        &self,
        version: &str,
    ) -> Result<BTreeMap<String, GateChoice>, GateError> {
        let line = self.line(version)?;
        Ok(self
            .defaults
            .get(line)
            .into_iter()
            .flatten()
            .map(|name| (name.clone(), GateChoice::On))
            .collect())
    }

    /// The choices a profile keeps when it moves to `version`: those of gates that can still be chosen
    /// there (a gate that became GA, was discontinued or does not exist in `version` is dropped).
    pub fn carry_over(
        &self,
        version: &str,
        choices: &BTreeMap<String, GateChoice>,
    ) -> Result<BTreeMap<String, GateChoice>, GateError> {
        let choosable: Vec<String> = self
            .table(version)?
            .into_iter()
            .filter(|row| row.choosable)
            .map(|row| row.name)
            .collect();
        Ok(choices
            .iter()
            .filter(|(name, _)| choosable.contains(name))
            .map(|(name, choice)| (name.clone(), *choice))
            .collect())
    }

    /// Turn the profile's choices into the CR's gate lists. All problems are reported, not just the first.
    pub fn render(
        &self,
        version: &str,
        choices: &BTreeMap<String, GateChoice>,
    ) -> Result<RenderedGates, Vec<GateError>> {
        let line = self.line(version).map_err(|e| vec![e])?;
        let mut out = RenderedGates::default();
        let mut errors = Vec::new();
        let error_context = |gate: &str| {
            (
                self.component.clone(),
                version.to_string(),
                gate.to_string(),
            )
        };
        for (name, choice) in choices {
            let entry = self.gates.iter().find(|g| &g.name == name);
            let Some((entry, maturity)) = entry.and_then(|e| e.maturity.get(line).map(|m| (e, *m)))
            else {
                let (component, version, gate) = error_context(name);
                let hint = match entry {
                    Some(e) => format!(
                        " (it exists in {})",
                        e.maturity.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    None => String::new(),
                };
                errors.push(GateError::UnknownGate {
                    component,
                    version,
                    gate,
                    hint,
                });
                continue;
            };
            let default_on = self.on_by_default(line, maturity);
            match (maturity, choice) {
                (Maturity::Discontinued, _) => {
                    let (component, version, gate) = error_context(name);
                    errors.push(GateError::Discontinued {
                        component,
                        version,
                        gate,
                    });
                    continue;
                }
                (Maturity::Ga, GateChoice::Off) => {
                    let (component, version, gate) = error_context(name);
                    errors.push(GateError::AlwaysOn {
                        component,
                        version,
                        gate,
                    });
                    continue;
                }
                (_, GateChoice::Off) if default_on => {
                    if self.has_disabled_list(line) {
                        out.disabled.push(name.clone());
                    } else {
                        let (component, version, gate) = error_context(name);
                        errors.push(GateError::CannotDisable {
                            component,
                            version,
                            gate,
                        });
                    }
                    continue;
                }
                (_, GateChoice::Off) => {}
                (_, GateChoice::On) if default_on => {}
                (Maturity::Deprecated, GateChoice::On) => {
                    out.warnings.push(match &entry.replaced_by {
                        Some(next) => format!(
                            "{name} is deprecated in {} {version}; use {next}",
                            self.component
                        ),
                        None => format!("{name} is deprecated in {} {version}", self.component),
                    });
                    out.enabled.push(name.clone());
                }
                (_, GateChoice::On) => out.enabled.push(name.clone()),
            }
        }
        // Gates that end up on (chosen, or on by default and not turned off) and the packs they need.
        for entry in &self.gates {
            let Some(maturity) = entry.maturity.get(line) else {
                continue;
            };
            let on = match choices.get(&entry.name) {
                Some(GateChoice::On) => true,
                Some(GateChoice::Off) => false,
                None => self.on_by_default(line, *maturity),
            };
            if on && *maturity != Maturity::Discontinued {
                for pack in &entry.requires_packs {
                    out.required_packs.push((entry.name.clone(), pack.clone()));
                }
            }
        }
        debug_assert!(out.enabled.iter().all(|g| !out.disabled.contains(g)));
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
