//! Simulated operators and KubeVirt: workloads get pods and become ready, virt-operator and
//! cdi-operator install what the real ones install, virtual machines run and answer power actions.

pub mod cdi_datavolumes;
pub mod cdi_golden_images;
pub mod cdi_operator;
pub mod crd_catalog;
pub mod events;
pub mod feature_gates;
pub mod instancetypes;
pub mod kubevirt_webhooks;
pub mod power;
pub mod requeue;
pub mod seed;
pub mod storage;
pub mod virt_operator;
pub mod vm_clones;
pub mod vm_controller;
pub mod vm_restores;
pub mod vm_snapshots;
pub mod vmi_lifecycle;
pub mod volume_snapshots;
pub mod workloads;

pub use requeue::Requeue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch};

use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, WriteContext};
use crate::resources::{GroupResource, ResourceType};
use crate::status::ApiError;
use crate::store::{Change, ObjectKey, StoredObject};

/// Annotation that keeps a workload from ever becoming ready; its value says why.
pub const FAIL_ANNOTATION: &str = "simcluster.vmdeck.io/fail";
/// VM annotation: the guest runs qemu-guest-agent (guestOSInfo, AgentConnected).
pub const GUEST_AGENT_ANNOTATION: &str = "simcluster.vmdeck.io/guest-agent";

/// How long simulated things take.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// How long a workload, a VMI start or an operator deployment takes.
    pub ready_delay: Duration,
    /// Spread delays between 1x and 3x `ready_delay`, per object (the demo feels real).
    pub jitter: bool,
}

impl Timing {
    /// The delay for one object (stable for a given id).
    pub fn delay(&self, id: &str) -> Duration {
        if !self.jitter || self.ready_delay.is_zero() {
            return self.ready_delay;
        }
        let spread = u64::from(short_hash(id).as_bytes()[0]) % 200;
        self.ready_delay + self.ready_delay.mul_f64(spread as f64 / 100.0)
    }
}

/// What the simulated operators do and what the cluster starts with.
#[derive(Debug, Clone, Default)]
pub struct OperatorSettings {
    pub timing: Timing,
    /// Start with KubeVirt and CDI installed and Deployed.
    pub with_kubevirt: bool,
    /// Start with a snapshot controller installed by someone else (Velero).
    pub with_snapshot_controller: bool,
    /// VMs to seed once KubeVirt's API is served.
    pub vms: usize,
}

/// A resource's group/resource and an object's key: what a controller reconciles.
pub type Key = (GroupResource, ObjectKey);

/// When each thing was first seen in its current state (its delay counts from there).
#[derive(Default)]
pub struct FirstSeen(HashMap<String, Instant>);

impl FirstSeen {
    pub fn elapsed(&mut self, id: &str) -> Duration {
        let now = Instant::now();
        now - *self.0.entry(id.to_string()).or_insert(now)
    }

    pub fn forget_prefix(&mut self, prefix: &str) {
        self.0.retain(|k, _| !k.starts_with(prefix));
    }
}

/// A simulated controller: which changes concern it, how to reconcile one object, what a resync covers.
pub trait Controller: Send + 'static {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key>;
    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue);
    fn all_keys(&self, cluster: &Cluster) -> Vec<Key>;
}

/// Run a controller until shutdown: on relevant changes, on requeues, and every `resync`.
pub async fn drive(
    cluster: Arc<Cluster>,
    mut shutdown: watch::Receiver<bool>,
    resync: Duration,
    mut controller: impl Controller,
) {
    let mut changes = cluster.store().subscribe();
    let requeue = Requeue::queue();
    let mut ticker = tokio::time::interval(resync);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = ticker.tick() => {
                for key in controller.all_keys(&cluster) {
                    controller.reconcile(&cluster, &key, &requeue);
                }
            }
            key = requeue.next_due() => controller.reconcile(&cluster, &key, &requeue),
            received = changes.recv() => match received {
                Ok(change) => {
                    for key in controller.keys_for(&cluster, &change) {
                        controller.reconcile(&cluster, &key, &requeue);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    for key in controller.all_keys(&cluster) {
                        controller.reconcile(&cluster, &key, &requeue);
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

/// Register the simulated webhooks and virt-api handlers and, on a fresh cluster, seed what the
/// settings ask for (synchronously, before any controller runs). Returns the webhooks' handle.
pub fn prepare(
    cluster: &Arc<Cluster>,
    settings: &OperatorSettings,
    fresh: bool,
) -> Result<Arc<kubevirt_webhooks::KubeVirtWebhooks>, ApiError> {
    let webhooks = kubevirt_webhooks::install(cluster);
    vm_restores::install(cluster, webhooks.clone());
    power::install(cluster);
    if fresh {
        seed::settle_workloads(cluster);
        if settings.with_snapshot_controller {
            seed::snapshot_controller(cluster)?;
        }
        if settings.with_kubevirt {
            seed::install_kubevirt(cluster, &webhooks)?;
            if settings.vms > 0 {
                seed::create_vms(cluster, settings.vms)?;
                seed::settle_vms(cluster);
            }
        }
    }
    Ok(webhooks)
}

/// Start every simulated operator and controller (and, when VMs wait for KubeVirt, their seeder).
pub fn spawn(
    cluster: &Arc<Cluster>,
    shutdown: &watch::Receiver<bool>,
    settings: &OperatorSettings,
    webhooks: Arc<kubevirt_webhooks::KubeVirtWebhooks>,
    fresh: bool,
) -> Vec<tokio::task::JoinHandle<()>> {
    let timing = settings.timing;
    let mut tasks = vec![
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(5),
            workloads::WorkloadController::new(timing),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(2),
            virt_operator::VirtOperator::new(webhooks),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(2),
            cdi_operator::CdiOperator,
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(30),
            vm_controller::VmController,
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(30),
            vmi_lifecycle::VmiLifecycle::new(timing),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            storage::VolumeBinder::new(timing),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            cdi_datavolumes::DataVolumeController::new(timing),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(30),
            cdi_golden_images::GoldenImages,
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            volume_snapshots::VolumeSnapshotController::new(timing),
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            vm_snapshots::VmSnapshotController,
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            vm_restores::VmRestoreController,
        )),
        tokio::spawn(drive(
            cluster.clone(),
            shutdown.clone(),
            Duration::from_secs(10),
            vm_clones::VmCloneController,
        )),
    ];
    // Seeds once KubeVirt is served: on a fresh cluster, and on one restarted from a state saved
    // before KubeVirt was installed (the demo's, installed later).
    let kubevirt_served = cluster
        .registry()
        .any_version(&vm_controller::vms())
        .is_some();
    if settings.vms > 0 && !settings.with_kubevirt && (fresh || !kubevirt_served) {
        tasks.push(tokio::spawn(seed::vms_when_served(
            cluster.clone(),
            settings.vms,
            shutdown.clone(),
        )));
    }
    tasks
}

// ----- helpers shared by the simulated controllers -----

/// 10 characters from the alphabet Kubernetes uses for generated names, derived from `input`.
pub fn short_hash(input: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    Sha256::digest(input.as_bytes())
        .iter()
        .take(10)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Every stored object of a group/resource, as controller keys.
pub fn keys_of(cluster: &Cluster, gr: &GroupResource) -> Vec<Key> {
    let (all, _) = cluster.store().list(gr, None);
    all.iter()
        .map(|o| {
            (
                gr.clone(),
                ObjectKey::new(
                    o.meta_str("namespace").unwrap_or(""),
                    o.meta_str("name").unwrap_or(""),
                ),
            )
        })
        .collect()
}

/// The served type of a group/resource, if served.
pub fn served(cluster: &Cluster, group: &str, resource: &str) -> Option<Arc<ResourceType>> {
    cluster
        .registry()
        .any_version(&GroupResource::new(group, resource))
}

pub fn get(
    cluster: &Cluster,
    group: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> Option<Arc<StoredObject>> {
    cluster.store().get(
        &GroupResource::new(group, resource),
        &ObjectKey::new(ns, name),
    )
}

pub fn is_deleting(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

pub fn annotation<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

pub fn label<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object.get("metadata")?.get("labels")?.get(key)?.as_str()
}

pub fn meta<'v>(object: &'v Value, field: &str) -> &'v str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Is `part` contained in `whole` (objects key by key, everything else equal)?
pub fn contained_in(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| contained_in(v, wv))),
        _ => part == whole,
    }
}

/// Equal once condition times are ignored.
pub fn same_status(a: Option<&Value>, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "lastTransitionTime"
                                | "lastUpdateTime"
                                | "lastProbeTime"
                                | "lastHeartbeatTime"
                        )
                    })
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    a.is_some_and(|a| strip(a) == strip(b))
}

/// A condition; keeps the old transition time when the status did not change.
pub fn condition(
    old: Option<&Value>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
) -> Value {
    let status = if status { "True" } else { "False" };
    let previous = old
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == kind));
    let since = previous
        .filter(|p| p["status"] == status)
        .and_then(|p| p.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(crate::objects::now()));
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since})
}

/// An operator CR's status while it is being deleted: phase Deleting, and when some removals
/// failed (`degraded` says which) a Degraded condition in place of the old one.
pub fn deleting_status(old: Option<&Value>, degraded: Option<&str>) -> Value {
    let mut status = old.cloned().unwrap_or(json!({}));
    status["phase"] = json!("Deleting");
    if let Some(failed) = degraded {
        let mut conditions: Vec<Value> = old
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter(|c| c["type"] != "Degraded")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        conditions.push(condition(old, "Degraded", true, WRITE_FAILED, failed));
        status["conditions"] = json!(conditions);
    }
    status
}

/// Create the object, or bring an existing one up to `desired` (merged in) when it differs.
/// `desired` must carry apiVersion, kind and metadata.name (and namespace when namespaced).
pub fn ensure(
    cluster: &Cluster,
    manager: &str,
    desired: Value,
) -> Result<Arc<StoredObject>, ApiError> {
    let api_version = desired["apiVersion"].as_str().unwrap_or_default();
    let kind = desired["kind"].as_str().unwrap_or_default();
    let rt = cluster
        .registry()
        .by_kind(api_version, kind)
        .ok_or_else(|| ApiError::internal(format!("{kind} in {api_version} is not served")))?;
    let ns = if rt.namespaced {
        meta(&desired, "namespace").to_string()
    } else {
        String::new()
    };
    let name = meta(&desired, "name").to_string();
    let gr = rt.group_resource();
    let key = ObjectKey::new(&ns, &name);
    let ctx = WriteContext::system(manager);
    for _ in 0..5 {
        let written = match cluster.store().get(&gr, &key) {
            None => cluster
                .objects
                .create(&rt, Some(&ns), desired.clone(), &ctx),
            Some(current) => {
                let mut wanted = desired.clone();
                if let Some(map) = wanted.as_object_mut() {
                    map.remove("status");
                }
                if contained_in(&wanted, &current.value) {
                    return Ok(current);
                }
                let mut next = current.value.clone();
                json_patch::merge(&mut next, &wanted);
                cluster.objects.update(&rt, &ns, &name, next, None, &ctx)
            }
        };
        match written {
            Ok(outcome) => {
                return match outcome.written {
                    crate::store::Written::Stored(o) => Ok(o),
                    _ => Err(ApiError::internal("object went away")),
                };
            }
            Err(error) if error.code == 409 => continue,
            Err(error) => return Err(error),
        }
    }
    Err(ApiError::internal(format!(
        "{kind} {name}: too many conflicts"
    )))
}

/// Delete an object if it exists (as a controller: no admission hooks); a failure is logged.
pub fn remove(cluster: &Cluster, manager: &str, group: &str, resource: &str, ns: &str, name: &str) {
    let object = crate::controllers::describe(
        &GroupResource::new(group, resource),
        &ObjectKey::new(ns, name),
    );
    crate::controllers::logged(
        manager,
        &object,
        try_remove(cluster, manager, group, resource, ns, name),
    );
}

/// Delete an object if it exists (as a controller: no admission hooks); gone already is fine.
pub fn try_remove(
    cluster: &Cluster,
    manager: &str,
    group: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let Some(rt) = served(cluster, group, resource) else {
        return Ok(());
    };
    crate::controllers::ignore_missing(cluster.objects.delete(
        &rt,
        ns,
        name,
        &DeleteOptions::default(),
        &WriteContext::system(manager),
        None,
    ))
}

/// Write a status computed from the current object when it differs (ignoring condition times);
/// a failure is logged.
pub fn set_status(
    cluster: &Cluster,
    rt: &ResourceType,
    key: &ObjectKey,
    manager: &str,
    status: impl Fn(&Value) -> Value,
) {
    let object = crate::controllers::describe(&rt.group_resource(), key);
    crate::controllers::logged(
        manager,
        &object,
        try_set_status(cluster, rt, key, manager, status),
    );
}

/// Write a status computed from the current object when it differs (ignoring condition times).
pub fn try_set_status(
    cluster: &Cluster,
    rt: &ResourceType,
    key: &ObjectKey,
    manager: &str,
    status: impl Fn(&Value) -> Value,
) -> Result<(), ApiError> {
    crate::controllers::modify(cluster, rt, key, manager, Some("status"), |object| {
        let next = status(object);
        if same_status(object.get("status"), &next) {
            return false;
        }
        object["status"] = next;
        true
    })
}

/// The writes an operator failed in one reconcile. Each is logged as it happens; an operator with
/// a CR reports them in a Degraded condition, so a half-done install or uninstall is never silent.
pub struct Failures {
    manager: &'static str,
    failed: Vec<String>,
}

/// The Degraded reason an operator's CR gets when some of its writes failed.
pub const WRITE_FAILED: &str = "ResourceWriteFailed";

impl Failures {
    pub fn new(manager: &'static str) -> Self {
        Self {
            manager,
            failed: Vec::new(),
        }
    }

    /// Note the outcome of one write about `object`; returns the value when it succeeded.
    pub fn check<T>(&mut self, object: &str, result: Result<T, ApiError>) -> Option<T> {
        if let Err(error) = &result {
            self.failed.push(format!("{object}: {}", error.message));
        }
        crate::controllers::logged(self.manager, object, result)
    }

    /// `ensure` the object, noting a failure.
    pub fn ensure(&mut self, cluster: &Cluster, desired: Value) -> Option<Arc<StoredObject>> {
        let object = format!(
            "{} {}",
            desired["kind"].as_str().unwrap_or("object"),
            meta(&desired, "name")
        );
        self.check(&object, ensure(cluster, self.manager, desired))
    }

    /// `try_remove` the object, noting a failure.
    pub fn remove(&mut self, cluster: &Cluster, group: &str, resource: &str, ns: &str, name: &str) {
        let object = crate::controllers::describe(
            &GroupResource::new(group, resource),
            &ObjectKey::new(ns, name),
        );
        let result = try_remove(cluster, self.manager, group, resource, ns, name);
        self.check(&object, result);
    }

    pub fn is_empty(&self) -> bool {
        self.failed.is_empty()
    }

    /// The Degraded condition's message: every failed write and why.
    pub fn message(&self) -> String {
        format!("Failed to write: {}", self.failed.join("; "))
    }
}

/// An ownerReference naming `owner` as controller.
pub fn owner_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": meta(owner, "name"), "uid": meta(owner, "uid"),
        "controller": true, "blockOwnerDeletion": true,
    })
}

/// The version an operator Deployment deploys: its env var `env`, else its image tag.
/// The image registry an operator Deployment pulls from (its operands come from the same one).
pub fn image_registry(deployment: &Value) -> String {
    deployment
        .pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .and_then(|i| i.rsplit_once('/').map(|(r, _)| r.to_string()))
        .unwrap_or_else(|| "quay.io/kubevirt".into())
}

pub fn operator_version(deployment: &Value, env: &str) -> Option<String> {
    let containers = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)?;
    for container in containers {
        if let Some(found) = container
            .get("env")
            .and_then(Value::as_array)
            .and_then(|e| e.iter().find(|v| v["name"] == env))
            .and_then(|v| v["value"].as_str())
        {
            return Some(found.to_string());
        }
    }
    let image = containers.first()?.get("image")?.as_str()?;
    image.rsplit_once(':').map(|(_, tag)| tag.to_string())
}

/// Is a Deployment Available (and not going away, nor its namespace)?
pub fn deployment_available(cluster: &Cluster, deployment: &Value) -> bool {
    let ns = meta(deployment, "namespace");
    let ns_terminating =
        get(cluster, "", "namespaces", "", ns).is_none_or(|n| is_deleting(&n.value));
    let generation = deployment
        .pointer("/metadata/generation")
        .and_then(Value::as_i64);
    !is_deleting(deployment)
        && !ns_terminating
        && deployment
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            == generation
        && deployment
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Available" && c["status"] == "True")
            })
}
