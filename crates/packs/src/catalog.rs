//! The pack catalog: packs parsed from already-read files (embedded or a user folder), checked for consistency,
//! with listing for the UI and presets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config_keys::KeyList;
use crate::gates::GateCatalog;
use crate::manifest::PackManifest;
use crate::templating;

/// The files of one pack folder, already read: path relative to the folder -> bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackFiles {
    /// Folder name, which must equal the pack's `name`.
    pub folder: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Where a pack came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PackOrigin {
    /// Built into the binary.
    Embedded,
    /// Read from the user's folder of extra packs.
    User,
}

/// A pack ready to use.
#[derive(Debug, Clone)]
pub struct Pack {
    pub manifest: PackManifest,
    /// `values.yaml` as JSON.
    pub default_values: serde_json::Value,
    /// `values.schema.json`.
    pub values_schema: serde_json::Value,
    /// Template file name (as in `pack.yaml`) -> source.
    pub templates: BTreeMap<String, String>,
    pub gates: Option<GateCatalog>,
    /// Key list file name (a `configChecks` entry's `knownKeys`) -> the keys it lists.
    pub config_keys: BTreeMap<String, KeyList>,
    pub origin: PackOrigin,
}

/// What the catalog view shows about a pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackSummary {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub category: String,
    pub versions: Vec<String>,
    pub default_version: String,
    pub dependencies: Vec<String>,
    pub has_gates: bool,
    pub origin: PackOrigin,
}

/// A named starting point for a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// The packs picked; dependencies are added by resolution.
    pub packs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetsFile {
    presets: Vec<Preset>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("pack folder `{folder}`: missing file {file}")]
    MissingFile { folder: String, file: String },
    #[error("pack folder `{folder}`: {file} is invalid: {message}")]
    InvalidFile {
        folder: String,
        file: String,
        message: String,
    },
    #[error("pack folder `{folder}`: {message}")]
    Inconsistent { folder: String, message: String },
    #[error(
        "pack `{name}` is defined twice (a user pack cannot replace a built-in one; rename it)"
    )]
    Duplicate { name: String },
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::MissingFile { .. } => "pack_file_missing",
            CatalogError::InvalidFile { .. } => "pack_file_invalid",
            CatalogError::Inconsistent { .. } => "pack_inconsistent",
            CatalogError::Duplicate { .. } => "pack_duplicate",
        }
    }
}

/// All packs and presets known to this build (plus user packs).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    packs: BTreeMap<String, Pack>,
    presets: Vec<Preset>,
}

fn text<'a>(files: &'a PackFiles, file: &str) -> Result<&'a str, CatalogError> {
    let bytes = files
        .files
        .get(file)
        .ok_or_else(|| CatalogError::MissingFile {
            folder: files.folder.clone(),
            file: file.to_string(),
        })?;
    std::str::from_utf8(bytes).map_err(|e| CatalogError::InvalidFile {
        folder: files.folder.clone(),
        file: file.to_string(),
        message: format!("not UTF-8: {e}"),
    })
}

fn invalid(files: &PackFiles, file: &str, message: impl std::fmt::Display) -> CatalogError {
    CatalogError::InvalidFile {
        folder: files.folder.clone(),
        file: file.to_string(),
        message: message.to_string(),
    }
}

fn inconsistent(files: &PackFiles, message: impl Into<String>) -> CatalogError {
    CatalogError::Inconsistent {
        folder: files.folder.clone(),
        message: message.into(),
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Pack {
    /// Parse and check one pack folder.
    pub fn from_files(files: &PackFiles, origin: PackOrigin) -> Result<Pack, CatalogError> {
        let manifest: PackManifest = serde_yaml_ng::from_str(text(files, "pack.yaml")?)
            .map_err(|e| invalid(files, "pack.yaml", e))?;
        if manifest.name != files.folder {
            return Err(inconsistent(
                files,
                format!(
                    "pack.yaml names the pack `{}`; it must equal the folder name",
                    manifest.name
                ),
            ));
        }
        if manifest.version(&manifest.default_version).is_none() {
            return Err(inconsistent(
                files,
                format!(
                    "defaultVersion {} is not among the versions",
                    manifest.default_version
                ),
            ));
        }
        for version in &manifest.versions {
            let mut names = std::collections::BTreeSet::new();
            for source in &version.sources {
                if !names.insert(&source.name) {
                    return Err(inconsistent(
                        files,
                        format!(
                            "version {}: source name `{}` is used twice",
                            version.version, source.name
                        ),
                    ));
                }
                if let Some(digest) = &source.sha256
                    && !is_sha256_hex(digest)
                {
                    return Err(inconsistent(
                        files,
                        format!(
                            "source `{}`: sha256 must be 64 lowercase hex digits",
                            source.name
                        ),
                    ));
                }
                for patch in &source.patches {
                    if manifest.patch(patch).is_none() {
                        return Err(inconsistent(
                            files,
                            format!(
                                "source `{}` names patch `{patch}`, which pack.yaml does not define",
                                source.name
                            ),
                        ));
                    }
                }
            }
        }
        let default_values: serde_json::Value = match files.files.get("values.yaml") {
            Some(_) => {
                let value: Option<serde_json::Value> =
                    serde_yaml_ng::from_str(text(files, "values.yaml")?)
                        .map_err(|e| invalid(files, "values.yaml", e))?;
                value.unwrap_or_else(|| serde_json::json!({}))
            }
            None => serde_json::json!({}),
        };
        if !default_values.is_object() {
            return Err(invalid(files, "values.yaml", "must be a mapping"));
        }
        let values_schema: serde_json::Value = match files.files.get("values.schema.json") {
            Some(_) => serde_json::from_str(text(files, "values.schema.json")?)
                .map_err(|e| invalid(files, "values.schema.json", e))?,
            None => serde_json::json!({"type": "object"}),
        };
        jsonschema::validator_for(&values_schema)
            .map_err(|e| invalid(files, "values.schema.json", e))?;
        let mut templates = BTreeMap::new();
        for spec in &manifest.templates {
            let source = text(files, &spec.file)?.to_string();
            templating::check_template(&spec.file, &source)
                .map_err(|e| invalid(files, &spec.file, e))?;
            templates.insert(spec.file.clone(), source);
        }
        let gates = match &manifest.gates {
            Some(file) => Some(
                GateCatalog::from_yaml(text(files, file)?).map_err(|e| invalid(files, file, e))?,
            ),
            None => None,
        };
        let mut config_keys = BTreeMap::new();
        for check in &manifest.config_checks {
            let keys = KeyList::parse(text(files, &check.known_keys)?);
            if keys.is_empty() {
                return Err(invalid(files, &check.known_keys, "lists no keys"));
            }
            config_keys.insert(check.known_keys.clone(), keys);
        }
        Ok(Pack {
            manifest,
            default_values,
            values_schema,
            templates,
            gates,
            config_keys,
            origin,
        })
    }

    pub fn summary(&self) -> PackSummary {
        let m = &self.manifest;
        PackSummary {
            name: m.name.clone(),
            display_name: m.display_name.clone(),
            description: m.description.clone(),
            category: m.category.clone(),
            versions: m.versions.iter().map(|v| v.version.clone()).collect(),
            default_version: m.default_version.clone(),
            dependencies: m.dependencies.clone(),
            has_gates: self.gates.is_some(),
            origin: self.origin,
        }
    }
}

impl Catalog {
    /// The packs built into this binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        for files in crate::embedded::pack_folders() {
            catalog.add(Pack::from_files(&files, PackOrigin::Embedded)?)?;
        }
        catalog.presets = crate::embedded::presets_yaml()
            .map(|bytes| {
                let text = std::str::from_utf8(bytes).map_err(|e| CatalogError::InvalidFile {
                    folder: ".".into(),
                    file: "presets.yaml".into(),
                    message: e.to_string(),
                })?;
                serde_yaml_ng::from_str::<PresetsFile>(text)
                    .map(|f| f.presets)
                    .map_err(|e| CatalogError::InvalidFile {
                        folder: ".".into(),
                        file: "presets.yaml".into(),
                        message: e.to_string(),
                    })
            })
            .transpose()?
            .unwrap_or_default();
        catalog.check_references()?;
        Ok(catalog)
    }

    /// Add user packs (already read from their folder).
    pub fn with_user_packs(mut self, folders: &[PackFiles]) -> Result<Catalog, CatalogError> {
        for files in folders {
            self.add(Pack::from_files(files, PackOrigin::User)?)?;
        }
        self.check_references()?;
        Ok(self)
    }

    fn add(&mut self, pack: Pack) -> Result<(), CatalogError> {
        let name = pack.manifest.name.clone();
        if self.packs.contains_key(&name) {
            return Err(CatalogError::Duplicate { name });
        }
        self.packs.insert(name, pack);
        Ok(())
    }

    fn check_references(&self) -> Result<(), CatalogError> {
        for pack in self.packs.values() {
            let referenced = pack
                .manifest
                .dependencies
                .iter()
                .chain(pack.manifest.conflicts.iter().map(|c| &c.pack));
            for name in referenced {
                if !self.packs.contains_key(name) {
                    return Err(CatalogError::Inconsistent {
                        folder: pack.manifest.name.clone(),
                        message: format!("refers to pack `{name}`, which is not in the catalog"),
                    });
                }
            }
        }
        for preset in &self.presets {
            if let Some(missing) = preset.packs.iter().find(|p| !self.packs.contains_key(*p)) {
                return Err(CatalogError::Inconsistent {
                    folder: ".".into(),
                    message: format!(
                        "preset `{}` names pack `{missing}`, which is not in the catalog",
                        preset.name
                    ),
                });
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Pack> {
        self.packs.get(name)
    }

    pub fn packs(&self) -> impl Iterator<Item = &Pack> {
        self.packs.values()
    }

    /// Catalog listing for the UI, sorted by category then name.
    pub fn summaries(&self) -> Vec<PackSummary> {
        let mut list: Vec<PackSummary> = self.packs.values().map(Pack::summary).collect();
        list.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
        list
    }

    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    pub fn preset(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    /// The preset that picks exactly `packs`, in any order (dependencies are not picks).
    pub fn preset_picking(&self, packs: &[String]) -> Option<&Preset> {
        let picked: BTreeSet<&String> = packs.iter().collect();
        self.presets
            .iter()
            .find(|p| p.packs.iter().collect::<BTreeSet<_>>() == picked)
    }

    /// The gate catalog of `pack`, if it has one.
    pub fn gates(&self, pack: &str) -> Option<&GateCatalog> {
        self.packs.get(pack).and_then(|p| p.gates.as_ref())
    }

    /// Build a catalog from arbitrary packs (tests and tools).
    pub fn from_packs(packs: Vec<Pack>, presets: Vec<Preset>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        for pack in packs {
            catalog.add(pack)?;
        }
        catalog.presets = presets;
        catalog.check_references()?;
        Ok(catalog)
    }
}
