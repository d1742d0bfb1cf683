//! Uninstall from the inventory, packs in reverse install order: each pack's own steps (its CR
//! deleted while the operator still runs, waited until gone; then what the operator made), then
//! the rest of its objects in reverse apply order; namespaces waited until gone; the inventory
//! last. Only inventory objects and the packs' declared operator objects are ever deleted; a
//! 404 is done. VMs block it unless the caller asks to remove them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{DeleteParams, DynamicObject, ListParams};
use kube::runtime::wait::{await_condition, conditions};
use vmdeck_packs::manifest::UninstallStep;

use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{
    Entry, INVENTORY_NAME, INVENTORY_NAMESPACE, InstalledPack, Inventory, InventoryStore,
};
use crate::object_key::ObjectKey;
use crate::order::Phase;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// How an uninstall runs.
#[derive(Debug, Clone, Copy)]
pub struct UninstallOptions {
    /// Delete VirtualMachines (and wait until they are gone) instead of refusing.
    pub remove_vms: bool,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// How long an object may take to disappear (finalizers).
    pub gone_timeout: Duration,
}

impl Default for UninstallOptions {
    fn default() -> Self {
        Self {
            remove_vms: false,
            concurrency: 32,
            retry: RetryPolicy::default(),
            gone_timeout: Duration::from_secs(300),
        }
    }
}

/// What an uninstall removed.
#[derive(Debug, Clone, PartialEq)]
pub struct UninstallReport {
    pub deleted: usize,
    pub packs: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(
        "{count} VirtualMachine(s) still exist (first: {first}); delete them, or uninstall with --remove-vms"
    )]
    VmsExist { count: usize, first: String },
}

impl UninstallError {
    pub fn code(&self) -> &'static str {
        match self {
            UninstallError::Install(e) => e.code(),
            UninstallError::VmsExist { .. } => "vms_exist",
        }
    }
}

pub async fn uninstall(
    client: kube::Client,
    options: UninstallOptions,
    progress: &ProgressSink,
) -> Result<UninstallReport, UninstallError> {
    let store = InventoryStore::new(client.clone(), options.retry);
    let inventory = store.load().await?.ok_or(InstallError::NotInstalled {
        namespace: INVENTORY_NAMESPACE.into(),
        name: INVENTORY_NAME.into(),
    })?;
    let resources = Resources::new(client, options.retry);
    let remover = Remover {
        resources: &resources,
        options,
        progress,
    };
    remover.clear_vms().await?;
    let mut deleted = 0;
    let mut done: BTreeSet<ObjectKey> = BTreeSet::new();
    for pack in inventory.packs.iter().rev() {
        deleted += remover.remove_pack(&inventory, pack, &mut done).await?;
    }
    // Objects of packs no longer in the profile (an interrupted upgrade) go too.
    let rest: Vec<&Entry> = inventory
        .objects
        .iter()
        .filter(|e| !done.contains(&e.key))
        .collect();
    deleted += remover.delete_in_reverse_order(&rest, &mut done).await?;
    store.remove().await?;
    progress
        .send(Progress::Done {
            applied: 0,
            deleted,
        })
        .await;
    Ok(UninstallReport {
        deleted,
        packs: inventory.packs.iter().map(|p| p.name.clone()).collect(),
    })
}

struct Remover<'a> {
    resources: &'a Resources,
    options: UninstallOptions,
    progress: &'a ProgressSink,
}

impl Remover<'_> {
    /// Refuses while VMs exist, or deletes them and waits, with `remove_vms`.
    async fn clear_vms(&self) -> Result<(), UninstallError> {
        let key = ObjectKey {
            api_version: "kubevirt.io/v1".into(),
            kind: "VirtualMachine".into(),
            namespace: None,
            name: String::new(),
        };
        let resource = match self.resources.resolve(&key).await {
            Ok(resource) => resource,
            Err(InstallError::KindNotServed { .. }) => return Ok(()),
            Err(other) => return Err(other.into()),
        };
        let all =
            kube::Api::<DynamicObject>::all_with(self.resources.client().clone(), &resource.api);
        let everything = ListParams::default();
        let vms = self
            .options
            .retry
            .run(|| all.list(&everything), |_, _| {})
            .await
            .map_err(|(source, _)| InstallError::Read {
                what: "the VirtualMachines".into(),
                source: Box::new(source),
            })?;
        let keys: Vec<ObjectKey> = vms
            .items
            .iter()
            .map(|vm| ObjectKey {
                namespace: vm.metadata.namespace.clone(),
                name: vm.metadata.name.clone().unwrap_or_default(),
                ..key.clone()
            })
            .collect();
        let Some(first) = keys.first() else {
            return Ok(());
        };
        if !self.options.remove_vms {
            return Err(UninstallError::VmsExist {
                count: keys.len(),
                first: first.to_string(),
            });
        }
        stream::iter(&keys)
            .map(|vm| self.delete(vm, true))
            .buffer_unordered(self.options.concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    async fn remove_pack(
        &self,
        inventory: &Inventory,
        pack: &InstalledPack,
        done: &mut BTreeSet<ObjectKey>,
    ) -> Result<usize, InstallError> {
        let ours: Vec<&Entry> = inventory
            .objects
            .iter()
            .filter(|e| e.pack == pack.name)
            .collect();
        let mut deleted = 0;
        for step in &pack.uninstall {
            match step {
                UninstallStep::Delete {
                    delete,
                    wait_until_gone,
                } => {
                    let key = ObjectKey::from(delete);
                    if done.insert(key.clone()) && self.delete(&key, *wait_until_gone).await? {
                        deleted += 1;
                    }
                }
                UninstallStep::DeleteSource { delete_source } => {
                    let from: Vec<&Entry> = ours
                        .iter()
                        .copied()
                        .filter(|e| e.source.as_deref() == Some(delete_source.as_str()))
                        .collect();
                    deleted += self.delete_in_reverse_order(&from, done).await?;
                }
                UninstallStep::DeleteTemplates { delete_templates } => {
                    if *delete_templates {
                        let from: Vec<&Entry> = ours
                            .iter()
                            .copied()
                            .filter(|e| e.source.is_none())
                            .collect();
                        deleted += self.delete_in_reverse_order(&from, done).await?;
                    }
                }
            }
        }
        // Whatever the steps did not name.
        deleted += self.delete_in_reverse_order(&ours, done).await?;
        Ok(deleted)
    }

    /// Deletes entries phase by phase, custom resources first and namespaces and CRDs last,
    /// concurrently within a phase, each waited until gone; skips what is done already.
    async fn delete_in_reverse_order(
        &self,
        entries: &[&Entry],
        done: &mut BTreeSet<ObjectKey>,
    ) -> Result<usize, InstallError> {
        let mut phases: BTreeMap<Phase, Vec<ObjectKey>> = BTreeMap::new();
        for entry in entries {
            if done.insert(entry.key.clone()) {
                phases
                    .entry(Phase::of(&entry.key))
                    .or_default()
                    .push(entry.key.clone());
            }
        }
        let mut deleted = 0;
        for (_, keys) in phases.into_iter().rev() {
            let gone: Vec<bool> = stream::iter(&keys)
                .map(|key| self.delete(key, true))
                .buffer_unordered(self.options.concurrency.max(1))
                .try_collect()
                .await?;
            deleted += gone.into_iter().filter(|existed| *existed).count();
        }
        Ok(deleted)
    }

    /// Deletes one object (foreground), waiting until it is gone when `wait`; `false` when it was
    /// already gone (or its kind is no longer served).
    async fn delete(&self, key: &ObjectKey, wait: bool) -> Result<bool, InstallError> {
        let api = match self.resources.api_for(key).await {
            Ok(api) => api,
            Err(InstallError::KindNotServed { .. }) => return Ok(false),
            Err(other) => return Err(other),
        };
        self.progress
            .send(Progress::Deleting {
                object: key.clone(),
            })
            .await;
        let foreground = DeleteParams::foreground();
        let deleted = self
            .options
            .retry
            .run(|| api.delete(&key.name, &foreground), |_, _| {})
            .await;
        let uid = match deleted {
            Ok(either) => either.left().and_then(|o| o.metadata.uid),
            Err((kube::Error::Api(status), _)) if status.code == 404 => return Ok(false),
            Err((source, _)) => {
                return Err(InstallError::Delete {
                    object: key.clone(),
                    source: Box::new(source),
                });
            }
        };
        // An answer without the object (a Status) means it is gone already.
        if let (true, Some(uid)) = (wait, uid) {
            let gone = await_condition(api, &key.name, conditions::is_deleted(&uid));
            match tokio::time::timeout(self.options.gone_timeout, gone).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::debug!(%error, object = %key, "watching for deletion failed");
                    return Err(InstallError::NotReady {
                        what: format!("{key} to be gone"),
                        waited: self.options.gone_timeout,
                        last_seen: error.to_string(),
                    });
                }
                Err(_) => {
                    return Err(InstallError::NotReady {
                        what: format!("{key} to be gone"),
                        waited: self.options.gone_timeout,
                        last_seen: "still there (a finalizer?)".into(),
                    });
                }
            }
        }
        self.progress
            .send(Progress::Deleted {
                object: key.clone(),
            })
            .await;
        Ok(true)
    }
}
