//! Uninstall from the inventory, packs in reverse install order: each pack's own steps (its CR
//! deleted while the operator still runs, waited until gone; then what the operator made), then
//! the rest of its objects in reverse apply order; namespaces waited until gone; the inventory
//! last. Only inventory objects and the packs' declared operator objects are ever deleted; a
//! 404 is done. VMs block it unless the caller asks to remove them.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{DynamicObject, ListParams};

use crate::delete::{Deleter, Leftover, WhenStuck};
use crate::error::InstallError;
use crate::events::{Progress, ProgressSink};
use crate::inventory::{Entry, INVENTORY_NAME, INVENTORY_NAMESPACE, InventoryStore};
use crate::object_key::ObjectKey;
use crate::resources::Resources;
use crate::retry::RetryPolicy;

/// The label CDI puts on the DataVolumes a DataImportCron imports.
const GOLDEN_IMAGE_LABEL: &str = "cdi.kubevirt.io/dataImportCron";

/// How an uninstall runs.
#[derive(Debug, Clone, Copy)]
pub struct UninstallOptions {
    /// Delete VirtualMachines and DataVolumes (and wait until they are gone) instead of refusing.
    pub remove_vms: bool,
    /// Remove the finalizers of objects that outlive their delete (explicit consent only).
    pub force_finalizers: bool,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// How long an object may take to disappear (finalizers).
    pub gone_timeout: Duration,
}

impl Default for UninstallOptions {
    fn default() -> Self {
        Self {
            remove_vms: false,
            force_finalizers: false,
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
    /// Objects still there after their delete, each with the command that removes it. While any
    /// is left the inventory stays, so uninstalling again finishes the job.
    pub leftovers: Vec<Leftover>,
}

#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(
        "{count} VirtualMachine(s) or DataVolume(s) still exist (first: {first}); delete them, or uninstall with --remove-vms"
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
        deleter: Deleter {
            resources: &resources,
            concurrency: options.concurrency,
            retry: options.retry,
            gone_timeout: options.gone_timeout,
            when_stuck: if options.force_finalizers {
                WhenStuck::RemoveFinalizers
            } else {
                WhenStuck::Report
            },
            progress,
            leftovers: Default::default(),
        },
    };
    remover.clear_vms().await?;
    let mut deleted = 0;
    let mut done: BTreeSet<ObjectKey> = BTreeSet::new();
    for pack in inventory.packs.iter().rev() {
        deleted += remover
            .deleter
            .remove_pack(&inventory, pack, &mut done)
            .await?;
    }
    // Objects of packs no longer in the profile (an interrupted upgrade) go too.
    let rest: Vec<&Entry> = inventory
        .objects
        .iter()
        .filter(|e| !done.contains(&e.key))
        .collect();
    deleted += remover
        .deleter
        .delete_in_reverse_order(&rest, &mut done)
        .await?;
    let leftovers = remover.deleter.take_leftovers();
    if leftovers.is_empty() {
        store.remove().await?;
    }
    progress
        .send(Progress::Done {
            applied: 0,
            deleted,
        })
        .await;
    Ok(UninstallReport {
        deleted,
        packs: inventory.packs.iter().map(|p| p.name.clone()).collect(),
        leftovers,
    })
}

struct Remover<'a> {
    resources: &'a Resources,
    options: UninstallOptions,
    deleter: Deleter<'a>,
}

impl Remover<'_> {
    /// Refuses while VMs exist, or deletes them and waits, with `remove_vms`.
    async fn clear_vms(&self) -> Result<(), UninstallError> {
        let mut keys = self.user_data("kubevirt.io/v1", "VirtualMachine").await?;
        keys.extend(
            self.user_data("cdi.kubevirt.io/v1beta1", "DataVolume")
                .await?,
        );
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
            .map(|object| self.deleter.delete(object, true))
            .buffer_unordered(self.options.concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    /// Every object of a kind that holds users' VMs or disks, in any namespace; DataVolumes a
    /// DataImportCron of ours keeps (golden images) are ours, not the user's.
    async fn user_data(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Vec<ObjectKey>, InstallError> {
        let key = ObjectKey {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: String::new(),
        };
        let resource = match self.resources.resolve(&key).await {
            Ok(resource) => resource,
            Err(InstallError::KindNotServed { .. }) => return Ok(Vec::new()),
            Err(other) => return Err(other),
        };
        let all =
            kube::Api::<DynamicObject>::all_with(self.resources.client().clone(), &resource.api);
        let everything = ListParams::default();
        let listed = self
            .options
            .retry
            .run(|| all.list(&everything), |_, _| {})
            .await
            .map_err(|(source, _)| InstallError::Read {
                what: format!("the {kind}s"),
                source: Box::new(source),
            })?;
        Ok(listed
            .items
            .iter()
            .filter(|o| {
                !o.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(GOLDEN_IMAGE_LABEL))
            })
            .map(|o| ObjectKey {
                namespace: o.metadata.namespace.clone(),
                name: o.metadata.name.clone().unwrap_or_default(),
                ..key.clone()
            })
            .collect())
    }
}
