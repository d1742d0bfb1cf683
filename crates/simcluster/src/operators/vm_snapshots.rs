//! KubeVirt's VirtualMachineSnapshot controller, simulated: a snapshot of a VM keeps the VM's
//! spec in a VirtualMachineSnapshotContent and takes a VolumeSnapshot of each PVC-backed volume,
//! InProgress -> Succeeded (readyToUse) once they are ready. A volume no VolumeSnapshotClass can
//! take fails the snapshot at once, `status.error` saying which and why.

use serde_json::{Value, json};

use super::vm_controller::{snapshot_statuses, vmis, vms};
use super::{
    Controller, GUEST_AGENT_ANNOTATION, Key, Requeue, annotation, ensure, get, is_deleting, meta,
    owner_reference, served, set_status,
};
use crate::cluster::Cluster;
use crate::controllers::logged;
use crate::resources::GroupResource;
use crate::store::{Change, ObjectKey};

const MANAGER: &str = "virt-controller";
pub const GROUP: &str = "snapshot.kubevirt.io";

pub fn vm_snapshots() -> GroupResource {
    GroupResource::new(GROUP, "virtualmachinesnapshots")
}

pub fn content_name(snapshot: &Value) -> String {
    format!("vmsnapshot-content-{}", meta(snapshot, "uid"))
}

/// Moves VM snapshots through their phases.
pub struct VmSnapshotController;

impl Controller for VmSnapshotController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == vm_snapshots() {
            return vec![(change.gr.clone(), change.key.clone())];
        }
        if change.gr == super::volume_snapshots::volume_snapshots() {
            let (all, _) = cluster
                .store()
                .list(&vm_snapshots(), Some(&change.key.namespace));
            return all
                .iter()
                .filter(|s| s.value.pointer("/status/phase") == Some(&json!("InProgress")))
                .map(|s| {
                    (
                        vm_snapshots(),
                        ObjectKey::new(&change.key.namespace, s.meta_str("name").unwrap_or("")),
                    )
                })
                .collect();
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        reconcile(cluster, &key.1);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        super::keys_of(cluster, &vm_snapshots())
    }
}

fn conditions(old: Option<&Value>, progressing: bool, ready: bool, reason: &str) -> Vec<Value> {
    let mut list = vec![
        super::condition(old, "Progressing", progressing, reason, ""),
        super::condition(old, "Ready", ready, reason, ""),
    ];
    for c in &mut list {
        c["lastProbeTime"] = Value::Null;
    }
    list
}

fn reconcile(cluster: &Cluster, key: &ObjectKey) {
    let (Some(snapshot), Some(rt)) = (
        cluster.store().get(&vm_snapshots(), key),
        served(cluster, GROUP, "virtualmachinesnapshots"),
    ) else {
        return;
    };
    let snapshot = snapshot.value.clone();
    let phase = snapshot
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if is_deleting(&snapshot) || matches!(phase, "Succeeded" | "Failed") {
        return;
    }
    let source = snapshot
        .pointer("/spec/source/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(vm) = get(
        cluster,
        "kubevirt.io",
        "virtualmachines",
        &key.namespace,
        source,
    ) else {
        let message = format!("VirtualMachine \"{source}\" does not exist");
        return set_status(cluster, &rt, key, MANAGER, |current| {
            let old = current.get("status");
            json!({"phase": "InProgress", "readyToUse": false, "conditions": conditions(old, false, false, &message),
                "error": {"message": message, "time": old.and_then(|s| s.pointer("/error/time").cloned()).unwrap_or(json!(crate::objects::now()))}})
        });
    };
    let vm = vm.value.clone();
    let volumes = snapshot_statuses(cluster, &vm);
    let blocked: Vec<&Value> = volumes
        .iter()
        .filter(|v| {
            v["enabled"] == json!(false)
                && !v["reason"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Snapshot is not supported")
        })
        .collect();
    let running = get(
        cluster,
        "kubevirt.io",
        "virtualmachineinstances",
        &key.namespace,
        source,
    )
    .is_some();
    let indications: Vec<&str> = if running {
        let agent = annotation(&vm, GUEST_AGENT_ANNOTATION) == Some("true");
        vec!["Online", if agent { "GuestAgent" } else { "NoGuestAgent" }]
    } else {
        Vec::new()
    };
    let included: Vec<String> = volumes
        .iter()
        .filter(|v| v["enabled"] == json!(true))
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    let excluded: Vec<String> = volumes
        .iter()
        .filter(|v| v["enabled"] != json!(true))
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    if !blocked.is_empty() {
        let message = blocked
            .iter()
            .filter_map(|v| v["reason"].as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return set_status(cluster, &rt, key, MANAGER, |current| {
            let old = current.get("status");
            let mut failure = super::condition(old, "Failure", true, &message, "");
            failure["lastProbeTime"] = Value::Null;
            let mut list = conditions(old, false, false, &message);
            list.push(failure);
            json!({"phase": "Failed", "readyToUse": false, "sourceUID": meta(&vm, "uid"), "indications": indications,
                "conditions": list, "error": {"message": message, "time": crate::objects::now()}})
        });
    }
    // The content: the VM as it is now, and a VolumeSnapshot per included volume.
    let content = content_name(&snapshot);
    let ns = key.namespace.as_str();
    let mut backups = Vec::new();
    let mut all_ready = true;
    for volume in vm
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = volume["name"].as_str().unwrap_or("");
        if !included.iter().any(|i| i == name) {
            continue;
        }
        let claim_name = volume
            .pointer("/dataVolume/name")
            .or_else(|| volume.pointer("/persistentVolumeClaim/claimName"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(claim) = get(cluster, "", "persistentvolumeclaims", ns, claim_name) else {
            all_ready = false;
            continue;
        };
        let snapshot_name = format!("vmsnapshot-{}-volume-{name}", meta(&snapshot, "uid"));
        let vs = logged(
            MANAGER,
            &format!("volumesnapshots {ns}/{snapshot_name}"),
            ensure(
                cluster,
                MANAGER,
                json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": snapshot_name, "namespace": ns, "labels": {"snapshot.kubevirt.io/source-vm-name": source}},
                "spec": {"source": {"persistentVolumeClaimName": claim_name}}}),
            ),
        );
        all_ready &=
            vs.is_some_and(|v| v.value.pointer("/status/readyToUse") == Some(&json!(true)));
        let mut claim_meta = json!({"name": claim_name, "namespace": ns});
        for field in ["labels", "annotations"] {
            if let Some(v) = claim.value.pointer(&format!("/metadata/{field}")) {
                claim_meta[field] = v.clone();
            }
        }
        backups.push(
            json!({"volumeName": name, "volumeSnapshotName": snapshot_name,
            "persistentVolumeClaim": {"metadata": claim_meta, "spec": claim.value["spec"]}}),
        );
    }
    let mut vm_meta = json!({"name": meta(&vm, "name"), "namespace": ns, "uid": meta(&vm, "uid"),
        "generation": vm.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
    for field in ["labels", "annotations"] {
        if let Some(v) = vm.pointer(&format!("/metadata/{field}")) {
            vm_meta[field] = v.clone();
        }
    }
    if get(
        cluster,
        GROUP,
        "virtualmachinesnapshotcontents",
        ns,
        &content,
    )
    .is_none()
    {
        logged(
            MANAGER,
            &format!("virtualmachinesnapshotcontents {ns}/{content}"),
            ensure(
                cluster,
                MANAGER,
                json!({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshotContent",
                "metadata": {"name": content, "namespace": ns, "ownerReferences": [owner_reference(&snapshot)],
                    "finalizers": []},
                "spec": {"source": {"virtualMachine": {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                        "metadata": vm_meta, "spec": vm["spec"], "status": {}}},
                    "virtualMachineSnapshotName": key.name, "volumeBackups": backups}}),
            ),
        );
    }
    let now = crate::objects::now();
    if all_ready && let Some(content_rt) = served(cluster, GROUP, "virtualmachinesnapshotcontents")
    {
        let statuses: Vec<Value> = backups
            .iter()
            .map(|b| json!({"volumeSnapshotName": b["volumeSnapshotName"], "readyToUse": true, "creationTime": now}))
            .collect();
        set_status(
            cluster,
            &content_rt,
            &ObjectKey::new(ns, &content),
            MANAGER,
            |_| json!({"readyToUse": true, "creationTime": now, "volumeSnapshotStatus": statuses}),
        );
    }
    set_status(cluster, &rt, key, MANAGER, |current| {
        let old = current.get("status");
        let mut status = json!({"sourceUID": meta(&vm, "uid"), "virtualMachineSnapshotContentName": content,
            "indications": indications, "snapshotVolumes": {"includedVolumes": included, "excludedVolumes": excluded}});
        if all_ready {
            status["phase"] = json!("Succeeded");
            status["readyToUse"] = json!(true);
            status["creationTime"] = json!(now);
            status["conditions"] = json!(conditions(old, false, true, "Operation complete"));
        } else {
            status["phase"] = json!("InProgress");
            status["readyToUse"] = json!(false);
            status["conditions"] = json!(conditions(
                old,
                true,
                false,
                "Source locked and operation in progress"
            ));
        }
        status
    });
}

/// The VM a snapshot holds (its content's copy), if the snapshot is ready.
pub fn snapshot_vm(cluster: &Cluster, ns: &str, snapshot: &str) -> Option<(Value, Value)> {
    let snapshot = get(cluster, GROUP, "virtualmachinesnapshots", ns, snapshot)?;
    if snapshot.value.pointer("/status/readyToUse") != Some(&json!(true)) {
        return None;
    }
    let content = get(
        cluster,
        GROUP,
        "virtualmachinesnapshotcontents",
        ns,
        &content_name(&snapshot.value),
    )?;
    let vm = content
        .value
        .pointer("/spec/source/virtualMachine")
        .cloned()?;
    Some((vm, content.value.clone()))
}

/// Is the VM (by namespace and name) running, i.e. has it a VMI?
pub fn vm_running(cluster: &Cluster, ns: &str, name: &str) -> bool {
    cluster
        .store()
        .get(&vmis(), &ObjectKey::new(ns, name))
        .is_some()
        && cluster
            .store()
            .get(&vms(), &ObjectKey::new(ns, name))
            .is_some()
}
