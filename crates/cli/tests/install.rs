//! vmdeckctl install / status / uninstall against simcluster with the upstream mirror: refusal
//! without --yes off a terminal, bad targets named, the install ready, uninstall clean.

use simcluster::SimCluster;

mod support;
use support::{args, init_profile, mirror, text, vmdeckctl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_status_uninstall_through_the_cli() {
    let cluster = SimCluster::start(simcluster::Options {
        ready_delay: std::time::Duration::from_millis(50),
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    let profile = init_profile(dir.path(), "vm-dashboard-direct").await;
    let mirror = mirror();

    // Not a terminal and no --yes: refused, nothing applied.
    let refused = vmdeckctl(
        dir.path(),
        args(&[
            "install",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror,
        ]),
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("add --yes"),
        "{}",
        text(&refused.stderr)
    );
    let status = vmdeckctl(dir.path(), args(&["status", "--kubeconfig", &kubeconfig])).await;
    assert!(text(&status.stdout).contains("nothing of VMDeck is installed"));

    // An unknown context is named.
    let unknown = vmdeckctl(
        dir.path(),
        args(&[
            "install",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "nope",
            "--mirror",
            &mirror,
            "--yes",
        ]),
    )
    .await;
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("context nope"),
        "{}",
        text(&unknown.stderr)
    );

    // The plan before: every object a create, the KubeVirt CR's diff from nothing.
    let planned = vmdeckctl(
        dir.path(),
        args(&[
            "plan",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror,
            "-o",
            "json",
        ]),
    )
    .await;
    assert!(planned.status.success(), "{}", text(&planned.stderr));
    let planned: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let objects = planned["objects"].as_array().unwrap();
    assert!(objects.len() > 50, "{}", objects.len());
    assert!(objects.iter().all(|o| o["action"] == "create"));
    let diff = vmdeckctl(
        dir.path(),
        args(&[
            "plan",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror,
            "-o",
            "diff",
        ]),
    )
    .await;
    let diff = text(&diff.stdout);
    assert!(
        diff.contains("# create KubeVirt kubevirt/kubevirt (kubevirt)"),
        "{diff}"
    );
    assert!(diff.contains("+kind: KubeVirt"));

    let installed = vmdeckctl(
        dir.path(),
        args(&[
            "install",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror,
            "--yes",
        ]),
    )
    .await;
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    let stderr = text(&installed.stderr);
    assert!(stderr.contains("kubevirt: ready"), "{stderr}");
    let stdout = text(&installed.stdout);
    assert!(
        stdout.contains("PACK "),
        "the plan's counts come first: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("installed "),
        "{stdout}"
    );

    // Installed: planning again finds nothing to change.
    let settled = vmdeckctl(
        dir.path(),
        args(&[
            "plan",
            &profile,
            "--kubeconfig",
            &kubeconfig,
            "--mirror",
            &mirror,
        ]),
    )
    .await;
    assert!(
        text(&settled.stdout).contains("nothing to change"),
        "{}",
        text(&settled.stdout)
    );

    let status = vmdeckctl(
        dir.path(),
        args(&["status", "--kubeconfig", &kubeconfig, "-o", "json"]),
    )
    .await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["installed"], true);
    let packs: Vec<&str> = status["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        packs.contains(&"kubevirt") && packs.contains(&"vm-dashboard"),
        "{packs:?}"
    );
    for pack in status["packs"].as_array().unwrap() {
        assert_eq!(pack["healthy"], true, "{pack}");
    }

    // HostDisk on, live: the plan shows one object changing, one line of it; status shows it.
    let gates = vmdeckctl(
        dir.path(),
        args(&[
            "gates",
            "set",
            "--kubeconfig",
            &kubeconfig,
            "--gate",
            "HostDisk=on",
            "--mirror",
            &mirror,
            "--yes",
        ]),
    )
    .await;
    let stdout = text(&gates.stdout);
    assert!(gates.status.success(), "{stdout}\n{}", text(&gates.stderr));
    let changed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        changed,
        ["# Update KubeVirt kubevirt/kubevirt (kubevirt)"],
        "{stdout}"
    );
    let edits: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(edits, ["+      - HostDisk"], "{stdout}");
    assert!(
        stdout.contains("kubevirt: gates now ") && stdout.contains("HostDisk"),
        "{stdout}"
    );
    let status = vmdeckctl(
        dir.path(),
        args(&["status", "--kubeconfig", &kubeconfig, "-o", "json"]),
    )
    .await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let kubevirt = status["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kubevirt")
        .unwrap();
    assert!(
        kubevirt["gates"]["enabled"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("HostDisk")),
        "{kubevirt}"
    );
    assert_eq!(kubevirt["healthy"], true, "{kubevirt}");

    // Another manager takes the gate list (as HCO would): VMDeck says so and changes nothing.
    let client = kube::Client::try_from(cluster.client_config("admin").await).unwrap();
    let kubevirts: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client,
        "kubevirt",
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "kubevirt.io",
            "v1",
            "KubeVirt",
        )),
    );
    kubevirts
        .patch(
            "kubevirt",
            &kube::api::PatchParams::apply("hyperconverged-cluster-operator").force(),
            &kube::api::Patch::Apply(serde_json::json!({
                "apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
                "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
                "spec": {"configuration": {"developerConfiguration": {"featureGates": ["Snapshot"]}}}})),
        )
        .await
        .unwrap();
    let fought = vmdeckctl(
        dir.path(),
        args(&[
            "gates",
            "set",
            "--kubeconfig",
            &kubeconfig,
            "--gate",
            "HostDisk=off",
            "--mirror",
            &mirror,
            "--yes",
        ]),
    )
    .await;
    let stderr = text(&fought.stderr);
    assert!(!fought.status.success());
    assert!(
        stderr.contains("gates_owned_elsewhere")
            && stderr.contains("hyperconverged-cluster-operator"),
        "{stderr}"
    );

    let removed = vmdeckctl(
        dir.path(),
        args(&["uninstall", "--kubeconfig", &kubeconfig, "--yes"]),
    )
    .await;
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(text(&removed.stdout).starts_with("uninstalled "));
    let status = vmdeckctl(dir.path(), args(&["status", "--kubeconfig", &kubeconfig])).await;
    assert!(text(&status.stdout).contains("nothing of VMDeck is installed"));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_preflight_stops_the_install_before_anything_is_applied() {
    let cluster = SimCluster::start(simcluster::Options {
        bare: true,
        ..simcluster::Options::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    let profile = init_profile(dir.path(), "vm-dashboard-direct").await;
    let mirror = mirror();
    for context in ["admin", "viewer"] {
        let refused = vmdeckctl(
            dir.path(),
            args(&[
                "install",
                &profile,
                "--kubeconfig",
                &kubeconfig,
                "--context",
                context,
                "--mirror",
                &mirror,
                "--yes",
            ]),
        )
        .await;
        let stderr = text(&refused.stderr);
        assert!(!refused.status.success(), "{context}: {stderr}");
        assert!(
            stderr.contains("preflight failed") && stderr.contains("nothing was applied"),
            "{context}: {stderr}"
        );
        let stdout = text(&refused.stdout);
        let expected = if context == "viewer" {
            "not allowed to"
        } else {
            "StorageClass"
        };
        assert!(stdout.contains(expected), "{context}: {stdout}");
    }
    let status = vmdeckctl(dir.path(), args(&["status", "--kubeconfig", &kubeconfig])).await;
    assert!(text(&status.stdout).contains("nothing of VMDeck is installed"));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_profile_onto_two_saved_clusters_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut clusters = Vec::new();
    let mut names = Vec::new();
    for n in 0..2 {
        let cluster = SimCluster::start(simcluster::Options {
            ready_delay: std::time::Duration::from_millis(50),
            ..simcluster::Options::default()
        })
        .await
        .unwrap();
        let kubeconfig = dir.path().join(format!("kubeconfig-{n}"));
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let name = format!("multi-{n}-{}", std::process::id());
        let added = vmdeckctl(
            dir.path(),
            args(&[
                "clusters",
                "add",
                "--from",
                &kubeconfig.display().to_string(),
                "--context",
                "admin",
                "--name",
                &name,
            ]),
        )
        .await;
        assert!(added.status.success(), "{}", text(&added.stderr));
        clusters.push(cluster);
        names.push(name);
    }
    let profile = init_profile(dir.path(), "vm-dashboard-direct").await;
    let installed = vmdeckctl(
        dir.path(),
        args(&[
            "install",
            &profile,
            "--cluster",
            &names[0],
            "--cluster",
            &names[1],
            "--mirror",
            &mirror(),
            "--yes",
        ]),
    )
    .await;
    let stdout = text(&installed.stdout);
    assert!(
        installed.status.success(),
        "{stdout}\n{}",
        text(&installed.stderr)
    );
    // One summary row per cluster; progress lines carry the cluster's name.
    for name in &names {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("cluster {name}")) && l.contains("installed")),
            "{stdout}"
        );
        assert!(
            text(&installed.stderr).contains(&format!("[cluster {name}] kubevirt: ready")),
            "{}",
            text(&installed.stderr)
        );
        let status = vmdeckctl(
            dir.path(),
            args(&["status", "--cluster", name, "-o", "json"]),
        )
        .await;
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert!(
            status["packs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["healthy"] == true),
            "{status}"
        );
    }
    for name in &names {
        vmdeckctl(dir.path(), args(&["clusters", "remove", name])).await;
    }
    for cluster in clusters {
        cluster.shutdown().await;
    }
}
