//! A snapshot controller or snapshot CRDs someone else installed (a backup tool, the cloud's CSI
//! driver): reported with the versions their CRDs serve and store; VMDeck leaves its snapshot pack
//! out and uses what is there (the default fix), never overwriting them.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta};

use super::context::Context;
use super::error::PreflightError;
use super::report::{AutoFix, Check, CheckId, FixAction, Verdict};
use crate::object_key::ObjectKey;

pub const SNAPSHOT_PACK: &str = "volume-snapshot-controller";
const SNAPSHOT_GROUPS: [&str; 2] = ["snapshot.storage.k8s.io", "groupsnapshot.storage.k8s.io"];
const CONTROLLER_IMAGE: &str = "sig-storage/snapshot-controller";
const VOLUME_SNAPSHOTS: &str = "volumesnapshots.snapshot.storage.k8s.io";

fn key(api_version: &str, kind: &str, meta: &ObjectMeta) -> ObjectKey {
    ObjectKey {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: meta.namespace.clone(),
        name: meta.name.clone().unwrap_or_default(),
    }
}

/// `volumesnapshots.snapshot.storage.k8s.io (served v1, stored v1)`.
fn crd_line(crd: &CustomResourceDefinition) -> String {
    let served: Vec<&str> = crd
        .spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.name.as_str())
        .collect();
    let stored: Vec<String> = crd
        .status
        .as_ref()
        .and_then(|s| s.stored_versions.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            crd.spec
                .versions
                .iter()
                .filter(|v| v.storage)
                .map(|v| v.name.clone())
                .collect()
        });
    format!(
        "{} (served {}, stored {})",
        crd.metadata.name.clone().unwrap_or_default(),
        served.join(", "),
        stored.join(", ")
    )
}

fn runs_controller(spec: Option<&PodSpec>) -> Option<String> {
    spec?
        .containers
        .iter()
        .filter_map(|c| c.image.clone())
        .find(|image| image.contains(CONTROLLER_IMAGE))
}

pub(super) async fn check(ctx: &Context<'_>) -> Result<Vec<Check>, PreflightError> {
    if ctx.chosen(SNAPSHOT_PACK).is_none() {
        return Ok(Vec::new());
    }
    let client = ctx.client.clone();
    let crd_api = Api::<CustomResourceDefinition>::all(client.clone());
    let deployment_api = Api::<Deployment>::all(client.clone());
    let statefulset_api = Api::<StatefulSet>::all(client);
    let (crds, deployments, statefulsets) = futures::try_join!(
        ctx.list(&crd_api, "customresourcedefinitions.apiextensions.k8s.io"),
        ctx.list(&deployment_api, "deployments.apps"),
        ctx.list(&statefulset_api, "statefulsets.apps"),
    )?;
    let theirs_crds: Vec<&CustomResourceDefinition> = crds
        .iter()
        .filter(|c| SNAPSHOT_GROUPS.contains(&c.spec.group.as_str()))
        .filter(|c| {
            !ctx.ours(
                &key(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    &c.metadata,
                ),
                &c.metadata,
            )
        })
        .collect();
    let mut controllers = Vec::new();
    for d in &deployments {
        if let Some(image) = runs_controller(d.spec.as_ref().and_then(|s| s.template.spec.as_ref()))
            && !ctx.ours(&key("apps/v1", "Deployment", &d.metadata), &d.metadata)
        {
            let ready = d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            controllers.push(format!(
                "Deployment {}/{} ({image}, {ready}/{wanted} ready)",
                d.metadata.namespace.clone().unwrap_or_default(),
                d.metadata.name.clone().unwrap_or_default()
            ));
        }
    }
    for s in &statefulsets {
        if let Some(image) = runs_controller(s.spec.as_ref().and_then(|s| s.template.spec.as_ref()))
            && !ctx.ours(&key("apps/v1", "StatefulSet", &s.metadata), &s.metadata)
        {
            controllers.push(format!(
                "StatefulSet {}/{} ({image})",
                s.metadata.namespace.clone().unwrap_or_default(),
                s.metadata.name.clone().unwrap_or_default()
            ));
        }
    }
    let mut check = Check {
        id: CheckId::ExistingSnapshotController,
        pack: Some(SNAPSHOT_PACK.into()),
        verdict: Verdict::Pass,
        saw: "no snapshot controller or snapshot CRDs installed by someone else".into(),
        fix: None,
        auto_fix: None,
    };
    if theirs_crds.is_empty() && controllers.is_empty() {
        return Ok(vec![check]);
    }
    let mut parts = Vec::new();
    if !controllers.is_empty() {
        parts.push(format!("snapshot controller {}", controllers.join("; ")));
    } else {
        parts.push("no snapshot controller running".into());
    }
    if !theirs_crds.is_empty() {
        let lines: Vec<String> = theirs_crds.iter().map(|c| crd_line(c)).collect();
        parts.push(format!("their CRDs {}", lines.join("; ")));
    }
    check.saw = format!("installed by someone else: {}", parts.join("; "));
    let volume_snapshots = theirs_crds
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(VOLUME_SNAPSHOTS));
    let serves_v1 =
        volume_snapshots.is_none_or(|c| c.spec.versions.iter().any(|v| v.served && v.name == "v1"));
    check.verdict = if serves_v1 {
        Verdict::Warn
    } else {
        Verdict::Fail
    };
    let mut fix = format!(
        "VMDeck leaves pack {SNAPSHOT_PACK} out and uses what is there (the default); it never overwrites them. \
         To install VMDeck's instead, remove the existing controller and CRDs first."
    );
    if controllers.is_empty() {
        fix.push_str(" No controller runs yet: VolumeSnapshots stay unprocessed until the owner of the CRDs installs one.");
    }
    if !serves_v1 {
        fix.push_str(" Their volumesnapshots CRD does not serve v1, which KubeVirt snapshots need: upgrade it (external-snapshotter 4.1 or newer) first.");
    }
    check.fix = Some(fix);
    check.auto_fix = Some(AutoFix {
        id: "skip_pack".into(),
        summary: format!(
            "leave pack {SNAPSHOT_PACK} out of this install and use the existing snapshot support"
        ),
        cost: None,
        default: true,
        action: FixAction::SkipPack {
            pack: SNAPSHOT_PACK.into(),
        },
    });
    Ok(vec![check])
}
