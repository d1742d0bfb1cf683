//! A default StorageClass for CDI: the one annotated `storageclass.kubevirt.io/is-default-virt-class`,
//! else the cluster default (`storageclass.kubernetes.io/is-default-class`). Without one,
//! DataVolumes wait forever: the install fails until one is marked.

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;

use super::context::{Context, some_of};
use super::error::PreflightError;
use super::report::{Check, CheckId, Verdict};

pub const CDI_PACK: &str = "kubevirt-cdi";
pub const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
pub const DEFAULT_VIRT_CLASS: &str = "storageclass.kubevirt.io/is-default-virt-class";

/// Whether `class` carries `annotation: "true"`.
pub(super) fn marked(class: &StorageClass, annotation: &str) -> bool {
    class
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation))
        .is_some_and(|v| v == "true")
}

/// The StorageClass VM disks land on (the virt default, else the cluster default).
pub(super) fn vm_disk_class(classes: &[StorageClass]) -> Option<&StorageClass> {
    classes
        .iter()
        .find(|c| marked(c, DEFAULT_VIRT_CLASS))
        .or_else(|| classes.iter().find(|c| marked(c, DEFAULT_CLASS)))
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(CDI_PACK).is_none() {
        return Ok(Vec::new());
    }
    let classes = ctx
        .list(
            &Api::<StorageClass>::all(ctx.client.clone()),
            "storageclasses.storage.k8s.io",
        )
        .await?;
    let name = |c: &StorageClass| c.metadata.name.clone().unwrap_or_default();
    let mut check = Check {
        id: CheckId::DefaultStorageClass,
        pack: Some(CDI_PACK.into()),
        verdict: Verdict::Pass,
        saw: String::new(),
        fix: None,
        auto_fix: None,
    };
    if let Some(disks) = vm_disk_class(&classes) {
        check.saw = if marked(disks, DEFAULT_VIRT_CLASS) {
            format!(
                "StorageClass {} is the default for VM disks ({DEFAULT_VIRT_CLASS})",
                name(disks)
            )
        } else {
            format!("StorageClass {} is the cluster default", name(disks))
        };
    } else {
        check.verdict = Verdict::Fail;
        let names: Vec<String> = classes.iter().map(name).collect();
        if names.is_empty() {
            check.saw = "no StorageClass at all: CDI's DataVolumes would wait forever".into();
            check.fix = Some(format!(
                "Install a storage provisioner (a CSI driver, or local-path-provisioner for a lab) and mark its \
                 StorageClass default: kubectl annotate storageclass NAME {DEFAULT_CLASS}=true"
            ));
        } else {
            check.saw = format!(
                "{} StorageClasses ({}) but none is the default: CDI's DataVolumes would wait forever",
                names.len(),
                some_of(&names, 3)
            );
            check.fix = Some(format!(
                "Mark one default: kubectl annotate storageclass {} {DEFAULT_CLASS}=true (or {DEFAULT_VIRT_CLASS}=true for VM disks only)",
                names[0]
            ));
        }
    }
    Ok(vec![check])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn storage_class(name: &str, provisioner: &str, annotation: Option<&str>) -> StorageClass {
        let annotations = annotation.map(|a| json!({a: "true"})).unwrap_or(json!({}));
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations},
            "provisioner": provisioner,
        }))
        .unwrap()
    }

    #[test]
    fn vm_disks_use_the_virt_default_before_the_cluster_default() {
        let classes = [
            storage_class("standard", "a.csi", Some(DEFAULT_CLASS)),
            storage_class("fast", "b.csi", Some(DEFAULT_VIRT_CLASS)),
            storage_class("other", "c.csi", None),
        ];
        assert_eq!(vm_disk_class(&classes).unwrap().provisioner, "b.csi");
        assert_eq!(vm_disk_class(&classes[..1]).unwrap().provisioner, "a.csi");
        assert!(vm_disk_class(&classes[2..]).is_none());
    }
}
