//! Helpers shared by the integration tests: the upstream mirror beside the repository and preset rendering.
#![allow(dead_code)]

use std::path::PathBuf;

use vmdeck_packs::{
    Catalog, FetchedSources, Profile, ProfileRequest, Secrets, plan_sources, profile_from_preset,
};

pub fn mirror_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream")
}

pub fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog loads")
}

/// Values a proxied profile needs besides its defaults.
pub fn preset_profile(catalog: &Catalog, preset: &str) -> Profile {
    let mut request = ProfileRequest {
        preset: preset.into(),
        ..Default::default()
    };
    if preset.ends_with("proxied") {
        request.values.insert(
            "spectro-proxy.server.address".into(),
            "proxy.example.com".into(),
        );
        request
            .values
            .insert("spectro-proxy.clusterId".into(), "c0ffee".into());
    }
    profile_from_preset(catalog, &request).expect("preset profile")
}

pub fn secrets() -> Secrets {
    let mut secrets = Secrets::new();
    secrets
        .entry("spectro-proxy".into())
        .or_default()
        .insert("token".into(), "test-token-not-real".into());
    secrets
}

/// Read every planned source from the mirror (test-only I/O).
pub fn fetch_from_mirror(catalog: &Catalog, profile: &Profile) -> FetchedSources {
    plan_sources(catalog, profile)
        .expect("plan")
        .into_iter()
        .map(|req| {
            let path = mirror_root().join(&req.source.mirror);
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            (req.source.url, bytes)
        })
        .collect()
}
