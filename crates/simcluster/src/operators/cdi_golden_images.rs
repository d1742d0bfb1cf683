//! CDI's DataImportCron and DataSource controllers, simulated: a cron imports its source into a
//! DataVolume named `<managedDataSource>-<digest>` (labelled `cdi.kubevirt.io/dataImportCron`),
//! points its managed DataSource at the imported PVC and reports UpToDate; a DataSource is Ready
//! once the PVC it names exists and its import (if any) succeeded.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cdi_datavolumes::{datasources, datavolumes, phase};
use super::{Controller, Key, Requeue, ensure, get, is_deleting, served, set_status};
use crate::cluster::Cluster;
use crate::controllers::{describe, logged, modify};
use crate::resources::GroupResource;
use crate::store::{Change, ObjectKey};

const MANAGER: &str = "cdi-controller";
pub const CRON_LABEL: &str = "cdi.kubevirt.io/dataImportCron";

pub fn crons() -> GroupResource {
    GroupResource::new("cdi.kubevirt.io", "dataimportcrons")
}

/// Keeps golden images imported and published.
pub struct GoldenImages;

impl Controller for GoldenImages {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == crons() || change.gr == datasources() {
            return vec![(change.gr.clone(), change.key.clone())];
        }
        if change.gr == datavolumes() || change.gr == super::storage::pvcs() {
            // An import moved on: the crons and DataSources of that namespace look again.
            let ns = Some(change.key.namespace.as_str());
            let mut keys = Vec::new();
            for gr in [crons(), datasources()] {
                let (all, _) = cluster.store().list(&gr, ns);
                keys.extend(all.iter().map(|o| {
                    (
                        gr.clone(),
                        ObjectKey::new(&change.key.namespace, o.meta_str("name").unwrap_or("")),
                    )
                }));
            }
            return keys;
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, _requeue: &Requeue) {
        if key.0 == crons() {
            reconcile_cron(cluster, &key.1);
        } else {
            reconcile_source(cluster, &key.1);
        }
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let mut keys = super::keys_of(cluster, &crons());
        keys.extend(super::keys_of(cluster, &datasources()));
        keys
    }
}

/// The "digest" of a cron's source: stands for the image digest the real controller polls.
fn digest(source: &Value) -> String {
    let hex: String = Sha256::digest(source.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..12].to_string()
}

pub fn reconcile_cron(cluster: &Cluster, key: &ObjectKey) {
    let (Some(cron), Some(rt)) = (
        cluster.store().get(&crons(), key),
        served(cluster, "cdi.kubevirt.io", "dataimportcrons"),
    ) else {
        return;
    };
    let cron = cron.value.clone();
    if is_deleting(&cron) {
        return;
    }
    let Some(managed) = cron
        .pointer("/spec/managedDataSource")
        .and_then(Value::as_str)
    else {
        return;
    };
    let source = cron
        .pointer("/spec/template/spec/source")
        .cloned()
        .unwrap_or_default();
    let digest = digest(&source);
    let dv_name = format!("{managed}-{digest}");
    let ns = key.namespace.as_str();
    let mut template = cron.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut metadata = template
        .get("metadata")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    metadata["name"] = json!(dv_name);
    metadata["namespace"] = json!(ns);
    if !metadata["labels"].is_object() {
        metadata["labels"] = json!({});
    }
    metadata["labels"][CRON_LABEL] = json!(key.name);
    if !metadata["annotations"].is_object() {
        metadata["annotations"] = json!({});
    }
    metadata["annotations"]["cdi.kubevirt.io/storage.bind.immediate.requested"] = json!("true");
    metadata["annotations"]["cdi.kubevirt.io/storage.import.sourceDesiredDigest"] =
        json!(format!("sha256:{digest}"));
    template["metadata"] = metadata;
    template["apiVersion"] = json!("cdi.kubevirt.io/v1beta1");
    template["kind"] = json!("DataVolume");
    if let Some(map) = template.as_object_mut() {
        map.remove("status");
    }
    let dv = match get(cluster, "cdi.kubevirt.io", "datavolumes", ns, &dv_name) {
        Some(dv) => Some(dv.value.clone()),
        None => logged(
            MANAGER,
            &format!("datavolumes.cdi.kubevirt.io {ns}/{dv_name}"),
            ensure(cluster, MANAGER, template),
        )
        .map(|d| d.value.clone()),
    };
    let imported = dv.as_ref().is_some_and(|d| phase(d) == "Succeeded");
    // Point the managed DataSource at the import.
    let desired_source = json!({"pvc": {"name": dv_name, "namespace": ns}});
    match (
        get(cluster, "cdi.kubevirt.io", "datasources", ns, managed),
        served(cluster, "cdi.kubevirt.io", "datasources"),
    ) {
        (Some(_), Some(ds_rt)) => {
            let (cron_name, wanted) = (key.name.clone(), desired_source.clone());
            logged(
                MANAGER,
                &describe(&datasources(), &ObjectKey::new(ns, managed)),
                modify(
                    cluster,
                    &ds_rt,
                    &ObjectKey::new(ns, managed),
                    MANAGER,
                    None,
                    |ds| {
                        if ds.pointer("/spec/source") == Some(&wanted)
                            && ds.pointer(&format!(
                                "/metadata/labels/{}",
                                CRON_LABEL.replace('/', "~1")
                            )) == Some(&json!(cron_name))
                        {
                            return false;
                        }
                        ds["spec"]["source"] = wanted.clone();
                        if !ds["metadata"]["labels"].is_object() {
                            ds["metadata"]["labels"] = json!({});
                        }
                        ds["metadata"]["labels"][CRON_LABEL] = json!(cron_name);
                        true
                    },
                ),
            );
        }
        (None, Some(_)) => {
            logged(
                MANAGER,
                &format!("datasources.cdi.kubevirt.io {ns}/{managed}"),
                ensure(
                    cluster,
                    MANAGER,
                    json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
                    "metadata": {"name": managed, "namespace": ns, "labels": {CRON_LABEL: key.name}},
                    "spec": {"source": desired_source}}),
                ),
            );
        }
        _ => {}
    }
    let now = crate::objects::now();
    set_status(cluster, &rt, key, MANAGER, |current| {
        let old = current.get("status");
        let mut status = old.cloned().unwrap_or(json!({}));
        status["sourceFormat"] = json!("pvc");
        status["lastExecutionTimestamp"] = old
            .and_then(|s| s.get("lastExecutionTimestamp").cloned())
            .unwrap_or(json!(now));
        let condition = |kind: &str, on: bool, reason: &str, message: &str| {
            let mut c = super::condition(old, kind, on, reason, message);
            c["lastHeartbeatTime"] = c["lastTransitionTime"].clone();
            c
        };
        if imported {
            if let Some(map) = status.as_object_mut() {
                map.remove("currentImports");
            }
            if old.and_then(|s| s.pointer("/lastImportedPVC/name")) != Some(&json!(dv_name)) {
                status["lastImportTimestamp"] = json!(now);
            }
            status["lastImportedPVC"] = json!({"name": dv_name, "namespace": ns});
            status["conditions"] = json!([
                condition("Progressing", false, "NoImport", "No current import"),
                condition("UpToDate", true, "UpToDate", "Latest import is up to date"),
            ]);
        } else {
            status["currentImports"] =
                json!([{"dataVolumeName": dv_name, "Digest": format!("sha256:{digest}")}]);
            status["conditions"] = json!([
                condition(
                    "Progressing",
                    true,
                    "ImportProgressing",
                    "Import is progressing"
                ),
                condition(
                    "UpToDate",
                    false,
                    "ImportProgressing",
                    "Import is progressing"
                ),
            ]);
        }
        status
    });
}

pub fn reconcile_source(cluster: &Cluster, key: &ObjectKey) {
    let (Some(ds), Some(rt)) = (
        cluster.store().get(&datasources(), key),
        served(cluster, "cdi.kubevirt.io", "datasources"),
    ) else {
        return;
    };
    if is_deleting(&ds.value) {
        return;
    }
    let source = ds
        .value
        .pointer("/spec/source")
        .cloned()
        .unwrap_or_default();
    let verdict = readiness(cluster, &key.namespace, &source);
    set_status(cluster, &rt, key, MANAGER, |current| {
        let old = current.get("status");
        let (ready, reason, message) = &verdict;
        let mut c = super::condition(old, "Ready", *ready, reason, message);
        c["lastHeartbeatTime"] = c["lastTransitionTime"].clone();
        json!({"conditions": [c], "source": source})
    });
}

/// Is the DataSource's source usable: (ready, reason, message).
fn readiness(cluster: &Cluster, ns: &str, source: &Value) -> (bool, String, String) {
    let Some(pvc) = source.get("pvc") else {
        if let Some(snapshot) = source.get("snapshot") {
            let name = snapshot["name"].as_str().unwrap_or("");
            let snap_ns = snapshot["namespace"].as_str().unwrap_or(ns);
            return match get(
                cluster,
                "snapshot.storage.k8s.io",
                "volumesnapshots",
                snap_ns,
                name,
            ) {
                Some(s) if s.value.pointer("/status/readyToUse") == Some(&json!(true)) => {
                    (true, "Ready".into(), String::new())
                }
                Some(_) => (
                    false,
                    "SnapshotNotReady".into(),
                    format!("VolumeSnapshot {snap_ns}/{name} is not ready to use"),
                ),
                None => (
                    false,
                    "NotFound".into(),
                    format!("VolumeSnapshot {snap_ns}/{name} not found"),
                ),
            };
        }
        return (
            false,
            "NoSource".into(),
            "spec.source names no pvc or snapshot".into(),
        );
    };
    let name = pvc["name"].as_str().unwrap_or("");
    let pvc_ns = pvc["namespace"].as_str().unwrap_or(ns);
    if let Some(dv) = get(cluster, "cdi.kubevirt.io", "datavolumes", pvc_ns, name) {
        let phase = phase(&dv.value);
        if phase != "Succeeded" {
            let progress = dv
                .value
                .pointer("/status/progress")
                .and_then(Value::as_str)
                .unwrap_or("N/A");
            let phase = if phase.is_empty() { "Pending" } else { phase };
            return (
                false,
                phase.to_string(),
                format!("Import of {pvc_ns}/{name} is {phase} ({progress})"),
            );
        }
        return (true, "Ready".into(), String::new());
    }
    match get(cluster, "", "persistentvolumeclaims", pvc_ns, name) {
        Some(claim) if claim.value.pointer("/status/phase") == Some(&json!("Bound")) => {
            (true, "Ready".into(), String::new())
        }
        Some(_) => (
            false,
            "Pending".into(),
            format!("PVC {pvc_ns}/{name} is not bound yet"),
        ),
        None => (
            false,
            "NotFound".into(),
            format!("PVC {pvc_ns}/{name} not found"),
        ),
    }
}
