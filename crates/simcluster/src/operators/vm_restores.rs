//! KubeVirt's VirtualMachineRestore, simulated: the restore webhook refuses a restore onto a VM
//! that is not stopped; the controller makes a PVC from each VolumeSnapshot of the snapshot
//! (`restore-<uid>-<volume>`), puts the VM spec of snapshot time back with its volumes pointing
//! at them (or creates the target VM when it does not exist: a clone, MACs and firmware ids
//! dropped), deletes the DataVolumes the VM no longer uses, and reports `complete` and `restoreTime`.

use std::sync::{Arc, Weak};

use serde_json::{Value, json};

use super::cdi_datavolumes::PRE_POPULATED_ANNOTATION;
use super::kubevirt_webhooks::KubeVirtWebhooks;
use super::vm_controller::vms;
use super::vm_snapshots::{GROUP, snapshot_vm, vm_running};
use super::{Controller, Key, Requeue, ensure, get, is_deleting, meta, served, set_status};
use crate::cluster::Cluster;
use crate::controllers::{describe, logged, modify};
use crate::extensions::{AdmissionHook, Operation};
use crate::resources::{GroupResource, ResourceType};
use crate::status::{ApiError, Cause};
use crate::store::{Change, ObjectKey};

const MANAGER: &str = "virt-controller";
pub const RESTORE_WEBHOOK: &str = "virtualmachinerestore-validator.snapshot.kubevirt.io";

pub fn vm_restores() -> GroupResource {
    GroupResource::new(GROUP, "virtualmachinerestores")
}

/// The restore admission webhook (on while virt-api's validator is).
pub struct RestoreWebhook {
    cluster: Weak<Cluster>,
    webhooks: Arc<KubeVirtWebhooks>,
}

pub fn install(cluster: &Arc<Cluster>, webhooks: Arc<KubeVirtWebhooks>) {
    cluster
        .objects
        .extensions
        .add_admission(Arc::new(RestoreWebhook {
            cluster: Arc::downgrade(cluster),
            webhooks,
        }));
}

impl AdmissionHook for RestoreWebhook {
    fn admit(
        &self,
        operation: Operation,
        rt: &ResourceType,
        _old: Option<&Value>,
        new: &mut Value,
    ) -> Result<Vec<String>, ApiError> {
        // Creates are admitted before the store's lock is taken, so reading it here is safe.
        if operation != Operation::Create
            || rt.group != GROUP
            || rt.kind != "VirtualMachineRestore"
            || !self.webhooks.state().api_validator
        {
            return Ok(Vec::new());
        }
        let Some(cluster) = self.cluster.upgrade() else {
            return Ok(Vec::new());
        };
        let ns = meta(new, "namespace");
        let target = new
            .pointer("/spec/target/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !vm_running(&cluster, ns, target) {
            return Ok(Vec::new());
        }
        let mut error = ApiError::invalid(
            GROUP,
            "VirtualMachineRestore",
            meta(new, "name"),
            vec![Cause {
                reason: "FieldValueInvalid",
                message: format!("VirtualMachine \"{target}\" is not stopped"),
                field: "spec.target".into(),
            }],
        );
        error.message = format!(
            "admission webhook \"{RESTORE_WEBHOOK}\" denied the request: {}",
            error.message
        );
        Err(error)
    }
}

/// Restores VMs from their snapshots.
pub struct VmRestoreController;

impl Controller for VmRestoreController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == vm_restores() {
            return vec![(change.gr.clone(), change.key.clone())];
        }
        if change.gr == super::vm_snapshots::vm_snapshots() {
            return super::keys_of(cluster, &vm_restores())
                .into_iter()
                .filter(|(_, k)| k.namespace == change.key.namespace)
                .collect();
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        reconcile(cluster, &key.1);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        super::keys_of(cluster, &vm_restores())
    }
}

fn conditions(old: Option<&Value>, done: bool, reason: &str) -> Value {
    let mut list = vec![
        super::condition(old, "Progressing", !done, reason, ""),
        super::condition(old, "Ready", done, reason, ""),
    ];
    for c in &mut list {
        c["lastProbeTime"] = Value::Null;
    }
    json!(list)
}

/// Drop what makes a VM itself (MACs, firmware uuid and serial) from a spec for a new VM.
fn as_new_vm(spec: &mut Value) {
    if let Some(interfaces) = spec
        .pointer_mut("/template/spec/domain/devices/interfaces")
        .and_then(Value::as_array_mut)
    {
        for interface in interfaces {
            if let Some(m) = interface.as_object_mut() {
                m.remove("macAddress");
            }
        }
    }
    if let Some(firmware) = spec
        .pointer_mut("/template/spec/domain/firmware")
        .and_then(Value::as_object_mut)
    {
        firmware.remove("uuid");
        firmware.remove("serial");
    }
}

fn reconcile(cluster: &Cluster, key: &ObjectKey) {
    let (Some(restore), Some(rt)) = (
        cluster.store().get(&vm_restores(), key),
        served(cluster, GROUP, "virtualmachinerestores"),
    ) else {
        return;
    };
    let restore = restore.value.clone();
    if is_deleting(&restore) || restore.pointer("/status/complete") == Some(&json!(true)) {
        return;
    }
    let ns = key.namespace.as_str();
    let snapshot_name = restore
        .pointer("/spec/virtualMachineSnapshotName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let target = restore
        .pointer("/spec/target/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let waiting = |reason: String| {
        set_status(
            cluster,
            &rt,
            key,
            MANAGER,
            |current| json!({"complete": false, "conditions": conditions(current.get("status"), false, &reason)}),
        )
    };
    let Some((snap_vm, content)) = snapshot_vm(cluster, ns, snapshot_name) else {
        return waiting(format!(
            "VirtualMachineSnapshot {snapshot_name} is not ready"
        ));
    };
    if vm_running(cluster, ns, &target) {
        return waiting(format!("VirtualMachine \"{target}\" is not stopped"));
    }
    let uid = meta(&restore, "uid").to_string();
    let mut spec = snap_vm["spec"].clone();
    let mut restores = Vec::new();
    for backup in content
        .pointer("/spec/volumeBackups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let volume = backup["volumeName"].as_str().unwrap_or("");
        let old_claim = backup
            .pointer("/persistentVolumeClaim/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let new_claim = format!("restore-{uid}-{volume}");
        let mut claim_spec = backup
            .pointer("/persistentVolumeClaim/spec")
            .cloned()
            .unwrap_or(json!({}));
        if let Some(m) = claim_spec.as_object_mut() {
            m.remove("volumeName");
            m.remove("dataSourceRef");
        }
        claim_spec["dataSource"] = json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": backup["volumeSnapshotName"]});
        // A DataVolume template's disk is adopted by its (renamed) DataVolume as already populated.
        let mut templated = false;
        if let Some(templates) = spec
            .get_mut("dataVolumeTemplates")
            .and_then(Value::as_array_mut)
        {
            for t in templates {
                if t.pointer("/metadata/name") == Some(&json!(old_claim)) {
                    t["metadata"]["name"] = json!(new_claim);
                    templated = true;
                }
            }
        }
        let mut annotations = json!({"restore.kubevirt.io/name": key.name,
            super::storage::IMMEDIATE_BINDING_ANNOTATION: "true"});
        if templated {
            annotations[PRE_POPULATED_ANNOTATION] = json!(new_claim);
        }
        logged(
            MANAGER,
            &format!("persistentvolumeclaims {ns}/{new_claim}"),
            ensure(
                cluster,
                MANAGER,
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": new_claim, "namespace": ns, "annotations": annotations,
                    "labels": {"restore.kubevirt.io/source-vm-name": meta(&snap_vm, "name")}},
                "spec": claim_spec}),
            ),
        );
        if let Some(volumes) = spec
            .pointer_mut("/template/spec/volumes")
            .and_then(Value::as_array_mut)
        {
            for v in volumes {
                if v["name"] == json!(volume) {
                    if v.get("dataVolume").is_some() {
                        v["dataVolume"]["name"] = json!(new_claim);
                    } else if v.get("persistentVolumeClaim").is_some() {
                        v["persistentVolumeClaim"]["claimName"] = json!(new_claim);
                    }
                }
            }
        }
        restores.push(json!({"volumeName": volume, "persistentVolumeClaim": new_claim, "volumeSnapshotName": backup["volumeSnapshotName"]}));
    }
    let Some(vm_rt) = cluster.registry().any_version(&vms()) else {
        return;
    };
    let restore_uid = format!("{}-{uid}", key.name);
    let mut deleted = Vec::new();
    match get(cluster, "kubevirt.io", "virtualmachines", ns, &target) {
        Some(current) => {
            let old_dvs: Vec<String> = current
                .value
                .pointer("/spec/dataVolumeTemplates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    t.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect();
            let wanted = spec.clone();
            let marker = restore_uid.clone();
            let written = logged(
                MANAGER,
                &describe(&vms(), &ObjectKey::new(ns, &target)),
                modify(
                    cluster,
                    &vm_rt,
                    &ObjectKey::new(ns, &target),
                    MANAGER,
                    None,
                    |vm| {
                        if super::annotation(vm, "restore.kubevirt.io/lastRestoreUID")
                            == Some(&marker)
                        {
                            return false;
                        }
                        let strategy = vm.pointer("/spec/runStrategy").cloned();
                        vm["spec"] = wanted.clone();
                        if let Some(s) = &strategy {
                            vm["spec"]["runStrategy"] = s.clone();
                            if let Some(m) = vm["spec"].as_object_mut() {
                                m.remove("running");
                            }
                        }
                        if !vm["metadata"]["annotations"].is_object() {
                            vm["metadata"]["annotations"] = json!({});
                        }
                        vm["metadata"]["annotations"]["restore.kubevirt.io/lastRestoreUID"] =
                            json!(marker);
                        true
                    },
                ),
            );
            if written.is_none() {
                return;
            }
            let kept: Vec<String> = spec
                .pointer("/dataVolumeTemplates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    t.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect();
            for dv in old_dvs.into_iter().filter(|d| !kept.contains(d)) {
                super::remove(cluster, MANAGER, "cdi.kubevirt.io", "datavolumes", ns, &dv);
                deleted.push(dv);
            }
        }
        None => {
            as_new_vm(&mut spec);
            let mut metadata = json!({"name": target, "namespace": ns,
                "annotations": {"restore.kubevirt.io/lastRestoreUID": restore_uid}});
            if let Some(labels) = snap_vm.pointer("/metadata/labels") {
                metadata["labels"] = labels.clone();
            }
            let created = logged(
                MANAGER,
                &format!("virtualmachines {ns}/{target}"),
                ensure(
                    cluster,
                    MANAGER,
                    json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": metadata, "spec": spec}),
                ),
            );
            if created.is_none() {
                return;
            }
        }
    }
    let now = crate::objects::now();
    set_status(cluster, &rt, key, MANAGER, |current| {
        let mut status = json!({"complete": true, "restoreTime": now, "restores": restores,
            "conditions": conditions(current.get("status"), true, "Operation complete")});
        if !deleted.is_empty() {
            status["deletedDataVolumes"] = json!(deleted);
        }
        status
    });
}
