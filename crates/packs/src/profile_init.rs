//! Builds a new profile from a preset: resolved packs, chosen versions, default gates and value overrides.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::gates::GateChoice;
use crate::profile::{API_VERSION, KIND, Profile, ProfileMetadata, ProfilePack};
use crate::resolve::{PackGraph, ResolveError, resolve};
use crate::values::set_path;

/// What the user asked for on top of the preset.
#[derive(Debug, Clone, Default)]
pub struct ProfileRequest {
    pub preset: String,
    /// Pack -> version.
    pub versions: BTreeMap<String, String>,
    /// Gate choices; the key is `GATE` or `PACK/GATE`.
    pub gates: BTreeMap<String, GateChoice>,
    /// `PACK.key.path` -> value (parsed as YAML so `true`, `443` keep their types).
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    #[error("unknown preset `{0}` (known: {1})")]
    UnknownPreset(String, String),
    #[error("{0}")]
    Resolve(String),
    #[error("--version {pack}={version}: {message}")]
    Version {
        pack: String,
        version: String,
        message: String,
    },
    #[error("--gate {gate}: {message}")]
    Gate { gate: String, message: String },
    #[error("--set {key}: {message}")]
    Value { key: String, message: String },
}

impl InitError {
    pub fn code(&self) -> &'static str {
        match self {
            InitError::UnknownPreset(..) => "preset_unknown",
            InitError::Resolve(..) => "resolve_failed",
            InitError::Version { .. } => "pack_version_unknown",
            InitError::Gate { .. } => "gate_unknown",
            InitError::Value { .. } => "value_invalid",
        }
    }
}

/// A new profile for a preset. The result is checked by [`crate::profile_check::validate`] by the caller.
pub fn profile_from_preset(
    catalog: &Catalog,
    request: &ProfileRequest,
) -> Result<Profile, InitError> {
    let preset = catalog.preset(&request.preset).ok_or_else(|| {
        InitError::UnknownPreset(
            request.preset.clone(),
            catalog
                .presets()
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
    })?;
    let resolved = resolve(&PackGraph::from_catalog(catalog), &preset.packs).map_err(|errors| {
        InitError::Resolve(
            errors
                .iter()
                .map(ResolveError::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    for (pack, version) in &request.versions {
        let message = match catalog.get(pack) {
            None => Some(format!("unknown pack `{pack}`")),
            Some(_) if !resolved.iter().any(|r| &r.name == pack) => Some(format!(
                "pack `{pack}` is not part of preset {}",
                preset.name
            )),
            Some(p) if p.manifest.version(version).is_none() => Some(format!(
                "no such version; choose one of {}",
                p.manifest
                    .versions
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(_) => None,
        };
        if let Some(message) = message {
            return Err(InitError::Version {
                pack: pack.clone(),
                version: version.clone(),
                message,
            });
        }
    }
    let mut packs: Vec<ProfilePack> = resolved
        .iter()
        .filter_map(|r| catalog.get(&r.name))
        .map(|pack| {
            // The catalog's spelling, whichever one was asked for (`v1.8.4` is written as `1.8.4`).
            let version = request
                .versions
                .get(&pack.manifest.name)
                .map_or(pack.manifest.default_version.as_str(), |asked| {
                    pack.manifest.spelling(asked)
                });
            let mut entry = ProfilePack::new(&pack.manifest.name, version);
            if let Some(gates) = &pack.gates {
                entry.gates = gates.profile_defaults(version).unwrap_or_default();
            }
            entry
        })
        .collect();
    for (key, choice) in &request.gates {
        set_gate(catalog, &mut packs, key, Some(*choice))?;
    }
    for (key, text) in &request.values {
        let Some((pack, path)) = key.split_once('.') else {
            return Err(InitError::Value {
                key: key.clone(),
                message:
                    "write PACK.key=value, e.g. spectro-proxy.server.address=proxy.example.com"
                        .into(),
            });
        };
        let Some(entry) = packs.iter_mut().find(|p| p.name == pack) else {
            return Err(InitError::Value {
                key: key.clone(),
                message: format!("pack `{pack}` is not in this profile"),
            });
        };
        let value: serde_json::Value = serde_yaml_ng::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.clone()));
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        set_path(&mut entry.values, &path, value);
    }
    Ok(Profile {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        metadata: ProfileMetadata {
            name: preset.name.clone(),
            description: Some(preset.description.clone()),
        },
        preset: Some(preset.name.clone()),
        packs,
    })
}

/// Sets the gate `key` (`NAME` or `PACK/NAME`) of whichever pack in `packs` has it: `Some` to a
/// choice, `None` back to the profile default of the pack's version.
pub fn set_gate(
    catalog: &Catalog,
    packs: &mut [ProfilePack],
    key: &str,
    choice: Option<GateChoice>,
) -> Result<(), InitError> {
    let (pack_name, gate) = match key.split_once('/') {
        Some((p, g)) => (Some(p), g),
        None => (None, key),
    };
    let owners: Vec<usize> = packs
        .iter()
        .enumerate()
        .filter(|(_, entry)| pack_name.is_none_or(|p| p == entry.name))
        .filter(|(_, entry)| {
            catalog
                .gates(&entry.name)
                .is_some_and(|g| g.gates.iter().any(|e| e.name == gate))
        })
        .map(|(i, _)| i)
        .collect();
    let index = match owners.as_slice() {
        [index] => *index,
        [] => {
            return Err(InitError::Gate {
                gate: key.to_string(),
                message:
                    "no pack of this profile has such a feature gate (see `vmdeckctl gates list`)"
                        .into(),
            });
        }
        _ => {
            return Err(InitError::Gate {
                gate: key.to_string(),
                message: "several packs have this gate; write PACK/GATE".into(),
            });
        }
    };
    let entry = &mut packs[index];
    let choice = choice.or_else(|| {
        catalog
            .gates(&entry.name)
            .and_then(|g| g.profile_defaults(&entry.version).ok())
            .and_then(|defaults| defaults.get(gate).copied())
    });
    match choice {
        Some(choice) => entry.gates.insert(gate.to_string(), choice),
        None => entry.gates.remove(gate),
    };
    Ok(())
}
