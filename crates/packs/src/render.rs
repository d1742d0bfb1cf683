//! Render a profile into the ordered list of objects to apply: upstream documents (original bytes kept, digest
//! checked, named patches applied to the parsed copy) and our templates, each labelled as managed by VMDeck and
//! annotated with its pack. Pure and deterministic: the upstream bytes are passed in.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::catalog::{Catalog, Pack};
use crate::config_keys::{self, ConfigError};
use crate::digest::{self, DigestMismatch};
use crate::documents;
use crate::manifest::{PreflightRule, ReadinessRule, UninstallStep, UpstreamSource};
use crate::patches;
use crate::profile::{Profile, ProfileError, ProfilePack};
use crate::profile_check::{self, Secrets};
use crate::resolve::{PackGraph, resolve};
use crate::templating;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "vmdeck";
pub const PACK_ANNOTATION: &str = "vmdeck.io/pack";
pub const PACK_VERSION_ANNOTATION: &str = "vmdeck.io/pack-version";

/// An upstream file a profile needs, for the downloader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRequest {
    pub pack: String,
    pub source: UpstreamSource,
}

/// Upstream file contents by URL, as fetched (and verified) by the caller.
pub type FetchedSources = BTreeMap<String, Vec<u8>>;

/// Where a rendered object comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ObjectOrigin {
    /// A document of an upstream file, `raw` being its exact original text.
    #[serde(rename_all = "camelCase")]
    Upstream {
        source: String,
        url: String,
        sha256: String,
        document: usize,
        raw: String,
        patches: Vec<String>,
    },
    /// One of our templates.
    #[serde(rename_all = "camelCase")]
    Template { file: String },
}

/// One object to apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedObject {
    pub pack: String,
    pub origin: ObjectOrigin,
    /// The object to apply (labelled and annotated; patched where the pack says so).
    pub object: Value,
}

/// Per-pack results besides the objects: what to wait for and how to uninstall.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedPack {
    pub name: String,
    pub version: String,
    pub readiness: Vec<ReadinessRule>,
    pub uninstall: Vec<UninstallStep>,
    pub preflight: Vec<PreflightRule>,
    pub warnings: Vec<String>,
    /// Every version the catalog offers of this pack, as listed: the path an upgrade may take.
    #[serde(skip)]
    pub catalog_versions: Vec<String>,
    /// The packs this one needs ready first (those in the profile are earlier in `packs`).
    #[serde(skip)]
    pub dependencies: Vec<String>,
}

/// The result of rendering: packs in install order and their objects in apply order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendered {
    pub packs: Vec<RenderedPack>,
    pub objects: Vec<RenderedObject>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Invalid(#[from] ProfileError),
    #[error("{url} was not fetched (pack {pack}, source {source_name})")]
    MissingSource {
        pack: String,
        source_name: String,
        url: String,
    },
    #[error(transparent)]
    Digest(#[from] DigestMismatch),
    #[error("{url}: document {document} is not valid YAML: {message}")]
    UpstreamParse {
        url: String,
        document: usize,
        message: String,
    },
    #[error("pack {pack}: {kind} {name}, {key} {source}")]
    Config {
        pack: String,
        kind: String,
        name: String,
        key: String,
        #[source]
        source: Box<ConfigError>,
    },
    #[error("pack {pack}: {what}: {message}")]
    Pack {
        pack: String,
        what: String,
        message: String,
    },
}

impl RenderError {
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::Invalid(e) => e.code(),
            RenderError::MissingSource { .. } => "source_missing",
            RenderError::Digest(e) => e.code(),
            RenderError::UpstreamParse { .. } => "upstream_invalid",
            RenderError::Config { source, .. } => source.code(),
            RenderError::Pack { .. } => "pack_render_failed",
        }
    }
}

impl RenderedObject {
    fn field(&self, path: &[&str]) -> Option<&str> {
        path.iter()
            .try_fold(&self.object, |v, key| v.get(*key))
            .and_then(Value::as_str)
    }
    pub fn api_version(&self) -> &str {
        self.field(&["apiVersion"]).unwrap_or_default()
    }
    pub fn kind(&self) -> &str {
        self.field(&["kind"]).unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.field(&["metadata", "name"]).unwrap_or_default()
    }
    pub fn namespace(&self) -> Option<&str> {
        self.field(&["metadata", "namespace"])
    }
}

/// A pack of the profile with everything needed to render it.
struct PreparedPack<'c> {
    pack: &'c Pack,
    entry: &'c ProfilePack,
    /// The entry's version as the catalog spells it (a profile may say `v1.8.4` for `1.8.4`).
    version: &'c str,
    ctx: minijinja::Value,
    warnings: Vec<String>,
}

fn pack_error(pack: &str, what: impl Into<String>, message: impl std::fmt::Display) -> RenderError {
    RenderError::Pack {
        pack: pack.to_string(),
        what: what.into(),
        message: message.to_string(),
    }
}

/// Validate, order the packs and build each pack's template context.
fn prepare<'c>(
    catalog: &'c Catalog,
    profile: &'c Profile,
    secrets: Option<&Secrets>,
) -> Result<Vec<PreparedPack<'c>>, RenderError> {
    match secrets {
        Some(secrets) => profile_check::validate_with_secrets(catalog, profile, secrets)?,
        None => profile_check::validate(catalog, profile, None)?,
    }
    let names: Vec<String> = profile.packs.iter().map(|p| p.name.clone()).collect();
    let order = resolve(&PackGraph::from_catalog(catalog), &names).map_err(|errors| {
        let text = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        pack_error("(profile)", "resolution", text)
    })?;
    let mut prepared = Vec::new();
    for resolved in order {
        let index = profile
            .packs
            .iter()
            .position(|p| p.name == resolved.name)
            .unwrap_or_default();
        let entry = &profile.packs[index];
        let pack = catalog
            .get(&entry.name)
            .ok_or_else(|| pack_error(&entry.name, "catalog", "pack vanished"))?;
        let values = profile_check::pack_values(pack, entry, secrets, index)
            .map_err(|issues| ProfileError { issues })?;
        let gates = profile_check::pack_gates(pack, entry, index)
            .map_err(|issues| ProfileError { issues })?;
        let version = pack.manifest.spelling(&entry.version);
        let ctx = templating::context(
            &values,
            &serde_json::json!({"name": entry.name, "version": version}),
            &serde_json::json!({"enabled": gates.enabled, "disabled": gates.disabled}),
        );
        prepared.push(PreparedPack {
            pack,
            entry,
            version,
            ctx,
            warnings: gates.warnings,
        });
    }
    Ok(prepared)
}

fn active_sources<'p>(
    prepared: &'p PreparedPack<'_>,
) -> Result<Vec<&'p UpstreamSource>, RenderError> {
    let Some(version) = prepared.pack.manifest.version(&prepared.entry.version) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for source in &version.sources {
        if templating::condition(source.when.as_deref(), &prepared.ctx).map_err(|e| {
            pack_error(
                &prepared.entry.name,
                format!("source {} when", source.name),
                e,
            )
        })? {
            out.push(source);
        }
    }
    Ok(out)
}

/// The upstream files a profile needs (in apply order). Secrets are not needed for this.
pub fn plan_sources(
    catalog: &Catalog,
    profile: &Profile,
) -> Result<Vec<SourceRequest>, RenderError> {
    let mut out = Vec::new();
    for prepared in prepare(catalog, profile, None)? {
        for source in active_sources(&prepared)? {
            out.push(SourceRequest {
                pack: prepared.entry.name.clone(),
                source: source.clone(),
            });
        }
    }
    Ok(out)
}

fn label(object: &mut Value, pack: &str, version: &str) {
    let Some(map) = object.as_mapping_mut() else {
        return;
    };
    let metadata = map
        .entry("metadata".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !metadata.is_mapping() {
        *metadata = Value::Mapping(Mapping::new());
    }
    let Some(metadata) = metadata.as_mapping_mut() else {
        return;
    };
    for (section, entries) in [
        ("labels", vec![(MANAGED_BY_LABEL, MANAGED_BY_VALUE)]),
        (
            "annotations",
            vec![(PACK_ANNOTATION, pack), (PACK_VERSION_ANNOTATION, version)],
        ),
    ] {
        let slot = metadata
            .entry(section.into())
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !slot.is_mapping() {
            *slot = Value::Mapping(Mapping::new());
        }
        if let Some(slot) = slot.as_mapping_mut() {
            for (key, value) in entries {
                slot.insert(key.into(), value.into());
            }
        }
    }
}

/// The pack's `configChecks`: each config file its templates rendered parses and uses known keys only.
fn check_configs(pack: &Pack, objects: &[RenderedObject]) -> Result<(), RenderError> {
    let name = pack.manifest.name.as_str();
    for check in &pack.manifest.config_checks {
        let Some(known) = pack.config_keys.get(&check.known_keys) else {
            return Err(pack_error(name, &check.known_keys, "key list not loaded"));
        };
        let holders = objects.iter().filter(|o| {
            o.pack == name
                && matches!(o.origin, ObjectOrigin::Template { .. })
                && o.kind() == check.object.kind
                && o.name() == check.object.name
        });
        for holder in holders {
            let what = || format!("{} {}", check.object.kind, check.object.name);
            let text = holder
                .object
                .get("data")
                .and_then(|data| data.get(check.key.as_str()))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    pack_error(name, what(), format!("has no data key {}", check.key))
                })?;
            config_keys::check(text, check.format, known, &check.reference).map_err(|source| {
                RenderError::Config {
                    pack: name.to_string(),
                    kind: check.object.kind.clone(),
                    name: check.object.name.clone(),
                    key: check.key.clone(),
                    source: Box::new(source),
                }
            })?;
        }
    }
    Ok(())
}

/// Render a profile. `secrets` supplies secret values; `fetched` holds the bytes of every planned source.
pub fn render(
    catalog: &Catalog,
    profile: &Profile,
    secrets: &Secrets,
    fetched: &FetchedSources,
) -> Result<Rendered, RenderError> {
    let mut rendered = Rendered {
        packs: Vec::new(),
        objects: Vec::new(),
    };
    for prepared in prepare(catalog, profile, Some(secrets))? {
        let name = prepared.entry.name.as_str();
        let version = prepared.version;
        let manifest = &prepared.pack.manifest;
        for source in active_sources(&prepared)? {
            let bytes = fetched
                .get(&source.url)
                .ok_or_else(|| RenderError::MissingSource {
                    pack: name.to_string(),
                    source_name: source.name.clone(),
                    url: source.url.clone(),
                })?;
            let sha256 = match &source.sha256 {
                Some(pin) => digest::verify(&source.url, pin, bytes)?,
                None => digest::sha256_hex(bytes),
            };
            let text = std::str::from_utf8(bytes).map_err(|e| RenderError::UpstreamParse {
                url: source.url.clone(),
                document: 0,
                message: e.to_string(),
            })?;
            let mut patch_hits: BTreeMap<&str, usize> =
                source.patches.iter().map(|p| (p.as_str(), 0)).collect();
            for (index, document) in documents::split(text).into_iter().enumerate() {
                if document.is_blank() {
                    continue;
                }
                let mut object: Value = serde_yaml_ng::from_str(&document.text).map_err(|e| {
                    RenderError::UpstreamParse {
                        url: source.url.clone(),
                        document: index,
                        message: e.to_string(),
                    }
                })?;
                if object.is_null() {
                    continue;
                }
                let mut applied = Vec::new();
                for patch_name in &source.patches {
                    let Some(patch) = manifest.patch(patch_name) else {
                        continue;
                    };
                    if patches::targets(patch, &object) {
                        patches::apply(patch, &mut object, &prepared.ctx)
                            .map_err(|e| pack_error(name, format!("patch {patch_name}"), e))?;
                        applied.push(patch_name.clone());
                        *patch_hits.entry(patch_name).or_default() += 1;
                    }
                }
                label(&mut object, name, version);
                rendered.objects.push(RenderedObject {
                    pack: name.to_string(),
                    origin: ObjectOrigin::Upstream {
                        source: source.name.clone(),
                        url: source.url.clone(),
                        sha256: sha256.clone(),
                        document: index,
                        raw: document.text,
                        patches: applied,
                    },
                    object,
                });
            }
            if let Some((unused, _)) = patch_hits.iter().find(|(_, hits)| **hits == 0) {
                return Err(pack_error(
                    name,
                    format!("patch {unused}"),
                    format!(
                        "matched no document of {} (has the upstream manifest changed?)",
                        source.url
                    ),
                ));
            }
        }
        for spec in &manifest.templates {
            let active = templating::condition(spec.when.as_deref(), &prepared.ctx)
                .map_err(|e| pack_error(name, format!("{} when", spec.file), e))?;
            if !active {
                continue;
            }
            let source = prepared
                .pack
                .templates
                .get(&spec.file)
                .ok_or_else(|| pack_error(name, &spec.file, "template not loaded"))?;
            let output = templating::render(&spec.file, source, &prepared.ctx)
                .map_err(|e| pack_error(name, &spec.file, e))?;
            for document in documents::split(&output) {
                if document.is_blank() {
                    continue;
                }
                let mut object: Value = serde_yaml_ng::from_str(&document.text).map_err(|e| {
                    pack_error(name, &spec.file, format!("rendered invalid YAML: {e}"))
                })?;
                if object.get("kind").and_then(Value::as_str).is_none() {
                    return Err(pack_error(
                        name,
                        &spec.file,
                        "rendered a document without `kind`",
                    ));
                }
                label(&mut object, name, version);
                rendered.objects.push(RenderedObject {
                    pack: name.to_string(),
                    origin: ObjectOrigin::Template {
                        file: spec.file.clone(),
                    },
                    object,
                });
            }
        }
        check_configs(prepared.pack, &rendered.objects)?;
        let mut readiness = Vec::new();
        for rule in &manifest.readiness {
            let active = templating::condition(rule.when.as_deref(), &prepared.ctx)
                .map_err(|e| pack_error(name, "readiness when", e))?;
            if !active {
                continue;
            }
            let resolve_text = |text: &str| {
                templating::render_str(text, &prepared.ctx)
                    .map_err(|e| pack_error(name, "readiness", e))
            };
            readiness.push(ReadinessRule {
                namespace: rule.namespace.as_deref().map(resolve_text).transpose()?,
                name: resolve_text(&rule.name)?,
                when: None,
                ..rule.clone()
            });
        }
        rendered.packs.push(RenderedPack {
            name: name.to_string(),
            version: version.to_string(),
            readiness,
            uninstall: manifest.uninstall.clone(),
            preflight: manifest.preflight.clone(),
            warnings: prepared.warnings,
            catalog_versions: manifest
                .versions
                .iter()
                .map(|v| v.version.clone())
                .collect(),
            dependencies: manifest.dependencies.clone(),
        });
    }
    Ok(rendered)
}
