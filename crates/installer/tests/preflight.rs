//! Preflight against simcluster in its shapes: a normal cluster passes both presets but for the
//! VolumeSnapshotClass VM snapshots need, which it warns about and offers (applied, it passes); `--no-kvm`
//! warns and offers `useEmulation: true` (which, applied, passes); `--bare` fails the StorageClass
//! and CNI checks; `--with-snapshot-controller` reports the controller and its CRDs and skips our
//! snapshot pack; the `viewer` context fails naming the first missing permission;
//! `--with-kubevirt` reports KubeVirt and CDI installed by someone else; a pack version whose
//! Kubernetes range the cluster is outside of warns with a version that fits. Nothing is written.
//! After VMDeck's own install (its snapshot class included) everything passes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use simcluster::SimCluster;
use vmdeck_installer::preflight::{
    CheckId, FixAction, PreflightOptions, PreflightReport, ProfileChange, Verdict, preflight,
    without_packs,
};
use vmdeck_packs::{
    Catalog, Profile, ProfileRequest, Rendered, plan_sources, profile_from_preset, render,
};
use vmdeck_sources::{Mirror, SourceStore};

fn upstream() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream")
}

fn profile(preset: &str, versions: &[(&str, &str)], values: &[(&str, &str)]) -> Profile {
    profile_from_preset(
        &Catalog::embedded().unwrap(),
        &ProfileRequest {
            preset: preset.into(),
            versions: versions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            gates: BTreeMap::new(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    )
    .unwrap()
}

/// `profile` rendered from the mirror (the proxied preset's token supplied).
async fn rendered(profile: &Profile) -> Rendered {
    let catalog = Catalog::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SourceStore::new(dir.path().join("lock"))
        .with_mirror(Mirror::parse(upstream().to_str().unwrap()));
    let fetched = store
        .fetch_all(&plan_sources(&catalog, profile).unwrap(), &mut |_| {})
        .await
        .unwrap();
    let secrets: vmdeck_packs::Secrets = BTreeMap::from([(
        "spectro-proxy".to_string(),
        BTreeMap::from([("token".to_string(), "frp-test-token".to_string())]),
    )]);
    render(&catalog, profile, &secrets, &fetched).unwrap()
}

async fn cluster_with(options: simcluster::Options) -> SimCluster {
    SimCluster::start(options).await.unwrap()
}

async fn client(cluster: &SimCluster, context: &str) -> kube::Client {
    kube::Client::try_from(cluster.client_config(context).await).unwrap()
}

async fn run(client: kube::Client, rendered: &Rendered) -> PreflightReport {
    preflight(
        client,
        rendered,
        &Catalog::embedded().unwrap(),
        PreflightOptions::default(),
    )
    .await
    .unwrap()
}

fn only(report: &PreflightReport, id: CheckId) -> &vmdeck_installer::Check {
    let mut found = report.checks_with(id);
    let check = found
        .next()
        .unwrap_or_else(|| panic!("no {id} check: {report:#?}"));
    assert!(found.next().is_none(), "one {id} check");
    check
}

async fn namespaces(client: &kube::Client) -> Vec<String> {
    Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_cluster_passes_both_presets() {
    let cluster = cluster_with(simcluster::Options::default()).await;
    let admin = client(&cluster, "admin").await;
    let before = namespaces(&admin).await;
    // The frp server of the proxied preset: a listener on this machine.
    let frps = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = frps.local_addr().unwrap().port().to_string();
    for (preset, values) in [
        ("vm-dashboard-direct", vec![]),
        (
            "vm-dashboard-proxied",
            vec![
                ("spectro-proxy.server.address", "127.0.0.1"),
                ("spectro-proxy.server.port", port.as_str()),
                ("spectro-proxy.clusterId", "c-42"),
            ],
        ),
    ] {
        let rendered = rendered(&profile(preset, &[], &values)).await;
        let report = run(admin.clone(), &rendered).await;
        // Without the client's endpoint (and before frpc is installed) the proxy access checks
        // can only warn; tests/proxy_preflight.rs covers them.
        let access = [
            CheckId::ProxyCertificate,
            CheckId::ProxyRoute,
            CheckId::ProxyAgent,
        ];
        for check in report
            .checks
            .iter()
            .filter(|c| !access.contains(&c.id) && c.id != CheckId::SnapshotClass)
        {
            assert_eq!(check.verdict, Verdict::Pass, "{preset}: {check:#?}");
        }
        assert!(!report.blocks(), "{report:#?}");
        assert_eq!(report.kubernetes_version, simcluster::KUBERNETES_VERSION);
        assert_eq!(
            report.checks_with(CheckId::KubernetesVersion).count(),
            rendered.packs.len(),
            "one version check per pack"
        );
        let mut ids: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
        ids.dedup();
        let mut expected = vec![
            CheckId::KubernetesVersion,
            CheckId::Permissions,
            CheckId::Kvm,
            CheckId::DefaultStorageClass,
            CheckId::ExistingSnapshotController,
            CheckId::SnapshotClass,
            CheckId::DefaultCni,
            CheckId::ExistingKubevirt,
            CheckId::ExistingCdi,
        ];
        if preset == "vm-dashboard-proxied" {
            expected.push(CheckId::ProxyReachable);
            expected.extend(access);
            assert!(
                only(&report, CheckId::ProxyAgent)
                    .saw
                    .starts_with("not checked yet: frpc is not installed"),
                "{report:#?}"
            );
            let proxy = only(&report, CheckId::ProxyReachable);
            assert!(
                proxy.saw.contains("accepts TCP from this machine"),
                "{}",
                proxy.saw
            );
        }
        assert_eq!(ids, expected, "{preset}");
        assert!(
            only(&report, CheckId::Kvm)
                .saw
                .starts_with("KVM on 3 of 3 schedulable nodes"),
            "{:?}",
            only(&report, CheckId::Kvm)
        );
        assert_eq!(
            only(&report, CheckId::DefaultStorageClass).saw,
            "StorageClass standard is the cluster default"
        );
        assert!(
            only(&report, CheckId::DefaultCni)
                .saw
                .contains("kube-system/kindnet (3/3 ready)")
        );
        assert!(
            only(&report, CheckId::Permissions)
                .saw
                .starts_with("allowed: 6 verbs on ")
        );
    }
    // A preflight writes nothing.
    assert_eq!(namespaces(&admin).await, before);
    cluster.shutdown().await;
}

/// The values that create the VolumeSnapshotClass simcluster's CSI driver needs.
const SNAPSHOT_CLASS: &[(&str, &str)] = &[
    ("volume-snapshot-controller.snapshotClass.create", "true"),
    (
        "volume-snapshot-controller.snapshotClass.driver",
        simcluster::CSI_DRIVER,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_snapshot_class_it_warns_and_offers_one() {
    let cluster = cluster_with(simcluster::Options::default()).await;
    let admin = client(&cluster, "admin").await;
    let mut draft = profile("vm-dashboard-direct", &[], &[]);
    let report = run(admin.clone(), &rendered(&draft).await).await;
    let class = only(&report, CheckId::SnapshotClass);
    assert_eq!(class.verdict, Verdict::Warn, "{class:?}");
    assert_eq!(class.pack.as_deref(), Some("volume-snapshot-controller"));
    assert_eq!(
        class.saw,
        format!(
            "no VolumeSnapshotClass for driver {}, the provisioner of StorageClass standard VM disks \
             use: VM snapshots would be refused",
            simcluster::CSI_DRIVER
        )
    );
    assert!(
        class.fix.as_deref().unwrap().contains("kubectl apply -f -"),
        "{class:?}"
    );
    assert!(!report.blocks(), "a warning does not block");
    let fix = class.auto_fix.as_ref().unwrap();
    assert_eq!(
        (fix.id.as_str(), fix.default),
        ("create_snapshot_class", false)
    );
    let FixAction::Profile { changes } = &fix.action else {
        panic!("a profile change: {fix:?}");
    };
    let set = |path: &str, value: serde_json::Value| ProfileChange::SetValue {
        pack: "volume-snapshot-controller".into(),
        path: path.into(),
        value,
    };
    assert_eq!(
        changes,
        &[
            set("snapshotClass.create", serde_json::json!(true)),
            set(
                "snapshotClass.driver",
                serde_json::json!(simcluster::CSI_DRIVER)
            ),
        ]
    );
    for change in changes {
        change.apply(&mut draft).unwrap();
    }
    vmdeck_packs::validate(&Catalog::embedded().unwrap(), &draft, None).unwrap();
    let report = run(admin.clone(), &rendered(&draft).await).await;
    let class = only(&report, CheckId::SnapshotClass);
    assert_eq!(
        (class.verdict, class.saw.as_str()),
        (
            Verdict::Pass,
            format!(
                "the install creates VolumeSnapshotClass vmdeck-snapshots for driver {} (StorageClass standard)",
                simcluster::CSI_DRIVER
            )
            .as_str()
        )
    );
    assert_eq!(report.verdict(), Verdict::Pass, "{report:#?}");
    // A class for another driver is reported, and the fix names the driver VM disks use.
    let other = profile(
        "vm-dashboard-direct",
        &[],
        &[
            ("volume-snapshot-controller.snapshotClass.create", "true"),
            (
                "volume-snapshot-controller.snapshotClass.driver",
                "ebs.csi.aws.com",
            ),
        ],
    );
    let report = run(admin, &rendered(&other).await).await;
    let class = only(&report, CheckId::SnapshotClass);
    assert_eq!(class.verdict, Verdict::Warn);
    assert!(
        class
            .saw
            .contains("for driver ebs.csi.aws.com, but VM disks use StorageClass standard"),
        "{}",
        class.saw
    );
    let FixAction::Profile { changes } = &class.auto_fix.as_ref().unwrap().action else {
        panic!("a profile change");
    };
    assert_eq!(
        changes,
        &[set(
            "snapshotClass.driver",
            serde_json::json!(simcluster::CSI_DRIVER)
        )]
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_kvm_it_warns_and_offers_emulation() {
    let cluster = cluster_with(simcluster::Options {
        kvm: false,
        ..simcluster::Options::default()
    })
    .await;
    let admin = client(&cluster, "admin").await;
    let mut draft = profile("vm-dashboard-direct", &[], SNAPSHOT_CLASS);
    let report = run(admin.clone(), &rendered(&draft).await).await;
    let kvm = only(&report, CheckId::Kvm);
    assert_eq!(kvm.verdict, Verdict::Warn, "{kvm:?}");
    assert!(
        kvm.saw
            .starts_with("no schedulable node offers KVM: 3 of 3 report no /dev/kvm"),
        "{}",
        kvm.saw
    );
    assert!(
        kvm.fix
            .as_deref()
            .unwrap()
            .contains("set useEmulation: true on pack kubevirt")
    );
    assert!(!report.blocks(), "a warning does not block");
    let fix = kvm.auto_fix.as_ref().unwrap();
    assert_eq!(fix.id, "use_emulation");
    assert!(!fix.default, "emulation is the user's choice");
    assert!(fix.cost.as_deref().unwrap().contains("slower"));
    let FixAction::Profile { changes } = &fix.action else {
        panic!("a profile change: {fix:?}");
    };
    assert_eq!(
        changes,
        &[ProfileChange::SetValue {
            pack: "kubevirt".into(),
            path: "useEmulation".into(),
            value: serde_json::json!(true)
        }]
    );
    // Applied to the draft and rendered again, the check passes.
    for change in changes {
        change.apply(&mut draft).unwrap();
    }
    vmdeck_packs::validate(&Catalog::embedded().unwrap(), &draft, None).unwrap();
    let report = run(admin, &rendered(&draft).await).await;
    let kvm = only(&report, CheckId::Kvm);
    assert_eq!(kvm.verdict, Verdict::Pass, "{kvm:?}");
    assert!(
        kvm.saw.starts_with("software emulation chosen"),
        "{}",
        kvm.saw
    );
    assert_eq!(report.verdict(), Verdict::Pass, "{report:#?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_cluster_fails_storage_and_cni() {
    let cluster = cluster_with(simcluster::Options {
        bare: true,
        ..simcluster::Options::default()
    })
    .await;
    let report = run(
        client(&cluster, "admin").await,
        &rendered(&profile("vm-dashboard-direct", &[], &[])).await,
    )
    .await;
    assert!(report.blocks());
    let storage = only(&report, CheckId::DefaultStorageClass);
    assert_eq!(storage.verdict, Verdict::Fail);
    assert_eq!(storage.pack.as_deref(), Some("kubevirt-cdi"));
    assert!(
        storage.saw.starts_with("no StorageClass at all"),
        "{}",
        storage.saw
    );
    assert!(
        storage.fix.as_deref().unwrap().contains(
            "kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true"
        ),
        "{storage:?}"
    );
    let cni = only(&report, CheckId::DefaultCni);
    assert_eq!(cni.verdict, Verdict::Fail);
    assert_eq!(cni.pack.as_deref(), Some("multus"));
    assert!(cni.saw.starts_with("no default CNI"), "{}", cni.saw);
    assert!(
        cni.fix
            .as_deref()
            .unwrap()
            .contains("install one (Calico, Cilium, Flannel")
    );
    let failed: Vec<CheckId> = report.failures().map(|c| c.id).collect();
    assert_eq!(failed, [CheckId::DefaultStorageClass, CheckId::DefaultCni]);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_snapshot_controller_is_reported_and_used() {
    let cluster = cluster_with(simcluster::Options {
        with_snapshot_controller: true,
        ..simcluster::Options::default()
    })
    .await;
    let rendered = rendered(&profile("vm-dashboard-direct", &[], &[])).await;
    let report = run(client(&cluster, "admin").await, &rendered).await;
    let snapshots = only(&report, CheckId::ExistingSnapshotController);
    assert_eq!(snapshots.verdict, Verdict::Warn, "{snapshots:?}");
    assert!(
        snapshots.saw.contains(
            "snapshot controller Deployment kube-system/snapshot-controller (registry.k8s.io/sig-storage/snapshot-controller:v8.2.0, 2/2 ready)"
        ),
        "{}",
        snapshots.saw
    );
    assert!(
        snapshots
            .saw
            .contains("volumesnapshots.snapshot.storage.k8s.io (served v1, stored v1)"),
        "{}",
        snapshots.saw
    );
    assert!(
        snapshots
            .fix
            .as_deref()
            .unwrap()
            .contains("never overwrites them")
    );
    let fix = snapshots.auto_fix.as_ref().unwrap();
    assert_eq!((fix.id.as_str(), fix.default), ("skip_pack", true));
    // Their class serves the CSI driver of the VM disks' StorageClass.
    let class = only(&report, CheckId::SnapshotClass);
    assert_eq!(class.verdict, Verdict::Pass, "{class:?}");
    assert!(
        class
            .saw
            .starts_with("VolumeSnapshotClass csi-hostpath-snapclass serves VM disks"),
        "{}",
        class.saw
    );
    assert!(!report.blocks());
    // By default the install leaves the pack out: none of its objects is applied.
    let skipped = report.skipped_packs();
    assert_eq!(skipped, ["volume-snapshot-controller"]);
    let kept = without_packs(&rendered, &skipped);
    assert!(
        kept.objects
            .iter()
            .all(|o| o.pack != "volume-snapshot-controller")
    );
    assert!(
        kept.packs
            .iter()
            .all(|p| p.name != "volume-snapshot-controller")
    );
    assert_eq!(kept.packs.len(), rendered.packs.len() - 1);
    assert!(
        kept.objects
            .iter()
            .all(|o| o.kind() != "CustomResourceDefinition"
                || !o.name().contains("snapshot.storage")),
        "their CRDs are never overwritten"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_fails_naming_the_first_missing_permission() {
    let cluster = cluster_with(simcluster::Options::default()).await;
    let rendered = rendered(&profile("vm-dashboard-direct", &[], &[])).await;
    let report = run(client(&cluster, "viewer").await, &rendered).await;
    assert!(report.blocks());
    let permissions = only(&report, CheckId::Permissions);
    assert_eq!(permissions.verdict, Verdict::Fail);
    // The first object the install applies, and the first verb it needs.
    let first = vmdeck_installer::install::desired_objects(&rendered).unwrap()[0]
        .key
        .clone();
    assert_eq!(first.to_string(), "Namespace kubevirt");
    assert!(
        permissions.saw.starts_with(
            "not allowed to create namespaces (cluster-wide) (needed for Namespace kubevirt);"
        ),
        "{}",
        permissions.saw
    );
    assert!(
        permissions
            .fix
            .as_deref()
            .unwrap()
            .contains("`create` on namespaces (cluster-wide)")
    );
    // A viewer reads everything: the other checks still answer.
    let failed: Vec<CheckId> = report.failures().map(|c| c.id).collect();
    assert_eq!(failed, [CheckId::Permissions], "{report:#?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubevirt_and_cdi_installed_by_someone_else_stop_the_install() {
    let cluster = cluster_with(simcluster::Options {
        with_kubevirt: true,
        ..simcluster::Options::default()
    })
    .await;
    let report = run(
        client(&cluster, "admin").await,
        &rendered(&profile("vm-dashboard-direct", &[], &[])).await,
    )
    .await;
    assert!(report.blocks());
    let kubevirt = only(&report, CheckId::ExistingKubevirt);
    assert_eq!(kubevirt.verdict, Verdict::Fail);
    assert!(
        kubevirt.saw.starts_with(
            "KubeVirt is already installed by someone else (not in VMDeck's inventory): KubeVirt kubevirt/kubevirt (Deployed, v1.8.4)"
        ),
        "{}",
        kubevirt.saw
    );
    assert!(
        kubevirt
            .fix
            .as_deref()
            .unwrap()
            .starts_with("VMDeck does not install over another KubeVirt. Adopt it")
    );
    let adopt = kubevirt.auto_fix.as_ref().unwrap();
    assert_eq!(adopt.id, "adopt");
    assert_eq!(
        adopt.action,
        FixAction::Adopt {
            pack: "kubevirt".into()
        }
    );
    let cdi = only(&report, CheckId::ExistingCdi);
    assert_eq!(cdi.verdict, Verdict::Fail);
    assert!(cdi.saw.contains("CDI cdi (Deployed"), "{}", cdi.saw);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_version_outside_the_clusters_range_warns_with_one_that_fits() {
    // simcluster runs Kubernetes 1.34; CDI 1.61.0 was released for 1.29-1.31.
    let cluster = cluster_with(simcluster::Options::default()).await;
    let draft = profile("vm-dashboard-direct", &[("kubevirt-cdi", "1.61.0")], &[]);
    let report = run(client(&cluster, "admin").await, &rendered(&draft).await).await;
    let cdi = report
        .checks_with(CheckId::KubernetesVersion)
        .find(|c| c.pack.as_deref() == Some("kubevirt-cdi"))
        .unwrap();
    assert_eq!(cdi.verdict, Verdict::Warn, "{cdi:?}");
    assert_eq!(
        cdi.saw,
        "Kubernetes 1.34 (v1.34.1) is newer than kubevirt-cdi 1.61.0 was released for (1.29-1.31); upstream has not tested it"
    );
    let fix = cdi.auto_fix.as_ref().unwrap();
    assert_eq!(
        fix.action,
        FixAction::Profile {
            changes: vec![ProfileChange::SetVersion {
                pack: "kubevirt-cdi".into(),
                version: "1.64.0".into()
            }]
        }
    );
    let kubevirt = report
        .checks_with(CheckId::KubernetesVersion)
        .find(|c| c.pack.as_deref() == Some("kubevirt"))
        .unwrap();
    assert_eq!(kubevirt.verdict, Verdict::Pass);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_frp_server_that_refuses_only_warns() {
    let cluster = cluster_with(simcluster::Options::default()).await;
    // A port nothing listens on any more.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let draft = profile(
        "vm-dashboard-proxied",
        &[],
        &[
            ("spectro-proxy.server.address", "127.0.0.1"),
            ("spectro-proxy.server.port", closed.as_str()),
            ("spectro-proxy.clusterId", "c-42"),
        ],
    );
    let report = run(client(&cluster, "admin").await, &rendered(&draft).await).await;
    let proxy = only(&report, CheckId::ProxyReachable);
    assert_eq!(proxy.verdict, Verdict::Warn, "{proxy:?}");
    assert!(
        proxy
            .saw
            .starts_with(&format!("127.0.0.1:{closed} (127.0.0.1) refuses TCP")),
        "{}",
        proxy.saw
    );
    assert!(
        proxy
            .fix
            .as_deref()
            .unwrap()
            .contains("server.address and server.port")
    );
    assert!(!report.blocks(), "warn only: {report:#?}");
    cluster.shutdown().await;
}

/// After VMDeck's own install, what is there is ours: KubeVirt, CDI and the snapshot CRDs pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_vmdeck_installed_is_not_someone_elses() {
    let cluster = cluster_with(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await;
    let admin = client(&cluster, "admin").await;
    let draft = profile("vm-dashboard-direct", &[], SNAPSHOT_CLASS);
    let rendered = rendered(&draft).await;
    vmdeck_installer::install(
        admin.clone(),
        &rendered,
        draft.to_yaml(),
        vmdeck_installer::InstallOptions::default(),
        &vmdeck_installer::ProgressSink::discard(),
    )
    .await
    .unwrap();
    let report = run(admin, &rendered).await;
    assert_eq!(report.verdict(), Verdict::Pass, "{report:#?}");
    assert_eq!(
        only(&report, CheckId::ExistingKubevirt).saw,
        "KubeVirt is installed by VMDeck (in this cluster's inventory)"
    );
    assert_eq!(
        only(&report, CheckId::ExistingCdi).saw,
        "CDI is installed by VMDeck (in this cluster's inventory)"
    );
    assert_eq!(
        only(&report, CheckId::ExistingSnapshotController).saw,
        "no snapshot controller or snapshot CRDs installed by someone else"
    );
    assert!(
        only(&report, CheckId::SnapshotClass).saw.starts_with(
            "VolumeSnapshotClass vmdeck-snapshots serves VM disks on StorageClass standard"
        ),
        "{report:#?}"
    );
    cluster.shutdown().await;
}
