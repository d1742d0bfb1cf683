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
    let found = |annotation: &str| classes.iter().find(|c| marked(c, annotation)).map(name);
    let mut check = Check {
        id: CheckId::DefaultStorageClass,
        pack: Some(CDI_PACK.into()),
        verdict: Verdict::Pass,
        saw: String::new(),
        fix: None,
        auto_fix: None,
    };
    if let Some(virt) = found(DEFAULT_VIRT_CLASS) {
        check.saw =
            format!("StorageClass {virt} is the default for VM disks ({DEFAULT_VIRT_CLASS})");
    } else if let Some(default) = found(DEFAULT_CLASS) {
        check.saw = format!("StorageClass {default} is the cluster default");
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
