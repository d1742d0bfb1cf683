//! An install or upgrade, start to end: the inventory first, then each pack as soon as the packs
//! it depends on are ready (independent packs at once, under one bound on requests), stage by
//! stage (`order`), CRDs waited Established before the custom resources that need them (and
//! beside the stages that do not), a pack's workloads (its operator) rolled out before its custom
//! resources, and each pack waited ready before the packs that depend on it. Last, what an earlier install left that is no longer rendered is
//! pruned: dropped packs by their uninstall steps, stale objects in reverse apply order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use futures::future::try_join_all;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use tokio::sync::Semaphore;
use vmdeck_packs::manifest::UninstallStep;
use vmdeck_packs::{ObjectOrigin, Rendered, RenderedPack};

use crate::apply::{ApplySettings, Desired, apply_phase};
use crate::delete::{Deleter, WhenStuck};
use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, InstalledPack, Inventory, InventoryStore};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::readiness::{Readiness, Wait, wait_all};
use crate::resources::Resources;
use crate::retry::RetryPolicy;
use crate::upgrade_path;

/// How an install runs.
#[derive(Debug, Clone, Copy)]
pub struct InstallOptions {
    /// Requests in flight at once (`--concurrency`, default 32).
    pub concurrency: usize,
    pub force_conflicts: bool,
    pub retry: RetryPolicy,
    /// How long each pack may take to become ready.
    pub ready_timeout: Duration,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            force_conflicts: false,
            retry: RetryPolicy::default(),
            ready_timeout: Duration::from_secs(600),
        }
    }
}

/// What an install did.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallReport {
    pub inventory_id: String,
    pub applied: usize,
    /// Objects of an earlier install no longer rendered, deleted.
    pub pruned: usize,
    pub packs: Vec<String>,
}

/// The rendered objects as apply order needs them, each with its key.
pub fn desired_objects(rendered: &Rendered) -> Result<Vec<Desired>, InstallError> {
    rendered
        .objects
        .iter()
        .map(|rendered| {
            let object: Value =
                serde_json::to_value(&rendered.object).map_err(|_| InstallError::Unnamed {
                    object: format!("an object of pack {}", rendered.pack),
                })?;
            let key = ObjectKey::of(&object).ok_or_else(|| InstallError::Unnamed {
                object: format!("an object of pack {}", rendered.pack),
            })?;
            Ok(Desired {
                key,
                pack: rendered.pack.clone(),
                source: match &rendered.origin {
                    ObjectOrigin::Upstream { source, .. } => Some(source.clone()),
                    ObjectOrigin::Template { .. } => None,
                },
                object,
            })
        })
        .collect()
}

/// Installs `rendered` (the profile's text without secrets goes into the inventory).
pub async fn install(
    client: kube::Client,
    rendered: &Rendered,
    profile_text: String,
    options: InstallOptions,
    progress: &ProgressSink,
) -> Result<InstallReport, InstallError> {
    let desired = desired_objects(rendered)?;
    let store = InventoryStore::new(client.clone(), options.retry);
    // An earlier run's inventory is continued: its id stays, its objects stay listed.
    let mut inventory = match store.load().await? {
        Some(mut earlier) => {
            earlier.profile = profile_text;
            earlier
        }
        None => Inventory::new(profile_text),
    };
    upgrade_path::check(&inventory.packs, &rendered.packs)?;
    // Packs dropped from the profile stay listed until pruned, so an interruption can finish them.
    let dropped: Vec<InstalledPack> = inventory
        .packs
        .iter()
        .filter(|earlier| !rendered.packs.iter().any(|p| p.name == earlier.name))
        .cloned()
        .collect();
    inventory.packs = rendered
        .packs
        .iter()
        .map(|pack| InstalledPack {
            name: pack.name.clone(),
            version: pack.version.clone(),
            uninstall: pack.uninstall.clone(),
            readiness: pack.readiness.clone(),
        })
        .chain(dropped.iter().cloned())
        .collect();
    for pack in &rendered.packs {
        inventory.add_operator_objects(pack.uninstall.iter().filter_map(|step| match step {
            UninstallStep::Delete { delete, .. } => Some(Entry {
                key: ObjectKey::from(delete),
                pack: pack.name.clone(),
                source: None,
                uid: None,
            }),
            _ => None,
        }));
    }
    // Every object is listed before any exists: an interruption from here on still uninstalls
    // what was created (one never created is a 404 on delete, which is done).
    inventory.add(desired.iter().map(|d| Entry {
        key: d.key.clone(),
        pack: d.pack.clone(),
        source: d.source.clone(),
        uid: None,
    }));
    store.save(&inventory).await?;
    progress
        .send(Progress::InventoryWritten {
            objects: desired.len(),
        })
        .await;

    let resources = Resources::new(client, options.retry);
    let run = PackRun {
        resources: &resources,
        desired: &desired,
        store: &store,
        inventory_id: inventory.id.clone(),
        inventory: tokio::sync::Mutex::new(inventory),
        settings: ApplySettings {
            concurrency: options.concurrency,
            force_conflicts: options.force_conflicts,
            retry: options.retry,
        },
        in_flight: Semaphore::new(options.concurrency.max(1)),
        ready_timeout: options.ready_timeout,
        progress,
    };
    let applied = run.install_packs(&rendered.packs).await?;
    let mut inventory = run.inventory.into_inner();
    let pruned = prune(
        &resources,
        &desired,
        &mut inventory,
        &dropped,
        options,
        progress,
    )
    .await?;
    store.save(&inventory).await?;
    progress
        .send(Progress::Done {
            applied,
            deleted: pruned,
        })
        .await;
    Ok(InstallReport {
        inventory_id: inventory.id,
        applied,
        pruned,
        packs: rendered.packs.iter().map(|p| p.name.clone()).collect(),
    })
}

/// The packs of one install, each started as soon as the packs it depends on are ready, all
/// sharing one bound on requests in flight and one inventory.
struct PackRun<'a> {
    resources: &'a Resources,
    desired: &'a [Desired],
    store: &'a InventoryStore,
    inventory_id: String,
    inventory: tokio::sync::Mutex<Inventory>,
    settings: ApplySettings,
    in_flight: Semaphore,
    ready_timeout: Duration,
    progress: &'a ProgressSink,
}

impl PackRun<'_> {
    /// Installs `packs` (in install order), independent ones concurrently; answers the objects
    /// applied. The first failure stops the run (requests in flight are dropped; the journal
    /// resumes it).
    async fn install_packs<'p>(&self, packs: &'p [RenderedPack]) -> Result<usize, InstallError> {
        let chosen: BTreeSet<&str> = packs.iter().map(|p| p.name.as_str()).collect();
        let mut ready: BTreeSet<&str> = BTreeSet::new();
        let mut waiting: Vec<&RenderedPack> = packs.iter().collect();
        let start = |pack: &'p RenderedPack| async move { (pack, self.install_pack(pack).await) };
        let mut running = FuturesUnordered::new();
        let mut applied = 0;
        loop {
            let (startable, later): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|pack| {
                pack.dependencies
                    .iter()
                    .all(|d| !chosen.contains(d.as_str()) || ready.contains(d.as_str()))
            });
            waiting = later;
            running.extend(startable.into_iter().map(start));
            if running.is_empty() && !waiting.is_empty() {
                // Dependencies that cannot be met in any order: install order decides.
                running.push(start(waiting.remove(0)));
            }
            match running.next().await {
                Some((pack, result)) => {
                    applied += result?;
                    ready.insert(pack.name.as_str());
                }
                None => return Ok(applied),
            }
        }
    }

    fn workloads_of(&self, pack: &str) -> Vec<Wait> {
        self.desired
            .iter()
            .filter(|d| d.pack == pack && is_workload(&d.key))
            .map(|d| Wait {
                pack: pack.to_string(),
                object: d.key.clone(),
                readiness: Readiness::RolledOut,
            })
            .collect()
    }

    /// One pack, stage by stage, then waited ready; answers the objects applied. Its CRDs are
    /// waited Established beside the stages that do not need them (RBAC, config, services,
    /// workloads, webhooks) and before its custom resources, which also wait for its workloads
    /// (the operator runs, at its new version, before its custom resources change).
    async fn install_pack(&self, pack: &RenderedPack) -> Result<usize, InstallError> {
        let mut stages: BTreeMap<u8, BTreeMap<Phase, Vec<Desired>>> = BTreeMap::new();
        for object in self.desired.iter().filter(|d| d.pack == pack.name) {
            let phase = Phase::of(&object.key);
            stages
                .entry(phase.stage())
                .or_default()
                .entry(phase)
                .or_default()
                .push(object.clone());
        }
        let foundation = stages
            .remove(&Phase::Foundation.stage())
            .unwrap_or_default();
        let custom_resources = stages
            .remove(&Phase::CustomResources.stage())
            .unwrap_or_default();
        let mut applied = self.apply_stage(&pack.name, &foundation).await?;
        let crds = foundation
            .values()
            .flatten()
            .filter(|d| d.key.kind == "CustomResourceDefinition")
            .map(|d| Wait {
                pack: pack.name.clone(),
                object: d.key.clone(),
                readiness: Readiness::Condition("Established".into()),
            })
            .collect();
        let the_rest = async {
            let mut applied = 0;
            for phases in stages.values() {
                applied += self.apply_stage(&pack.name, phases).await?;
            }
            Ok::<usize, InstallError>(applied)
        };
        let ((), the_rest) = tokio::try_join!(self.wait_all(crds), the_rest)?;
        applied += the_rest;
        let mut workloads = self.workloads_of(&pack.name);
        if !custom_resources.is_empty() {
            self.wait_all(std::mem::take(&mut workloads)).await?;
            applied += self.apply_stage(&pack.name, &custom_resources).await?;
        }
        let rules = pack.readiness.iter().map(|rule| Wait {
            pack: pack.name.clone(),
            object: ObjectKey {
                api_version: rule.api_version.clone(),
                kind: rule.kind.clone(),
                namespace: rule.namespace.clone(),
                name: rule.name.clone(),
            },
            readiness: Readiness::from_rule(&rule.kind, &rule.condition, &pack.version),
        });
        // The uids go into the inventory while the pack becomes ready.
        let save = async { self.store.save(&*self.inventory.lock().await).await };
        tokio::try_join!(
            save,
            self.wait_all(workloads.into_iter().chain(rules).collect())
        )?;
        self.progress
            .send(Progress::PackReady {
                pack: pack.name.clone(),
            })
            .await;
        Ok(applied)
    }

    /// The phases of one stage at once (under the run's one bound on requests); answers the
    /// objects applied.
    async fn apply_stage(
        &self,
        pack: &str,
        phases: &BTreeMap<Phase, Vec<Desired>>,
    ) -> Result<usize, InstallError> {
        let applied = try_join_all(phases.iter().map(|(phase, objects)| async move {
            self.progress
                .send(Progress::PhaseStarted {
                    pack: pack.to_string(),
                    phase: phase.label().to_string(),
                    objects: objects.len(),
                })
                .await;
            let uids = apply_phase(
                self.resources,
                objects,
                &self.inventory_id,
                self.settings,
                &self.in_flight,
                self.progress,
            )
            .await?;
            self.inventory.lock().await.set_uids(&uids);
            Ok::<usize, InstallError>(uids.len())
        }))
        .await?;
        Ok(applied.into_iter().sum())
    }

    async fn wait_all(&self, waits: Vec<Wait>) -> Result<(), InstallError> {
        wait_all(self.resources, waits, self.ready_timeout, self.progress).await
    }
}

/// Deletes what the inventory lists and the profile no longer renders: dropped packs by their
/// uninstall steps (last installed first), then stale objects of the others in reverse apply
/// order; the inventory forgets them.
async fn prune(
    resources: &Resources,
    desired: &[Desired],
    inventory: &mut Inventory,
    dropped: &[InstalledPack],
    options: InstallOptions,
    progress: &ProgressSink,
) -> Result<usize, InstallError> {
    let rendered: BTreeSet<&ObjectKey> = desired.iter().map(|d| &d.key).collect();
    let deleter = Deleter {
        resources,
        concurrency: options.concurrency,
        retry: options.retry,
        gone_timeout: options.ready_timeout,
        when_stuck: WhenStuck::Fail,
        progress,
        leftovers: Default::default(),
    };
    // Objects still rendered are never deleted, whichever pack listed them.
    let mut done: BTreeSet<ObjectKey> = rendered.iter().map(|k| (*k).clone()).collect();
    let mut pruned = 0;
    for pack in dropped.iter().rev() {
        pruned += deleter.remove_pack(inventory, pack, &mut done).await?;
    }
    let stale: Vec<Entry> = inventory
        .objects
        .iter()
        .filter(|e| !rendered.contains(&e.key))
        .cloned()
        .collect();
    let stale: Vec<&Entry> = stale.iter().collect();
    pruned += deleter.delete_in_reverse_order(&stale, &mut done).await?;
    inventory.objects.retain(|e| rendered.contains(&e.key));
    inventory
        .operator_objects
        .retain(|e| !dropped.iter().any(|p| p.name == e.pack));
    inventory
        .packs
        .retain(|p| !dropped.iter().any(|d| d.name == p.name));
    Ok(pruned)
}

/// Deployments, DaemonSets and StatefulSets: what rolls out.
pub fn is_workload(key: &ObjectKey) -> bool {
    matches!(
        (key.group_version().0, key.kind.as_str()),
        ("apps", "Deployment" | "DaemonSet" | "StatefulSet")
    )
}
