//! An install or upgrade, start to end: the inventory first (while the served kinds are looked
//! up), then each pack as soon as the packs it depends on are ready (independent packs at once,
//! under one bound on requests), stage by stage (`order`), CRDs waited Established before the
//! custom resources that need them (and beside the stages that do not), an upgraded pack's
//! workloads (its operator) rolled out before its custom resources change, and each pack waited
//! ready before the packs that depend on it. Last, what an earlier install left that is no longer
//! rendered is pruned: dropped packs by their uninstall steps, stale objects in reverse apply
//! order.
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::FutureExt;
use futures::future::try_join_all;
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
    let resources = Resources::new(client, options.retry);
    // The kinds already served are looked up while the inventory is read and written, so the
    // first stages go straight to their applies.
    let (inventory, ()) = tokio::join!(
        write_inventory(&store, rendered, &desired, profile_text),
        resources.prefetch(desired.iter().map(|d| &d.key), options.concurrency)
    );
    let Written {
        inventory,
        dropped,
        earlier_packs,
    } = inventory?;
    progress
        .send(Progress::InventoryWritten {
            objects: desired.len(),
        })
        .await;

    let run = PackRun {
        resources: &resources,
        desired: &desired,
        store: &store,
        inventory_id: inventory.id.clone(),
        inventory: tokio::sync::Mutex::new(inventory),
        last_saved: tokio::sync::Mutex::new(None),
        earlier_packs,
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
    let last_saved = run.last_saved.into_inner();
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
    // The last pack's save already holds every uid unless pruning changed the list.
    if last_saved.as_ref() != Some(&inventory) {
        store.save(&inventory).await?;
    }
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

/// The inventory as written before the first apply.
struct Written {
    inventory: Inventory,
    /// Packs an earlier install listed that the profile no longer has.
    dropped: Vec<InstalledPack>,
    /// Packs an earlier install (finished or not) listed.
    earlier_packs: BTreeSet<String>,
}

/// Reads the inventory (an earlier run's is continued: its id stays, its objects stay listed),
/// checks the upgrade path, lists every object to apply and the operators' objects, and writes
/// it: before any object exists.
async fn write_inventory(
    store: &InventoryStore,
    rendered: &Rendered,
    desired: &[Desired],
    profile_text: String,
) -> Result<Written, InstallError> {
    let mut inventory = match store.load().await? {
        Some(mut earlier) => {
            earlier.profile = profile_text;
            earlier
        }
        None => Inventory::new(profile_text),
    };
    upgrade_path::check(&inventory.packs, &rendered.packs)?;
    let earlier_packs = inventory.packs.iter().map(|p| p.name.clone()).collect();
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
    Ok(Written {
        inventory,
        dropped,
        earlier_packs,
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
    /// What the last save wrote (saves hold the lock on `inventory`, so they go one at a time).
    last_saved: tokio::sync::Mutex<Option<Inventory>>,
    /// Packs an earlier install listed: their operators may run an older version.
    earlier_packs: BTreeSet<String>,
    settings: ApplySettings,
    in_flight: Semaphore,
    ready_timeout: Duration,
    progress: &'a ProgressSink,
}

impl PackRun<'_> {
    /// Installs `packs` (in install order), all at once: each pack's namespaces, CRDs, access and
    /// config go straight away, the rest once the packs it depends on (listed before it, as the
    /// renderer lists them) are ready. Answers the objects applied. The first failure stops the
    /// run (requests in flight are dropped; the journal resumes it).
    async fn install_packs(&self, packs: &[RenderedPack]) -> Result<usize, InstallError> {
        let (ready_tx, ready_rx) = tokio::sync::watch::channel(BTreeSet::<String>::new());
        let ready_tx = &ready_tx;
        let runs = packs.iter().enumerate().map(|(index, pack)| {
            let before: BTreeSet<&str> = packs[..index].iter().map(|p| p.name.as_str()).collect();
            let needs: Vec<&str> = pack
                .dependencies
                .iter()
                .map(String::as_str)
                .filter(|d| before.contains(d))
                .collect();
            let mut ready = ready_rx.clone();
            async move {
                let dependencies_ready = async move {
                    // The sender outlives every run: waiting cannot fail.
                    let _ = ready
                        .wait_for(|ready| needs.iter().all(|d| ready.contains(*d)))
                        .await;
                };
                let applied = self.install_pack(pack, dependencies_ready).await?;
                ready_tx.send_modify(|ready| {
                    ready.insert(pack.name.clone());
                });
                Ok::<usize, InstallError>(applied)
            }
        });
        Ok(try_join_all(runs).await?.into_iter().sum())
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

    /// One pack, stage by stage, then waited ready; answers the objects applied. What needs
    /// nothing of other packs (namespaces, CRDs, access, config) goes before `dependencies_ready`,
    /// the rest after. Its CRDs are applied and waited Established beside the stages (they need
    /// only the namespaces), and before the objects of their kinds and its custom resources,
    /// which in an upgrade also wait for its workloads (the operator runs, at its new version,
    /// before its custom resources change).
    async fn install_pack(
        &self,
        pack: &RenderedPack,
        dependencies_ready: impl Future<Output = ()>,
    ) -> Result<usize, InstallError> {
        // Awaited once, before the first phase that may need what a dependency provides.
        let dependencies_ready = dependencies_ready.shared();
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
        let mut namespaces = stages
            .remove(&Phase::Namespaces.stage())
            .unwrap_or_default();
        let definitions: BTreeMap<Phase, Vec<Desired>> = namespaces
            .remove_entry(&Phase::Definitions)
            .into_iter()
            .collect();
        let custom_resources = stages
            .remove(&Phase::CustomResources.stage())
            .unwrap_or_default();
        // The kinds this pack defines: objects of these wait for its CRDs to be Established.
        let defined: BTreeSet<(&str, &str)> = definitions
            .values()
            .flatten()
            .filter_map(|d| {
                let names = &d.object["spec"];
                Some((names["group"].as_str()?, names["names"]["kind"].as_str()?))
            })
            .collect();
        let of_defined_kinds = |objects: &[Desired]| {
            objects
                .iter()
                .any(|d| defined.contains(&(d.key.group_version().0, d.key.kind.as_str())))
        };
        let mut applied = self.apply_stage(&pack.name, &namespaces).await?;
        let crds = definitions
            .values()
            .flatten()
            .map(|d| Wait {
                pack: pack.name.clone(),
                object: d.key.clone(),
                readiness: Readiness::Condition("Established".into()),
            })
            .collect();
        let (established_tx, mut established) = tokio::sync::watch::channel(false);
        let definitions_established = async {
            let applied = self.apply_stage(&pack.name, &definitions).await?;
            self.wait_all(crds).await?;
            established_tx.send_replace(true);
            Ok::<usize, InstallError>(applied)
        };
        let the_rest = async {
            let mut applied = 0;
            for phases in stages.into_values() {
                if phases.keys().any(|phase| phase.needs_dependencies()) {
                    dependencies_ready.clone().await;
                }
                let (later, now): (BTreeMap<_, _>, BTreeMap<_, _>) = phases
                    .into_iter()
                    .partition(|(_, objects)| of_defined_kinds(objects));
                let after_definitions = async {
                    if later.is_empty() {
                        return Ok(0);
                    }
                    // A failed definition ends the run before this could wait in vain.
                    let _ = established.wait_for(|done| *done).await;
                    self.apply_stage(&pack.name, &later).await
                };
                let (now, later) =
                    tokio::try_join!(self.apply_stage(&pack.name, &now), after_definitions)?;
                applied += now + later;
            }
            Ok::<usize, InstallError>(applied)
        };
        let (defined_applied, the_rest) = tokio::try_join!(definitions_established, the_rest)?;
        applied += defined_applied + the_rest;
        // A pack is ready only after the packs it depends on; its custom resources need them.
        dependencies_ready.await;
        let mut workloads = self.workloads_of(&pack.name);
        if !custom_resources.is_empty() {
            // An operator already running may be older than the custom resources: it rolls out
            // first. A new pack's operator finds its custom resources when it starts, as with
            // upstream's `kubectl create -f operator.yaml -f cr.yaml`.
            if self.earlier_packs.contains(&pack.name) {
                self.wait_all(std::mem::take(&mut workloads)).await?;
            }
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
        let save = async {
            let inventory = self.inventory.lock().await;
            self.store.save(&inventory).await?;
            *self.last_saved.lock().await = Some(inventory.clone());
            Ok::<(), InstallError>(())
        };
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
