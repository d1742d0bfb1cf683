//! Deployments, DaemonSets and StatefulSets get pods (Deployments through a ReplicaSet) and report
//! ready after the ready delay; a workload annotated `simcluster.vmdeck.io/fail` never does.

use serde_json::{Value, json};

use super::{
    Controller, FAIL_ANNOTATION, FirstSeen, Key, Requeue, Timing, annotation, condition,
    is_deleting, meta, owner_reference, set_status, short_hash,
};
use crate::cluster::Cluster;
use crate::objects::{DeleteOptions, WriteContext, now};
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey, StoredObject};

const MANAGER: &str = "simcluster-workload-controller";

fn gr(resource: &str) -> GroupResource {
    GroupResource::new("apps", resource)
}

fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

/// Makes apps workloads run.
pub struct WorkloadController {
    timing: Timing,
    first_seen: FirstSeen,
}

impl WorkloadController {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Controller for WorkloadController {
    fn keys_for(&mut self, _cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr.group == "apps"
            && matches!(
                change.gr.resource.as_str(),
                "deployments" | "daemonsets" | "statefulsets"
            )
        {
            if change.kind == EventType::Deleted {
                self.first_seen.forget_prefix(change.object.uid());
                return Vec::new();
            }
            return vec![(change.gr.clone(), change.key.clone())];
        }
        // Node changes reach DaemonSets on the next resync (nodes rarely come and go).
        Vec::new()
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue) {
        reconcile(cluster, key, self.timing, &mut self.first_seen, requeue);
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let mut keys = Vec::new();
        for resource in ["deployments", "daemonsets", "statefulsets"] {
            let (all, _) = cluster.store().list(&gr(resource), None);
            keys.extend(all.iter().map(|o| {
                (
                    gr(resource),
                    ObjectKey::new(
                        o.meta_str("namespace").unwrap_or(""),
                        o.meta_str("name").unwrap_or(""),
                    ),
                )
            }));
        }
        keys
    }
}

/// Reconcile one workload. Public so that seeding can settle workloads synchronously.
pub fn reconcile(
    cluster: &Cluster,
    key: &Key,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let (workload_gr, object_key) = key;
    let Some(workload) = cluster.store().get(workload_gr, object_key) else {
        return;
    };
    if is_deleting(&workload.value) {
        return;
    }
    let Some(rt) = cluster.registry().any_version(workload_gr) else {
        return;
    };
    let value = &workload.value;
    let generation = value
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let failure = annotation(value, FAIL_ANNOTATION).map(String::from);
    let kind = workload_gr.resource.as_str();
    // Who owns the pods, and which pods there should be (name, node).
    let (pod_owner, revision) = match kind {
        "deployments" => match ensure_replica_set(cluster, value) {
            Some(rs) => (rs.value.clone(), meta(&rs.value, "name").to_string()),
            None => return,
        },
        _ => {
            let hash = short_hash(
                &value
                    .pointer("/spec/template")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            );
            (value.clone(), format!("{}-{hash}", meta(value, "name")))
        }
    };
    let nodes = schedulable_nodes(cluster, value);
    let wanted: Vec<(Option<String>, Option<String>)> = match kind {
        "daemonsets" => nodes.iter().map(|n| (None, Some(n.clone()))).collect(),
        "statefulsets" => (0..replicas(value))
            .map(|i| (Some(format!("{}-{i}", meta(value, "name"))), None))
            .collect(),
        _ => (0..replicas(value)).map(|_| (None, None)).collect(),
    };
    let desired = wanted.len() as i64;
    let pods = sync_pods(cluster, &pod_owner, &wanted, &nodes, &revision);
    let id = format!("{}/{generation}", workload.uid());
    let delay = timing.delay(workload.uid());
    let due = failure.is_none() && first_seen.elapsed(&id) >= delay;
    if failure.is_none() && !due {
        requeue.after(delay.saturating_sub(first_seen.elapsed(&id)), key.clone());
    }
    // Pods become Running once the delay is over; pods already Running stay so (a restarted
    // controller does not take ready workloads back).
    let mut ready = 0i64;
    for pod in &pods {
        let running = if due {
            mark_running(cluster, pod);
            true
        } else {
            pod.value.pointer("/status/phase") == Some(&json!("Running"))
        };
        if running && failure.is_none() {
            ready += 1;
        }
    }
    if kind == "deployments"
        && let Some(rs_rt) = cluster.registry().any_version(&gr("replicasets"))
    {
        let rs_key = ObjectKey::new(meta(&pod_owner, "namespace"), meta(&pod_owner, "name"));
        set_status(cluster, &rs_rt, &rs_key, MANAGER, |rs| {
            let mut status = json!({"replicas": desired, "fullyLabeledReplicas": desired,
                "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1))});
            if ready > 0 {
                status["readyReplicas"] = json!(ready);
                status["availableReplicas"] = json!(ready);
            }
            status
        });
    }
    let counts = Counts {
        desired,
        ready,
        generation,
        revision: &revision,
        failure: failure.as_deref(),
    };
    set_status(cluster, &rt, object_key, MANAGER, |object| match kind {
        "deployments" => deployment_status(object.get("status"), &counts),
        "daemonsets" => daemon_set_status(object.get("status"), &counts),
        _ => stateful_set_status(object.get("status"), &counts),
    });
}

struct Counts<'a> {
    desired: i64,
    ready: i64,
    generation: i64,
    revision: &'a str,
    failure: Option<&'a str>,
}

fn replicas(workload: &Value) -> usize {
    workload
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as usize
}

/// Ready nodes that match the pod template's nodeSelector.
fn schedulable_nodes(cluster: &Cluster, workload: &Value) -> Vec<String> {
    let selector = workload
        .pointer("/spec/template/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (nodes, _) = cluster.store().list(&GroupResource::new("", "nodes"), None);
    nodes
        .iter()
        .filter(|n| {
            selector
                .iter()
                .all(|(k, v)| n.value.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        .filter_map(|n| n.meta_str("name").map(String::from))
        .collect()
}

/// The Deployment's current ReplicaSet (created if missing); older ones are deleted.
fn ensure_replica_set(
    cluster: &Cluster,
    deployment: &Value,
) -> Option<std::sync::Arc<StoredObject>> {
    let rs_rt = cluster.registry().any_version(&gr("replicasets"))?;
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let hash = short_hash(&template.to_string());
    let ns = meta(deployment, "namespace");
    let name = format!("{}-{hash}", meta(deployment, "name"));
    for (dep_gr, dep_key) in cluster.store().dependents_of(meta(deployment, "uid")) {
        if dep_gr == gr("replicasets") && dep_key.name != name {
            crate::controllers::logged(
                MANAGER,
                &crate::controllers::describe(&dep_gr, &dep_key),
                crate::controllers::ignore_missing(cluster.objects.delete(
                    &rs_rt,
                    &dep_key.namespace,
                    &dep_key.name,
                    &DeleteOptions::default(),
                    &WriteContext::system(MANAGER),
                    None,
                )),
            );
        }
    }
    let key = ObjectKey::new(ns, &name);
    if let Some(existing) = cluster.store().get(&gr("replicasets"), &key) {
        if existing.value.pointer("/spec/replicas") == Some(&json!(replicas(deployment))) {
            return Some(existing);
        }
        crate::controllers::logged(
            MANAGER,
            &crate::controllers::describe(&gr("replicasets"), &key),
            crate::controllers::modify(cluster, &rs_rt, &key, MANAGER, None, |rs| {
                rs["spec"]["replicas"] = json!(replicas(deployment));
                true
            }),
        );
        return cluster.store().get(&gr("replicasets"), &key);
    }
    let mut labels = template
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    labels["pod-template-hash"] = json!(hash);
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"] = labels.clone();
    let mut selector = deployment
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or(json!({}));
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
            "annotations": {"deployment.kubernetes.io/desired-replicas": replicas(deployment).to_string(),
                "deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [owner_reference(deployment)]},
        "spec": {"replicas": replicas(deployment), "selector": selector, "template": rs_template},
    });
    match cluster
        .objects
        .create(&rs_rt, Some(ns), rs, &WriteContext::system(MANAGER))
    {
        Ok(outcome) => match outcome.written {
            crate::store::Written::Stored(o) => Some(o),
            _ => None,
        },
        Err(_) => cluster.store().get(&gr("replicasets"), &key),
    }
}

/// Make the owner's pods match `wanted` (fixed name or node per pod); returns the pods that remain.
fn sync_pods(
    cluster: &Cluster,
    owner: &Value,
    wanted: &[(Option<String>, Option<String>)],
    nodes: &[String],
    revision: &str,
) -> Vec<std::sync::Arc<StoredObject>> {
    let Some(pod_rt) = cluster.registry().any_version(&pods()) else {
        return Vec::new();
    };
    let existing: Vec<std::sync::Arc<StoredObject>> = cluster
        .store()
        .dependents_of(meta(owner, "uid"))
        .into_iter()
        .filter(|(g, _)| *g == pods())
        .filter_map(|(g, k)| cluster.store().get(&g, &k))
        .filter(|p| !is_deleting(&p.value))
        .collect();
    // Pods of an older template revision are replaced.
    let (current, outdated): (Vec<_>, Vec<_>) = existing.into_iter().partition(|p| {
        super::label(&p.value, "controller-revision-hash").is_none_or(|r| r == revision)
    });
    let mut existing = current;
    existing.sort_by(|a, b| a.meta_str("name").cmp(&b.meta_str("name")));
    let mut kept = Vec::new();
    let mut missing = Vec::new();
    for (name, node) in wanted {
        let found = existing.iter().position(|p| match (name, node) {
            (Some(n), _) => p.meta_str("name") == Some(n),
            (None, Some(node)) => {
                p.value.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node)
            }
            (None, None) => true,
        });
        match found {
            Some(i) => kept.push(existing.remove(i)),
            None => missing.push((name.clone(), node.clone())),
        }
    }
    for extra in existing.into_iter().chain(outdated) {
        crate::controllers::logged(
            MANAGER,
            &format!("pods {}", extra.meta_str("name").unwrap_or("")),
            crate::controllers::ignore_missing(cluster.objects.delete(
                &pod_rt,
                extra.meta_str("namespace").unwrap_or(""),
                extra.meta_str("name").unwrap_or(""),
                &DeleteOptions::default(),
                &WriteContext::system(MANAGER),
                None,
            )),
        );
    }
    let ns = meta(owner, "namespace");
    for (i, (name, node)) in missing.into_iter().enumerate() {
        let node = node
            .or_else(|| (!nodes.is_empty()).then(|| nodes[(kept.len() + i) % nodes.len()].clone()));
        let mut pod = new_pod(owner, name, node);
        if owner["kind"] != "ReplicaSet" {
            pod["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
        }
        if let Ok(outcome) =
            cluster
                .objects
                .create(&pod_rt, Some(ns), pod, &WriteContext::system(MANAGER))
            && let crate::store::Written::Stored(o) = outcome.written
        {
            kept.push(o);
        }
    }
    kept
}

fn new_pod(owner: &Value, name: Option<String>, node: Option<String>) -> Value {
    let template = owner
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let mut metadata = template.get("metadata").cloned().unwrap_or(json!({}));
    if let Some(map) = metadata.as_object_mut() {
        map.remove("name");
        map.remove("creationTimestamp");
    }
    match name {
        Some(n) => metadata["name"] = json!(n),
        None => metadata["generateName"] = json!(format!("{}-", meta(owner, "name"))),
    }
    metadata["namespace"] = json!(meta(owner, "namespace"));
    metadata["ownerReferences"] = json!([owner_reference(owner)]);
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    if let Some(node) = &node {
        spec["nodeName"] = json!(node);
    }
    let waiting: Vec<Value> = spec["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| json!({"name": c["name"], "image": c["image"], "ready": false, "restartCount": 0, "started": false,
                    "state": {"waiting": {"reason": "ContainerCreating"}}}))
                .collect()
        })
        .unwrap_or_default();
    let now = now();
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
        "status": {"phase": "Pending", "qosClass": "BestEffort",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}],
            "containerStatuses": waiting},
    })
}

fn mark_running(cluster: &Cluster, pod: &StoredObject) {
    if pod.value.pointer("/status/phase") == Some(&json!("Running")) {
        return;
    }
    let Some(rt) = cluster.registry().any_version(&pods()) else {
        return;
    };
    let key = ObjectKey::new(
        pod.meta_str("namespace").unwrap_or(""),
        pod.meta_str("name").unwrap_or(""),
    );
    crate::controllers::logged(
        MANAGER,
        &crate::controllers::describe(&gr("pods"), &key),
        crate::controllers::modify(cluster, &rt, &key, MANAGER, Some("status"), |pod| {
            let now = now();
            let node_index = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .and_then(|n| n.rsplit('-').next()?.parse::<u32>().ok())
                .unwrap_or(1);
            let host = format!("172.18.0.{}", node_index + 1);
            let pod_ip = format!(
                "10.244.{}.{}",
                node_index - 1,
                2 + u32::from(short_hash(meta(pod, "uid")).as_bytes()[0]) % 250
            );
            let containers: Vec<Value> = pod["spec"]["containers"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "restartCount": 0, "started": true,
                        "containerID": format!("containerd://{}", short_hash(&format!("{}{}", meta(pod, "uid"), c["name"]))),
                        "state": {"running": {"startedAt": now}}}))
                    .collect()
            })
            .unwrap_or_default();
            let condition = |kind: &str| json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
            pod["status"] = json!({
                "phase": "Running", "hostIP": host, "hostIPs": [{"ip": host}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                "startTime": now, "qosClass": "BestEffort",
                "conditions": [condition("Initialized"), condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
                "containerStatuses": containers,
            });
            true
        }),
    );
}

fn deployment_status(old: Option<&Value>, c: &Counts) -> Value {
    let complete = c.ready >= c.desired;
    let rs = c.revision;
    let (available, available_reason, available_message) = if complete && c.failure.is_none() {
        (
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".to_string(),
        )
    } else {
        let why = c.failure.map(|f| format!(" {f}")).unwrap_or_default();
        (
            false,
            "MinimumReplicasUnavailable",
            format!("Deployment does not have minimum availability.{why}"),
        )
    };
    let (progressing, reason, message) = match c.failure {
        Some(f) => (
            false,
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs}\" has timed out progressing: {f}"),
        ),
        None if complete => (
            true,
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs}\" has successfully progressed."),
        ),
        None => (
            true,
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs}\" is progressing."),
        ),
    };
    let with_update = |mut cond: Value| {
        cond["lastUpdateTime"] = cond["lastTransitionTime"].clone();
        cond
    };
    let mut status = json!({
        "observedGeneration": c.generation, "replicas": c.desired, "updatedReplicas": c.desired,
        "conditions": [
            with_update(condition(old, "Available", available, available_reason, &available_message)),
            with_update(condition(old, "Progressing", progressing, reason, &message)),
        ],
    });
    if c.ready > 0 {
        status["readyReplicas"] = json!(c.ready);
        status["availableReplicas"] = json!(c.ready);
    }
    if c.desired > c.ready {
        status["unavailableReplicas"] = json!(c.desired - c.ready);
    }
    status
}

fn failure_conditions(old: Option<&Value>, c: &Counts) -> Option<Value> {
    c.failure
        .map(|f| json!([condition(old, "Ready", false, "SimulatedFailure", f)]))
}

fn daemon_set_status(old: Option<&Value>, c: &Counts) -> Value {
    let mut status = json!({
        "currentNumberScheduled": c.desired, "desiredNumberScheduled": c.desired, "numberMisscheduled": 0,
        "numberReady": c.ready, "updatedNumberScheduled": c.desired, "observedGeneration": c.generation,
    });
    if c.ready > 0 {
        status["numberAvailable"] = json!(c.ready);
    }
    if c.desired > c.ready {
        status["numberUnavailable"] = json!(c.desired - c.ready);
    }
    if let Some(conditions) = failure_conditions(old, c) {
        status["conditions"] = conditions;
    }
    status
}

fn stateful_set_status(old: Option<&Value>, c: &Counts) -> Value {
    let mut status = json!({
        "replicas": c.desired, "currentReplicas": c.desired, "updatedReplicas": c.desired,
        "currentRevision": c.revision, "updateRevision": c.revision, "observedGeneration": c.generation,
        "collisionCount": 0, "availableReplicas": c.ready,
    });
    if c.ready > 0 {
        status["readyReplicas"] = json!(c.ready);
    }
    if let Some(conditions) = failure_conditions(old, c) {
        status["conditions"] = conditions;
    }
    status
}
