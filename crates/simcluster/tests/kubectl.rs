//! kubectl 1.33 and 1.27, unchanged, against simcluster: discovery, applies of every upstream
//! manifest, waits, round trips, labels, patches, namespace deletion, watches and auth.

mod support;

use support::Kubectl;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

async fn acceptance(minor: u32) {
    let cluster = support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let k = Kubectl::new(minor, &kubeconfig);

    let version = k.ok(&["version"]).await;
    let server_line = version
        .lines()
        .find(|l| l.starts_with("Server Version"))
        .unwrap_or_default();
    assert!(server_line.contains("v1.34.1"), "{version}");

    let resources = k.ok(&["api-resources"]).await;
    for expected in [
        "deployments",
        "customresourcedefinitions",
        "selfsubjectaccessreviews",
        "priorityclasses",
    ] {
        assert!(
            resources.contains(expected),
            "api-resources lacks {expected}:\n{resources}"
        );
    }

    let nodes = k.ok(&["get", "nodes"]).await;
    assert_eq!(nodes.matches(" Ready ").count(), 3, "{nodes}");

    assert!(
        k.ok(&["create", "ns", "scratch"])
            .await
            .contains("namespace/scratch created")
    );

    // Every upstream manifest: files that define CRDs and controllers first, then the custom resources.
    let (resources_first, custom_resources): (Vec<PathBuf>, Vec<PathBuf>) =
        support::upstream_manifests()
            .into_iter()
            .partition(|p| !p.to_string_lossy().ends_with("-cr.yaml"));
    for file in resources_first.iter().chain(&custom_resources) {
        let out = k
            .ok(&["apply", "--server-side", "-f", file.to_str().unwrap()])
            .await;
        assert!(
            out.contains("serverside-applied"),
            "{}: {out}",
            file.display()
        );
    }
    let established = k
        .ok(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=30s",
        ])
        .await;
    let mut crds: Vec<String> = resources_first
        .iter()
        .flat_map(|f| support::documents(&std::fs::read_to_string(f).unwrap()))
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    crds.sort();
    crds.dedup();
    assert!(crds.len() >= 8);
    for crd in &crds {
        assert!(
            established.contains(&format!(
                "customresourcedefinition.apiextensions.k8s.io/{crd} condition met"
            )),
            "{crd}: {established}"
        );
    }
    let kv = k
        .ok(&[
            "get",
            "kubevirts.kubevirt.io",
            "-n",
            "kubevirt",
            "kubevirt",
            "-o",
            "jsonpath={.spec.configuration.developerConfiguration.featureGates}",
        ])
        .await;
    assert!(
        kv.contains('[') || kv.is_empty(),
        "custom resource readable: {kv}"
    );

    // get -o yaml round-trips through replace; replaying the same (now stale) file conflicts.
    let yaml = k
        .ok(&[
            "get",
            "deployment",
            "-n",
            "kubevirt",
            "virt-operator",
            "-o",
            "yaml",
        ])
        .await;
    let file = dir.path().join("virt-operator.yaml");
    std::fs::write(&file, &yaml).unwrap();
    k.ok(&["replace", "-f", file.to_str().unwrap()]).await;
    let again = k
        .ok(&[
            "get",
            "deployment",
            "-n",
            "kubevirt",
            "virt-operator",
            "-o",
            "yaml",
        ])
        .await;
    let strip = |y: &str| {
        y.lines()
            .filter(|l| !l.contains("resourceVersion") && !l.contains("time:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&yaml),
        strip(&again),
        "an unchanged replace keeps the object"
    );
    k.ok(&[
        "label",
        "deployment",
        "-n",
        "kubevirt",
        "virt-operator",
        "touched=yes",
    ])
    .await;
    std::fs::write(&file, yaml.replace("replicas: 2", "replicas: 3")).unwrap();
    let (ok, _, stderr) = k.run(&["replace", "-f", file.to_str().unwrap()]).await;
    assert!(
        !ok && stderr.contains("the object has been modified"),
        "a stale replace conflicts: {stderr}"
    );

    // label and merge patch.
    k.ok(&["label", "ns", "scratch", "team=vm"]).await;
    assert!(
        k.ok(&["get", "ns", "scratch", "--show-labels"])
            .await
            .contains("team=vm")
    );
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "scratch",
        "--from-literal=mode=slow",
    ])
    .await;
    k.ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "scratch",
        "--type=merge",
        "-p",
        r#"{"data":{"mode":"fast"}}"#,
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.data.mode}"
        ])
        .await,
        "fast"
    );

    // Client-side apply with default flags (kubectl computes a strategic merge patch).
    let deployment = |image: &str, env: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: scratch\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        env:\n{env}"
        )
    };
    let manifest = dir.path().join("web.yaml");
    std::fs::write(
        &manifest,
        deployment(
            "nginx:1.27",
            "        - {name: A, value: \"1\"}\n        - {name: B, value: \"2\"}\n",
        ),
    )
    .unwrap();
    assert!(
        k.ok(&["apply", "-f", manifest.to_str().unwrap()])
            .await
            .contains("deployment.apps/web created")
    );
    std::fs::write(
        &manifest,
        deployment("nginx:1.28", "        - {name: A, value: \"1\"}\n"),
    )
    .unwrap();
    assert!(
        k.ok(&["apply", "-f", manifest.to_str().unwrap()])
            .await
            .contains("deployment.apps/web configured")
    );
    let container = k.ok(&["get", "deployment", "web", "-n", "scratch", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name}"]).await;
    assert_eq!(
        container, "nginx:1.28 A",
        "the second apply changed the image and dropped env B"
    );

    // get --watch sees a change.
    let mut watch = k
        .command(&["get", "configmap", "-n", "scratch", "--watch", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("configmap/settings")
    );
    k.ok(&["create", "configmap", "arrived", "-n", "scratch"])
        .await;
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line == "configmap/arrived" {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(seen, "kubectl get --watch saw the new ConfigMap");
    watch.kill().await.unwrap();

    // delete ns returns once the namespace is gone (with content in it).
    k.ok(&["delete", "ns", "scratch", "--timeout=30s"]).await;
    let (ok, _, stderr) = k.run(&["get", "ns", "scratch"]).await;
    assert!(
        !ok && stderr.contains("NotFound"),
        "namespace is gone: {stderr}"
    );

    // auth can-i for both users.
    assert_eq!(
        k.ok(&["auth", "can-i", "create", "deployments"])
            .await
            .trim(),
        "yes"
    );
    let (ok, stdout, _) = k
        .run(&[
            "auth",
            "can-i",
            "create",
            "deployments",
            "--context",
            "viewer",
        ])
        .await;
    assert!(
        !ok && stdout.trim() == "no",
        "viewer may not create: {stdout}"
    );
    assert_eq!(
        k.ok(&["auth", "can-i", "list", "pods", "--context", "viewer"])
            .await
            .trim(),
        "yes"
    );
    let (ok, _, stderr) = k
        .run(&["create", "ns", "nope", "--context", "viewer"])
        .await;
    assert!(
        !ok && stderr.contains("Forbidden") && stderr.contains("User \"viewer\" cannot create"),
        "{stderr}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_accepts_simcluster() {
    acceptance(33).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_accepts_simcluster() {
    acceptance(27).await;
}
