//! Clone a VM: a VirtualMachineClone where the cluster serves it, else a snapshot restored onto
//! a new VM. Both need snapshots to be possible (the Snapshot gate, a VolumeSnapshotClass).

use kube::api::{Api, DynamicObject, PostParams};
use serde::Serialize;
use serde_json::{Value, json};

use super::resources::{vm_clone, vm_restore};
use super::snapshots::{
    SnapshotError, capability, create_restore, take, wait_for, wait_ready, wait_restore,
};

/// How the clone was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloneMethod {
    VirtualMachineClone,
    FromSnapshot,
}

/// Why the clone failed.
#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("the clone failed: {0}")]
    Failed(String),
    #[error("talking to the cluster: {0}")]
    Kube(#[from] kube::Error),
}

/// Whether `clone.kubevirt.io` VirtualMachineClones are served.
async fn clones_served(api: &Api<DynamicObject>) -> Result<bool, kube::Error> {
    match api.list(&kube::api::ListParams::default().limit(1)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

/// Clone the VM `namespace/source` as `target` and wait until the clone is done.
pub async fn clone_vm(
    client: &kube::Client,
    namespace: &str,
    source: &str,
    target: &str,
) -> Result<CloneMethod, CloneError> {
    if let Some(reason) = capability(client, namespace, source).await?.reason {
        return Err(SnapshotError::NotPossible(reason).into());
    }
    let clones: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_clone());
    if clones_served(&clones).await? {
        let name = format!("{target}-clone");
        let object = json!({
            "apiVersion": "clone.kubevirt.io/v1beta1",
            "kind": "VirtualMachineClone",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": source},
                "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
            },
        });
        clones
            .create(
                &PostParams::default(),
                &serde_json::from_value(object).expect("an object"),
            )
            .await?;
        let phase = |c: &Value| {
            c.pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let done = wait_for(clones, &name, |c| {
            c.is_none_or(|c| matches!(phase(c).as_str(), "Succeeded" | "Failed"))
        })
        .await?;
        return match done {
            Some(c) if phase(&c) == "Succeeded" => Ok(CloneMethod::VirtualMachineClone),
            Some(c) => Err(CloneError::Failed(
                c.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|cs| {
                        cs.iter().find_map(|c| {
                            c["message"]
                                .as_str()
                                .filter(|m| !m.is_empty())
                                .map(String::from)
                        })
                    })
                    .unwrap_or_else(|| "phase Failed".into()),
            )),
            None => Err(CloneError::Failed(
                "the VirtualMachineClone was deleted".into(),
            )),
        };
    }
    let snapshot = format!("{target}-source");
    take(client, namespace, source, &snapshot).await?;
    wait_ready(client, namespace, &snapshot).await?;
    let restores: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &vm_restore());
    let restore = format!("{target}-from-{source}");
    create_restore(&restores, namespace, &restore, target, &snapshot).await?;
    wait_restore(&restores, &restore).await?;
    Ok(CloneMethod::FromSnapshot)
}
