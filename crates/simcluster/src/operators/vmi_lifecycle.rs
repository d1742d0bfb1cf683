//! VMIs, simulated virt-controller + virt-handler: Pending -> Scheduling -> Scheduled -> Running
//! over the ready delay on a node labelled `kubevirt.io/schedulable=true`, with interfaces, IPs
//! and (with the guest agent) guestOSInfo; stopping VMIs finish; migrations move VMIs between nodes.

use serde_json::{Value, json};

use super::virt_operator::SCHEDULABLE_LABEL;
use super::vm_controller::{VMI_FINALIZER, vmi_phase, vmis};
use super::{
    Controller, FirstSeen, GUEST_AGENT_ANNOTATION, Key, Requeue, Timing, annotation, is_deleting,
    label, meta, set_status, short_hash,
};
use crate::admission::remove_finalizer;
use crate::cluster::Cluster;
use crate::controllers::modify;
use crate::objects::now;
use crate::resources::GroupResource;
use crate::store::{Change, EventType, ObjectKey};

const MANAGER: &str = "virt-handler";

pub fn migrations() -> GroupResource {
    GroupResource::new("kubevirt.io", "virtualmachineinstancemigrations")
}

/// Moves VMIs and migrations through their phases.
pub struct VmiLifecycle {
    timing: Timing,
    first_seen: FirstSeen,
}

impl VmiLifecycle {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            first_seen: FirstSeen::default(),
        }
    }
}

impl Controller for VmiLifecycle {
    fn keys_for(&mut self, cluster: &Cluster, change: &Change) -> Vec<Key> {
        if change.gr == GroupResource::new("", "nodes") {
            // A node became schedulable (or stopped being): waiting VMIs may move on.
            return self.all_keys(cluster);
        }
        if change.gr != vmis() && change.gr != migrations() {
            return Vec::new();
        }
        if change.kind == EventType::Deleted {
            self.first_seen.forget_prefix(change.object.uid());
            return Vec::new();
        }
        vec![(change.gr.clone(), change.key.clone())]
    }

    fn reconcile(&mut self, cluster: &Cluster, key: &Key, requeue: &Requeue) {
        if key.0 == migrations() {
            reconcile_migration(cluster, &key.1, self.timing, &mut self.first_seen, requeue);
        } else {
            reconcile(cluster, &key.1, self.timing, &mut self.first_seen, requeue);
        }
    }

    fn all_keys(&self, cluster: &Cluster) -> Vec<Key> {
        let mut keys = Vec::new();
        for gr in [vmis(), migrations()] {
            let (all, _) = cluster.store().list(&gr, None);
            keys.extend(
                all.iter()
                    .filter(|o| vmi_phase(&o.value) != "Running" || is_deleting(&o.value))
                    .map(|o| {
                        (
                            gr.clone(),
                            ObjectKey::new(
                                o.meta_str("namespace").unwrap_or(""),
                                o.meta_str("name").unwrap_or(""),
                            ),
                        )
                    }),
            );
        }
        keys
    }
}

const PHASES: &[&str] = &["Pending", "Scheduling", "Scheduled", "Running"];

/// Nodes a VMI may run on (schedulable and matching its nodeSelector), sorted.
fn candidate_nodes(cluster: &Cluster, vmi: &Value) -> Vec<String> {
    let selector = vmi
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (nodes, _) = cluster.store().list(&GroupResource::new("", "nodes"), None);
    nodes
        .iter()
        .filter(|n| label(&n.value, SCHEDULABLE_LABEL) == Some("true"))
        .filter(|n| {
            selector
                .iter()
                .all(|(k, v)| n.value.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        .map(|n| meta(&n.value, "name").to_string())
        .collect()
}

fn node_number(node: &str) -> u32 {
    node.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Reconcile one VMI. Public so that seeding can settle VMIs synchronously.
pub fn reconcile(
    cluster: &Cluster,
    key: &ObjectKey,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let Some(vmi) = cluster.store().get(&vmis(), key) else {
        return;
    };
    let Some(rt) = cluster.registry().any_version(&vmis()) else {
        return;
    };
    let uid = vmi.uid().to_string();
    let delay = timing.delay(&uid);
    let requeue_key = (vmis(), key.clone());
    if is_deleting(&vmi.value) {
        let elapsed = first_seen.elapsed(&format!("{uid}/stop"));
        if elapsed >= delay / 2 {
            crate::controllers::logged(
                MANAGER,
                &crate::controllers::describe(&vmis(), key),
                modify(cluster, &rt, key, MANAGER, None, |v| {
                    remove_finalizer(v, VMI_FINALIZER)
                }),
            );
        } else {
            requeue.after(delay / 2 - elapsed, requeue_key);
        }
        return;
    }
    let current = vmi_phase(&vmi.value);
    let Some(current_index) = PHASES
        .iter()
        .position(|p| *p == current)
        .or(current.is_empty().then_some(0))
    else {
        return; // Succeeded, Failed: nothing more happens
    };
    if current == "Running" {
        return;
    }
    let elapsed = first_seen.elapsed(&uid);
    let step = if delay.is_zero() {
        3
    } else {
        ((elapsed.as_secs_f64() / delay.as_secs_f64()) * 3.0)
            .floor()
            .min(3.0) as usize
    };
    let nodes = candidate_nodes(cluster, &vmi.value);
    let target = if nodes.is_empty() { step.min(1) } else { step };
    if target < 3 && !delay.is_zero() {
        let next = delay.mul_f64((target + 1) as f64 / 3.0);
        requeue.after(next.saturating_sub(elapsed), requeue_key.clone());
    }
    if target <= current_index && !(nodes.is_empty() && target == 1) {
        return;
    }
    let node = (!nodes.is_empty())
        .then(|| nodes[usize::from(short_hash(&uid).as_bytes()[1]) % nodes.len()].clone());
    let launcher = launcher_image(cluster);
    set_status(cluster, &rt, key, MANAGER, |vmi| {
        let old = vmi.get("status");
        let mut status = old.cloned().unwrap_or(json!({}));
        let phase = PHASES[target];
        if status["phase"] != json!(phase) {
            let mut stamps = status["phaseTransitionTimestamps"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            stamps.push(json!({"phase": phase, "phaseTransitionTimestamp": now()}));
            status["phaseTransitionTimestamps"] = json!(stamps);
        }
        status["phase"] = json!(phase);
        status["guestOSInfo"] = json!({});
        status["qosClass"] = json!("Burstable");
        status["launcherContainerImageVersion"] = json!(launcher);
        match (phase, &node) {
            ("Scheduling", None) => {
                let total = cluster
                    .store()
                    .list(&GroupResource::new("", "nodes"), None)
                    .0
                    .len();
                status["conditions"] = json!([super::condition(
                    old,
                    "PodScheduled",
                    false,
                    "Unschedulable",
                    &format!(
                        "0/{total} nodes are available: {total} node(s) didn't match Pod's node affinity/selector."
                    )
                )]);
            }
            ("Pending" | "Scheduling", _) => {
                status["conditions"] = json!([]);
            }
            (_, Some(node)) => {
                status["nodeName"] = json!(node);
                status["conditions"] = json!([super::condition(
                    old,
                    "Ready",
                    false,
                    "PodNotReady",
                    "virt-launcher pod is not ready"
                )]);
                if phase == "Running" {
                    running_status(vmi, &mut status, node);
                }
            }
            _ => {}
        }
        status
    });
}

/// virt-launcher's image of the deployed KubeVirt.
fn launcher_image(cluster: &Cluster) -> String {
    let (kvs, _) = cluster
        .store()
        .list(&GroupResource::new("kubevirt.io", "kubevirts"), None);
    let status = kvs
        .first()
        .and_then(|kv| kv.value.get("status").cloned())
        .unwrap_or_default();
    format!(
        "{}/virt-launcher:{}",
        status["targetKubeVirtRegistry"]
            .as_str()
            .unwrap_or("quay.io/kubevirt"),
        status["targetKubeVirtVersion"].as_str().unwrap_or("v1.8.4")
    )
}

/// What a guest reports, by its boot disk image.
fn guest_os(vmi: &Value) -> Value {
    let image = vmi
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find_map(|v| v.pointer("/containerDisk/image").and_then(Value::as_str))
        })
        .unwrap_or("fedora")
        .to_lowercase();
    if image.contains("ubuntu") {
        json!({"id": "ubuntu", "name": "Ubuntu", "prettyName": "Ubuntu 24.04.2 LTS", "version": "24.04.2 LTS (Noble Numbat)",
            "versionId": "24.04", "kernelRelease": "6.8.0-60-generic", "kernelVersion": "#63-Ubuntu SMP PREEMPT_DYNAMIC", "machine": "x86_64"})
    } else if image.contains("win") {
        json!({"id": "mswindows", "name": "Microsoft Windows", "prettyName": "Windows 11 Enterprise", "version": "10.0",
            "versionId": "11", "kernelRelease": "22631", "kernelVersion": "10.0", "machine": "x86_64"})
    } else {
        json!({"id": "fedora", "name": "Fedora Linux", "prettyName": "Fedora Linux 41 (Cloud Edition)", "version": "41 (Cloud Edition)",
            "versionId": "41", "kernelRelease": "6.11.4-301.fc41.x86_64", "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"})
    }
}

fn running_status(vmi: &Value, status: &mut Value, node: &str) {
    let uid = meta(vmi, "uid");
    let old = vmi.get("status");
    let agent = annotation(vmi, GUEST_AGENT_ANNOTATION) == Some("true");
    let hash = short_hash(uid);
    let bytes = hash.as_bytes();
    let ip = format!(
        "10.244.{}.{}",
        node_number(node) - 1,
        10 + u32::from(bytes[2]) % 240
    );
    let mac = format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]
    );
    let names: Vec<String> = vmi
        .pointer("/spec/domain/devices/interfaces")
        .and_then(Value::as_array)
        .map(|is| {
            is.iter()
                .filter_map(|i| i["name"].as_str().map(String::from))
                .collect()
        })
        .filter(|n: &Vec<String>| !n.is_empty())
        .unwrap_or_else(|| vec!["default".into()]);
    let interfaces: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut iface = json!({"name": name, "mac": mac, "queueCount": 1, "podInterfaceName": if i == 0 { "eth0".to_string() } else { format!("pod{i}") },
                "infoSource": if agent { "domain, guest-agent" } else { "domain" }});
            if i == 0 {
                iface["ipAddress"] = json!(ip);
                iface["ipAddresses"] = json!([ip]);
            }
            if agent {
                iface["interfaceName"] = json!(format!("eth{i}"));
            }
            iface
        })
        .collect();
    status["interfaces"] = json!(interfaces);
    let mut conditions = vec![
        super::condition(old, "Ready", true, "", ""),
        super::condition(old, "LiveMigratable", true, "", ""),
    ];
    if agent {
        conditions.push(super::condition(old, "AgentConnected", true, "", ""));
        status["guestOSInfo"] = guest_os(vmi);
    }
    for c in &mut conditions {
        c["lastProbeTime"] = Value::Null;
    }
    status["conditions"] = json!(conditions);
    status["activePods"] = json!({uuid_like(uid): node});
    status["migrationMethod"] = json!("BlockMigration");
    status["migrationTransport"] = json!("Unix");
    status["runtimeUser"] = json!(107);
    status["selinuxContext"] = json!("none");
    status["machine"] = json!({"type": "pc-q35-rhel9.6.0"});
    let cpu = |field: &str| {
        vmi.pointer(&format!("/spec/domain/cpu/{field}"))
            .cloned()
            .unwrap_or(json!(1))
    };
    status["currentCPUTopology"] =
        json!({"cores": cpu("cores"), "sockets": cpu("sockets"), "threads": cpu("threads")});
    let memory = vmi
        .pointer("/spec/domain/memory/guest")
        .or_else(|| vmi.pointer("/spec/domain/resources/requests/memory"))
        .cloned()
        .unwrap_or(json!("1Gi"));
    status["memory"] =
        json!({"guestAtBoot": memory, "guestCurrent": memory, "guestRequested": memory});
    let volumes: Vec<Value> = vmi
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .enumerate()
                .map(|(i, v)| json!({"name": v["name"], "target": format!("vd{}", (b'a' + i as u8) as char)}))
                .collect()
        })
        .unwrap_or_default();
    status["volumeStatus"] = json!(volumes);
}

fn uuid_like(seed: &str) -> String {
    let h = short_hash(&format!("pod-{seed}"));
    format!("{h}-pod")
}

/// Migrations: Scheduling at once, Succeeded after the ready delay with the VMI on another node.
pub fn reconcile_migration(
    cluster: &Cluster,
    key: &ObjectKey,
    timing: Timing,
    first_seen: &mut FirstSeen,
    requeue: &Requeue,
) {
    let Some(migration) = cluster.store().get(&migrations(), key) else {
        return;
    };
    let Some(rt) = cluster.registry().any_version(&migrations()) else {
        return;
    };
    let phase = migration
        .value
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") || is_deleting(&migration.value) {
        return;
    }
    let vmi_name = migration
        .value
        .pointer("/spec/vmiName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let vmi_key = ObjectKey::new(&key.namespace, vmi_name);
    let vmi = cluster.store().get(&vmis(), &vmi_key);
    let Some(vmi_rt) = cluster.registry().any_version(&vmis()) else {
        return;
    };
    let source = vmi.as_ref().and_then(|v| {
        v.value
            .pointer("/status/nodeName")
            .and_then(Value::as_str)
            .map(String::from)
    });
    let target = vmi.as_ref().and_then(|v| {
        candidate_nodes(cluster, &v.value)
            .into_iter()
            .find(|n| Some(n) != source.as_ref())
    });
    let uid = migration.uid().to_string();
    let (Some(source), Some(target), Some(_)) = (
        source,
        target,
        vmi.as_ref().filter(|v| vmi_phase(&v.value) == "Running"),
    ) else {
        set_status(
            cluster,
            &rt,
            key,
            MANAGER,
            |_| json!({"phase": "Failed", "phaseTransitionTimestamps": [{"phase": "Failed", "phaseTransitionTimestamp": now()}]}),
        );
        return;
    };
    let delay = timing.delay(&uid);
    let elapsed = first_seen.elapsed(&uid);
    let done = elapsed >= delay;
    if !done {
        requeue.after(delay - elapsed, (migrations(), key.clone()));
    }
    let state = json!({"migrationUid": uid, "sourceNode": source, "targetNode": target, "mode": "PreCopy",
        "startTimestamp": now(), "completed": done, "targetNodeAddress": format!("172.18.0.{}", node_number(&target) + 1)});
    set_status(cluster, &vmi_rt, &vmi_key, MANAGER, |vmi| {
        let mut status = vmi.get("status").cloned().unwrap_or(json!({}));
        let previous = status.get("migrationState").cloned();
        let mut state = state.clone();
        if let Some(start) = previous
            .as_ref()
            .and_then(|p| p.get("startTimestamp"))
            .filter(|_| {
                previous
                    .as_ref()
                    .is_some_and(|p| p["migrationUid"] == json!(uid))
            })
        {
            state["startTimestamp"] = start.clone();
        }
        if done {
            state["endTimestamp"] = json!(now());
            status["nodeName"] = json!(target);
        }
        status["migrationState"] = state;
        status
    });
    set_status(cluster, &rt, key, MANAGER, |m| {
        let mut status = m.get("status").cloned().unwrap_or(json!({}));
        let phase = if done { "Succeeded" } else { "Running" };
        if status["phase"] != json!(phase) {
            let mut stamps = status["phaseTransitionTimestamps"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            stamps.push(json!({"phase": phase, "phaseTransitionTimestamp": now()}));
            status["phaseTransitionTimestamps"] = json!(stamps);
        }
        status["phase"] = json!(phase);
        status
    });
}
