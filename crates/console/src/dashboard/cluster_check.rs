//! The draft checked against the cluster: the namespace, instancetype, preference, golden
//! image, PVC, StorageClass (or a default one) and networks exist, the name is free, and the
//! namespace's ResourceQuotas (when the user may read them) leave room. Lookups run at once;
//! every problem comes back together, at its field.

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, ResourceQuota};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::draft::{BootSource, FieldError, VmDraft};
use super::quantity::parse_bytes;
use super::resources;
use crate::kinds::vm_resource;

/// The cluster could not answer (not a problem with the draft).
#[derive(Debug, thiserror::Error)]
pub enum ClusterCheckError {
    #[error("checking the draft against the cluster: {0}")]
    Kube(#[from] kube::Error),
}

/// Present (`Some`), absent or not served (`None`); other failures are errors.
async fn exists(api: Api<DynamicObject>, name: &str) -> Result<Option<DynamicObject>, kube::Error> {
    match api.get_opt(name).await {
        Ok(found) => Ok(found),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(error) => Err(error),
    }
}

fn dynamic(
    client: &kube::Client,
    namespace: Option<&str>,
    resource: &kube::api::ApiResource,
) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

/// The instancetype's guest memory in bytes, when it says.
fn instancetype_memory(instancetype: &DynamicObject) -> Option<u128> {
    let text = instancetype.data.pointer("/spec/memory/guest")?.as_str()?;
    parse_bytes(text).ok().map(|b| b.0)
}

/// The annotations that make a StorageClass the default for a VM's disks (`"true"`): the
/// cluster's default, or KubeVirt's default for VMs.
pub const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.kubevirt.io/is-default-virt-class",
];

fn is_default_class(class: &StorageClass) -> bool {
    class.metadata.annotations.as_ref().is_some_and(|a| {
        DEFAULT_CLASS_ANNOTATIONS
            .iter()
            .any(|key| a.get(*key).is_some_and(|v| v == "true"))
    })
}

/// Every problem the cluster shows with `draft` (run after `check_form` passed).
pub async fn check_cluster(
    client: &kube::Client,
    draft: &VmDraft,
) -> Result<Vec<FieldError>, ClusterCheckError> {
    let ns = draft.namespace.as_str();
    let namespace = async {
        match Api::<Namespace>::all(client.clone()).get_opt(ns).await {
            Ok(found) => Ok(found.is_some()),
            // May not read namespaces: the create will tell.
            Err(kube::Error::Api(status)) if status.code == 403 => Ok(true),
            Err(error) => Err(error),
        }
    };
    let taken = exists(dynamic(client, Some(ns), &vm_resource()), &draft.name);
    let instancetype = async {
        match &draft.instancetype {
            Some(t) => {
                let scope = (!t.cluster_wide).then_some(ns);
                exists(
                    dynamic(client, scope, &resources::instancetype(t.cluster_wide)),
                    &t.name,
                )
                .await
            }
            None => Ok(None),
        }
    };
    let preference = async {
        match &draft.preference {
            Some(p) => {
                let scope = (!p.cluster_wide).then_some(ns);
                exists(
                    dynamic(client, scope, &resources::preference(p.cluster_wide)),
                    &p.name,
                )
                .await
                .map(|found| Some(found.is_some()))
            }
            None => Ok(None),
        }
    };
    let boot = async {
        match &draft.boot_source {
            Some(BootSource::DataSource { namespace, name }) => exists(
                dynamic(client, Some(namespace), &resources::data_source()),
                name,
            )
            .await
            .map(|f| Some(f.is_some())),
            Some(BootSource::Pvc { namespace, name }) => {
                Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace)
                    .get_opt(name)
                    .await
                    .map(|f| Some(f.is_some()))
            }
            _ => Ok(None),
        }
    };
    let classes = async {
        Api::<StorageClass>::all(client.clone())
            .list(&ListParams::default())
            .await
    };
    let networks = futures::future::try_join_all(draft.networks.multus.iter().map(|network| {
        let (namespace, name) = draft.network_ref(network);
        let api = dynamic(
            client,
            Some(&namespace),
            &resources::network_attachment_definition(),
        );
        async move { exists(api, &name).await.map(|f| f.is_some()) }
    }));
    let quotas = async {
        match Api::<ResourceQuota>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await
        {
            Ok(list) => Ok(list.items),
            // Not visible to this user: not checked.
            Err(kube::Error::Api(status)) if status.code == 403 || status.code == 404 => {
                Ok(Vec::new())
            }
            Err(error) => Err(error),
        }
    };
    let (namespace, taken, instancetype, preference, boot, classes, networks, quotas) = futures::try_join!(
        namespace,
        taken,
        instancetype,
        preference,
        boot,
        classes,
        networks,
        quotas
    )?;

    let mut errors = Vec::new();
    if !namespace {
        errors.push(FieldError::new(
            "namespace",
            format!("there is no namespace {ns}"),
            "pick an existing namespace (or create it first)",
        ));
    }
    if taken.is_some() {
        errors.push(FieldError::new(
            "name",
            format!("a VM named {} already exists in {ns}", draft.name),
            "pick another name",
        ));
    }
    if let Some(t) = &draft.instancetype
        && instancetype.is_none()
    {
        let where_ = if t.cluster_wide {
            "cluster-wide".to_string()
        } else {
            format!("in {ns}")
        };
        errors.push(FieldError::new(
            "instancetype",
            format!("there is no instancetype {} {where_}", t.name),
            "pick one the cluster has (the VM Dashboard pack installs vmdeck-small ... vmdeck-xlarge)",
        ));
    }
    if preference == Some(false) {
        let p = draft.preference.as_ref().map_or("", |p| p.name.as_str());
        errors.push(FieldError::new(
            "preference",
            format!("there is no preference {p}"),
            "pick one the cluster has (e.g. vmdeck-linux), or none",
        ));
    }
    if boot == Some(false) {
        let (what, fix) = match &draft.boot_source {
            Some(BootSource::DataSource { namespace, name }) => (
                format!("there is no golden image (DataSource) {namespace}/{name}"),
                "pick an image the cluster has; the VM Dashboard pack publishes fedora, ubuntu and centos-stream in vm-dashboard",
            ),
            Some(BootSource::Pvc { namespace, name }) => (
                format!("there is no PersistentVolumeClaim {namespace}/{name}"),
                "name an existing PVC",
            ),
            _ => (String::new(), ""),
        };
        errors.push(FieldError::new("boot_source.name", what, fix));
    }
    match &draft.storage_class {
        Some(class) if !classes.items.iter().any(|c| c.metadata.name.as_deref() == Some(class)) => {
            errors.push(FieldError::new(
                "storage_class",
                format!("there is no StorageClass {class}"),
                format!(
                    "pick one of: {}",
                    classes.items.iter().filter_map(|c| c.metadata.name.clone()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        None if !classes.items.iter().any(is_default_class) => errors.push(FieldError::new(
            "storage_class",
            "the cluster has no default StorageClass: the disk would never be provisioned",
            "pick a StorageClass, or mark one default (storageclass.kubernetes.io/is-default-class: \"true\")",
        )),
        _ => {}
    }
    for (i, found) in networks.iter().enumerate() {
        if !found {
            let (namespace, name) = draft.network_ref(&draft.networks.multus[i]);
            errors.push(FieldError::new(
                format!("networks.multus[{i}]"),
                format!("there is no NetworkAttachmentDefinition {namespace}/{name}"),
                "pick a network the cluster has (Multus must be installed)",
            ));
        }
    }
    errors.extend(quota_problems(
        draft,
        instancetype.as_ref().and_then(instancetype_memory),
        &quotas,
    ));
    Ok(errors)
}

/// What the namespace's quotas would refuse: storage, PVC count, VM count, memory.
fn quota_problems(
    draft: &VmDraft,
    memory: Option<u128>,
    quotas: &[ResourceQuota],
) -> Vec<FieldError> {
    let disk = parse_bytes(&draft.disk_size).map(|b| b.0).unwrap_or(0);
    let mut errors = Vec::new();
    for quota in quotas {
        let name = quota.metadata.name.as_deref().unwrap_or("");
        let hard = quota
            .spec
            .as_ref()
            .and_then(|s| s.hard.clone())
            .unwrap_or_default();
        let used = quota
            .status
            .as_ref()
            .and_then(|s| s.used.clone())
            .unwrap_or_default();
        let amount = |map: &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
                      key: &str| {
            map.get(key)
                .and_then(|q| parse_bytes(&q.0).ok())
                .map(|b| b.0)
        };
        let mut check = |key: &str, adding: u128, field: &str, what: &str| {
            if let Some(limit) = amount(&hard, key) {
                let in_use = amount(&used, key).unwrap_or(0);
                if in_use + adding > limit {
                    errors.push(FieldError::new(
                        field,
                        format!("the quota {name} allows {key} {limit}, {in_use} in use: {what} does not fit"),
                        "ask for a larger quota, free some, or make this VM smaller",
                    ));
                }
            }
        };
        check("requests.storage", disk, "disk_size", "this disk");
        if let Some(class) = &draft.storage_class {
            check(
                &format!("{class}.storageclass.storage.k8s.io/requests.storage"),
                disk,
                "disk_size",
                "this disk",
            );
        }
        check("persistentvolumeclaims", 1, "disk_size", "another disk");
        check("count/virtualmachines.kubevirt.io", 1, "name", "another VM");
        if let Some(memory) = memory {
            check(
                "requests.memory",
                memory,
                "instancetype",
                "the instancetype's memory",
            );
        }
    }
    errors
}

/// A DataSource is ready to clone from (its Ready condition).
pub fn data_source_ready(data_source: &Value) -> bool {
    data_source
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ResourceQuotaSpec, ResourceQuotaStatus};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    #[test]
    fn quotas_refuse_what_does_not_fit() {
        let quota = |hard: &[(&str, &str)], used: &[(&str, &str)]| {
            let map = |pairs: &[(&str, &str)]| {
                Some(
                    pairs
                        .iter()
                        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                        .collect(),
                )
            };
            ResourceQuota {
                metadata: kube::api::ObjectMeta {
                    name: Some("team".into()),
                    ..Default::default()
                },
                spec: Some(ResourceQuotaSpec {
                    hard: map(hard),
                    ..Default::default()
                }),
                status: Some(ResourceQuotaStatus {
                    hard: map(hard),
                    used: map(used),
                }),
            }
        };
        let draft = VmDraft {
            disk_size: "30Gi".into(),
            ..VmDraft::default()
        };
        let roomy = quota(
            &[("requests.storage", "100Gi")],
            &[("requests.storage", "50Gi")],
        );
        assert!(quota_problems(&draft, None, &[roomy]).is_empty());
        let full = quota(
            &[
                ("requests.storage", "100Gi"),
                ("count/virtualmachines.kubevirt.io", "2"),
                ("requests.memory", "4Gi"),
            ],
            &[
                ("requests.storage", "80Gi"),
                ("count/virtualmachines.kubevirt.io", "2"),
                ("requests.memory", "3Gi"),
            ],
        );
        let errors = quota_problems(&draft, Some(2 << 30), &[full]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["disk_size", "name", "instancetype"], "{errors:#?}");
        assert!(
            errors[0].message.contains("quota team"),
            "{}",
            errors[0].message
        );
    }
}
