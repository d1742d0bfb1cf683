//! Both presets installed onto simcluster from the upstream files in `../shared/upstream` (the
//! mirror), waited ready, then uninstalled: nothing of ours is left, and what others made
//! (including an object that merely carries our managed-by label) is untouched.

use futures::StreamExt;

mod support;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::{cluster, cluster_with, names, progress, rendered};
use vmdeck_installer::order::Phase;
use vmdeck_installer::{
    INVENTORY_NAME, INVENTORY_NAMESPACE, InstallOptions, InventoryStore, Progress, ProgressSink,
    UninstallOptions, install, uninstall,
};

async fn install_then_uninstall(
    preset: &str,
    values: &[(&str, &str)],
    secrets: &[(&str, &str, &str)],
) {
    let (cluster, client) = cluster().await;
    // Made by someone else beforehand: a namespace of theirs, and a ConfigMap that carries our
    // managed-by label without being in our inventory.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "theirs"}})).unwrap(),
        )
        .await
        .unwrap();
    let theirs: Api<ConfigMap> = Api::namespaced(client.clone(), "theirs");
    theirs
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "lookalike",
                "labels": {"app.kubernetes.io/managed-by": "vmdeck"}}, "data": {"k": "v"}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds_before = names(&crds).await;

    let (rendered, profile) = rendered(preset, values, secrets).await;
    let (sink, reader) = progress();
    let report = install(
        client.clone(),
        &rendered,
        profile,
        InstallOptions::default(),
        &sink,
    )
    .await
    .unwrap_or_else(|e| panic!("{preset}: {e}"));
    drop(sink);
    let seen = reader.await.unwrap();
    assert_eq!(report.applied, rendered.objects.len());
    assert!(
        matches!(seen.first(), Some(Progress::InventoryWritten { .. })),
        "the inventory comes first: {:?}",
        seen.first()
    );
    for pack in &rendered.packs {
        assert!(
            seen.contains(&Progress::PackReady {
                pack: pack.name.clone()
            }),
            "{} ready",
            pack.name
        );
    }
    // What needs another pack (services, workloads, webhooks, custom resources) goes once the
    // packs it depends on are ready, and not before; namespaces, CRDs, access and config go at
    // once; packs that do not depend on each other install at once (KubeVirt's and CDI's
    // operators both roll out).
    let position = |wanted: &dyn Fn(&Progress) -> bool| seen.iter().position(wanted);
    let phase_of = |pack: &str, needing: bool| {
        position(&|e| {
            matches!(e, Progress::PhaseStarted { pack: p, phase, .. }
                if p == pack && needing == dependent_phases().contains(&phase.as_str()))
        })
    };
    let started = |pack: &str| {
        position(&|e| matches!(e, Progress::PhaseStarted { pack: p, .. } if p == pack))
            .unwrap_or_else(|| panic!("{pack} started"))
    };
    let ready = |pack: &str| {
        position(&|e| matches!(e, Progress::PackReady { pack: p } if p == pack)).unwrap()
    };
    for pack in &rendered.packs {
        for dependency in &pack.dependencies {
            if let Some(needing) = phase_of(&pack.name, true) {
                assert!(
                    ready(dependency) < needing,
                    "{} applied what needs {dependency} before it was ready",
                    pack.name
                );
            }
            assert!(ready(dependency) < ready(&pack.name));
            let early = phase_of(&pack.name, false).expect("its namespace goes first");
            assert!(
                early < ready(dependency),
                "{}'s namespace waited for {dependency}",
                pack.name
            );
        }
    }
    assert!(
        started("kubevirt-cdi") < ready("kubevirt") && started("kubevirt") < ready("kubevirt-cdi")
    );
    let inventory = InventoryStore::new(client.clone(), Default::default())
        .load()
        .await
        .unwrap()
        .expect("an inventory");
    assert_eq!(inventory.objects.len(), rendered.objects.len());
    assert!(inventory.objects.iter().all(|e| e.uid.is_some()));
    // The operators answer to KubeVirt and CDI: their own objects exist now.
    let api_services: Api<APIService> = Api::all(client.clone());
    assert!(
        names(&api_services)
            .await
            .contains(&"v1.subresources.kubevirt.io".to_string())
    );

    let (sink, reader) = progress();
    let removed = uninstall(client.clone(), UninstallOptions::default(), &sink)
        .await
        .unwrap_or_else(|e| panic!("{preset} uninstall: {e}"));
    drop(sink);
    reader.await.unwrap();
    assert!(removed.deleted >= rendered.objects.len(), "{removed:?}");
    // Nothing of ours is left: no inventory, no CRD, no APIService or webhook, no namespace.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), INVENTORY_NAMESPACE);
    assert!(config_maps.get_opt(INVENTORY_NAME).await.unwrap().is_none());
    assert_eq!(names(&crds).await, crds_before);
    let ours = |name: &String| name.contains("kubevirt") || name.contains("cdi");
    let left_services: Vec<String> = names(&api_services)
        .await
        .into_iter()
        .filter(ours)
        .collect();
    assert_eq!(left_services, Vec::<String>::new());
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    assert_eq!(names(&validating).await, Vec::<String>::new());
    assert_eq!(names(&mutating).await, Vec::<String>::new());
    let left = names(&namespaces).await;
    for namespace in ["kubevirt", "cdi", INVENTORY_NAMESPACE] {
        assert!(
            !left.contains(&namespace.to_string()),
            "{namespace} left: {left:?}"
        );
    }
    // Theirs is untouched.
    assert!(left.contains(&"theirs".to_string()));
    assert_eq!(
        theirs.get("lookalike").await.unwrap().data.unwrap()["k"],
        "v"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_dashboard_direct_installs_ready_and_uninstalls_clean() {
    install_then_uninstall("vm-dashboard-direct", &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_dashboard_proxied_installs_ready_and_uninstalls_clean() {
    install_then_uninstall(
        "vm-dashboard-proxied",
        &[
            ("spectro-proxy.server.address", "proxy.example.com"),
            ("spectro-proxy.clusterId", "c-42"),
        ],
        &[("spectro-proxy", "token", "frp-test-token")],
    )
    .await;
}

/// With one write in ten refused (500, 429 or a dropped connection), installs still converge:
/// 20 seeds, each its own cluster; every object listed once, and the uid recorded is the live one
/// (nothing was created twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_converge_under_injected_faults() {
    let (rendered, profile) = rendered("vm-dashboard-direct", &[], &[]).await;
    let seeds: Vec<u64> = (1..=20).collect();
    futures::stream::iter(seeds)
        .map(|seed| {
            let (rendered, profile) = (&rendered, profile.clone());
            async move {
                let (cluster, client) = cluster_with(simcluster::Options {
                    fault_rate: 0.1,
                    seed,
                    ..simcluster::Options::default()
                })
                .await;
                install(
                    client.clone(),
                    rendered,
                    profile,
                    InstallOptions::default(),
                    &ProgressSink::discard(),
                )
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                let inventory = InventoryStore::new(client.clone(), Default::default())
                    .load()
                    .await
                    .unwrap()
                    .unwrap();
                let keys: std::collections::BTreeSet<_> =
                    inventory.objects.iter().map(|e| &e.key).collect();
                assert_eq!(
                    keys.len(),
                    inventory.objects.len(),
                    "seed {seed}: listed twice"
                );
                assert_eq!(keys.len(), rendered.objects.len(), "seed {seed}");
                let resources =
                    vmdeck_installer::resources::Resources::new(client.clone(), Default::default());
                for entry in &inventory.objects {
                    let live = resources
                        .api_for(&entry.key)
                        .await
                        .unwrap()
                        .get(&entry.key.name)
                        .await
                        .unwrap_or_else(|e| panic!("seed {seed}: {}: {e}", entry.key));
                    assert_eq!(live.metadata.uid, entry.uid, "seed {seed}: {}", entry.key);
                }
                cluster.shutdown().await;
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn uninstall_without_an_inventory_says_nothing_is_installed() {
    let (cluster, client) = cluster().await;
    let error = uninstall(
        client,
        UninstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "not_installed");
    cluster.shutdown().await;
}

fn dynamic(
    client: &kube::Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
) -> Api<kube::api::DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(group, version, kind)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_runs_then_uninstall_guards_user_data_and_reports_stuck_objects() {
    let (_cluster, client) = cluster().await;
    let (rendered, profile) = rendered("vm-dashboard-direct", &[], &[]).await;
    install(
        client.clone(),
        &rendered,
        profile,
        InstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .unwrap();
    // The installed stack runs a VM.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "workloads"}})).unwrap(),
        )
        .await
        .unwrap();
    let vms = dynamic(&client, "workloads", "kubevirt.io/v1", "VirtualMachine");
    vms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "demo", "namespace": "workloads"},
            "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {"devices": {},
                "resources": {"requests": {"memory": "64Mi"}}}}}}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    vmdeck_test_support::wait_until("the VM runs", async || {
        vms.get("demo").await.ok().and_then(|vm| {
            vm.data
                .pointer("/status/printableStatus")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        }) == Some("Running".to_string())
    })
    .await;
    let volumes = dynamic(
        &client,
        "workloads",
        "cdi.kubevirt.io/v1beta1",
        "DataVolume",
    );
    volumes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                "metadata": {"name": "disk", "namespace": "workloads"},
                "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}))
            .unwrap(),
        )
        .await
        .unwrap();

    // User data blocks the uninstall, named.
    let refused = uninstall(
        client.clone(),
        UninstallOptions::default(),
        &ProgressSink::discard(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "vms_exist");
    assert!(
        refused
            .to_string()
            .contains("2 VirtualMachine(s) or DataVolume(s)"),
        "{refused}"
    );

    // One of our objects gets a finalizer nobody removes: reported with its command, and the
    // inventory stays so a second uninstall can finish.
    let stuck = rendered
        .objects
        .iter()
        .map(|o| serde_json::to_value(&o.object).unwrap())
        .find(|o| o["kind"] == "ConfigMap" && o.pointer("/metadata/namespace").is_some())
        .expect("a ConfigMap of ours");
    let stuck_name = stuck["metadata"]["name"].as_str().unwrap().to_string();
    let stuck_namespace = stuck["metadata"]["namespace"].as_str().unwrap().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &stuck_namespace);
    config_maps
        .patch(
            &stuck_name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"finalizers": ["example.com/stuck"]}})),
        )
        .await
        .unwrap();
    let quick = UninstallOptions {
        remove_vms: true,
        gone_timeout: std::time::Duration::from_secs(2),
        ..UninstallOptions::default()
    };
    let report = uninstall(client.clone(), quick, &ProgressSink::discard())
        .await
        .unwrap();
    assert!(
        vms.list(&Default::default())
            .await
            .map_or(true, |l| l.items.is_empty())
    );
    let left: Vec<String> = report
        .leftovers
        .iter()
        .map(|l| l.object.to_string())
        .collect();
    assert!(
        left.contains(&format!("ConfigMap {stuck_namespace}/{stuck_name}")),
        "{left:?}"
    );
    let leftover = report
        .leftovers
        .iter()
        .find(|l| l.object.name == stuck_name)
        .unwrap();
    assert_eq!(leftover.finalizers, ["example.com/stuck"]);
    assert!(
        leftover.remove_with.starts_with(&format!(
            "kubectl patch configmap {stuck_name} -n {stuck_namespace}"
        )),
        "{}",
        leftover.remove_with
    );
    let store = InventoryStore::new(client.clone(), Default::default());
    assert!(store.load().await.unwrap().is_some(), "the inventory stays");

    // With consent the finalizer goes, and so does everything else.
    let forced = UninstallOptions {
        force_finalizers: true,
        ..quick
    };
    let report = uninstall(client.clone(), forced, &ProgressSink::discard())
        .await
        .unwrap();
    assert_eq!(report.leftovers, Vec::new());
    assert!(config_maps.get_opt(&stuck_name).await.unwrap().is_none());
    assert!(store.load().await.unwrap().is_none());
}

/// The labels of the phases that may need what another pack provides.
fn dependent_phases() -> Vec<&'static str> {
    [
        Phase::Network,
        Phase::Workloads,
        Phase::Hooks,
        Phase::CustomResources,
    ]
    .into_iter()
    .inspect(|phase| assert!(phase.needs_dependencies()))
    .map(Phase::label)
    .collect()
}
