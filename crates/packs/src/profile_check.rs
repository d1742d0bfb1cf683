//! Checks a parsed profile against the catalog: known packs and versions, complete dependencies, no conflicts,
//! values valid for each pack's schema, no secrets stored, gate choices allowed for the chosen version.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, Pack};
use crate::gates::RenderedGates;
use crate::profile::{API_VERSION, KIND, Profile, ProfileError, ProfileIssue, ProfilePack};
use crate::resolve::{PackGraph, ResolveError, resolve};
use crate::values::{self, dotted, get_path, set_path};
use crate::yaml_locate::LineIndex;

/// Secret values supplied at render time: pack name -> dotted key inside its values -> value.
pub type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// Placeholder used for missing secrets when only validating a profile.
const SECRET_PLACEHOLDER: &str = "<secret supplied at render time>";

fn issue(path: String, code: &'static str, message: impl Into<String>) -> ProfileIssue {
    ProfileIssue {
        path,
        line: None,
        code,
        message: message.into(),
    }
}

/// Merged values of one pack: defaults, profile overrides, then secrets (or placeholders when `secrets` is None).
pub(crate) fn pack_values(
    pack: &Pack,
    entry: &ProfilePack,
    secrets: Option<&Secrets>,
    index: usize,
) -> Result<serde_json::Value, Vec<ProfileIssue>> {
    let mut merged = values::merge(&pack.default_values, &entry.values);
    let mut issues = Vec::new();
    for path in values::secret_paths(&pack.values_schema) {
        let key = dotted(&path);
        match secrets {
            None => set_path(
                &mut merged,
                &path,
                serde_json::Value::String(SECRET_PLACEHOLDER.into()),
            ),
            Some(secrets) => match secrets.get(&entry.name).and_then(|s| s.get(&key)) {
                Some(value) => {
                    set_path(&mut merged, &path, serde_json::Value::String(value.clone()))
                }
                None => {
                    let required = pack
                        .values_schema
                        .get("required")
                        .and_then(|r| r.as_array())
                        .is_some_and(|r| {
                            path.len() == 1
                                && r.iter().any(|v| v.as_str() == Some(path[0].as_str()))
                        });
                    if required {
                        issues.push(issue(
                            format!("packs[{index}].values.{key}"),
                            "secret_missing",
                            format!("required secret; supply it at render time (e.g. --secret {}.{key}=env:NAME)", entry.name),
                        ));
                    }
                }
            },
        }
    }
    if issues.is_empty() {
        Ok(merged)
    } else {
        Err(issues)
    }
}

/// Gate lists for a pack entry (empty when the pack has no gates).
pub(crate) fn pack_gates(
    pack: &Pack,
    entry: &ProfilePack,
    index: usize,
) -> Result<RenderedGates, Vec<ProfileIssue>> {
    let Some(catalog) = &pack.gates else {
        if entry.gates.is_empty() {
            return Ok(RenderedGates::default());
        }
        return Err(vec![issue(
            format!("packs[{index}].gates"),
            "gates_unsupported",
            format!("pack `{}` has no feature gates; remove `gates`", entry.name),
        )]);
    };
    catalog
        .render(&entry.version, &entry.gates)
        .map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let path = match e.gate() {
                        Some(gate) => format!("packs[{index}].gates.{gate}"),
                        None => format!("packs[{index}].version"),
                    };
                    issue(path, e.code(), e.to_string())
                })
                .collect()
        })
}

/// Validate without secrets (they are never in a profile). `text` is the file, for line numbers.
pub fn validate(
    catalog: &Catalog,
    profile: &Profile,
    text: Option<&str>,
) -> Result<(), ProfileError> {
    check(catalog, profile, None, text)
}

/// Validate for rendering: secrets must be supplied.
pub fn validate_with_secrets(
    catalog: &Catalog,
    profile: &Profile,
    secrets: &Secrets,
) -> Result<(), ProfileError> {
    check(catalog, profile, Some(secrets), None)
}

fn check(
    catalog: &Catalog,
    profile: &Profile,
    secrets: Option<&Secrets>,
    text: Option<&str>,
) -> Result<(), ProfileError> {
    let mut issues = Vec::new();
    if profile.api_version != API_VERSION {
        issues.push(issue(
            "apiVersion".into(),
            "profile_api_version",
            format!("must be {API_VERSION}"),
        ));
    }
    if profile.kind != KIND {
        issues.push(issue(
            "kind".into(),
            "profile_kind",
            format!("must be {KIND}"),
        ));
    }
    if profile.metadata.name.trim().is_empty() {
        issues.push(issue(
            "metadata.name".into(),
            "value_required",
            "required (a name for this profile)",
        ));
    }
    if profile.packs.is_empty() {
        issues.push(issue(
            "packs".into(),
            "value_required",
            "list at least one pack",
        ));
    }
    let mut known = Vec::new();
    for (index, entry) in profile.packs.iter().enumerate() {
        if profile.packs[..index].iter().any(|p| p.name == entry.name) {
            issues.push(issue(
                format!("packs[{index}].name"),
                "pack_duplicate",
                format!("`{}` is listed twice", entry.name),
            ));
            continue;
        }
        let Some(pack) = catalog.get(&entry.name) else {
            issues.push(issue(
                format!("packs[{index}].name"),
                "pack_unknown",
                format!("unknown pack `{}` (see `vmdeckctl packs list`)", entry.name),
            ));
            continue;
        };
        known.push(entry.name.clone());
        if pack.manifest.version(&entry.version).is_none() {
            let offered: Vec<&str> = pack
                .manifest
                .versions
                .iter()
                .map(|v| v.version.as_str())
                .collect();
            issues.push(issue(
                format!("packs[{index}].version"),
                "pack_version_unknown",
                format!(
                    "{} has no version {}; choose one of {}",
                    entry.name,
                    entry.version,
                    offered.join(", ")
                ),
            ));
            continue;
        }
        if !entry.values.is_object() {
            issues.push(issue(
                format!("packs[{index}].values"),
                "value_invalid",
                "must be a mapping",
            ));
            continue;
        }
        for path in values::secret_paths(&pack.values_schema) {
            if get_path(&entry.values, &path).is_some() {
                issues.push(issue(
                    format!("packs[{index}].values.{}", dotted(&path)),
                    "secret_in_profile",
                    "a secret must not be stored in a profile; remove it and supply it at render time",
                ));
            }
        }
        match pack_values(pack, entry, secrets, index) {
            Ok(merged) => {
                for value_issue in values::check(&pack.values_schema, &merged) {
                    let path = if value_issue.path.is_empty() {
                        format!("packs[{index}].values")
                    } else {
                        format!("packs[{index}].values.{}", value_issue.path)
                    };
                    issues.push(issue(path, value_issue.code, value_issue.message));
                }
            }
            Err(mut secret_issues) => issues.append(&mut secret_issues),
        }
        match pack_gates(pack, entry, index) {
            Ok(gates) => {
                for (gate, needed) in gates.required_packs {
                    if !profile.packs.iter().any(|p| p.name == needed) {
                        issues.push(issue(format!("packs[{index}].gates.{gate}"), "gate_needs_pack", format!("{gate} is on and needs pack `{needed}`; add it or turn the gate off")));
                    }
                }
            }
            Err(mut gate_issues) => issues.append(&mut gate_issues),
        }
    }
    // Every dependency must be in the profile, and nothing may conflict.
    if let Err(errors) = resolve(&PackGraph::from_catalog(catalog), &known) {
        for error in errors {
            let code = error.code();
            let message = match &error {
                ResolveError::UnknownPack { .. } => continue,
                other => other.to_string(),
            };
            issues.push(issue("packs".into(), code, message));
        }
    }
    for entry in &profile.packs {
        for dep in catalog
            .get(&entry.name)
            .map(|p| p.manifest.dependencies.as_slice())
            .unwrap_or_default()
        {
            if !profile.packs.iter().any(|p| &p.name == dep) {
                issues.push(issue(
                    "packs".into(),
                    "dependency_missing",
                    format!("`{}` needs pack `{dep}`; add it to the profile", entry.name),
                ));
            }
        }
    }
    if issues.is_empty() {
        return Ok(());
    }
    if let Some(text) = text {
        let lines = LineIndex::new(text);
        for item in &mut issues {
            item.line = lines.line_of(&item.path);
        }
    }
    Err(ProfileError { issues })
}
