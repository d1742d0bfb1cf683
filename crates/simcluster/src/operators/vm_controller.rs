//! The VirtualMachine controller: creates and deletes each VM's VMI by its run strategy (or the
//! deprecated `spec.running`) and its pending start/stop requests, and reports the VM's status.

use serde_json::{Value, json};

use super::instancetypes::Expansion;
use super::{
    Controller, GUEST_AGENT_ANNOTATION, Key, Requeue, annotation, is_deleting, meta,
    owner_reference, set_status,
};
use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, WriteContext};
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey, StoredObject};

const MANAGER: &str = "virt-controller";
pub const VMI_FINALIZER: &str = "kubevirt.io/foregroundDeleteVirtualMachine";

pub fn vms() -> GroupResource {
    GroupResource::new("kubevirt.io", "virtualmachines")
}

pub fn vmis() -> GroupResource {
    GroupResource::new("kubevirt.io", "virtualmachineinstances")
}

/// The VM's run strategy: `spec.runStrategy`, else from `spec.running`, else Halted.
pub fn run_strategy(vm: &Value) -> String {
    if let Some(s) = vm.pointer("/spec/runStrategy").and_then(Value::as_str) {
        return s.to_string();
    }
    match vm.pointer("/spec/running").and_then(Value::as_bool) {
        Some(true) => "Always".into(),
        _ => "Halted".into(),
    }
}

pub fn vmi_phase(vmi: &Value) -> &str {
    vmi.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn finished(vmi: &Value) -> bool {
    matches!(vmi_phase(vmi), "Succeeded" | "Failed")
}

pub fn has_condition(object: &Value, kind: &str) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// Keeps VMs and their VMIs in step.
pub struct VmController;

impl Controller for VmController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
            && change.key.name == "virtualmachineinstances.kubevirt.io"
        {
            // VMs made before VMIs were served (KubeVirt's CRDs come one by one) start now.
            return self.all_keys(cluster);
        }
        if change.gr == vms() && change.kind != EventType::Deleted || change.gr == vmis() {
            vec![(vms(), change.key.clone())]
        } else if change.gr == super::cdi_datavolumes::datavolumes() {
            // A disk of a VM moved on: its owner looks again.
            change
                .object
                .value
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|o| o["kind"] == "VirtualMachine")
                .filter_map(|o| o["name"].as_str())
                .map(|name| (vms(), ObjectKey::new(&change.key.namespace, name)))
                .collect()
        } else {
            Vec::new()
        }
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        reconcile(cluster, &key.1);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let (all, _) = cluster.store().list(&vms(), None);
        all.iter()
            .map(|o| {
                (
                    vms(),
                    ObjectKey::new(
                        o.meta_str("namespace").unwrap_or(""),
                        o.meta_str("name").unwrap_or(""),
                    ),
                )
            })
            .collect()
    }
}

fn delete_vmi(cluster: &Cluster, key: &ObjectKey) {
    if let Some(rt) = cluster.registry().any_version(&vmis()) {
        crate::controllers::logged(
            MANAGER,
            &crate::controllers::describe(&vmis(), key),
            crate::controllers::ignore_missing(cluster.objects.delete(
                &rt,
                &key.namespace,
                &key.name,
                &DeleteOptions::default(),
                &WriteContext::system(MANAGER),
                None,
            )),
        );
    }
}

/// The VMI a VM asks for: its template, owned by the VM.
pub fn new_vmi(vm: &Value) -> Value {
    let template = vm.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut metadata = template.get("metadata").cloned().unwrap_or(json!({}));
    if !metadata.is_object() {
        metadata = json!({});
    }
    if let Some(map) = metadata.as_object_mut() {
        map.remove("creationTimestamp");
    }
    metadata["name"] = json!(meta(vm, "name"));
    metadata["namespace"] = json!(meta(vm, "namespace"));
    metadata["ownerReferences"] = json!([owner_reference(vm)]);
    metadata["finalizers"] = json!([VMI_FINALIZER]);
    if !metadata["labels"].is_object() {
        metadata["labels"] = json!({});
    }
    metadata["labels"]["kubevirt.io/vm"] = json!(meta(vm, "name"));
    if !metadata["annotations"].is_object() {
        metadata["annotations"] = json!({});
    }
    metadata["annotations"]["kubevirt.io/vm-generation"] = json!(
        vm.pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .to_string()
    );
    if let Some(agent) = annotation(vm, GUEST_AGENT_ANNOTATION) {
        metadata["annotations"][GUEST_AGENT_ANNOTATION] = json!(agent);
    }
    json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
        "status": {"phase": "Pending", "phaseTransitionTimestamps": [{"phase": "Pending", "phaseTransitionTimestamp": crate::objects::now()}]},
    })
}

/// Whether a VM may start: its instancetype and preference found, its DataVolumes ready.
pub struct StartGate {
    pub expansion: Result<Expansion, String>,
    pub volumes: Volumes,
    /// `status.volumeSnapshotStatuses`: which volumes a VirtualMachineSnapshot can take.
    pub snapshot_statuses: Vec<Value>,
}

/// Can each volume be snapshotted: PVC-backed volumes need a VolumeSnapshotClass whose driver
/// is their StorageClass's provisioner.
pub fn snapshot_statuses(cluster: &Cluster, vm: &Value) -> Vec<Value> {
    let ns = meta(vm, "namespace");
    let classes = cluster
        .store()
        .list(
            &GroupResource::new("snapshot.storage.k8s.io", "volumesnapshotclasses"),
            None,
        )
        .0;
    vm.pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let name = v["name"].as_str().unwrap_or("");
            let claim = v
                .pointer("/dataVolume/name")
                .or_else(|| v.pointer("/persistentVolumeClaim/claimName"))
                .and_then(Value::as_str);
            let Some(claim) = claim else {
                return json!({"name": name, "enabled": false,
                    "reason": format!("Snapshot is not supported for this volumeSource type [{name}]")});
            };
            let class = super::get(cluster, "", "persistentvolumeclaims", ns, claim)
                .and_then(|c| c.value.pointer("/spec/storageClassName").and_then(Value::as_str).map(String::from))
                .or_else(|| {
                    vm.pointer("/spec/dataVolumeTemplates")
                        .and_then(Value::as_array)
                        .and_then(|ts| ts.iter().find(|t| t.pointer("/metadata/name") == Some(&json!(claim))))
                        .and_then(|t| t.pointer("/spec/storage/storageClassName").and_then(Value::as_str).map(String::from))
                })
                .or_else(|| super::storage::default_virt_class(cluster).map(|c| meta(&c, "name").to_string()));
            let Some(class) = class else {
                return json!({"name": name, "enabled": false,
                    "reason": format!("No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [{name}]")});
            };
            let provisioner = super::storage::storage_class(cluster, &class)
                .and_then(|c| c["provisioner"].as_str().map(String::from))
                .unwrap_or_default();
            if classes.iter().any(|c| c.value["driver"] == json!(provisioner)) {
                json!({"name": name, "enabled": true})
            } else {
                json!({"name": name, "enabled": false,
                    "reason": format!("No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [{class}] [{name}]")})
            }
        })
        .collect()
}

impl StartGate {
    fn open(&self) -> bool {
        self.expansion.is_ok() && self.volumes == Volumes::Ready
    }
}

/// Where a VM's DataVolumes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volumes {
    Ready,
    Provisioning,
    /// An import keeps failing: its Running condition's message.
    Error(String),
}

fn template_names(vm: &Value) -> Vec<String> {
    vm.pointer("/spec/dataVolumeTemplates")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Create the DataVolumes of the VM's `dataVolumeTemplates` (owned by the VM).
fn ensure_data_volumes(cluster: &Cluster, vm: &Value) {
    let templates = vm
        .pointer("/spec/dataVolumeTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ns = meta(vm, "namespace");
    for template in templates {
        let name = template
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if name.is_empty()
            || super::get(cluster, "cdi.kubevirt.io", "datavolumes", ns, name).is_some()
            || super::served(cluster, "cdi.kubevirt.io", "datavolumes").is_none()
        {
            continue;
        }
        let mut dv = template.clone();
        dv["apiVersion"] = json!("cdi.kubevirt.io/v1beta1");
        dv["kind"] = json!("DataVolume");
        dv["metadata"]["namespace"] = json!(ns);
        dv["metadata"]["ownerReferences"] = json!([owner_reference(vm)]);
        if let Some(m) = dv["metadata"].as_object_mut() {
            m.remove("creationTimestamp");
        }
        crate::controllers::logged(
            MANAGER,
            &format!("datavolumes.cdi.kubevirt.io {ns}/{name}"),
            super::ensure(cluster, MANAGER, dv),
        );
    }
}

fn volumes(cluster: &Cluster, vm: &Value) -> Volumes {
    let ns = meta(vm, "namespace");
    for name in template_names(vm) {
        let Some(dv) = super::get(cluster, "cdi.kubevirt.io", "datavolumes", ns, &name) else {
            let bound = super::get(cluster, "", "persistentvolumeclaims", ns, &name)
                .is_some_and(|c| c.value.pointer("/status/phase") == Some(&json!("Bound")));
            if bound {
                continue;
            }
            return Volumes::Provisioning;
        };
        let phase = super::cdi_datavolumes::phase(&dv.value);
        if phase == "Succeeded" {
            continue;
        }
        let failing = dv
            .value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == "Running" && c["reason"] == "Error")
            });
        if phase == "Failed" || failing.is_some() {
            let message = failing
                .and_then(|c| c["message"].as_str())
                .unwrap_or("the import failed");
            return Volumes::Error(format!("DataVolume {name}: {message}"));
        }
        return Volumes::Provisioning;
    }
    Volumes::Ready
}

fn create_vmi(cluster: &Cluster, vm: &Value, gate: &StartGate) {
    if !gate.open() {
        return;
    }
    if let Some(rt) = cluster.registry().any_version(&vmis()) {
        let mut vmi = new_vmi(vm);
        if let Ok(expansion) = &gate.expansion {
            super::instancetypes::apply(expansion, &mut vmi);
        }
        crate::controllers::logged(
            MANAGER,
            &format!(
                "virtualmachineinstances {}/{}",
                meta(vm, "namespace"),
                meta(vm, "name")
            ),
            cluster.objects.create(
                &rt,
                Some(meta(vm, "namespace")),
                vmi,
                &WriteContext::system(MANAGER),
            ),
        );
    }
}

/// Reconcile one VM. Public so that seeding can settle VMs synchronously.
pub fn reconcile(cluster: &Cluster, key: &ObjectKey) {
    let Some(vm) = cluster.store().get(&vms(), key) else {
        return;
    };
    let Some(vm_rt) = cluster.registry().any_version(&vms()) else {
        return;
    };
    let vm = &vm.value;
    if !is_deleting(vm) {
        ensure_data_volumes(cluster, vm);
    }
    let gate = StartGate {
        expansion: super::instancetypes::resolve(cluster, vm).map_err(|e| e.to_string()),
        volumes: volumes(cluster, vm),
        snapshot_statuses: snapshot_statuses(cluster, vm),
    };
    let vmi = cluster.store().get(&vmis(), key);
    let strategy = run_strategy(vm);
    let mut requests: Vec<Value> = vm
        .pointer("/status/stateChangeRequests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let live = |vmi: &Option<std::sync::Arc<StoredObject>>| {
        vmi.as_ref().filter(|v| !is_deleting(&v.value)).is_some()
    };
    if is_deleting(vm) {
        if live(&vmi) {
            delete_vmi(cluster, key);
        }
    } else if let Some(request) = requests.first().cloned() {
        match request["action"].as_str() {
            Some("Stop") => match &vmi {
                Some(v) if !is_deleting(&v.value) => delete_vmi(cluster, key),
                Some(_) => {}
                None => {
                    requests.remove(0);
                }
            },
            Some("Start") => {
                if vmi.is_none() && gate.open() {
                    create_vmi(cluster, vm, &gate);
                    requests.remove(0);
                } else if vmi.as_ref().is_some_and(|v| finished(&v.value)) {
                    delete_vmi(cluster, key);
                }
            }
            _ => {
                requests.remove(0);
            }
        }
    } else {
        match strategy.as_str() {
            "Always" | "RerunOnFailure" => match &vmi {
                None => create_vmi(cluster, vm, &gate),
                Some(v) if !is_deleting(&v.value) => {
                    let phase = vmi_phase(&v.value);
                    if phase == "Failed" || (phase == "Succeeded" && strategy == "Always") {
                        delete_vmi(cluster, key);
                    }
                }
                Some(_) => {}
            },
            "Once"
                if vmi.is_none()
                    && vm
                        .pointer("/status/printableStatus")
                        .is_none_or(|s| *s == json!("Provisioning")) =>
            {
                create_vmi(cluster, vm, &gate)
            }
            "Halted" if live(&vmi) => delete_vmi(cluster, key),
            _ => {}
        }
    }
    let vmi = cluster.store().get(&vmis(), key);
    let key = key.clone();
    set_status(cluster, &vm_rt, &key, MANAGER, |current| {
        vm_status(
            current,
            vmi.as_deref().map(|v| &v.value),
            &strategy,
            &requests,
            &gate,
        )
    });
}

/// What `kubectl get vm` shows in STATUS.
pub fn printable_status(vm: &Value, vmi: Option<&Value>) -> &'static str {
    if is_deleting(vm) {
        return "Terminating";
    }
    let Some(vmi) = vmi else {
        return "Stopped";
    };
    if is_deleting(vmi) {
        return "Stopping";
    }
    match vmi_phase(vmi) {
        "Running" if has_condition(vmi, "Paused") => "Paused",
        "Running"
            if vmi.pointer("/status/migrationState").is_some_and(|m| {
                m.get("completed") != Some(&json!(true)) && m.get("failed") != Some(&json!(true))
            }) =>
        {
            "Migrating"
        }
        "Running" => "Running",
        "Succeeded" | "Failed" => "Stopped",
        "Scheduling"
            if vmi
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "PodScheduled" && c["status"] == "False")
                }) =>
        {
            "ErrorUnschedulable"
        }
        _ => "Starting",
    }
}

fn vm_status(
    vm: &Value,
    vmi: Option<&Value>,
    strategy: &str,
    requests: &[Value],
    gate: &StartGate,
) -> Value {
    let old = vm.get("status");
    let mut status = old.cloned().unwrap_or(json!({}));
    let Some(map) = status.as_object_mut() else {
        return json!({});
    };
    let running = vmi.is_some_and(|v| vmi_phase(v) == "Running" && !is_deleting(v));
    let ready = running && vmi.is_some_and(|v| has_condition(v, "Ready"));
    let printable = match (&gate.volumes, vmi) {
        (_, _) if is_deleting(vm) => printable_status(vm, vmi),
        (Volumes::Error(_), None) => "DataVolumeError",
        (Volumes::Provisioning, None) => "Provisioning",
        _ => printable_status(vm, vmi),
    };
    map.insert("printableStatus".into(), json!(printable));
    for (field, reference) in [
        (
            "instancetypeRef",
            gate.expansion
                .as_ref()
                .ok()
                .and_then(|e| e.instancetype_ref.clone()),
        ),
        (
            "preferenceRef",
            gate.expansion
                .as_ref()
                .ok()
                .and_then(|e| e.preference_ref.clone()),
        ),
    ] {
        match reference {
            Some(r) => {
                map.insert(field.into(), r);
            }
            None => {
                map.remove(field);
            }
        }
    }
    map.insert("runStrategy".into(), json!(strategy));
    map.insert("created".into(), json!(vmi.is_some()));
    map.insert("ready".into(), json!(ready));
    map.insert(
        "desiredGeneration".into(),
        vm.pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1)),
    );
    map.insert(
        "observedGeneration".into(),
        vm.pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1)),
    );
    if requests.is_empty() {
        map.remove("stateChangeRequests");
    } else {
        map.insert("stateChangeRequests".into(), json!(requests));
    }
    // Kept once written unless a volume needs the storage looked at (claims come and go).
    let claims = gate.snapshot_statuses.iter().any(|v| {
        !v["reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("Snapshot is not supported")
    });
    if claims || !map.contains_key("volumeSnapshotStatuses") {
        map.insert(
            "volumeSnapshotStatuses".into(),
            json!(gate.snapshot_statuses),
        );
    }
    let mut conditions = vec![match vmi {
        None => super::condition(old, "Ready", false, "VMINotExists", "VMI does not exist"),
        Some(_) if ready => super::condition(old, "Ready", true, "", ""),
        Some(_) => super::condition(old, "Ready", false, "PodNotReady", "VMI is not ready"),
    }];
    if let Some(vmi) = vmi {
        for kind in ["Paused", "AgentConnected", "LiveMigratable"] {
            if let Some(c) = vmi
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            {
                conditions.push(c.clone());
            }
        }
    }
    if !template_names(vm).is_empty() {
        conditions.push(match &gate.volumes {
            Volumes::Ready => super::condition(
                old,
                "DataVolumesReady",
                true,
                "AllDVsReady",
                "All of the VMI's DVs are bound and ready",
            ),
            Volumes::Provisioning => super::condition(
                old,
                "DataVolumesReady",
                false,
                "NotAllDVsReady",
                "Not all of the VMI's DVs are ready",
            ),
            Volumes::Error(message) => {
                super::condition(old, "DataVolumesReady", false, "DataVolumeError", message)
            }
        });
    }
    if let Err(message) = &gate.expansion {
        conditions.push(super::condition(
            old,
            "Failure",
            true,
            "FailedCreate",
            message,
        ));
    }
    for c in &mut conditions {
        c["lastProbeTime"] = Value::Null;
    }
    map.insert("conditions".into(), json!(conditions));
    status
}
