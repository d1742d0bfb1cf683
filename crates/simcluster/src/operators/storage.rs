//! kube-controller-manager's PersistentVolume controller with a CSI provisioner, simulated: a
//! claim without a class gets the default StorageClass, is provisioned a PV after the ready delay
//! (at once for `Immediate` classes, once a consumer exists for `WaitForFirstConsumer`) and goes
//! Pending -> Bound; a claim nothing can provision stays Pending with an Event saying why. A
//! deleted claim's PV goes with it (reclaim policy Delete) or is Released (Retain).

use serde_json::{Value, json};

use super::{
    Controller, FirstSeen, Key, Requeue, Timing, annotation, events, is_deleting, meta, served,
};
use crate::cluster::Cluster;
use crate::controllers::{describe, logged, modify};
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey};

const MANAGER: &str = "persistentvolume-binder-controller";
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// CDI prefers the class marked as the default for virtualization.
pub const DEFAULT_VIRT_CLASS_ANNOTATION: &str = "storageclass.kubevirt.io/is-default-virt-class";
/// CDI's request to bind a claim at once even on a `WaitForFirstConsumer` class.
pub const IMMEDIATE_BINDING_ANNOTATION: &str = "cdi.kubevirt.io/storage.bind.immediate.requested";
/// Set on a claim when its consumer was scheduled (by the scheduler, or CDI for its importer).
pub const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";

pub fn pvcs() -> GroupResource {
    GroupResource::new("", "persistentvolumeclaims")
}

pub fn pvs() -> GroupResource {
    GroupResource::new("", "persistentvolumes")
}

fn storage_classes() -> GroupResource {
    GroupResource::new("storage.k8s.io", "storageclasses")
}

/// The cluster's default StorageClass (the newest when several are marked), if any.
pub fn default_class(cluster: &Cluster) -> Option<Value> {
    marked_class(cluster, DEFAULT_CLASS_ANNOTATION)
}

/// The class CDI uses when a DataVolume names none: the virt default, else the cluster default.
pub fn default_virt_class(cluster: &Cluster) -> Option<Value> {
    marked_class(cluster, DEFAULT_VIRT_CLASS_ANNOTATION).or_else(|| default_class(cluster))
}

fn marked_class(cluster: &Cluster, annotation_key: &str) -> Option<Value> {
    let (classes, _) = cluster.store().list(&storage_classes(), None);
    classes
        .iter()
        .filter(|c| annotation(&c.value, annotation_key) == Some("true"))
        .max_by_key(|c| meta(&c.value, "creationTimestamp").to_string())
        .map(|c| c.value.clone())
}

pub fn storage_class(cluster: &Cluster, name: &str) -> Option<Value> {
    super::get(cluster, "storage.k8s.io", "storageclasses", "", name).map(|c| c.value.clone())
}

/// Binds claims to provisioned volumes.
pub struct VolumeBinder {
    timing: Timing,
    first_seen: FirstSeen,
}

impl VolumeBinder {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Controller for VolumeBinder {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == pvcs() {
            if change.kind == EventType::Deleted {
                self.first_seen.forget_prefix(change.object.uid());
                let volume = change.object.value.pointer("/spec/volumeName");
                return volume
                    .and_then(Value::as_str)
                    .map(|pv| vec![(pvs(), ObjectKey::new("", pv))])
                    .unwrap_or_default();
            }
            return vec![(pvcs(), change.key.clone())];
        }
        // A consumer appeared, or a StorageClass changed: waiting claims may move on.
        let consumer = change.gr == GroupResource::new("", "pods")
            || change.gr == super::vm_controller::vmis();
        if consumer || change.gr == storage_classes() {
            return pending_claims(cluster);
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue) {
        if key.0 == pvs() {
            reconcile_volume(cluster, &key.1);
        } else {
            reconcile_claim(cluster, &key.1, self.timing, &mut self.first_seen, requeue);
        }
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let mut keys = pending_claims(cluster);
        keys.extend(super::keys_of(cluster, &pvs()));
        keys
    }
}

fn pending_claims(cluster: &Cluster) -> Vec<Key> {
    let (all, _) = cluster.store().list(&pvcs(), None);
    all.iter()
        .filter(|c| c.value.pointer("/status/phase") != Some(&json!("Bound")))
        .map(|c| {
            (
                pvcs(),
                ObjectKey::new(
                    c.meta_str("namespace").unwrap_or(""),
                    c.meta_str("name").unwrap_or(""),
                ),
            )
        })
        .collect()
}

/// Does a pod or a VMI in the claim's namespace use it (directly or through its DataVolume)?
fn has_consumer(cluster: &Cluster, claim: &Value) -> bool {
    if annotation(claim, SELECTED_NODE_ANNOTATION).is_some()
        || annotation(claim, IMMEDIATE_BINDING_ANNOTATION) == Some("true")
    {
        return true;
    }
    let (ns, name) = (meta(claim, "namespace"), meta(claim, "name"));
    let uses = |volumes: Option<&Value>| {
        volumes.and_then(Value::as_array).is_some_and(|vs| {
            vs.iter().any(|v| {
                v.pointer("/persistentVolumeClaim/claimName") == Some(&json!(name))
                    || v.pointer("/dataVolume/name") == Some(&json!(name))
            })
        })
    };
    let (pods, _) = cluster
        .store()
        .list(&GroupResource::new("", "pods"), Some(ns));
    let (vmis, _) = cluster
        .store()
        .list(&super::vm_controller::vmis(), Some(ns));
    pods.iter().any(|p| uses(p.value.pointer("/spec/volumes")))
        || vmis.iter().any(|v| uses(v.value.pointer("/spec/volumes")))
}

/// Why a claim cannot be provisioned (yet): (Event reason, message), or the class to use.
fn provisioning_class(cluster: &Cluster, claim: &Value) -> Result<Value, (&'static str, String)> {
    match claim
        .pointer("/spec/storageClassName")
        .and_then(Value::as_str)
    {
        Some("") => Err((
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".into(),
        )),
        Some(name) => storage_class(cluster, name).ok_or_else(|| {
            (
                "ProvisioningFailed",
                format!("storageclass.storage.k8s.io \"{name}\" not found"),
            )
        }),
        None => Err((
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".into(),
        )),
    }
}

pub fn reconcile_claim(
    cluster: &Cluster,
    key: &ObjectKey,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let (Some(claim), Some(rt)) = (
        cluster.store().get(&pvcs(), key),
        served(cluster, "", "persistentvolumeclaims"),
    ) else {
        return;
    };
    let claim = claim.value.clone();
    if is_deleting(&claim) || claim.pointer("/spec/volumeName").is_some() {
        return;
    }
    // Retroactive default class assignment (GA in Kubernetes 1.28).
    if claim.pointer("/spec/storageClassName").is_none()
        && let Some(default) = default_class(cluster)
    {
        let class = meta(&default, "name").to_string();
        logged(
            MANAGER,
            &describe(&pvcs(), key),
            modify(cluster, &rt, key, MANAGER, None, |c| {
                if c.pointer("/spec/storageClassName").is_some() {
                    return false;
                }
                c["spec"]["storageClassName"] = json!(class);
                true
            }),
        );
        return; // the update brings the claim back
    }
    pending(cluster, &rt, key);
    let class = match provisioning_class(cluster, &claim) {
        Ok(class) => class,
        Err((reason, message)) => {
            events::record(cluster, MANAGER, &claim, true, reason, &message);
            return;
        }
    };
    let waits = class["volumeBindingMode"] == json!("WaitForFirstConsumer");
    if waits && !has_consumer(cluster, &claim) {
        events::record(
            cluster,
            MANAGER,
            &claim,
            false,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        );
        return;
    }
    let provisioner = class["provisioner"].as_str().unwrap_or("").to_string();
    let uid = meta(&claim, "uid").to_string();
    let delay = timing.delay(&uid);
    let elapsed = first_seen.elapsed(&format!("{uid}/provision"));
    if elapsed < delay {
        requeue.after(delay - elapsed, (pvcs(), key.clone()));
        events::record(
            cluster,
            &provisioner,
            &claim,
            false,
            "Provisioning",
            &format!(
                "External provisioner is provisioning volume for claim \"{}/{}\"",
                key.namespace, key.name
            ),
        );
        return;
    }
    bind(cluster, &rt, key, &claim, &class);
}

fn pending(cluster: &Cluster, rt: &crate::resources::ResourceType, key: &ObjectKey) {
    super::set_status(cluster, rt, key, MANAGER, |c| {
        let mut status = c.get("status").cloned().unwrap_or(json!({}));
        status["phase"] = json!("Pending");
        status
    });
}

fn bind(
    cluster: &Cluster,
    rt: &crate::resources::ResourceType,
    key: &ObjectKey,
    claim: &Value,
    class: &Value,
) {
    let provisioner = class["provisioner"].as_str().unwrap_or("");
    let pv_name = format!("pvc-{}", meta(claim, "uid"));
    let size = claim
        .pointer("/spec/resources/requests/storage")
        .cloned()
        .unwrap_or(json!("1Gi"));
    let modes = claim
        .pointer("/spec/accessModes")
        .cloned()
        .unwrap_or(json!(["ReadWriteOnce"]));
    let pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner,
            "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
            "finalizers": ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"]},
        "spec": {
            "accessModes": modes, "capacity": {"storage": size},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": key.name, "namespace": key.namespace,
                "uid": meta(claim, "uid"), "resourceVersion": meta(claim, "resourceVersion")},
            "csi": {"driver": provisioner, "fsType": "ext4", "volumeHandle": format!("{}-{}", super::short_hash(&pv_name), key.name),
                "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": format!("simcluster-{provisioner}")}},
            "persistentVolumeReclaimPolicy": class.get("reclaimPolicy").cloned().unwrap_or(json!("Delete")),
            "storageClassName": meta(class, "name"),
            "volumeMode": claim.pointer("/spec/volumeMode").cloned().unwrap_or(json!("Filesystem")),
        },
    });
    let Some(pv) = logged(
        MANAGER,
        &format!("persistentvolumes {pv_name}"),
        super::ensure(cluster, MANAGER, pv),
    ) else {
        return;
    };
    if let Some(pv_rt) = served(cluster, "", "persistentvolumes") {
        super::set_status(
            cluster,
            &pv_rt,
            &ObjectKey::new("", &pv_name),
            MANAGER,
            |_| json!({"phase": "Bound", "lastPhaseTransitionTime": crate::objects::now()}),
        );
    }
    let name = meta(&pv.value, "name").to_string();
    let provisioner = provisioner.to_string();
    let bound = logged(
        MANAGER,
        &describe(&pvcs(), key),
        modify(cluster, rt, key, MANAGER, None, |c| {
            if c.pointer("/spec/volumeName").is_some() {
                return false;
            }
            c["spec"]["volumeName"] = json!(name);
            let annotations = &mut c["metadata"]["annotations"];
            if !annotations.is_object() {
                *annotations = json!({});
            }
            annotations["pv.kubernetes.io/bind-completed"] = json!("yes");
            annotations["pv.kubernetes.io/bound-by-controller"] = json!("yes");
            annotations["volume.beta.kubernetes.io/storage-provisioner"] = json!(provisioner);
            annotations["volume.kubernetes.io/storage-provisioner"] = json!(provisioner);
            true
        }),
    );
    if bound.is_none() {
        return;
    }
    let (modes, size) = (modes.clone(), size.clone());
    super::set_status(
        cluster,
        rt,
        key,
        MANAGER,
        |_| json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}),
    );
    events::record(
        cluster,
        &provisioner,
        claim,
        false,
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {pv_name}"),
    );
}

/// A PV whose claim is gone: deleted (reclaim policy Delete) or Released (Retain).
fn reconcile_volume(cluster: &Cluster, key: &ObjectKey) {
    let (Some(pv), Some(rt)) = (
        cluster.store().get(&pvs(), key),
        served(cluster, "", "persistentvolumes"),
    ) else {
        return;
    };
    let claim_ref = pv
        .value
        .pointer("/spec/claimRef")
        .cloned()
        .unwrap_or_default();
    let Some(claim_name) = claim_ref["name"].as_str() else {
        return;
    };
    let claim = super::get(
        cluster,
        "",
        "persistentvolumeclaims",
        claim_ref["namespace"].as_str().unwrap_or(""),
        claim_name,
    );
    if claim.is_some_and(|c| json!(c.uid()) == claim_ref["uid"]) {
        return;
    }
    if pv.value.pointer("/spec/persistentVolumeReclaimPolicy") == Some(&json!("Retain")) {
        super::set_status(
            cluster,
            &rt,
            key,
            MANAGER,
            |_| json!({"phase": "Released", "lastPhaseTransitionTime": crate::objects::now()}),
        );
        return;
    }
    // The provisioner deleted the volume: drop the finalizers, then the object.
    logged(
        MANAGER,
        &describe(&pvs(), key),
        modify(cluster, &rt, key, MANAGER, None, |v| {
            let had = v.pointer("/metadata/finalizers").is_some();
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("finalizers");
            }
            had
        }),
    );
    super::remove(cluster, MANAGER, "", "persistentvolumes", "", &key.name);
}
