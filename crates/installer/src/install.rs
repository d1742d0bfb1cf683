//! An install or upgrade, start to end: the inventory first, then each pack (dependencies first)
//! phase by phase, CRDs waited Established before anything that needs them, a pack's workloads
//! (its operator) rolled out before its custom resources, and each pack waited ready before the
//! packs that depend on it. Last, what an earlier install left that is no longer rendered is
//! pruned: dropped packs by their uninstall steps, stale objects in reverse apply order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::try_join_all;
use serde_json::Value;
use vmdeck_packs::manifest::UninstallStep;
use vmdeck_packs::{ObjectOrigin, Rendered};

use crate::apply::{ApplySettings, Desired, apply_phase};
use crate::delete::{Deleter, WhenStuck};
use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, InstalledPack, Inventory, InventoryStore};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::readiness::{Readiness, Wait, wait_ready};
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
    store.save(&inventory).await?;
    progress
        .send(Progress::InventoryWritten {
            objects: desired.len(),
        })
        .await;

    let resources = Resources::new(client, options.retry);
    let workloads_of = |pack: &str| -> Vec<Wait> {
        desired
            .iter()
            .filter(|d| d.pack == pack && is_workload(&d.key))
            .map(|d| Wait {
                pack: pack.to_string(),
                object: d.key.clone(),
                readiness: Readiness::RolledOut,
            })
            .collect()
    };
    let settings = ApplySettings {
        concurrency: options.concurrency,
        force_conflicts: options.force_conflicts,
        retry: options.retry,
    };
    let mut applied = 0;
    for pack in &rendered.packs {
        let mut phases: BTreeMap<Phase, Vec<Desired>> = BTreeMap::new();
        for object in desired.iter().filter(|d| d.pack == pack.name) {
            phases
                .entry(Phase::of(&object.key))
                .or_default()
                .push(object.clone());
        }
        let mut workloads_waited = false;
        for (phase, objects) in &phases {
            // The operator runs (at its new version) before its custom resources change.
            if *phase == Phase::CustomResources && !workloads_waited {
                wait_all(
                    &resources,
                    workloads_of(&pack.name).into_iter(),
                    options.ready_timeout,
                    progress,
                )
                .await?;
                workloads_waited = true;
            }
            progress
                .send(Progress::PhaseStarted {
                    pack: pack.name.clone(),
                    phase: phase.label().to_string(),
                    objects: objects.len(),
                })
                .await;
            // Listed before they exist: an interruption from here on still uninstalls them.
            let before = inventory.objects.len();
            inventory.add(objects.iter().map(|d| Entry {
                key: d.key.clone(),
                pack: d.pack.clone(),
                source: d.source.clone(),
                uid: None,
            }));
            if inventory.objects.len() != before {
                store.save(&inventory).await?;
            }
            let uids = apply_phase(&resources, objects, &inventory.id, settings, progress).await?;
            applied += uids.len();
            inventory.set_uids(&uids);
            if *phase == Phase::Foundation {
                let crds = objects
                    .iter()
                    .filter(|d| d.key.kind == "CustomResourceDefinition")
                    .map(|d| Wait {
                        pack: pack.name.clone(),
                        object: d.key.clone(),
                        readiness: Readiness::Condition("Established".into()),
                    });
                wait_all(&resources, crds, options.ready_timeout, progress).await?;
            }
        }
        store.save(&inventory).await?;
        let workloads = if workloads_waited {
            Vec::new()
        } else {
            workloads_of(&pack.name)
        };
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
        wait_all(
            &resources,
            workloads.into_iter().chain(rules),
            options.ready_timeout,
            progress,
        )
        .await?;
        progress
            .send(Progress::PackReady {
                pack: pack.name.clone(),
            })
            .await;
    }
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

async fn wait_all(
    resources: &Resources,
    waits: impl Iterator<Item = Wait>,
    limit: Duration,
    progress: &ProgressSink,
) -> Result<(), InstallError> {
    let waits: Vec<Wait> = waits.collect();
    try_join_all(
        waits
            .iter()
            .map(|wait| wait_ready(resources, wait, limit, progress)),
    )
    .await
    .map(|_| ())
}
