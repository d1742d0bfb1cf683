//! Plans and upgrades on simcluster: a fresh cluster plans every object as a create, an
//! installed one plans nothing to change, a field another manager owns shows as a conflict that
//! needs consent, and a changed profile (KubeVirt v1.8.2 -> v1.8.4, CDI v1.61.0 -> v1.64.0,
//! Multus dropped) is planned and applied as the difference, the dropped pack pruned; going back
//! a version is refused before anything is applied.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use vmdeck_installer::{
    Action, InstallOptions, InventoryStore, PlanOptions, ProgressSink, install, plan,
};
use vmdeck_packs::Profile;

mod support;
use support::{cluster, names, rendered_profile};

fn profile(kubevirt: &str, cdi: &str, multus: bool) -> Profile {
    let multus = if multus {
        "  - {name: multus, version: 4.3.0}\n"
    } else {
        ""
    };
    Profile::from_yaml(&format!(
        "apiVersion: vmdeck.io/v1alpha1\nkind: Profile\nmetadata: {{name: upgrade}}\npacks:\n  \
         - {{name: kubevirt, version: {kubevirt}}}\n  - {{name: kubevirt-cdi, version: {cdi}}}\n{multus}"
    ))
    .unwrap()
}

fn ports(deployment: &Value) -> Vec<Value> {
    let mut ports: Vec<Value> = deployment
        .pointer("/spec/template/spec/containers/0/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.get("containerPort").cloned().unwrap_or(Value::Null))
        .collect();
    ports.sort_by_key(|p| p.to_string());
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_then_upgrades_and_prunes_a_dropped_pack() {
    let (_cluster, client) = cluster().await;
    let (before, before_text) = rendered_profile(&profile("1.8.2", "1.61.0", true), &[]).await;

    // A fresh cluster: everything is a create, CRs of kinds not served yet included.
    let fresh = plan(client.clone(), &before, PlanOptions::default())
        .await
        .unwrap();
    assert!(!fresh.upgrade);
    assert_eq!(fresh.count(Action::Create), before.objects.len());
    let kubevirt_cr = fresh
        .objects
        .iter()
        .find(|o| o.object.kind == "KubeVirt")
        .expect("the KubeVirt CR is planned");
    assert!(
        kubevirt_cr.diff.contains("+kind: KubeVirt"),
        "{}",
        kubevirt_cr.diff
    );
    let counted: usize = fresh.packs.iter().map(|p| p.create).sum();
    assert_eq!(counted, before.objects.len());
    assert_eq!(
        fresh
            .packs
            .iter()
            .map(|p| p.pack.as_str())
            .collect::<Vec<_>>(),
        ["kubevirt", "kubevirt-cdi", "multus"]
    );

    install(
        client.clone(),
        &before,
        before_text,
        InstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .unwrap();

    // Installed: the server-side dry-run of every object agrees with what is live.
    let again = plan(client.clone(), &before, PlanOptions::default())
        .await
        .unwrap();
    assert!(again.upgrade);
    let changed: Vec<String> = again
        .objects
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .map(|o| format!("{} {:?}\n{}", o.object, o.action, o.diff))
        .collect();
    assert_eq!(changed, Vec::<String>::new());

    // Someone else takes over a field of ours: the plan names them and the field.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kubevirt");
    deployments
        .patch(
            "virt-operator",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "virt-operator", "namespace": "kubevirt"},
                "spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let contested = plan(client.clone(), &before, PlanOptions::default())
        .await
        .unwrap();
    let conflicts: Vec<_> = contested.conflicts().collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].object.name, "virt-operator");
    assert_eq!(conflicts[0].conflicts[0].manager, "someone-else");
    assert!(
        conflicts[0].conflicts[0]
            .fields
            .iter()
            .any(|f| f.contains("replicas")),
        "{conflicts:?}"
    );
    assert_eq!(conflicts[0].action, Action::Update);
    assert!(
        conflicts[0].diff.contains("-  replicas: 5"),
        "{}",
        conflicts[0].diff
    );

    // The upgrade: planned as the difference, applied with consent to take the field back.
    let (after, after_text) = rendered_profile(&profile("1.8.4", "1.64.0", false), &[]).await;
    let upgrade = plan(client.clone(), &after, PlanOptions::default())
        .await
        .unwrap();
    let multus = upgrade
        .packs
        .iter()
        .find(|p| p.pack == "multus")
        .expect("the dropped pack is counted");
    let multus_objects = before.objects.iter().filter(|o| o.pack == "multus").count();
    assert_eq!(
        (multus.prune, multus.create, multus.update),
        (multus_objects, 0, 0)
    );
    let operator = upgrade
        .objects
        .iter()
        .find(|o| o.object.name == "virt-operator" && o.object.kind == "Deployment")
        .unwrap();
    assert_eq!(operator.action, Action::Update);
    assert!(operator.diff.contains("v1.8.4"), "{}", operator.diff);

    let report = install(
        client.clone(),
        &after,
        after_text,
        InstallOptions {
            force_conflicts: true,
            ..InstallOptions::default()
        },
        &ProgressSink::discard(),
    )
    .await
    .unwrap();
    assert_eq!(report.pruned, multus_objects);

    let kubevirts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "kubevirt",
        &ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "kubevirt.io",
            "v1",
            "KubeVirt",
        )),
    );
    let cr = serde_json::to_value(kubevirts.get("kubevirt").await.unwrap()).unwrap();
    assert_eq!(
        cr.pointer("/status/observedKubeVirtVersion")
            .and_then(Value::as_str),
        Some("v1.8.4"),
        "{cr}"
    );
    // CDI's operator carries exactly v1.64.0's ports, not a husk of v1.61.0's.
    let cdi: Api<Deployment> = Api::namespaced(client.clone(), "cdi");
    let live_operator = serde_json::to_value(cdi.get("cdi-operator").await.unwrap()).unwrap();
    let rendered_operator = after
        .objects
        .iter()
        .map(|o| serde_json::to_value(&o.object).unwrap())
        .find(|o| {
            o.get("kind") == Some(&json!("Deployment"))
                && o.pointer("/metadata/name") == Some(&json!("cdi-operator"))
        })
        .unwrap();
    assert_eq!(ports(&live_operator), ports(&rendered_operator));
    // Multus is gone: its DaemonSet, its CRD, its inventory entries.
    let daemonsets: Api<DaemonSet> = Api::all(client.clone());
    assert!(
        !names(&daemonsets)
            .await
            .iter()
            .any(|n| n.contains("multus")),
        "{:?}",
        names(&daemonsets).await
    );
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(
        !names(&crds)
            .await
            .contains(&"network-attachment-definitions.k8s.cni.cncf.io".to_string())
    );
    let inventory = InventoryStore::new(client.clone(), Default::default())
        .load()
        .await
        .unwrap()
        .unwrap();
    assert!(inventory.objects.iter().all(|e| e.pack != "multus"));
    assert_eq!(
        inventory
            .packs
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect::<Vec<_>>(),
        ["kubevirt 1.8.4", "kubevirt-cdi 1.64.0"]
    );
    // The upgraded cluster plans nothing more to do.
    let settled = plan(client.clone(), &after, PlanOptions::default())
        .await
        .unwrap();
    assert!(!settled.changes(), "{:?}", settled.packs);

    // Going back is refused before anything is applied.
    let (back, back_text) = rendered_profile(&profile("1.8.2", "1.64.0", false), &[]).await;
    let refused = install(
        client.clone(),
        &back,
        back_text,
        InstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "downgrade", "{refused}");
    let unchanged = InventoryStore::new(client.clone(), Default::default())
        .load()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, inventory);
}
