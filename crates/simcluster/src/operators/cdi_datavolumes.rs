//! CDI's DataVolume controller, simulated: a DataVolume gets its PVC (owned by it, with the
//! default virtualization StorageClass when it names none), and once the PVC is Bound imports
//! (http, registry, blank; `sourceRef` DataSources and `source.pvc` clone) through
//! ImportScheduled/CloneScheduled -> ImportInProgress/CloneInProgress with `status.progress`
//! advancing "0.0%" .. "100.0%" over the ready delay -> Succeeded. An image on host
//! `fail.invalid` never imports: the importer restarts and the Running condition says why.

use serde_json::{Value, json};

use super::storage::{SELECTED_NODE_ANNOTATION, default_virt_class, pvcs};
use super::{
    Controller, FirstSeen, Key, Requeue, Timing, events, get, is_deleting, meta, owner_reference,
    served, set_status,
};
use crate::cluster::Cluster;
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey};

const MANAGER: &str = "cdi-controller";
/// Images on this host fail to import (the simulated registry cannot resolve it).
pub const FAILING_HOST: &str = "fail.invalid";
/// A PVC made from a snapshot for this DataVolume: CDI adopts it as already populated.
pub const PRE_POPULATED_ANNOTATION: &str = "cdi.kubevirt.io/storage.prePopulated";

pub fn datavolumes() -> GroupResource {
    GroupResource::new("cdi.kubevirt.io", "datavolumes")
}

pub fn datasources() -> GroupResource {
    GroupResource::new("cdi.kubevirt.io", "datasources")
}

/// Moves DataVolumes through their phases.
pub struct DataVolumeController {
    timing: Timing,
    first_seen: FirstSeen,
}

impl DataVolumeController {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Controller for DataVolumeController {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == datavolumes() {
            if change.kind == EventType::Deleted {
                self.first_seen.forget_prefix(change.object.uid());
                return Vec::new();
            }
            return vec![(datavolumes(), change.key.clone())];
        }
        if change.gr == pvcs() || change.gr == datasources() {
            // A claim bound, a clone source appeared, a DataSource became ready.
            return unfinished(cluster);
        }
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue) {
        reconcile(cluster, &key.1, self.timing, &mut self.first_seen, requeue);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        unfinished(cluster)
    }
}

fn unfinished(cluster: &Cluster) -> Vec<Key> {
    super::keys_of(cluster, &datavolumes())
        .into_iter()
        .filter(|(gr, key)| {
            cluster
                .store()
                .get(gr, key)
                .is_some_and(|dv| phase(&dv.value) != "Succeeded")
        })
        .collect()
}

pub fn phase(dv: &Value) -> &str {
    dv.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Where a DataVolume's data comes from, once resolved.
enum Source {
    /// An importer pod: its source kind (`http`, `registry`, `blank`, ...) and URL.
    Import {
        kind: String,
        url: Option<String>,
    },
    /// A clone of a PVC (namespace, name).
    Clone {
        namespace: String,
        name: String,
    },
    Upload,
}

/// Why a DataVolume waits before it gets a PVC: (reason, message).
type Waiting = (&'static str, String);

fn resolve_source(cluster: &Cluster, dv: &Value) -> Result<Source, Waiting> {
    let ns = meta(dv, "namespace");
    if let Some(reference) = dv.pointer("/spec/sourceRef") {
        let name = reference["name"].as_str().unwrap_or("");
        let ds_ns = reference["namespace"].as_str().unwrap_or(ns);
        let Some(ds) = get(cluster, "cdi.kubevirt.io", "datasources", ds_ns, name) else {
            return Err((
                "NotFound",
                format!("DataSource.cdi.kubevirt.io \"{name}\" not found in namespace {ds_ns}"),
            ));
        };
        if !super::vm_controller::has_condition(&ds.value, "Ready") {
            return Err((
                "DataSourceNotReady",
                format!("DataSource {ds_ns}/{name} is not ready (its image is not imported yet)"),
            ));
        }
        let pvc = ds
            .value
            .pointer("/spec/source/pvc")
            .cloned()
            .unwrap_or_default();
        return Ok(Source::Clone {
            namespace: pvc["namespace"].as_str().unwrap_or(ds_ns).to_string(),
            name: pvc["name"].as_str().unwrap_or("").to_string(),
        });
    }
    let source = dv.pointer("/spec/source").cloned().unwrap_or_default();
    let Some((kind, body)) = source.as_object().and_then(|m| m.iter().next()) else {
        return Err((
            "NoSource",
            "spec.source or spec.sourceRef is missing: name where the disk comes from (http, registry, pvc, blank, upload or a DataSource)".into(),
        ));
    };
    Ok(match kind.as_str() {
        "pvc" | "snapshot" => Source::Clone {
            namespace: body["namespace"].as_str().unwrap_or(ns).to_string(),
            name: body["name"].as_str().unwrap_or("").to_string(),
        },
        "upload" => Source::Upload,
        other => Source::Import {
            kind: other.to_string(),
            url: body["url"].as_str().map(String::from),
        },
    })
}

/// The host of an image URL (`docker://host/repo`, `https://host/path`).
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or("")
}

/// The PVC spec a DataVolume asks for (`spec.storage` completed as CDI completes it, or `spec.pvc`).
fn claim_spec(cluster: &Cluster, dv: &Value, source_size: Option<Value>) -> Result<Value, Waiting> {
    if let Some(pvc) = dv.pointer("/spec/pvc") {
        return Ok(pvc.clone());
    }
    let mut spec = dv.pointer("/spec/storage").cloned().unwrap_or(json!({}));
    if spec.pointer("/resources/requests/storage").is_none() {
        let Some(size) = source_size else {
            return Err((
                "MissingSize",
                "spec.storage.resources.requests.storage is missing: give the disk a size (e.g. 10Gi)".into(),
            ));
        };
        spec["resources"] = json!({"requests": {"storage": size}});
    }
    if spec.get("storageClassName").is_none()
        && let Some(class) = default_virt_class(cluster)
    {
        spec["storageClassName"] = json!(meta(&class, "name"));
    }
    if spec.get("accessModes").is_none() {
        spec["accessModes"] = json!(["ReadWriteOnce"]);
    }
    if spec.get("volumeMode").is_none() {
        spec["volumeMode"] = json!("Filesystem");
    }
    Ok(spec)
}

fn first_node(cluster: &Cluster) -> String {
    let (nodes, _) = cluster.store().list(&GroupResource::new("", "nodes"), None);
    nodes
        .first()
        .and_then(|n| n.meta_str("name").map(String::from))
        .unwrap_or_else(|| "node-1".into())
}

pub fn reconcile(
    cluster: &Cluster,
    key: &ObjectKey,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let (Some(dv), Some(rt)) = (
        cluster.store().get(&datavolumes(), key),
        served(cluster, "cdi.kubevirt.io", "datavolumes"),
    ) else {
        return;
    };
    let dv = dv.value.clone();
    if is_deleting(&dv) || phase(&dv) == "Succeeded" {
        return;
    }
    let write = |progress: Progress| {
        set_status(cluster, &rt, key, MANAGER, |current| {
            status(current.get("status"), &key.name, &progress)
        })
    };
    let source = match resolve_source(cluster, &dv) {
        Ok(source) => source,
        Err((reason, message)) => {
            events::record(cluster, MANAGER, &dv, true, reason, &message);
            return write(Progress::waiting(reason, message));
        }
    };
    let existing = get(
        cluster,
        "",
        "persistentvolumeclaims",
        &key.namespace,
        &key.name,
    );
    if let Some(pvc) = &existing {
        let ours = pvc
            .value
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|o| o.iter().any(|o| o["uid"] == json!(meta(&dv, "uid"))));
        if super::annotation(&pvc.value, PRE_POPULATED_ANNOTATION) == Some(&key.name) {
            return write(Progress::done());
        }
        if !ours {
            let message = format!(
                "Resource \"{}\" already exists and is not managed by DataVolume",
                key.name
            );
            return write(Progress::waiting("ErrResourceExists", message));
        }
    }
    let source_claim = match &source {
        Source::Clone { namespace, name } => {
            match get(cluster, "", "persistentvolumeclaims", namespace, name) {
                Some(pvc) => Some(pvc.value.clone()),
                None => {
                    let message = format!("source PVC {namespace}/{name} not found");
                    events::record(cluster, MANAGER, &dv, true, "CloneWithoutSource", &message);
                    return write(Progress::waiting("CloneWithoutSource", message));
                }
            }
        }
        _ => None,
    };
    let source_size = source_claim.as_ref().and_then(|c| {
        c.pointer("/status/capacity/storage")
            .or_else(|| c.pointer("/spec/resources/requests/storage"))
            .cloned()
    });
    let spec = match claim_spec(cluster, &dv, source_size) {
        Ok(spec) => spec,
        Err((reason, message)) => return write(Progress::waiting(reason, message)),
    };
    let claim = match existing {
        Some(pvc) => pvc.value.clone(),
        None => match create_claim(cluster, &dv, &source, spec) {
            Some(claim) => claim,
            None => return,
        },
    };
    let bound = claim.pointer("/status/phase") == Some(&json!("Bound"));
    let source_bound = source_claim
        .as_ref()
        .is_none_or(|c| c.pointer("/status/phase") == Some(&json!("Bound")));
    if !bound || !source_bound {
        let why = if bound {
            "the clone source is not bound yet".to_string()
        } else {
            claim_pending_reason(cluster, &claim)
        };
        return write(Progress::pending(why));
    }
    let uid = meta(&dv, "uid").to_string();
    let delay = timing.delay(&uid);
    let elapsed = first_seen.elapsed(&format!("{uid}/bound"));
    let clone = matches!(source, Source::Clone { .. });
    if matches!(source, Source::Upload) {
        return write(Progress::phase("UploadReady", "N/A"));
    }
    let scheduled = delay / 4;
    let failing = match &source {
        Source::Import { url: Some(url), .. } if host(url) == FAILING_HOST => Some(url.clone()),
        _ => None,
    };
    let key_again = (datavolumes(), key.clone());
    if elapsed < scheduled {
        requeue.after(scheduled - elapsed, key_again);
        let phase = if clone {
            "CloneScheduled"
        } else {
            "ImportScheduled"
        };
        return write(Progress::phase(phase, "N/A"));
    }
    if let Some(url) = failing {
        let restarts = if delay.is_zero() {
            1
        } else {
            1 + ((elapsed - scheduled).as_secs_f64() / delay.as_secs_f64()) as i64
        };
        if !delay.is_zero() {
            requeue.after(delay, key_again);
        }
        let kind = match &source {
            Source::Import { kind, .. } => kind.clone(),
            _ => String::new(),
        };
        let message = if kind == "registry" {
            format!(
                "Unable to process data: Unable to transfer source data: Failed to read registry image: pinging container registry {FAILING_HOST}: Get \"https://{FAILING_HOST}/v2/\": dial tcp: lookup {FAILING_HOST}: no such host (image {url})"
            )
        } else {
            format!(
                "Unable to connect to http data source: Get \"{url}\": dial tcp: lookup {FAILING_HOST}: no such host"
            )
        };
        events::record(cluster, MANAGER, &dv, true, "Error", &message);
        return write(Progress::failing(restarts, message));
    }
    let running = elapsed - scheduled;
    if !delay.is_zero() && running < delay {
        let step = delay / 5;
        requeue.after(step.min(delay - running), key_again);
        let percent = 100.0 * running.as_secs_f64() / delay.as_secs_f64();
        let phase = if clone {
            "CloneInProgress"
        } else {
            "ImportInProgress"
        };
        return write(Progress::phase(phase, &format!("{percent:.1}%")));
    }
    if let Some(rt) = served(cluster, "", "persistentvolumeclaims") {
        crate::controllers::logged(
            MANAGER,
            &crate::controllers::describe(&pvcs(), key),
            crate::controllers::modify(cluster, &rt, key, MANAGER, None, |c| {
                let annotations = &mut c["metadata"]["annotations"];
                if annotations["cdi.kubevirt.io/storage.pod.phase"] == json!("Succeeded") {
                    return false;
                }
                annotations["cdi.kubevirt.io/storage.pod.phase"] = json!("Succeeded");
                annotations["cdi.kubevirt.io/storage.condition.running"] = json!("false");
                annotations["cdi.kubevirt.io/storage.condition.running.reason"] =
                    json!("Completed");
                true
            }),
        );
    }
    events::record(
        cluster,
        MANAGER,
        &dv,
        false,
        if clone {
            "CloneSucceeded"
        } else {
            "ImportSucceeded"
        },
        if clone {
            "Successfully cloned from the source PVC"
        } else {
            "Import Successful"
        },
    );
    write(Progress::done());
}

/// Why the claim is not bound: the binder's last Event about it, in its words.
fn claim_pending_reason(cluster: &Cluster, claim: &Value) -> String {
    let (all, _) = cluster.store().list(
        &GroupResource::new("", "events"),
        Some(meta(claim, "namespace")),
    );
    all.iter()
        .filter(|e| e.value.pointer("/involvedObject/uid") == Some(&json!(meta(claim, "uid"))))
        .max_by_key(|e| e.value["lastTimestamp"].as_str().unwrap_or("").to_string())
        .and_then(|e| e.value["message"].as_str().map(String::from))
        .unwrap_or_default()
}

fn create_claim(cluster: &Cluster, dv: &Value, source: &Source, spec: Value) -> Option<Value> {
    let mut labels = dv
        .pointer("/metadata/labels")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    labels["app"] = json!("containerized-data-importer");
    labels["app.kubernetes.io/component"] = json!("storage");
    labels["app.kubernetes.io/managed-by"] = json!("cdi-controller");
    let mut annotations = json!({
        "cdi.kubevirt.io/storage.contentType": "kubevirt",
        "cdi.kubevirt.io/storage.pod.phase": "Pending",
        "cdi.kubevirt.io/storage.preallocation.requested": "false",
        "cdi.kubevirt.io/createdForDataVolume": meta(dv, "uid"),
        // The importer (or clone) pod is the claim's first consumer.
        SELECTED_NODE_ANNOTATION: first_node(cluster),
    });
    match source {
        Source::Import { kind, url } => {
            annotations["cdi.kubevirt.io/storage.import.source"] = json!(if kind == "blank" {
                "none"
            } else {
                kind.as_str()
            });
            if let Some(url) = url {
                annotations["cdi.kubevirt.io/storage.import.endpoint"] = json!(url);
            }
        }
        Source::Clone { namespace, name } => {
            annotations["k8s.io/CloneRequest"] = json!(format!("{namespace}/{name}"));
        }
        Source::Upload => {
            annotations["cdi.kubevirt.io/storage.upload.target"] = json!("");
        }
    }
    let claim = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": meta(dv, "name"), "namespace": meta(dv, "namespace"), "labels": labels,
            "annotations": annotations, "ownerReferences": [owner_reference(dv)]},
        "spec": spec,
    });
    crate::controllers::logged(
        MANAGER,
        &format!(
            "persistentvolumeclaims {}/{}",
            meta(dv, "namespace"),
            meta(dv, "name")
        ),
        super::ensure(cluster, MANAGER, claim),
    )
    .map(|c| c.value.clone())
}

/// What a DataVolume's status says at one moment.
struct Progress {
    phase: String,
    progress: String,
    bound: Option<String>,
    running: (bool, String, String),
    restarts: i64,
    /// Waiting before a PVC exists: (reason, message) for Bound and Ready.
    waiting: Option<(String, String)>,
}

impl Progress {
    fn waiting(reason: &str, message: String) -> Self {
        Self {
            phase: "Pending".into(),
            progress: "N/A".into(),
            bound: None,
            running: (false, String::new(), String::new()),
            restarts: 0,
            waiting: Some((reason.into(), message)),
        }
    }

    fn pending(why: String) -> Self {
        Self {
            phase: "Pending".into(),
            progress: "N/A".into(),
            bound: Some(why),
            running: (false, String::new(), String::new()),
            restarts: 0,
            waiting: None,
        }
    }

    fn phase(phase: &str, progress: &str) -> Self {
        let running = phase.ends_with("InProgress") || phase == "UploadReady";
        Self {
            phase: phase.into(),
            progress: progress.into(),
            bound: None,
            running: (
                running,
                if running { "Pod is running" } else { "" }.into(),
                String::new(),
            ),
            restarts: 0,
            waiting: None,
        }
    }

    fn failing(restarts: i64, message: String) -> Self {
        Self {
            phase: "ImportInProgress".into(),
            progress: "N/A".into(),
            bound: None,
            running: (false, "Error".into(), message),
            restarts,
            waiting: None,
        }
    }

    fn done() -> Self {
        Self {
            phase: "Succeeded".into(),
            progress: "100.0%".into(),
            bound: None,
            running: (false, "Completed".into(), String::new()),
            restarts: 0,
            waiting: None,
        }
    }
}

fn status(old: Option<&Value>, claim: &str, p: &Progress) -> Value {
    let condition = |kind: &str, on: bool, reason: &str, message: &str| {
        let mut c = super::condition(old, kind, on, reason, message);
        c["lastHeartbeatTime"] = c["lastTransitionTime"].clone();
        c
    };
    let (bound, ready) = match (&p.waiting, &p.bound) {
        (Some((reason, message)), _) => (
            condition("Bound", false, reason, message),
            condition("Ready", false, reason, message),
        ),
        (None, Some(why)) => {
            let message = if why.is_empty() {
                format!("PVC {claim} Pending")
            } else {
                format!("PVC {claim} Pending: {why}")
            };
            (
                condition("Bound", false, "Pending", &message),
                condition("Ready", false, "Pending", &message),
            )
        }
        (None, None) => (
            condition("Bound", true, "Bound", &format!("PVC {claim} Bound")),
            condition("Ready", p.phase == "Succeeded", "", ""),
        ),
    };
    let running = condition("Running", p.running.0, &p.running.1, &p.running.2);
    let mut status = json!({
        "phase": p.phase, "progress": p.progress, "restartCount": p.restarts,
        "conditions": [bound, ready, running],
    });
    if p.waiting.is_none() {
        status["claimName"] = json!(claim);
    }
    status
}
