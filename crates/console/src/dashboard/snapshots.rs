//! VM snapshots: whether the cluster can take them (the Snapshot feature gate in the KubeVirt
//! CR, a VolumeSnapshotClass for each disk's provisioner), take (VirtualMachineSnapshot), list
//! with phase and size, restore (VirtualMachineRestore, the VM stopped first and the caller
//! told), delete.

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde::Serialize;
use serde_json::{Value, json};

use super::quantity::{Bytes, parse_bytes};
use super::resources::{
    kubevirt, vm_restore, vm_snapshot, vm_snapshot_content, volume_snapshot, volume_snapshot_class,
};
use crate::actions::{ActionError, PowerAction, act};
use crate::kinds::{vm_resource, vmi_resource};

/// Why a snapshot action failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshots are not offered: {0}")]
    NotPossible(String),
    #[error("there is no VM {0}")]
    NoVm(String),
    #[error("stopping the VM first: {0}")]
    Stop(#[from] ActionError),
    #[error("the snapshot failed: {0}")]
    Failed(String),
    #[error("the restore failed: {0}")]
    RestoreFailed(String),
    #[error("talking to the cluster: {0}")]
    Kube(#[from] kube::Error),
}

/// Whether snapshots can be taken of a VM, and if not why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    pub available: bool,
    /// What is missing, in words, when not available.
    pub reason: Option<String>,
}

fn dynamic(
    client: &kube::Client,
    ns: Option<&str>,
    resource: &kube::api::ApiResource,
) -> Api<DynamicObject> {
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

async fn list_or_none(api: Api<DynamicObject>) -> Result<Option<Vec<Value>>, kube::Error> {
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(Some(
            list.items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect(),
        )),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(error) => Err(error),
    }
}

/// The Snapshot gate of a KubeVirt CR: listed on, listed off, else on by default from v1.9
/// (Beta), off before.
pub fn snapshot_gate_on(kubevirt: &Value) -> bool {
    let listed = |pointer: &str| {
        kubevirt
            .pointer(pointer)
            .and_then(Value::as_array)
            .is_some_and(|gates| gates.iter().any(|g| g == "Snapshot"))
    };
    if listed("/spec/configuration/developerConfiguration/disabledFeatureGates") {
        return false;
    }
    if listed("/spec/configuration/developerConfiguration/featureGates") {
        return true;
    }
    let version = kubevirt
        .pointer("/status/observedKubeVirtVersion")
        .or_else(|| kubevirt.pointer("/status/targetKubeVirtVersion"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 9)
}

/// The PVC names of the VM's disks (DataVolumes and PVC volumes; a DataVolume's PVC has its name).
pub fn disk_claims(vm: &Value) -> Vec<String> {
    vm.pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .map(|volumes| {
            volumes
                .iter()
                .filter_map(|v| {
                    v.pointer("/dataVolume/name")
                        .or_else(|| v.pointer("/persistentVolumeClaim/claimName"))
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Can the VM `namespace/name` be snapshotted?
pub async fn capability(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Capability, SnapshotError> {
    let no = |reason: String| {
        Ok(Capability {
            available: false,
            reason: Some(reason),
        })
    };
    let vm = dynamic(client, Some(namespace), &vm_resource())
        .get_opt(name)
        .await?
        .ok_or_else(|| SnapshotError::NoVm(format!("{namespace}/{name}")))?;
    let vm = serde_json::to_value(vm).unwrap_or_default();
    let kubevirts = list_or_none(dynamic(client, None, &kubevirt()))
        .await?
        .unwrap_or_default();
    let Some(kv) = kubevirts.first() else {
        return no("KubeVirt is not installed".into());
    };
    if !snapshot_gate_on(kv) {
        return no("the Snapshot feature gate is off in the KubeVirt CR: turn it on (featureGates: [Snapshot])".into());
    }
    let Some(classes) = list_or_none(dynamic(client, None, &volume_snapshot_class())).await? else {
        return no("the cluster has no volume snapshot support: install the volume-snapshot-controller pack (its CRDs and controller)".into());
    };
    let drivers: Vec<&str> = classes
        .iter()
        .filter_map(|c| c["driver"].as_str())
        .collect();
    let storage_classes = Api::<StorageClass>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let provisioner_of: BTreeMap<String, String> = storage_classes
        .items
        .iter()
        .filter_map(|c| Some((c.metadata.name.clone()?, c.provisioner.clone())))
        .collect();
    let default_class = storage_classes
        .items
        .iter()
        .find(|c| {
            c.metadata.annotations.as_ref().is_some_and(|a| {
                a.get("storageclass.kubernetes.io/is-default-class")
                    .is_some_and(|v| v == "true")
            })
        })
        .and_then(|c| c.metadata.name.clone());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let templates: BTreeMap<String, Option<String>> = vm
        .pointer("/spec/dataVolumeTemplates")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|d| {
                    let name = d.pointer("/metadata/name")?.as_str()?.to_string();
                    let class = d
                        .pointer("/spec/storage/storageClassName")
                        .or_else(|| d.pointer("/spec/pvc/storageClassName"))
                        .and_then(Value::as_str)
                        .map(String::from);
                    Some((name, class))
                })
                .collect()
        })
        .unwrap_or_default();
    for disk in disk_claims(&vm) {
        let class = match claims.get_opt(&disk).await? {
            Some(pvc) => pvc.spec.and_then(|s| s.storage_class_name),
            None => templates.get(&disk).cloned().flatten(),
        }
        .or_else(|| default_class.clone());
        let Some(class) = class else {
            return no(format!("the disk {disk} has no StorageClass"));
        };
        let Some(provisioner) = provisioner_of.get(&class) else {
            return no(format!(
                "the disk {disk}'s StorageClass {class} does not exist"
            ));
        };
        if !drivers.contains(&provisioner.as_str()) {
            return no(format!(
                "no VolumeSnapshotClass for the driver {provisioner} (StorageClass {class} of the disk {disk}): create one with driver: {provisioner}"
            ));
        }
    }
    Ok(Capability {
        available: true,
        reason: None,
    })
}

/// A snapshot as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotRow {
    pub name: String,
    pub vm: String,
    pub phase: String,
    pub ready: bool,
    /// The disks' restore size together (`30Gi`), when known.
    pub size: Option<String>,
    pub created: Option<String>,
    pub error: Option<String>,
}

/// Take a snapshot named `snapshot` of the VM `namespace/name` (after checking it can be).
pub async fn take(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    snapshot: &str,
) -> Result<(), SnapshotError> {
    let can = capability(client, namespace, name).await?;
    if let Some(reason) = can.reason {
        return Err(SnapshotError::NotPossible(reason));
    }
    let object = json!({
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineSnapshot",
        "metadata": {"name": snapshot, "namespace": namespace},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name}},
    });
    let object: DynamicObject = serde_json::from_value(object).expect("an object");
    dynamic(client, Some(namespace), &vm_snapshot())
        .create(&PostParams::default(), &object)
        .await?;
    Ok(())
}

/// The snapshots in `namespace` (of the VM `vm` when given), with phase and size.
pub async fn list(
    client: &kube::Client,
    namespace: &str,
    vm: Option<&str>,
) -> Result<Vec<SnapshotRow>, SnapshotError> {
    let snapshots = list_or_none(dynamic(client, Some(namespace), &vm_snapshot()))
        .await?
        .unwrap_or_default();
    let contents = list_or_none(dynamic(client, Some(namespace), &vm_snapshot_content()))
        .await?
        .unwrap_or_default();
    let volume_snapshots = list_or_none(dynamic(client, Some(namespace), &volume_snapshot()))
        .await?
        .unwrap_or_default();
    let restore_size: BTreeMap<&str, u128> = volume_snapshots
        .iter()
        .filter_map(|v| {
            let size = parse_bytes(v.pointer("/status/restoreSize")?.as_str()?).ok()?;
            Some((v.pointer("/metadata/name")?.as_str()?, size.0))
        })
        .collect();
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(String::from);
    let mut rows: Vec<SnapshotRow> = snapshots
        .iter()
        .filter(|s| {
            vm.is_none_or(|vm| s.pointer("/spec/source/name").and_then(Value::as_str) == Some(vm))
        })
        .map(|s| {
            let content_name = text(s, "/status/virtualMachineSnapshotContentName");
            let content = contents
                .iter()
                .find(|c| text(c, "/metadata/name") == content_name && content_name.is_some());
            let sizes: Vec<u128> = content
                .and_then(|c| c.pointer("/spec/volumeBackups").and_then(Value::as_array))
                .map(|backups| {
                    backups
                        .iter()
                        .filter_map(|b| {
                            restore_size.get(b["volumeSnapshotName"].as_str()?).copied()
                        })
                        .collect()
                })
                .unwrap_or_default();
            SnapshotRow {
                name: text(s, "/metadata/name").unwrap_or_default(),
                vm: text(s, "/spec/source/name").unwrap_or_default(),
                phase: text(s, "/status/phase").unwrap_or_else(|| "Pending".into()),
                ready: s
                    .pointer("/status/readyToUse")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                size: (!sizes.is_empty()).then(|| Bytes(sizes.iter().sum()).to_string()),
                created: text(s, "/status/creationTime"),
                error: text(s, "/status/error/message"),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// Delete the snapshot `namespace/snapshot`.
pub async fn delete(
    client: &kube::Client,
    namespace: &str,
    snapshot: &str,
) -> Result<(), SnapshotError> {
    dynamic(client, Some(namespace), &vm_snapshot())
        .delete(snapshot, &DeleteParams::default())
        .await?;
    Ok(())
}

/// A step of a restore, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum RestoreStep {
    /// The VM runs: it is stopped first.
    Stopping {
        vm: String,
    },
    Stopped {
        vm: String,
    },
    Restoring {
        restore: String,
    },
    Restored {
        restore: String,
    },
}

/// Wait until `done` holds for the object `name` (watched), returning it.
pub async fn wait_for(
    api: Api<DynamicObject>,
    name: &str,
    done: impl Fn(Option<&Value>) -> bool,
) -> Result<Option<Value>, kube::Error> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    // Every event (the initial list's end, changes, deletion) makes a fresh read.
    let mut events = std::pin::pin!(watcher::watcher(api.clone(), config).default_backoff());
    loop {
        let now = api
            .get_opt(name)
            .await?
            .map(|o| serde_json::to_value(o).unwrap_or_default());
        if done(now.as_ref()) {
            return Ok(now);
        }
        if events.next().await.is_none() {
            return Ok(now);
        }
    }
}

/// Stop the VM (gracefully) when it runs and wait until its VMI is gone; whether it ran.
pub async fn stop_and_wait(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<bool, SnapshotError> {
    let vmis = dynamic(client, Some(namespace), &vmi_resource());
    if vmis.get_opt(name).await?.is_none() {
        return Ok(false);
    }
    match act(client, namespace, name, PowerAction::Stop).await {
        Ok(()) | Err(ActionError::NotRunning { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    wait_for(vmis, name, |vmi| vmi.is_none()).await?;
    Ok(true)
}

/// Restore the VM `namespace/vm` from `snapshot` (stopped first if it runs; `on_step` is told).
/// Returns whether the VM had to be stopped.
pub async fn restore(
    client: &kube::Client,
    namespace: &str,
    vm: &str,
    snapshot: &str,
    mut on_step: impl FnMut(&RestoreStep) + Send,
) -> Result<bool, SnapshotError> {
    if dynamic(client, Some(namespace), &vm_resource())
        .get_opt(vm)
        .await?
        .is_none()
    {
        return Err(SnapshotError::NoVm(format!("{namespace}/{vm}")));
    }
    let vmis = dynamic(client, Some(namespace), &vmi_resource());
    let running = vmis.get_opt(vm).await?.is_some();
    if running {
        on_step(&RestoreStep::Stopping { vm: vm.to_string() });
        stop_and_wait(client, namespace, vm).await?;
        on_step(&RestoreStep::Stopped { vm: vm.to_string() });
    }
    let name = restore_name(snapshot);
    let restores = dynamic(client, Some(namespace), &vm_restore());
    create_restore(&restores, namespace, &name, vm, snapshot).await?;
    on_step(&RestoreStep::Restoring {
        restore: name.clone(),
    });
    wait_restore(&restores, &name).await?;
    on_step(&RestoreStep::Restored { restore: name });
    Ok(running)
}

fn restore_name(snapshot: &str) -> String {
    let suffix: String = (0..5)
        .map(|_| (b'a' + (getrandom::u32().unwrap_or(0) % 26) as u8) as char)
        .collect();
    let base: String = snapshot.chars().take(48).collect();
    format!("{base}-restore-{suffix}")
}

/// Create a VirtualMachineRestore of `snapshot` onto the VM `target` (a new name: a new VM).
pub async fn create_restore(
    restores: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
    target: &str,
    snapshot: &str,
) -> Result<(), SnapshotError> {
    let object = json!({
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineRestore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
            "virtualMachineSnapshotName": snapshot,
        },
    });
    restores
        .create(
            &PostParams::default(),
            &serde_json::from_value(object).expect("an object"),
        )
        .await?;
    Ok(())
}

/// Wait for a restore to complete (or fail).
pub async fn wait_restore(restores: &Api<DynamicObject>, name: &str) -> Result<(), SnapshotError> {
    let failed = |r: &Value| {
        r.pointer("/status/error/message")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let done = wait_for(restores.clone(), name, |r| {
        r.is_none_or(|r| {
            r.pointer("/status/complete").and_then(Value::as_bool) == Some(true)
                || failed(r).is_some()
        })
    })
    .await?;
    match done {
        None => Err(SnapshotError::RestoreFailed(
            "the restore was deleted".into(),
        )),
        Some(r) => match failed(&r) {
            Some(message)
                if r.pointer("/status/complete").and_then(Value::as_bool) != Some(true) =>
            {
                Err(SnapshotError::RestoreFailed(message))
            }
            _ => Ok(()),
        },
    }
}

/// Wait until the snapshot `name` is ready to use (or failed).
pub async fn wait_ready(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(), SnapshotError> {
    let api = dynamic(client, Some(namespace), &vm_snapshot());
    let done = wait_for(api, name, |s| {
        s.is_none_or(|s| {
            s.pointer("/status/readyToUse").and_then(Value::as_bool) == Some(true)
                || matches!(
                    s.pointer("/status/phase").and_then(Value::as_str),
                    Some("Failed")
                )
        })
    })
    .await?;
    match done {
        Some(s) if s.pointer("/status/readyToUse").and_then(Value::as_bool) == Some(true) => Ok(()),
        Some(s) => Err(SnapshotError::Failed(
            s.pointer("/status/error/message")
                .and_then(Value::as_str)
                .unwrap_or("phase Failed")
                .to_string(),
        )),
        None => Err(SnapshotError::Failed("the snapshot was deleted".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_gate_by_version_and_lists() {
        let kv = |version: &str, on: &[&str], off: &[&str]| {
            json!({"spec": {"configuration": {"developerConfiguration": {"featureGates": on, "disabledFeatureGates": off}}},
                   "status": {"observedKubeVirtVersion": version}})
        };
        assert!(
            !snapshot_gate_on(&kv("v1.8.4", &[], &[])),
            "Beta was off before 1.9"
        );
        assert!(snapshot_gate_on(&kv("v1.8.4", &["Snapshot"], &[])));
        assert!(
            snapshot_gate_on(&kv("v1.9.0", &[], &[])),
            "Beta is on from 1.9"
        );
        assert!(!snapshot_gate_on(&kv("v1.9.0", &[], &["Snapshot"])));
    }

    #[test]
    fn disks_of_a_vm() {
        let vm = json!({"spec": {"template": {"spec": {"volumes": [
            {"name": "rootdisk", "dataVolume": {"name": "web-rootdisk"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}},
            {"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "x"}}]}}}});
        assert_eq!(disk_claims(&vm), ["web-rootdisk", "web-data"]);
    }
}
