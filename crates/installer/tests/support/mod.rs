//! What the installer's integration tests share: simcluster started in-process, presets and
//! profiles rendered from the upstream mirror in `../shared/upstream`, progress collected.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube::api::{Api, ListParams};
use simcluster::SimCluster;
use tokio::sync::mpsc;
use vmdeck_installer::{Progress, ProgressSink};
use vmdeck_packs::{
    Catalog, Profile, ProfileRequest, Rendered, plan_sources, profile_from_preset, render,
};
use vmdeck_sources::{Mirror, SourceStore};

pub fn upstream() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream")
}

/// The preset's profile rendered from the mirror, and its text.
pub async fn rendered(
    preset: &str,
    values: &[(&str, &str)],
    secrets: &[(&str, &str, &str)],
) -> (Rendered, String) {
    let catalog = Catalog::embedded().unwrap();
    let profile = profile_from_preset(
        &catalog,
        &ProfileRequest {
            preset: preset.into(),
            versions: BTreeMap::new(),
            gates: BTreeMap::new(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    )
    .unwrap();
    rendered_profile(&profile, secrets).await
}

/// `profile` rendered from the mirror, and its text.
pub async fn rendered_profile(
    profile: &Profile,
    secrets: &[(&str, &str, &str)],
) -> (Rendered, String) {
    let catalog = Catalog::embedded().unwrap();
    let profile = profile.clone();
    let dir = tempfile::tempdir().unwrap();
    let store = SourceStore::new(dir.path().join("lock"))
        .with_mirror(Mirror::parse(upstream().to_str().unwrap()));
    let fetched = store
        .fetch_all(&plan_sources(&catalog, &profile).unwrap(), &mut |_| {})
        .await
        .unwrap();
    let mut by_pack: vmdeck_packs::Secrets = BTreeMap::new();
    for (pack, key, value) in secrets {
        by_pack
            .entry(pack.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }
    let rendered = render(&catalog, &profile, &by_pack, &fetched).unwrap();
    (rendered, profile.to_yaml())
}

pub async fn cluster() -> (SimCluster, kube::Client) {
    cluster_with(simcluster::Options::default()).await
}

pub async fn cluster_with(options: simcluster::Options) -> (SimCluster, kube::Client) {
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        ..options
    })
    .await
    .unwrap();
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    (cluster, client)
}

/// Progress collected while the work runs (the channel is bounded: the reader keeps up).
pub fn progress() -> (ProgressSink, tokio::task::JoinHandle<Vec<Progress>>) {
    let (sender, mut receiver) = mpsc::channel(16);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(event) = receiver.recv().await {
            seen.push(event);
        }
        seen
    });
    (ProgressSink::new(sender), reader)
}

pub async fn names<K>(api: &Api<K>) -> Vec<String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect()
}
