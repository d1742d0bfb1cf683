//! One inventory row: a VirtualMachine and its VirtualMachineInstance (either may be missing)
//! joined into what a VM list shows, with the actions and consoles that apply to its state.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::actions::PowerAction;

/// Namespace and name: a row's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RowKey {
    pub namespace: String,
    pub name: String,
}

impl RowKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// What the VM list shows for one VM (or a VMI without a VM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmRow {
    pub namespace: String,
    pub name: String,
    /// KubeVirt's `printableStatus` (Running, Stopped, Paused, ...); for a VMI without a VM, its phase.
    pub status: String,
    pub node: Option<String>,
    pub ips: Vec<String>,
    /// `metadata.creationTimestamp` of the VM (else the VMI), RFC 3339; the age is now minus this.
    pub created: Option<String>,
    /// Virtual CPUs from the spec (cores x sockets x threads): the VM's, else its VMI's (where an
    /// instancetype's size shows).
    pub cpus: Option<u64>,
    /// Guest memory from the spec (`memory.guest`, else the memory request), as written; the VM's,
    /// else its VMI's.
    pub memory: Option<String>,
    /// The guest agent's `prettyName` (else `name`), when it reports one.
    pub guest_os: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Power actions that apply now.
    pub actions: Vec<PowerAction>,
    /// VNC and serial consoles can be opened (the VMI runs).
    pub consoles: bool,
    /// Only a VMI exists (no VirtualMachine owns the name): VM actions do not apply.
    pub standalone_vmi: bool,
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

fn has_true_condition(vmi: &Value, kind: &str) -> bool {
    vmi.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == kind && c["status"].as_str() == Some("True"))
        })
}

fn cpus(domain: &Value) -> Option<u64> {
    let cpu = domain.get("cpu")?;
    let part = |name: &str| cpu.get(name).and_then(Value::as_u64);
    let (cores, sockets, threads) = (part("cores"), part("sockets"), part("threads"));
    if cores.is_none() && sockets.is_none() && threads.is_none() {
        return None;
    }
    Some(cores.unwrap_or(1) * sockets.unwrap_or(1) * threads.unwrap_or(1))
}

fn memory(domain: &Value) -> Option<String> {
    str_at(domain, "/memory/guest")
        .or_else(|| str_at(domain, "/resources/requests/memory"))
        .map(str::to_string)
}

fn labels(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn ips(vmi: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for iface in vmi
        .pointer("/status/interfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let listed = iface.get("ipAddresses").and_then(Value::as_array);
        let addresses: Vec<&str> = match listed {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => iface
                .get("ipAddress")
                .and_then(Value::as_str)
                .into_iter()
                .collect(),
        };
        for address in addresses {
            if !out.iter().any(|a| a == address) {
                out.push(address.to_string());
            }
        }
    }
    out
}

/// A VMI still holds a (possibly) running guest: not finished, not being deleted.
fn vmi_active(vmi: &Value) -> bool {
    let phase = str_at(vmi, "/status/phase").unwrap_or("");
    !matches!(phase, "Succeeded" | "Failed") && vmi.pointer("/metadata/deletionTimestamp").is_none()
}

/// Join a VM and its VMI into a row; `None` when both are gone.
pub fn join(vm: Option<&Value>, vmi: Option<&Value>) -> Option<VmRow> {
    let primary = vm.or(vmi)?;
    let namespace = str_at(primary, "/metadata/namespace")
        .unwrap_or("")
        .to_string();
    let name = str_at(primary, "/metadata/name").unwrap_or("").to_string();
    let phase = vmi.and_then(|v| str_at(v, "/status/phase")).unwrap_or("");
    let running = phase == "Running";
    let paused = vmi.is_some_and(|v| has_true_condition(v, "Paused"));
    let active = vmi.is_some_and(vmi_active);
    let status = match vm.and_then(|vm| str_at(vm, "/status/printableStatus")) {
        Some(printable) => printable.to_string(),
        None if paused => "Paused".to_string(),
        None if vm.is_some() && vmi.is_none() => "Stopped".to_string(),
        None if phase.is_empty() => "Unknown".to_string(),
        None => phase.to_string(),
    };
    // The VM's template first; the VMI's domain holds what an instancetype expanded to.
    let domains: Vec<&Value> = [
        vm.and_then(|vm| vm.pointer("/spec/template/spec/domain")),
        vmi.and_then(|v| v.pointer("/spec/domain")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let guest_os = vmi.and_then(|v| {
        str_at(v, "/status/guestOSInfo/prettyName")
            .or_else(|| str_at(v, "/status/guestOSInfo/name"))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    let strategy = vm
        .map(
            |vm| match vm.pointer("/spec/running").and_then(Value::as_bool) {
                Some(true) => "Always",
                Some(false) => "Halted",
                None => str_at(vm, "/spec/runStrategy").unwrap_or("Halted"),
            },
        )
        .unwrap_or("");
    let migratable = vmi.is_some_and(|v| has_true_condition(v, "LiveMigratable"));
    let migrating = vmi.is_some_and(|v| {
        v.pointer("/status/migrationState").is_some_and(|m| {
            m.get("completed") != Some(&Value::Bool(true))
                && m.get("failed") != Some(&Value::Bool(true))
        })
    });
    let mut actions = Vec::new();
    if vm.is_some() {
        if !active && !matches!(strategy, "Always" | "Once" | "WaitAsReceiver") {
            actions.push(PowerAction::Start);
        }
        if active {
            actions.extend([PowerAction::Stop, PowerAction::ForceStop]);
            if strategy != "Halted" {
                actions.extend([PowerAction::Restart, PowerAction::ForceRestart]);
            }
        }
        if running && migratable && !migrating {
            actions.push(PowerAction::Migrate);
        }
    }
    if running && active {
        if paused {
            actions.push(PowerAction::Unpause);
        } else {
            actions.extend([PowerAction::Pause, PowerAction::SoftReboot]);
        }
    }
    Some(VmRow {
        namespace,
        name,
        status,
        node: vmi
            .and_then(|v| str_at(v, "/status/nodeName"))
            .map(str::to_string),
        ips: vmi.map(ips).unwrap_or_default(),
        created: str_at(primary, "/metadata/creationTimestamp").map(str::to_string),
        cpus: domains.iter().find_map(|d| cpus(d)),
        memory: domains.iter().find_map(|d| memory(d)),
        guest_os,
        labels: labels(primary),
        actions,
        consoles: running && active,
        standalone_vmi: vm.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vm(strategy: &str, printable: &str) -> Value {
        json!({"metadata": {"namespace": "dev", "name": "web-01", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "web"}},
            "spec": {"runStrategy": strategy, "template": {"spec": {"domain": {
                "cpu": {"cores": 2, "sockets": 1, "threads": 2}, "memory": {"guest": "2Gi"}}}}},
            "status": {"printableStatus": printable}})
    }

    fn running_vmi(paused: bool) -> Value {
        let mut conditions = vec![
            json!({"type": "Ready", "status": "True"}),
            json!({"type": "LiveMigratable", "status": "True"}),
        ];
        if paused {
            conditions.push(json!({"type": "Paused", "status": "True"}));
        }
        json!({"metadata": {"namespace": "dev", "name": "web-01"},
            "spec": {"domain": {}},
            "status": {"phase": "Running", "nodeName": "node-2", "conditions": conditions,
                "guestOSInfo": {"name": "Fedora Linux", "prettyName": "Fedora Linux 41"},
                "interfaces": [{"ipAddress": "10.0.0.5", "ipAddresses": ["10.0.0.5", "fd00::5"]}, {"name": "b"}]}})
    }

    #[test]
    fn a_running_vm_joins_its_vmi() {
        let row = join(Some(&vm("Always", "Running")), Some(&running_vmi(false))).unwrap();
        assert_eq!(
            (row.namespace.as_str(), row.name.as_str()),
            ("dev", "web-01")
        );
        assert_eq!(row.status, "Running");
        assert_eq!(row.node.as_deref(), Some("node-2"));
        assert_eq!(row.ips, ["10.0.0.5", "fd00::5"]);
        assert_eq!(row.cpus, Some(4));
        assert_eq!(row.memory.as_deref(), Some("2Gi"));
        assert_eq!(row.guest_os.as_deref(), Some("Fedora Linux 41"));
        assert_eq!(row.labels["app"], "web");
        assert_eq!(row.created.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert!(row.consoles);
        assert!(
            !row.actions.contains(&PowerAction::Start),
            "Always cannot be started by hand"
        );
        for wanted in [
            PowerAction::Stop,
            PowerAction::ForceStop,
            PowerAction::Restart,
            PowerAction::Migrate,
            PowerAction::Pause,
            PowerAction::SoftReboot,
        ] {
            assert!(
                row.actions.contains(&wanted),
                "{wanted:?} in {:?}",
                row.actions
            );
        }
    }

    #[test]
    fn actions_follow_the_state() {
        let stopped = join(Some(&vm("Halted", "Stopped")), None).unwrap();
        assert_eq!(stopped.actions, [PowerAction::Start]);
        assert!(!stopped.consoles && stopped.node.is_none() && stopped.ips.is_empty());
        let paused = join(Some(&vm("Manual", "Paused")), Some(&running_vmi(true))).unwrap();
        assert!(paused.actions.contains(&PowerAction::Unpause));
        assert!(!paused.actions.contains(&PowerAction::Pause));
        assert!(!paused.actions.contains(&PowerAction::SoftReboot));
        let lone = join(None, Some(&running_vmi(false))).unwrap();
        assert!(lone.standalone_vmi);
        assert_eq!(lone.status, "Running");
        assert_eq!(lone.actions, [PowerAction::Pause, PowerAction::SoftReboot]);
        assert!(join(None, None).is_none());
    }

    #[test]
    fn an_instancetype_vm_shows_the_size_its_vmi_runs_with() {
        let mut sized_by_instancetype = vm("Always", "Running");
        sized_by_instancetype["spec"]["template"]["spec"]["domain"] = json!({});
        sized_by_instancetype["spec"]["instancetype"] = json!({"name": "vmdeck-small"});
        let mut vmi = running_vmi(false);
        vmi["spec"]["domain"] = json!({"cpu": {"cores": 1, "sockets": 1, "threads": 1},
            "memory": {"guest": "2Gi"}});
        let row = join(Some(&sized_by_instancetype), Some(&vmi)).unwrap();
        assert_eq!((row.cpus, row.memory.as_deref()), (Some(1), Some("2Gi")));
        let stopped = join(Some(&sized_by_instancetype), None).unwrap();
        assert_eq!((stopped.cpus, stopped.memory), (None, None));
    }
}
