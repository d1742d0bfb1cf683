//! The external snapshot controller with the CSI snapshotter, simulated: while a
//! `snapshot-controller` Deployment is available, a VolumeSnapshot of a bound claim gets a
//! VolumeSnapshotContent (from the VolumeSnapshotClass of the claim's driver) and becomes
//! readyToUse after half the ready delay; without a matching class `status.error` says so.

use serde_json::{Value, json};

use super::{
    Controller, FirstSeen, Key, Requeue, Timing, deployment_available, ensure, get, is_deleting,
    meta, served, set_status,
};
use crate::cluster::Cluster;
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey};

const MANAGER: &str = "snapshot-controller";
pub const GROUP: &str = "snapshot.storage.k8s.io";

pub fn volume_snapshots() -> GroupResource {
    GroupResource::new(GROUP, "volumesnapshots")
}

/// Makes VolumeSnapshots ready.
pub struct VolumeSnapshotController {
    timing: Timing,
    first_seen: FirstSeen,
}

impl VolumeSnapshotController {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Controller for VolumeSnapshotController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == volume_snapshots() {
            if change.kind == EventType::Deleted {
                self.first_seen.forget_prefix(change.object.uid());
                return Vec::new();
            }
            return vec![(change.gr.clone(), change.key.clone())];
        }
        if change.gr == super::storage::pvcs() {
            // A claim bound: snapshots of it waiting in its namespace look again.
            let (all, _) = cluster
                .store()
                .list(&volume_snapshots(), Some(&change.key.namespace));
            return all
                .iter()
                .filter(|s| s.value.pointer("/status/readyToUse") != Some(&json!(true)))
                .map(|s| {
                    (
                        volume_snapshots(),
                        ObjectKey::new(&change.key.namespace, s.meta_str("name").unwrap_or("")),
                    )
                })
                .collect();
        }
        if change.gr == GroupResource::new(GROUP, "volumesnapshotclasses")
            || change.gr == GroupResource::new("apps", "deployments")
                && change.key.name == "snapshot-controller"
        {
            return self.all_keys(cluster);
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue) {
        reconcile(cluster, &key.1, self.timing, &mut self.first_seen, requeue);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        super::keys_of(cluster, &volume_snapshots())
    }
}

/// Is a snapshot controller running (installed by a pack, or by someone else)?
fn controller_running(cluster: &Cluster) -> bool {
    let (deployments, _) = cluster
        .store()
        .list(&GroupResource::new("apps", "deployments"), None);
    deployments.iter().any(|d| {
        d.meta_str("name") == Some("snapshot-controller") && deployment_available(cluster, &d.value)
    })
}

/// The VolumeSnapshotClass for a CSI driver: the one named, else the driver's default, else its only one.
pub fn class_for(cluster: &Cluster, driver: &str, named: Option<&str>) -> Option<Value> {
    let (classes, _) = cluster
        .store()
        .list(&GroupResource::new(GROUP, "volumesnapshotclasses"), None);
    let matching: Vec<Value> = classes
        .iter()
        .map(|c| c.value.clone())
        .filter(|c| c["driver"] == json!(driver))
        .collect();
    if let Some(name) = named {
        return matching.into_iter().find(|c| meta(c, "name") == name);
    }
    matching
        .iter()
        .find(|c| {
            super::annotation(c, "snapshot.storage.kubernetes.io/is-default-class") == Some("true")
        })
        .or(matching.first())
        .cloned()
}

fn reconcile(
    cluster: &Cluster,
    key: &ObjectKey,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let (Some(snapshot), Some(rt)) = (
        cluster.store().get(&volume_snapshots(), key),
        served(cluster, GROUP, "volumesnapshots"),
    ) else {
        return;
    };
    let snapshot = snapshot.value.clone();
    if is_deleting(&snapshot)
        || snapshot.pointer("/status/readyToUse") == Some(&json!(true))
        || !controller_running(cluster)
    {
        return;
    }
    let error = |message: String| {
        set_status(cluster, &rt, key, MANAGER, |current| {
            let mut status = current.get("status").cloned().unwrap_or(json!({}));
            if status.pointer("/error/message") != Some(&json!(message)) {
                status["error"] = json!({"message": message, "time": crate::objects::now()});
            }
            status["readyToUse"] = json!(false);
            status
        })
    };
    let claim_name = snapshot
        .pointer("/spec/source/persistentVolumeClaimName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(claim) = get(
        cluster,
        "",
        "persistentvolumeclaims",
        &key.namespace,
        claim_name,
    ) else {
        return error(format!(
            "Failed to create snapshot: error getting PVC {}/{claim_name}: not found",
            key.namespace
        ));
    };
    let claim = claim.value.clone();
    let Some(pv_name) = claim.pointer("/spec/volumeName").and_then(Value::as_str) else {
        return error(format!(
            "the PVC {claim_name} is not yet bound to a PV, will not attempt to take a snapshot"
        ));
    };
    let driver = get(cluster, "", "persistentvolumes", "", pv_name)
        .and_then(|pv| {
            pv.value
                .pointer("/spec/csi/driver")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let named = snapshot
        .pointer("/spec/volumeSnapshotClassName")
        .and_then(Value::as_str);
    let Some(class) = class_for(cluster, &driver, named) else {
        return error(format!(
            "Failed to set default snapshot class with error cannot find default snapshot class for driver {driver}"
        ));
    };
    let uid = meta(&snapshot, "uid").to_string();
    let delay = timing.delay(&uid) / 2;
    let elapsed = first_seen.elapsed(&uid);
    if elapsed < delay {
        requeue.after(delay - elapsed, (volume_snapshots(), key.clone()));
        return;
    }
    let content_name = format!("snapcontent-{uid}");
    let size = claim
        .pointer("/status/capacity/storage")
        .or_else(|| claim.pointer("/spec/resources/requests/storage"))
        .cloned()
        .unwrap_or(json!("1Gi"));
    let handle = format!("snapshot-{}", super::short_hash(&uid));
    let created = ensure(
        cluster,
        MANAGER,
        json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
            "metadata": {"name": content_name},
            "spec": {"deletionPolicy": class.get("deletionPolicy").cloned().unwrap_or(json!("Delete")), "driver": driver,
                "source": {"volumeHandle": pv_name}, "volumeSnapshotClassName": meta(&class, "name"),
                "volumeSnapshotRef": {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                    "name": key.name, "namespace": key.namespace, "uid": uid}},
        }),
    );
    if crate::controllers::logged(
        MANAGER,
        &format!("volumesnapshotcontents {content_name}"),
        created,
    )
    .is_none()
    {
        return;
    }
    let now = crate::objects::now();
    if let Some(content_rt) = served(cluster, GROUP, "volumesnapshotcontents") {
        set_status(
            cluster,
            &content_rt,
            &ObjectKey::new("", &content_name),
            MANAGER,
            |_| json!({"readyToUse": true, "snapshotHandle": handle, "creationTime": 0}),
        );
    }
    set_status(
        cluster,
        &rt,
        key,
        MANAGER,
        |_| json!({"boundVolumeSnapshotContentName": content_name, "creationTime": now, "readyToUse": true, "restoreSize": size}),
    );
}
