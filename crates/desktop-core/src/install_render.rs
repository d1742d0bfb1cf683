//! From a draft (or an installed or journaled profile) to what the installer takes: the profile
//! checked against the catalog, its pack secrets read from the cluster's secret store, its
//! upstream files fetched (cache, then the configured mirror or the official URL, sha256-checked)
//! and the packs rendered.

use std::path::PathBuf;

use vmdeck_packs::{Catalog, Profile, Rendered, Secrets, plan_sources, render};
use vmdeck_sources::{Mirror, SourceStore};
use vmdeck_vault::Vault;

use crate::pack_secrets::{cluster_secret_key, secret_keys};
use crate::profile_draft::profile_issues;
use crate::ui_error::UiError;

/// Where the installer's upstream files come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcesConfig {
    /// A folder laid out `<component>/<version>/<file>`, or a base URL; `None`: the official URLs.
    pub mirror: Option<String>,
    /// The download cache; `None`: `<data>/sources-cache`.
    pub cache_dir: Option<PathBuf>,
}

impl SourcesConfig {
    /// `$VMDECK_MIRROR` when set (how the demo and the tests point at a local mirror).
    pub fn from_env() -> Self {
        Self {
            mirror: std::env::var("VMDECK_MIRROR")
                .ok()
                .filter(|m| !m.trim().is_empty()),
            cache_dir: None,
        }
    }
}

/// A profile that does not pass the catalog's checks, as one error naming the first problem.
pub(crate) fn check_profile(catalog: &Catalog, profile: &Profile) -> Result<(), UiError> {
    let issues = profile_issues(catalog, profile, None);
    let Some(first) = issues.first() else {
        return Ok(());
    };
    let mut error = UiError::new(
        "profile_invalid",
        format!(
            "the profile has {} problem(s); first {}: {} (fix them in the wizard)",
            issues.len(),
            first.path,
            first.message
        ),
    );
    error.field = first.field.clone().or_else(|| first.gate.clone());
    Err(error)
}

/// The pack secrets of `profile` stored for `cluster` (a missing one fails the render, naming it).
pub(crate) fn cluster_secrets(
    vault: &Vault,
    catalog: &Catalog,
    cluster: &str,
    profile: &Profile,
) -> Result<Secrets, UiError> {
    let mut secrets = Secrets::new();
    for pack in &profile.packs {
        for key in secret_keys(catalog, &pack.name)? {
            if let Some(value) =
                vault.cluster_secret(cluster, &cluster_secret_key(&pack.name, &key))?
            {
                secrets
                    .entry(pack.name.clone())
                    .or_default()
                    .insert(key, value.expose().clone());
            }
        }
    }
    Ok(secrets)
}

/// Fetches the profile's upstream files and renders its packs.
pub(crate) async fn render_profile(
    catalog: &Catalog,
    profile: &Profile,
    secrets: &Secrets,
    sources: &SourcesConfig,
    data_dir: &std::path::Path,
) -> Result<Rendered, UiError> {
    let coded = |code: &str, err: &dyn std::fmt::Display| UiError::new(code, err.to_string());
    let cache = sources
        .cache_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("sources-cache"));
    let mut store = SourceStore::new(data_dir.join("sources.lock")).with_cache_dir(cache);
    if let Some(mirror) = &sources.mirror {
        store = store.with_mirror(Mirror::parse(mirror));
    }
    let requests = plan_sources(catalog, profile).map_err(|e| coded(e.code(), &e))?;
    let fetched = store
        .fetch_all(&requests, &mut |_| {})
        .await
        .map_err(|e| coded(e.code(), &e))?;
    render(catalog, profile, secrets, &fetched).map_err(|e| coded(e.code(), &e))
}
