//! KubeVirt's VirtualMachineClone controller, simulated: a clone takes a temporary
//! VirtualMachineSnapshot of the source VM (SnapshotInProgress), restores it onto the new target
//! VM (RestoreInProgress: new MACs, no firmware ids), then Succeeded with the temporaries removed.

use serde_json::{Value, json};

use super::vm_restores::vm_restores;
use super::vm_snapshots::{GROUP as SNAPSHOT_GROUP, vm_snapshots};
use super::{
    Controller, Key, Requeue, ensure, get, is_deleting, meta, owner_reference, served, set_status,
};
use crate::cluster::Cluster;
use crate::controllers::logged;
use crate::resources::GroupResource;
use crate::store::{Change, ObjectKey};

const MANAGER: &str = "virt-controller";

pub fn vm_clones() -> GroupResource {
    GroupResource::new("clone.kubevirt.io", "virtualmachineclones")
}

/// Moves clones through their phases.
pub struct VmCloneController;

impl Controller for VmCloneController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == vm_clones() {
            return vec![(change.gr.clone(), change.key.clone())];
        }
        if change.gr == vm_snapshots() || change.gr == vm_restores() {
            return super::keys_of(cluster, &vm_clones())
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
        super::keys_of(cluster, &vm_clones())
    }
}

fn reconcile(cluster: &Cluster, key: &ObjectKey) {
    let (Some(clone), Some(rt)) = (
        cluster.store().get(&vm_clones(), key),
        served(cluster, "clone.kubevirt.io", "virtualmachineclones"),
    ) else {
        return;
    };
    let clone = clone.value.clone();
    let phase = clone
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if is_deleting(&clone) || matches!(phase, "Succeeded" | "Failed") {
        return;
    }
    let ns = key.namespace.as_str();
    let uid = meta(&clone, "uid").to_string();
    let source = clone
        .pointer("/spec/source/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let target = clone
        .pointer("/spec/target/name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| {
            format!(
                "clone-{}-{}",
                key.name,
                super::short_hash(&uid).get(..5).unwrap_or("")
            )
        });
    let snapshot_name = format!("tmp-snapshot-{uid}");
    let restore_name = format!("tmp-restore-{uid}");
    let write = |phase: &str, done: bool, reason: &str, extra: Value| {
        set_status(cluster, &rt, key, MANAGER, |current| {
            let old = current.get("status");
            let mut list = vec![
                super::condition(old, "Progressing", !done, reason, reason),
                super::condition(old, "Ready", done, reason, reason),
            ];
            for c in &mut list {
                c["lastProbeTime"] = Value::Null;
            }
            let mut status = json!({"phase": phase, "targetName": target, "conditions": list,
                "creationTime": old.and_then(|s| s.get("creationTime").cloned()).unwrap_or(json!(crate::objects::now()))});
            if let (Some(map), Some(extra)) = (status.as_object_mut(), extra.as_object()) {
                map.extend(extra.clone());
            }
            status
        })
    };
    if get(cluster, "kubevirt.io", "virtualmachines", ns, &source).is_none() {
        return write(
            "Failed",
            false,
            &format!("Source VirtualMachine \"{source}\" does not exist"),
            json!({}),
        );
    }
    if get(cluster, "kubevirt.io", "virtualmachines", ns, &target).is_some()
        && get(
            cluster,
            SNAPSHOT_GROUP,
            "virtualmachinerestores",
            ns,
            &restore_name,
        )
        .is_none()
    {
        return write(
            "Failed",
            false,
            &format!("Target VirtualMachine \"{target}\" already exists"),
            json!({}),
        );
    }
    let snapshot = get(
        cluster,
        SNAPSHOT_GROUP,
        "virtualmachinesnapshots",
        ns,
        &snapshot_name,
    );
    let Some(snapshot) = snapshot else {
        logged(
            MANAGER,
            &format!("virtualmachinesnapshots {ns}/{snapshot_name}"),
            ensure(
                cluster,
                MANAGER,
                json!({
            "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
            "metadata": {"name": snapshot_name, "namespace": ns, "ownerReferences": [owner_reference(&clone)]},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": source}}}),
            ),
        );
        return write(
            "SnapshotInProgress",
            false,
            "Snapshot in progress",
            json!({"snapshotName": snapshot_name}),
        );
    };
    match snapshot
        .value
        .pointer("/status/phase")
        .and_then(Value::as_str)
    {
        Some("Succeeded") => {}
        Some("Failed") => {
            let message = snapshot
                .value
                .pointer("/status/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the snapshot failed");
            return write(
                "Failed",
                false,
                message,
                json!({"snapshotName": snapshot_name}),
            );
        }
        _ => {
            return write(
                "SnapshotInProgress",
                false,
                "Snapshot in progress",
                json!({"snapshotName": snapshot_name}),
            );
        }
    }
    let restore = get(
        cluster,
        SNAPSHOT_GROUP,
        "virtualmachinerestores",
        ns,
        &restore_name,
    );
    let Some(restore) = restore else {
        logged(
            MANAGER,
            &format!("virtualmachinerestores {ns}/{restore_name}"),
            ensure(
                cluster,
                MANAGER,
                json!({
            "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
            "metadata": {"name": restore_name, "namespace": ns, "ownerReferences": [owner_reference(&clone)]},
            "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
                "virtualMachineSnapshotName": snapshot_name}}),
            ),
        );
        return write(
            "RestoreInProgress",
            false,
            "Restore in progress",
            json!({"snapshotName": snapshot_name, "restoreName": restore_name}),
        );
    };
    if restore.value.pointer("/status/complete") != Some(&json!(true)) {
        return write(
            "RestoreInProgress",
            false,
            "Restore in progress",
            json!({"snapshotName": snapshot_name, "restoreName": restore_name}),
        );
    }
    write("Succeeded", true, "Clone succeeded", json!({}));
    super::remove(
        cluster,
        MANAGER,
        SNAPSHOT_GROUP,
        "virtualmachinerestores",
        ns,
        &restore_name,
    );
    super::remove(
        cluster,
        MANAGER,
        SNAPSHOT_GROUP,
        "virtualmachinesnapshots",
        ns,
        &snapshot_name,
    );
}
