//! Delete a VM, confirmed by its typed name, with its disks or keeping them: kept disks lose the
//! VM's owner reference first, so garbage collection leaves them; removed disks are deleted.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::{Value, json};

use super::resources::data_volume;
use super::snapshots::{disk_claims, wait_for};
use crate::kinds::vm_resource;

/// Why the VM was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error("the name typed ({typed:?}) is not the VM's ({name}): nothing deleted")]
    NameMismatch { name: String, typed: String },
    #[error("there is no VM {0}")]
    NoVm(String),
    #[error("talking to the cluster: {0}")]
    Kube(#[from] kube::Error),
}

/// What was deleted and kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    pub vm: String,
    pub disks_deleted: Vec<String>,
    pub disks_kept: Vec<String>,
}

async fn gone_ok<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

/// Drop owner references to `uid` from an object's metadata.
fn without_owner(object: &Value, uid: &str) -> Value {
    let owners: Vec<Value> = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|o| o.iter().filter(|r| r["uid"] != uid).cloned().collect())
        .unwrap_or_default();
    json!({"metadata": {"ownerReferences": owners}})
}

/// Delete the VM `namespace/name` once `typed` equals its name; `keep_disks` keeps its PVCs.
pub async fn delete_vm(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    typed: &str,
    keep_disks: bool,
) -> Result<Deleted, DeleteError> {
    if typed != name {
        return Err(DeleteError::NameMismatch {
            name: name.to_string(),
            typed: typed.to_string(),
        });
    }
    let vms: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &vm_resource());
    let vm = vms
        .get_opt(name)
        .await?
        .ok_or_else(|| DeleteError::NoVm(format!("{namespace}/{name}")))?;
    let uid = vm.metadata.uid.clone().unwrap_or_default();
    let disks = disk_claims(&serde_json::to_value(&vm).unwrap_or_default());
    let dvs: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &data_volume());
    let pvcs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::erase::<PersistentVolumeClaim>(&()),
    );
    if keep_disks {
        for disk in &disks {
            for api in [&dvs, &pvcs] {
                if let Some(object) = api.get_opt(disk).await.or_else(|e| match e {
                    kube::Error::Api(s) if s.code == 404 => Ok(None),
                    e => Err(e),
                })? {
                    let patch =
                        without_owner(&serde_json::to_value(&object).unwrap_or_default(), &uid);
                    api.patch(disk, &PatchParams::default(), &Patch::Merge(&patch))
                        .await?;
                }
            }
        }
    }
    gone_ok(vms.delete(name, &DeleteParams::background()).await).await?;
    if !keep_disks {
        for disk in &disks {
            gone_ok(dvs.delete(disk, &DeleteParams::background()).await).await?;
            gone_ok(pvcs.delete(disk, &DeleteParams::background()).await).await?;
        }
    }
    wait_for(vms, name, |vm| vm.is_none()).await?;
    let (disks_deleted, disks_kept) = if keep_disks {
        (Vec::new(), disks)
    } else {
        (disks, Vec::new())
    };
    Ok(Deleted {
        vm: name.to_string(),
        disks_deleted,
        disks_kept,
    })
}
