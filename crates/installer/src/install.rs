//! An install, start to end: the inventory first, then each pack (dependencies first) phase by
//! phase, CRDs waited Established before anything that needs them, and each pack waited ready
//! (its rules and its workloads) before the packs that depend on it.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::try_join_all;
use serde_json::Value;
use vmdeck_packs::manifest::UninstallStep;
use vmdeck_packs::{ObjectOrigin, Rendered};

use crate::apply::{ApplySettings, Desired, apply_phase};
use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, InstalledPack, Inventory, InventoryStore};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::readiness::{Readiness, Wait, wait_ready};
use crate::resources::Resources;
use crate::retry::RetryPolicy;

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
    inventory.packs = rendered
        .packs
        .iter()
        .map(|pack| InstalledPack {
            name: pack.name.clone(),
            version: pack.version.clone(),
            uninstall: pack.uninstall.clone(),
        })
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
        for (phase, objects) in &phases {
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
        let workloads = desired
            .iter()
            .filter(|d| {
                d.pack == pack.name
                    && matches!(
                        (d.key.group_version().0, d.key.kind.as_str()),
                        ("apps", "Deployment" | "DaemonSet" | "StatefulSet")
                    )
            })
            .map(|d| Wait {
                pack: pack.name.clone(),
                object: d.key.clone(),
                readiness: Readiness::RolledOut,
            });
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
            workloads.chain(rules),
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
    progress
        .send(Progress::Done {
            applied,
            deleted: 0,
        })
        .await;
    Ok(InstallReport {
        inventory_id: inventory.id,
        applied,
        packs: rendered.packs.iter().map(|p| p.name.clone()).collect(),
    })
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
