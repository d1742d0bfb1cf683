//! A VolumeSnapshotClass for the CSI driver of the StorageClass VM disks use: without one KubeVirt
//! cannot snapshot a VM. Passes when the cluster has one or the profile creates one; otherwise
//! warns, with the profile change that makes the snapshot pack create it (when VMDeck installs the
//! snapshot CRDs) or the object to apply (when someone else owns them).

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::{DynamicObject, GroupVersionKind};
use serde_json::json;

use super::change::ProfileChange;
use super::context::Context;
use super::error::PreflightError;
use super::report::{AutoFix, Check, CheckId, FixAction, Verdict};
use super::snapshots::SNAPSHOT_PACK;
use super::storage::vm_disk_class;
use crate::object_key::ObjectKey;

const KIND: &str = "VolumeSnapshotClass";
const CLASSES_CRD: &str = "volumesnapshotclasses.snapshot.storage.k8s.io";

fn driver_of(class: &DynamicObject) -> Option<&str> {
    class.data.get("driver").and_then(|d| d.as_str())
}

/// The values that make the snapshot pack create a class for `driver`.
fn create_class_changes(driver: &str, create: bool) -> Vec<ProfileChange> {
    let set = |path: &str, value| ProfileChange::SetValue {
        pack: SNAPSHOT_PACK.into(),
        path: path.into(),
        value,
    };
    let mut changes = Vec::new();
    if !create {
        changes.push(set("snapshotClass.create", json!(true)));
    }
    changes.push(set("snapshotClass.driver", json!(driver)));
    changes
}

/// The command that creates a class for `driver` by hand.
fn by_hand(driver: &str) -> String {
    format!(
        "kubectl apply -f - <<< '{{\"apiVersion\": \"snapshot.storage.k8s.io/v1\", \"kind\": \"{KIND}\", \
         \"metadata\": {{\"name\": \"vmdeck-snapshots\"}}, \"driver\": \"{driver}\", \"deletionPolicy\": \"Delete\"}}'"
    )
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(SNAPSHOT_PACK).is_none() {
        return Ok(Vec::new());
    }
    let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", KIND);
    let crds = Api::<CustomResourceDefinition>::all(ctx.client.clone());
    let storage_api = Api::<StorageClass>::all(ctx.client.clone());
    let (storage_classes, snapshot_classes, classes_crd) = futures::try_join!(
        ctx.list(&storage_api, "storageclasses.storage.k8s.io"),
        ctx.list_custom(&gvk, "volumesnapshotclasses"),
        ctx.get(
            &crds,
            CLASSES_CRD,
            "customresourcedefinitions.apiextensions.k8s.io"
        ),
    )?;
    // Without a default StorageClass there is no driver to match (the storage check says so).
    let Some(disk_class) = vm_disk_class(&storage_classes) else {
        return Ok(Vec::new());
    };
    let disk_class_name = disk_class.metadata.name.clone().unwrap_or_default();
    let driver = disk_class.provisioner.as_str();
    let mut check = Check {
        id: CheckId::SnapshotClass,
        pack: Some(SNAPSHOT_PACK.into()),
        verdict: Verdict::Pass,
        saw: String::new(),
        fix: None,
        auto_fix: None,
    };
    let existing = snapshot_classes
        .iter()
        .flatten()
        .find(|c| driver_of(c) == Some(driver));
    if let Some(existing) = existing {
        check.saw = format!(
            "{KIND} {} serves VM disks on StorageClass {disk_class_name} (driver {driver})",
            existing.metadata.name.clone().unwrap_or_default()
        );
        return Ok(vec![check]);
    }
    let rendered = ctx.rendered_object(SNAPSHOT_PACK, KIND, None);
    let rendered_driver = rendered.and_then(|o| o["driver"].as_str());
    let rendered_name = rendered
        .and_then(|o| o["metadata"]["name"].as_str())
        .unwrap_or_default();
    if rendered_driver == Some(driver) {
        check.saw = format!(
            "the install creates {KIND} {rendered_name} for driver {driver} (StorageClass {disk_class_name})"
        );
        return Ok(vec![check]);
    }
    check.verdict = Verdict::Warn;
    check.saw = match rendered_driver {
        Some(other) => format!(
            "the install creates {KIND} {rendered_name} for driver {other}, but VM disks use StorageClass \
             {disk_class_name} (driver {driver}): VM snapshots would be refused"
        ),
        None => format!(
            "no {KIND} for driver {driver}, the provisioner of StorageClass {disk_class_name} VM disks use: \
             VM snapshots would be refused"
        ),
    };
    // Someone else's snapshot CRDs: the pack is left out, so a profile change cannot help.
    let theirs_crds = classes_crd.as_ref().is_some_and(|crd| {
        let key = ObjectKey {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: None,
            name: CLASSES_CRD.into(),
        };
        !ctx.ours(&key, &crd.metadata)
    });
    if theirs_crds {
        check.fix = Some(format!("Create one: {}", by_hand(driver)));
        return Ok(vec![check]);
    }
    let changes = create_class_changes(driver, rendered_driver.is_some());
    let summary = format!("create a {KIND} for {driver} with pack {SNAPSHOT_PACK}");
    let described: Vec<String> = changes.iter().map(ProfileChange::describe).collect();
    check.fix = Some(format!(
        "Let pack {SNAPSHOT_PACK} create one ({}), or create one yourself: {}",
        described.join(", "),
        by_hand(driver)
    ));
    check.auto_fix = Some(AutoFix {
        id: "create_snapshot_class".into(),
        summary,
        cost: None,
        default: false,
        action: FixAction::Profile { changes },
    });
    Ok(vec![check])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_turns_creation_on_only_when_it_is_off() {
        let off = create_class_changes("b.csi", false);
        assert_eq!(off.len(), 2);
        assert_eq!(
            off[0].describe(),
            "set snapshotClass.create: true on pack volume-snapshot-controller"
        );
        let on = create_class_changes("b.csi", true);
        assert_eq!(
            on.iter().map(ProfileChange::describe).collect::<Vec<_>>(),
            ["set snapshotClass.driver: \"b.csi\" on pack volume-snapshot-controller"]
        );
    }
}
