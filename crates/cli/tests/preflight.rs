//! vmdeckctl preflight against simcluster with the upstream mirror: a table that passes with the
//! admin context (exit 0) but for the missing VolumeSnapshotClass it warns about; with the `viewer` context the permissions check fails (exit non-zero)
//! in both the table and the JSON report, naming the first missing permission.

use simcluster::SimCluster;

mod support;
use support::{init_profile, mirror, text, vmdeckctl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_prints_checks_and_fails_without_permission() {
    let cluster = SimCluster::start(simcluster::Options::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    let profile = init_profile(dir.path(), "vm-dashboard-direct").await;
    let mirror = mirror();
    let preflight = |context: &str, json: bool| {
        let mut args: Vec<String> = [
            "preflight",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--context",
            context,
            "--mirror",
            &mirror,
        ]
        .map(String::from)
        .to_vec();
        if json {
            args.extend(["-o".to_string(), "json".to_string()]);
        }
        vmdeckctl(dir.path(), args)
    };

    let passed = preflight("admin", false).await;
    let table = text(&passed.stdout);
    assert!(passed.status.success(), "{table}{}", text(&passed.stderr));
    let header = table.lines().next().unwrap();
    for column in ["CHECK", "VERDICT", "SAW", "FIX"] {
        assert!(header.contains(column), "{header}");
    }
    let kubevirt = table
        .lines()
        .find(|l| l.starts_with("kubernetes_version (kubevirt) "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(kubevirt.contains(" pass "), "{kubevirt}");
    assert!(table.contains("KVM on 3 of 3 schedulable nodes"), "{table}");
    // The one warning: no VolumeSnapshotClass for the disks' CSI driver, with the fix that makes one.
    let class = table
        .lines()
        .find(|l| l.starts_with("snapshot_class (volume-snapshot-controller) "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(class.contains(" warn "), "{class}");
    assert!(
        table.contains(
            "automatic fix create_snapshot_class for snapshot_class (volume-snapshot-controller): \
             create a VolumeSnapshotClass for hostpath.csi.simcluster.vmdeck.io"
        ),
        "{table}"
    );
    assert!(
        table.contains("Kubernetes v1.34.1: 0 failed, 1 warned,"),
        "{table}"
    );

    let denied = preflight("viewer", false).await;
    let table = text(&denied.stdout);
    assert!(!denied.status.success(), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("permissions"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("fail") && row.contains("not allowed to create namespaces (cluster-wide)"),
        "{row}"
    );
    assert!(table.contains("Kubernetes v1.34.1: 1 failed"), "{table}");

    let denied = preflight("viewer", true).await;
    assert!(!denied.status.success());
    let report: serde_json::Value = serde_json::from_slice(&denied.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&denied.stdout)));
    assert_eq!(report["kubernetes_version"], "v1.34.1");
    let checks = report["checks"].as_array().unwrap();
    let permissions = checks.iter().find(|c| c["id"] == "permissions").unwrap();
    assert_eq!(permissions["verdict"], "fail");
    assert!(
        permissions["saw"].as_str().unwrap().starts_with(
            "not allowed to create namespaces (cluster-wide) (needed for Namespace kubevirt)"
        ),
        "{permissions}"
    );
    assert!(permissions["fix"].as_str().unwrap().contains("`create`"));
    assert!(
        checks
            .iter()
            .filter(|c| c["id"] != "permissions" && c["id"] != "snapshot_class")
            .all(|c| c["verdict"] == "pass"),
        "{report:#}"
    );
    cluster.shutdown().await;
}
