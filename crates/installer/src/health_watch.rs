//! When the installed packs' health may have changed: one watch per kind and namespace of the
//! objects `health` judges (the inventory's workloads and the packs' readiness objects), merged
//! into one stream that yields whenever one of those objects changes or goes.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, BoxStream, StreamExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};

use crate::error::InstallError;
use crate::install::is_workload;
use crate::inventory::Inventory;
use crate::object_key::ObjectKey;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// The objects health reads, by (apiVersion, kind, namespace): each group is one watch.
fn watched_groups(
    inventory: &Inventory,
) -> BTreeMap<(String, String, Option<String>), BTreeSet<ObjectKey>> {
    let workloads = inventory
        .objects
        .iter()
        .filter(|e| is_workload(&e.key))
        .map(|e| e.key.clone());
    let rules = inventory.packs.iter().flat_map(|pack| {
        pack.readiness.iter().map(|rule| ObjectKey {
            api_version: rule.api_version.clone(),
            kind: rule.kind.clone(),
            namespace: rule.namespace.clone(),
            name: rule.name.clone(),
        })
    });
    let mut groups: BTreeMap<_, BTreeSet<ObjectKey>> = BTreeMap::new();
    for key in workloads.chain(rules) {
        groups
            .entry((
                key.api_version.clone(),
                key.kind.clone(),
                key.namespace.clone(),
            ))
            .or_default()
            .insert(key);
    }
    groups
}

/// A stream that yields `()` each time an object the inventory's health depends on changes
/// (first once every watch has listed its objects). Watches re-establish themselves with
/// backoff; a kind the cluster does not serve (yet) is left out.
pub async fn health_changes(
    client: kube::Client,
    inventory: &Inventory,
    retry: RetryPolicy,
) -> Result<BoxStream<'static, ()>, InstallError> {
    let resources = Resources::new(client, retry);
    let mut watches = Vec::new();
    for keys in watched_groups(inventory).into_values() {
        let first = keys.first().expect("a group holds at least one object");
        let api = match resources.api_for(first).await {
            Ok(api) => api,
            Err(InstallError::KindNotServed { .. }) => continue,
            Err(error) => return Err(error),
        };
        let names: BTreeSet<String> = keys.into_iter().map(|k| k.name).collect();
        let changes = watcher(api, watcher::Config::default())
            .default_backoff()
            .filter_map(move |event| {
                let tick = match event {
                    Ok(Event::Apply(o) | Event::Delete(o)) => o
                        .metadata
                        .name
                        .as_ref()
                        .is_some_and(|name| names.contains(name)),
                    Ok(Event::InitDone) => true,
                    Ok(Event::Init | Event::InitApply(_)) => false,
                    Err(error) => {
                        tracing::debug!(%error, "health watch failed; retrying");
                        false
                    }
                };
                std::future::ready(tick.then_some(()))
            });
        watches.push(changes.boxed());
    }
    Ok(stream::select_all(watches).boxed())
}
