//! Edit a VM's CPUs, memory (or its instancetype) and run strategy. A stopped VM takes the change
//! at its next start; a running one keeps running as it was and is told a restart is needed
//! (KubeVirt's RestartRequired condition).

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::draft::TypeRef;
use super::quantity::parse_bytes;
use crate::kinds::{vm_resource, vmi_resource};

/// The changes asked for (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VmEdit {
    pub cpus: Option<u32>,
    pub memory: Option<String>,
    pub instancetype: Option<TypeRef>,
    pub run_strategy: Option<String>,
}

/// What the edit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edited {
    pub vm: String,
    /// The VM runs: CPU and memory changes apply after a restart.
    pub restart_needed: bool,
    /// KubeVirt's RestartRequired condition message, when it already says so.
    pub restart_condition: Option<String>,
}

/// Why the edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("there is no VM {0}")]
    NoVm(String),
    #[error("talking to the cluster: {0}")]
    Kube(#[from] kube::Error),
}

const RUN_STRATEGIES: [&str; 6] = [
    "Always",
    "Halted",
    "Manual",
    "RerunOnFailure",
    "Once",
    "WaitAsReceiver",
];

/// The merge patch for `edit` on `vm`, or why not.
pub fn edit_patch(vm: &Value, edit: &VmEdit) -> Result<Value, EditError> {
    let invalid = |field: &str, message: String| EditError::Invalid {
        field: field.into(),
        message,
    };
    let mut spec = serde_json::Map::new();
    let has_instancetype = vm
        .pointer("/spec/instancetype")
        .is_some_and(|t| !t.is_null());
    if let Some(s) = &edit.run_strategy {
        if !RUN_STRATEGIES.contains(&s.as_str()) {
            return Err(invalid(
                "run_strategy",
                format!(
                    "{s:?} is not a run strategy ({})",
                    RUN_STRATEGIES.join(", ")
                ),
            ));
        }
        spec.insert("runStrategy".into(), json!(s));
        spec.insert("running".into(), Value::Null);
    }
    if let Some(t) = &edit.instancetype {
        let kind = if t.cluster_wide {
            "VirtualMachineClusterInstancetype"
        } else {
            "VirtualMachineInstancetype"
        };
        spec.insert(
            "instancetype".into(),
            json!({"kind": kind, "name": t.name, "revisionName": null}),
        );
    }
    if edit.cpus.is_some() || edit.memory.is_some() {
        if has_instancetype && edit.instancetype.is_none() {
            return Err(invalid(
                if edit.cpus.is_some() { "cpus" } else { "memory" },
                "this VM takes its CPUs and memory from its instancetype: pick another instancetype".into(),
            ));
        }
        let mut domain = serde_json::Map::new();
        if let Some(cpus) = edit.cpus {
            if cpus == 0 {
                return Err(invalid("cpus", "at least 1 CPU".into()));
            }
            domain.insert(
                "cpu".into(),
                json!({"sockets": cpus, "cores": 1, "threads": 1}),
            );
        }
        if let Some(memory) = &edit.memory {
            parse_bytes(memory)
                .map_err(|e| invalid("memory", format!("{e}: write a quantity such as 4Gi")))?;
            domain.insert("memory".into(), json!({"guest": memory}));
        }
        spec.insert("template".into(), json!({"spec": {"domain": domain}}));
    }
    if spec.is_empty() {
        return Err(invalid("edit", "nothing to change".into()));
    }
    Ok(json!({"spec": spec}))
}

/// Apply `edit` to the VM `namespace/name`.
pub async fn edit_vm(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    edit: &VmEdit,
) -> Result<Edited, EditError> {
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_resource());
    let vm = vms
        .get_opt(name)
        .await?
        .ok_or_else(|| EditError::NoVm(format!("{namespace}/{name}")))?;
    let patch = edit_patch(&serde_json::to_value(&vm).unwrap_or_default(), edit)?;
    let edited = vms
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let vmis: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vmi_resource());
    let running = vmis.get_opt(name).await?.is_some();
    let resized = edit.cpus.is_some() || edit.memory.is_some() || edit.instancetype.is_some();
    let restart_condition = restart_required(&edited.data);
    Ok(Edited {
        vm: name.to_string(),
        restart_needed: running && resized,
        restart_condition,
    })
}

/// KubeVirt's RestartRequired condition message on a VM (its JSON), when it is set.
pub fn restart_required(vm: &Value) -> Option<String> {
    vm.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == "RestartRequired" && c["status"] == "True")
        .map(|c| {
            c["message"]
                .as_str()
                .unwrap_or("restart required")
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_for_edits() {
        let plain = json!({"spec": {"runStrategy": "Halted"}});
        let typed = json!({"spec": {"instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": "vmdeck-small"}}});
        let cpu = VmEdit {
            cpus: Some(2),
            memory: Some("4Gi".into()),
            ..VmEdit::default()
        };
        assert_eq!(
            edit_patch(&plain, &cpu).unwrap(),
            json!({"spec": {"template": {"spec": {"domain": {"cpu": {"sockets": 2, "cores": 1, "threads": 1}, "memory": {"guest": "4Gi"}}}}}})
        );
        assert!(
            matches!(edit_patch(&typed, &cpu), Err(EditError::Invalid { field, .. }) if field == "cpus")
        );
        let bigger = VmEdit {
            instancetype: Some(TypeRef::cluster("vmdeck-medium")),
            ..VmEdit::default()
        };
        assert_eq!(
            edit_patch(&typed, &bigger).unwrap()["spec"]["instancetype"]["name"],
            "vmdeck-medium"
        );
        let strategy = VmEdit {
            run_strategy: Some("Manual".into()),
            ..VmEdit::default()
        };
        assert_eq!(
            edit_patch(&plain, &strategy).unwrap(),
            json!({"spec": {"runStrategy": "Manual", "running": null}})
        );
        let bad = VmEdit {
            run_strategy: Some("Sometimes".into()),
            ..VmEdit::default()
        };
        assert!(edit_patch(&plain, &bad).is_err());
        let bad_memory = VmEdit {
            memory: Some("4 gigs".into()),
            ..VmEdit::default()
        };
        assert!(
            matches!(edit_patch(&plain, &bad_memory), Err(EditError::Invalid { field, .. }) if field == "memory")
        );
        assert!(edit_patch(&plain, &VmEdit::default()).is_err());
    }
}
